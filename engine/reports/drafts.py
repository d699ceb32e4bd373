"""Drafts made when a review or report occurrence opens: a Markdown status summary of the covered steps."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from engine.dates import fmt
from engine.models.steps import Report, Review
from engine.plan import Plan
from engine.state.models import DONE, OVERDUE, OccurrenceRecord
from engine.state.store import occurrences_of

STATUS_VI = {"scheduled": "chưa đến hạn mở", "open": "đang thực hiện", "overdue": "quá hạn", "done": "hoàn thành",
             "skipped": "bỏ qua", "cancelled": "hủy"}


def covered_steps(plan: Plan, step: Any) -> list[str]:
    """The steps a review or report covers: its `covers`, else every step that is not a review or report."""
    if step.covers:
        return list(step.covers)
    return [s.id for s in plan.steps if not isinstance(s, (Review, Report)) and s.id != step.id]


def draft_documents(plan: Plan, session: Session, step: Any, row: OccurrenceRecord, today: date) -> dict[str, bytes]:
    """The drafts for one occurrence, by format."""
    return {"md": status_summary(plan, session, step, today).encode("utf-8")}


def status_summary(plan: Plan, session: Session, step: Any, today: date) -> str:
    """A Markdown table of every covered occurrence due so far, with its status and confirmation."""
    ids = covered_steps(plan, step)
    rows = [r for r in occurrences_of(session, plan.id, ids) if r.due_on <= today or r.status == DONE]
    done = sum(r.status == DONE for r in rows)
    late = sum(r.status == DONE and (r.late_days or 0) > 0 for r in rows)
    overdue = sum(r.status == OVERDUE for r in rows)
    lines = [
        f"## {step.title}",
        "",
        f"Kế hoạch số {plan.meta.number}; số liệu đến ngày {fmt(today)}.",
        "",
        f"- Đã đến hạn: {len(rows)}; hoàn thành: {done} (chậm: {late}); quá hạn: {overdue}.",
        "",
        "| Bước | Kỳ | Hạn | Trạng thái | Hoàn thành |",
        "|---|---|---|---|---|",
    ]
    titles = {s.id: s.title for s in plan.steps}
    for r in rows:
        status = STATUS_VI.get(r.status, r.status)
        if r.status == DONE and r.late_days:
            status += f" (chậm {r.late_days} ngày)"
        elif r.status == OVERDUE:
            status += f" ({(today - r.due_on).days} ngày)"
        title = titles.get(r.step_id, r.step_id)[:80]
        lines.append(f"| {title} | {r.key} | {fmt(r.due_on)} | {status} | {fmt(r.done_on)} |")
    return "\n".join(lines) + "\n"
