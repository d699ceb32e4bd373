"""A plan's status on a day: every occurrence (stored or still ahead) with its confirmation and notices."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models.timing import OnDemand
from engine.plan import Plan
from engine.state.models import (
    CANCELLED,
    DELIVERED,
    DONE,
    FINISHED,
    FAILED,
    GIVEN_UP,
    NO_TARGET,
    OPEN,
    OVERDUE,
    PENDING,
    SCHEDULED,
    SKIPPED,
    ConfirmationRecord,
    OccurrenceRecord,
    OutboxRecord,
)

STATUS_VI = {SCHEDULED: "chưa mở", OPEN: "đang thực hiện", OVERDUE: "quá hạn", DONE: "hoàn thành",
             SKIPPED: "bỏ qua", CANCELLED: "đã hủy"}
NOTICE_VI = {DELIVERED: "đã gửi", PENDING: "chờ gửi", NO_TARGET: "chưa có kênh", FAILED: "lỗi gửi",
             GIVEN_UP: "ngừng gửi"}


def plan_status(plan: Plan, session: Session, day: date) -> list[dict[str, Any]]:
    """Rows for `kehoach status`, ordered by due date: every stored occurrence (orphaned ones included), then
    the calendar's occurrences that have no row yet."""
    stored = list(session.scalars(select(OccurrenceRecord).where(OccurrenceRecord.plan_id == plan.id)))
    confirmations = {c.occurrence_id: c for c in session.scalars(
        select(ConfirmationRecord).where(ConfirmationRecord.plan_id == plan.id))}
    notices: dict[tuple[str | None, str | None], Counter[str]] = defaultdict(Counter)
    for step_id, key, status in session.execute(select(OutboxRecord.step_id, OutboxRecord.occurrence_key,
                                                       OutboxRecord.status).where(OutboxRecord.plan_id == plan.id)):
        notices[(step_id, key)][status] += 1
    finished = {r.step_id for r in stored if r.status in FINISHED}
    rows = [_row(plan, r, confirmations.get(r.id), notices.get((r.step_id, r.key)), day, finished) for r in stored]
    have = {(r.step_id, r.key) for r in stored}
    for cal in plan.calendar.values():
        for occ in cal.occurrences:
            if (occ.step_id, occ.key) not in have:
                status_vi = STATUS_VI[SCHEDULED] + (" (dự kiến)" if occ.projected else "")
                rows.append({"step": occ.step_id, "occurrence": occ.key, "kind": plan.step_by_id[occ.step_id].kind,
                             "status": SCHEDULED, "status_vi": status_vi,
                             "opens": occ.opens.isoformat(), "due": occ.due.isoformat(), "days_overdue": 0,
                             "late_days": None, "confirmation": None, "orphaned": False, "notices": "",
                             "stored": False, "projected": occ.projected, "waiting_for": [], "reason": None})
    rows.sort(key=lambda r: (r["due"], r["step"], r["occurrence"]))
    return rows


def status_counts(rows: list[dict[str, Any]], day: date) -> dict[str, int]:
    """How many occurrences are due by `day`, done, done late, overdue, waiting, orphaned (dates projected from
    a predecessor's deadline are not counted: they are not real until it is confirmed)."""
    today = day.isoformat()
    live = [r for r in rows if not r["orphaned"] and r["status"] not in (CANCELLED, SKIPPED) and not r["projected"]]
    return {
        "due": sum(r["due"] <= today for r in live),
        "done": sum(r["status"] == DONE for r in live),
        "done_late": sum(r["status"] == DONE and bool(r["late_days"]) for r in live),
        "overdue": sum(r["status"] == OVERDUE for r in live),
        "waiting": sum(bool(r["waiting_for"]) for r in live),
        "orphaned": sum(r["orphaned"] for r in rows),
        "cancelled_or_skipped": sum(r["status"] in (CANCELLED, SKIPPED) for r in rows if not r["orphaned"]),
    }


def _row(plan: Plan, r: OccurrenceRecord, c: ConfirmationRecord | None, counts: Counter[str] | None,
         day: date, finished: set[str]) -> dict[str, Any]:
    status = r.status
    step = plan.step_by_id.get(r.step_id)
    waiting: list[str] = []
    if r.orphaned:
        status_vi = f"mồ côi - bước không còn trong kế hoạch ({STATUS_VI.get(status, status)})"
        overdue = 0
    else:
        if status == OPEN and day > r.due_on:
            status = OVERDUE  # the tick has not run since the due date passed
        # A row still waiting for its predecessor counts its days past due too: the work is late all the same.
        overdue = (day - r.due_on).days if status in (OPEN, OVERDUE, SCHEDULED) and day > r.due_on else 0
        status_vi = STATUS_VI.get(status, status)
        if status == DONE and r.late_days:
            status_vi += f" (chậm {r.late_days} ngày)"
        if status == SCHEDULED and step is not None:
            waiting = [d for d in step.depends_on if d not in finished and d in plan.step_by_id
                       and not isinstance(plan.step_by_id[d].timing, OnDemand)]
            if waiting and r.opens_on <= day:
                status_vi += " (chờ " + ", ".join(waiting) + ")"
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
            "by": c.by, "done_on": c.done_on.isoformat(), "evidence": c.evidence, "note": c.note, "source": c.source,
            "plan_version": c.plan_version},
        "orphaned": r.orphaned,
        "notices": ", ".join(f"{n} {NOTICE_VI.get(s, s)}" for s, n in sorted((counts or {}).items())),
        "stored": True,
        "projected": False,
        "waiting_for": waiting,
        "reason": r.reason,
    }
