"""A plan's status on a day: every occurrence (stored or still ahead) with its confirmation and notices."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.plan import Plan
from engine.state.models import (
    DELIVERED,
    DONE,
    FAILED,
    GIVEN_UP,
    NO_TARGET,
    OPEN,
    OVERDUE,
    PENDING,
    SCHEDULED,
    ConfirmationRecord,
    OccurrenceRecord,
    OutboxRecord,
)

STATUS_VI = {SCHEDULED: "chưa mở", OPEN: "đang thực hiện", OVERDUE: "quá hạn", DONE: "hoàn thành",
             "skipped": "bỏ qua", "cancelled": "đã hủy"}
NOTICE_VI = {DELIVERED: "đã gửi", PENDING: "chờ gửi", NO_TARGET: "chưa có kênh", FAILED: "lỗi gửi",
             GIVEN_UP: "ngừng gửi"}


def plan_status(plan: Plan, session: Session, day: date) -> list[dict[str, Any]]:
    """Rows for `kehoach status`, ordered by due date."""
    stored = list(session.scalars(select(OccurrenceRecord).where(OccurrenceRecord.plan_id == plan.id)))
    confirmations = {c.occurrence_id: c for c in session.scalars(
        select(ConfirmationRecord).where(ConfirmationRecord.plan_id == plan.id))}
    notices: dict[tuple[str | None, str | None], Counter[str]] = defaultdict(Counter)
    for step_id, key, status in session.execute(select(OutboxRecord.step_id, OutboxRecord.occurrence_key,
                                                       OutboxRecord.status).where(OutboxRecord.plan_id == plan.id)):
        notices[(step_id, key)][status] += 1
    rows = [_row(plan, r, confirmations.get(r.id), notices.get((r.step_id, r.key)), day) for r in stored]
    have = {(r.step_id, r.key) for r in stored}
    for cal in plan.calendar.values():
        for occ in cal.occurrences:
            if (occ.step_id, occ.key) not in have:
                rows.append({"step": occ.step_id, "occurrence": occ.key, "kind": plan.step_by_id[occ.step_id].kind,
                             "status": SCHEDULED, "status_vi": STATUS_VI[SCHEDULED] + (" (dự kiến)" if occ.projected else ""),
                             "opens": occ.opens.isoformat(), "due": occ.due.isoformat(), "days_overdue": 0,
                             "late_days": None, "confirmation": None, "orphaned": False, "notices": "",
                             "stored": False})
    rows.sort(key=lambda r: (r["due"], r["step"], r["occurrence"]))
    return rows


def _row(plan: Plan, r: OccurrenceRecord, c: ConfirmationRecord | None, counts: Counter[str] | None,
         day: date) -> dict[str, Any]:
    status = r.status
    if status in (OPEN, SCHEDULED) and day > r.due_on and r.opens_on <= day:
        status = OVERDUE if status == OPEN else status
    overdue = (day - r.due_on).days if status in (OPEN, OVERDUE, SCHEDULED) and day > r.due_on else 0
    status_vi = STATUS_VI.get(status, status)
    if status == DONE and r.late_days:
        status_vi += f" (chậm {r.late_days} ngày)"
    if r.status == SCHEDULED and r.opens_on <= day:
        status_vi += " (chờ bước trước)"
    if r.reason:
        status_vi += f": {r.reason}"
    return {
        "step": r.step_id,
        "occurrence": r.key,
        "kind": r.kind,
        "status": status,
        "status_vi": status_vi,
        "opens": r.opens_on.isoformat(),
        "due": r.due_on.isoformat(),
        "days_overdue": overdue,
        "late_days": r.late_days,
        "confirmation": None if c is None else {
            "by": c.by, "done_on": c.done_on.isoformat(), "evidence": c.evidence, "note": c.note, "source": c.source},
        "orphaned": r.orphaned,
        "notices": ", ".join(f"{n} {NOTICE_VI.get(s, s)}" for s, n in sorted((counts or {}).items())),
        "stored": True,
    }
