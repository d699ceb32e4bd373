"""Stored drafts shown in the Prefect UI: one Markdown artifact per review or report occurrence.

The tick flow's apply tasks read back the drafts of the actions they applied (`draft_records`) and publish
`draft_artifacts` of them once the tick's transaction is committed.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.language.dates import fmt
from engine.language.periods import in_brackets, titled
from engine.language.plan import Plan
from engine.state.models import DocumentRecord

_KIND_VI = {"report": "báo cáo", "review": "sơ kết, tổng kết"}


def artifact_key(plan_id: str, step_id: str, key: str) -> str:
    """A stable key per occurrence (Prefect accepts lowercase letters, digits and dashes): a later draft of the
    same occurrence becomes a new version of the same artifact."""
    return re.sub(r"[^a-z0-9]+", "-", f"{plan_id}-draft-{step_id}-{key}".lower()).strip("-")


def draft_records(session: Session, plan_id: str, occurrences: Iterable[tuple[str, str]]) -> list[DocumentRecord]:
    """The stored drafts of these (step id, occurrence key) pairs, every format, in storage order."""
    wanted = set(occurrences)
    if not wanted:
        return []
    steps = {s for s, _ in wanted}
    rows = session.scalars(select(DocumentRecord).where(
        DocumentRecord.plan_id == plan_id, DocumentRecord.step_id.in_(steps)).order_by(DocumentRecord.id))
    return [r for r in rows if (r.step_id, r.occurrence_key) in wanted]


ENV_DRAFTS_URL = "KEHOACH_DRAFTS_URL"  # where `kehoach serve` serves the stored drafts (flows.drafts_server)


def document_name(plan_id: str, step_id: str, key: str, fmt_name: str) -> str:
    """The file name of a stored draft, as a person recognises it: du-thao-<plan>-<step>-<occurrence>.<format>."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{plan_id}-{step_id}-{key}")
    return f"du-thao-{stem}.{fmt_name}"


def document_url(base: str, document: Any) -> str:
    """The address of a stored draft on the drafts server at `base`."""
    name = document_name(document.plan_id, document.step_id, document.occurrence_key, document.format)
    return f"{base.rstrip('/')}/du-thao/{document.id}/{name}"


def markdown_for(plan: Plan, document: Any, docx: Any = None, base: str | None = None) -> str:
    """The artifact text of a stored Markdown draft: a heading naming the occurrence, where to get the DOCX to
    edit and sign (a link to the drafts server when one serves them), then the draft itself."""
    step = plan.step_by_id.get(document.step_id)
    title = titled(step.title, document.occurrence_key) if step else document.step_id
    head = f"# Dự thảo: {title}\n\nKế hoạch số {plan.meta.number}; lập ngày {fmt(document.created_on)} từ số liệu ghi nhận."
    if docx is not None and base:
        name = document_name(docx.plan_id, docx.step_id, docx.occurrence_key, "docx")
        head += f" Bản Word để hoàn thiện và trình ký: [{name}]({document_url(base, docx)})."
    elif docx is not None:
        head += " Bản Word (DOCX) được gửi kèm thư cho đơn vị chủ trì."
    return head + "\n\n" + document.content.decode("utf-8")


def draft_artifacts(plan: Plan, documents: Iterable[Any], base: str | None = None) -> list[tuple[str, str, str]]:
    """(key, markdown, description) of a Prefect Markdown artifact for each Markdown draft among `documents`,
    linking its DOCX on the drafts server at `base` (default KEHOACH_DRAFTS_URL) when there is one.

    `documents` are DocumentRecord rows (or objects with step_id, occurrence_key, format, content, created_on).
    """
    import os

    base = base or os.environ.get(ENV_DRAFTS_URL) or None
    docs = list(documents)
    docx = {(d.step_id, d.occurrence_key): d for d in docs if d.format == "docx"}
    out = []
    for doc in docs:
        if doc.format != "md":
            continue
        step = plan.step_by_id.get(doc.step_id)
        kind = _KIND_VI.get(getattr(step, "kind", ""), "")
        name = plan.short_title(step) if step else doc.step_id
        description = f"Dự thảo {kind}: {name}{in_brackets(doc.occurrence_key)} - Kế hoạch số {plan.meta.number}"
        out.append((artifact_key(plan.id, doc.step_id, doc.occurrence_key),
                    markdown_for(plan, doc, docx.get((doc.step_id, doc.occurrence_key)), base), description))
    return out
