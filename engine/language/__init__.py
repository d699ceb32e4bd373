"""The plan language: what a plan file says and means, apart from running it.

Modules: `loading` (YAML read with positions), `models` (the plan's forms), `validation` (readable errors),
`plan` (a loaded plan and its indexes), `graph` (the step DAG), `calendar` (dated occurrences), `workdays`
(working days and holidays), `dates`, `dependencies` (what a step waits for), `periods` (reporting windows),
`templates` (message templates and their checks), `identity` (a plan's id), `schema` (the JSON Schema),
`phrases` and `parser_words` (the Vietnamese words of a plan's problems).
It imports nothing from the runtime (`engine.runtime`), the store, the reports, the flows or the notifiers.
"""
