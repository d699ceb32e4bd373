"""Reviews and reports drafted from recorded state (Markdown, DOCX), Prefect artifacts and the calendar feed.

Modules: `results` (facts from the store), `content` (the document's text),
`markdown` and `docx` (its two renderings), `drafts` (what the tick stores), `artifacts` (Prefect UI),
`ical` (the calendar feed), `files` (writing output atomically).
Reporting periods and their windows are the plan language's (`engine.language.periods`).
"""

from __future__ import annotations
