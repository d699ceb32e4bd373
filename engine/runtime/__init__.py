"""Running plans against the state store: `tick` (the daily pass), `materialize` (occurrences into rows),
`people` (confirm, skip, extend, request), `notices` (what is queued to send), `status`, `simulate` (a plan's
whole life on a clock), `family` (parent and child plans), `registry` (where this machine serves its plans).
It builds on the plan language (`engine.language`), never the other way round.
"""
