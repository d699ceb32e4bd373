"""Stored drafts shown in the Prefect UI: one Markdown artifact per review or report occurrence.

The tick flow's apply tasks read back the drafts of the actions they applied (`draft_records`) and publish
`draft_artifacts` of them once the tick's transaction is committed.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.dates import fmt
from engine.plan import Plan
from engine.reports.periods import in_brackets, titled
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


def markdown_for(plan: Plan, document: Any) -> str:
    """The artifact text of a stored Markdown draft: a heading naming the occurrence, then the draft itself."""
    step = plan.step_by_id.get(document.step_id)
    title = titled(step.title, document.occurrence_key) if step else document.step_id
    head = (f"# Dự thảo: {title}\n\n"
            f"Kế hoạch số {plan.meta.number}; lập ngày {fmt(document.created_on)} từ số liệu ghi nhận"
            f"{f'; tài liệu số {document.id} (kèm bản DOCX)' if getattr(document, 'id', None) else ''}.\n\n")
    return head + document.content.decode("utf-8")


def draft_artifacts(plan: Plan, documents: Iterable[Any]) -> list[tuple[str, str, str]]:
    """(key, markdown, description) of a Prefect Markdown artifact for each Markdown draft among `documents`.

    `documents` are DocumentRecord rows (or objects with step_id, occurrence_key, format, content, created_on).
    """
    out = []
    for doc in documents:
        if doc.format != "md":
            continue
        kind = _KIND_VI.get(getattr(plan.step_by_id.get(doc.step_id), "kind", ""), "")
        description = f"Dự thảo {kind} {doc.step_id}{in_brackets(doc.occurrence_key)} - Kế hoạch số {plan.meta.number}"
        out.append((artifact_key(plan.id, doc.step_id, doc.occurrence_key), markdown_for(plan, doc), description))
    return out
