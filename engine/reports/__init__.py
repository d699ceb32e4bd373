"""Reviews and reports drafted from recorded state (Markdown, DOCX), Prefect artifacts and the calendar feed.

Modules: `periods` (reporting windows), `results` (facts from the store), `content` (the document's text),
`markdown` and `docx` (its two renderings), `drafts` (what the tick stores), `artifacts` (Prefect UI),
`ical` (the calendar feed), `files` (writing output atomically).
"""

from __future__ import annotations

from engine.errors import KehoachError


class ReportError(KehoachError, ValueError):
    """Raised when a report or calendar cannot be drafted or written: an unknown period or step, a plan with no
    report step, a store with no records of the plan, an output path that cannot be written."""
