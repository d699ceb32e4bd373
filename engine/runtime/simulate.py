"""Run a plan day by day through the same tick code, with simulated confirmations, no Prefect needed."""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from engine.errors import StateError
from engine.language.dates import fmt
from engine.language.plan import Plan
from engine.runtime.people import confirm_rows, request
from engine.runtime.tick import DocumentMaker, tick_in
from engine.state.models import (
    ACTIVE,
    NO_TARGET,
    OPEN,
    OVERDUE,
    PENDING,
    SIMULATED,
    EventRecord,
    OccurrenceRecord,
    OutboxRecord,
)

TICK_TIME = time(7, 30)


@dataclass(frozen=True)
class ConfirmPolicy:
    """How simulated people behave: confirm on the due day, N days late, or never."""

    mode: str  # on-time | late | never
    late_days: int = 0

    @classmethod
    def parse(cls, text: str) -> ConfirmPolicy:
        """Parse 'on-time', 'late:N' or 'never'.

        Raises:
            StateError: any other text.
        """
        if text in ("on-time", "never"):
            return cls(text)
        if text.startswith("late:") and text[5:].isdigit():
            return cls("late", int(text[5:]))
        raise StateError(f"--confirm '{text}' không hợp lệ: dùng on-time, late:N (ví dụ late:5) hoặc never")


def check_span(start: date, end: date) -> None:
    """Raises StateError when the simulated days end before they start."""
    if end < start:
        raise StateError(f"--to {fmt(end)} là trước --from {fmt(start)}")


def tick_time(plan: Plan, day: date) -> datetime:
    """The moment of the daily tick (07:30 in the plan's time zone)."""
    return datetime.combine(day, TICK_TIME, tzinfo=ZoneInfo(plan.meta.timezone))


def simulate(plan: Plan, sessions: Callable[[], Session], start: date, end: date, policy: ConfirmPolicy,
             confirmer: str = "Mô phỏng", requests: dict[date, list[str]] | None = None,
             documents: DocumentMaker | None = None, every_day: bool = False) -> None:
    """Run the plan from `start` to `end` through the same tick code a live run uses, at 07:30 each day.

    Simulated people request on-demand steps on the given days (before that day's tick) and confirm open
    occurrences per `policy` (after it). Days on which nothing can happen - no occurrence opens, no row's
    `next_on` has come, nobody confirms or requests - are skipped, since a tick on them does nothing;
    `every_day=True` ticks them anyway (the tests compare both). Days are committed a month at a time.

    Raises:
        StateError: an empty span, or a request the plan refuses.
    """
    simulate_plans([plan], sessions, start, end, policy, confirmer, {plan.id: requests or {}}, documents, every_day)


def simulate_plans(plans: list[Plan], sessions: Callable[[], Session], start: date, end: date,
                   policy: ConfirmPolicy, confirmer: str = "Mô phỏng",
                   requests: dict[str, dict[date, list[str]]] | None = None,
                   documents: DocumentMaker | None = None, every_day: bool = False) -> None:
    """`simulate` for plans run together in one store - a province's plan and the districts' plans carrying it
    out: each day, every plan is ticked and its people confirm, a child before its parent (so the parent's tick
    sees what the children did that day, engine.runtime.family). `requests` are per plan id.

    Raises:
        StateError: as `simulate`.
    """
    check_span(start, end)
    order = children_first(plans)
    requests = requests or {}
    request_days = sorted({d for days in requests.values() for d in days})
    with sessions() as session:
        day = start
        while day <= end:
            month = (day.year, day.month)
            with session.begin():
                while day <= end and (day.year, day.month) == month:
                    for plan in order:
                        now = tick_time(plan, day)
                        for step_id in requests.get(plan.id, {}).get(day, []):
                            request(plan, session, step_id, at=day, now=now, by=confirmer, note="mô phỏng")
                        tick_in(plan, session, now, documents=documents)
                        if policy.mode != "never":
                            _confirm_due(plan, session, day, now, policy, confirmer)
                    day = day + timedelta(days=1) if every_day else min(
                        _next_day(plan, session, day, policy, request_days) for plan in order)
                for plan in order:
                    _never_sent(plan, session, start)


def children_first(plans: list[Plan]) -> list[Plan]:
    """The plans ordered so that each comes before the plan it carries out (its parent, by id), else as given."""
    by_id = {p.id: p for p in plans}
    out: list[Plan] = []
    seen: set[str] = set()

    def visit(plan: Plan, path: tuple[str, ...]) -> None:
        if plan.id in seen or plan.id in path:
            return
        for child in plans:
            ref = child.meta.parent_plan
            if ref is not None and ref.id == plan.id:
                visit(child, (*path, plan.id))
        seen.add(plan.id)
        out.append(plan)

    for plan in plans:
        ref = plan.meta.parent_plan
        if ref is None or ref.id not in by_id:  # the top of a family, or a plan on its own
            visit(plan, ())
    for plan in plans:  # a cycle of parents (refused by no check yet): still every plan once
        visit(plan, ())
    return out


def _never_sent(plan: Plan, session: Session, start: date) -> None:
    """The simulation's notices are kept as what would have been sent, never sent: a later delivery (with a
    channels file) leaves them alone."""
    # One status at a time: SQLite then reads the few rows of that status (ix_outbox_status), not every notice
    # of the plan (ix_outbox_plan), which made each month cost more than the one before.
    for status in (PENDING, NO_TARGET):
        session.execute(_NOT_SENT, {"b_plan": plan.id, "b_start": start, "b_status": status})


def _next_day(plan: Plan, session: Session, day: date, policy: ConfirmPolicy, request_days: list[date]) -> date:
    """The first day after `day` on which a tick or a simulated person has something to do."""
    candidates: list[date] = []
    days, _ = plan.opening_index
    i = bisect.bisect_right(days, day)
    if i < len(days):
        candidates.append(days[i])
    j = bisect.bisect_right(request_days, day)
    if j < len(request_days):
        candidates.append(request_days[j])
    next_on, first_due = session.execute(_NEXT, {"plan_id": plan.id}).one()
    if next_on is not None:
        candidates.append(next_on)
    if first_due is not None and policy.mode != "never":
        candidates.append(first_due + timedelta(days=policy.late_days if policy.mode == "late" else 0))
    return max(min(candidates), day + timedelta(days=1)) if candidates else date.max


def _confirm_due(plan: Plan, session: Session, day: date, now: datetime, policy: ConfirmPolicy,
                 confirmer: str) -> None:
    latest_due = day - timedelta(days=policy.late_days if policy.mode == "late" else 0)
    rows = session.scalars(_TO_CONFIRM, {"plan_id": plan.id, "latest_due": latest_due}).all()
    rows = [r for r in rows if r.step_id in plan.step_by_id]
    confirm_rows(plan, session, rows, by=confirmer, at=day, now=now, source="simulation",
                 evidence=lambda step, row: {r: _sample(r, row, day) for r in step.confirmation.requires})


# Run every simulated day (or month), so built once.
_NOT_SENT = update(OutboxRecord).where(
    OutboxRecord.status == bindparam("b_status"), OutboxRecord.plan_id == bindparam("b_plan"),
    OutboxRecord.created_on >= bindparam("b_start")).values(status=SIMULATED)
_NEXT = select(func.min(OccurrenceRecord.next_on),
               func.min(OccurrenceRecord.due_on).filter(OccurrenceRecord.status.in_((OPEN, OVERDUE)))).where(
    OccurrenceRecord.plan_id == bindparam("plan_id"), OccurrenceRecord.status.in_(ACTIVE),
    OccurrenceRecord.orphaned.is_(False))
_TO_CONFIRM = select(OccurrenceRecord).where(
    OccurrenceRecord.plan_id == bindparam("plan_id"), OccurrenceRecord.status.in_((OPEN, OVERDUE)),
    OccurrenceRecord.due_on <= bindparam("latest_due"), OccurrenceRecord.orphaned.is_(False)).order_by(
    OccurrenceRecord.due_on, OccurrenceRecord.step_id, OccurrenceRecord.key)


def _sample(kind: str, row: OccurrenceRecord, day: date) -> str:
    return {"attendees": "45", "date": fmt(day), "document_date": fmt(day),
            "link": f"https://khcn.example.vn/tin-tuc/{row.step_id}"}.get(kind, f"{row.id}/MP-{day.year}")


def timeline(plan: Plan, session: Session, start: date | None = None, end: date | None = None) -> list[dict[str, Any]]:
    """Every audit event of the plan in order, with the units and tags its notices went to."""
    recipients: dict[tuple[str | None, str | None, str], list[str]] = defaultdict(list)
    for o in session.scalars(select(OutboxRecord).where(OutboxRecord.plan_id == plan.id).order_by(OutboxRecord.id)):
        event = _event_of_reason(o.reason)
        label = f"{o.unit_id}:{o.tag}" if o.tag else f"{o.unit_id}:(không có kênh)"
        recipients[(o.step_id, o.occurrence_key, event)].append(label)
    stmt = select(EventRecord).where(EventRecord.plan_id == plan.id)
    if start:
        stmt = stmt.where(EventRecord.on_date >= start)
    if end:
        stmt = stmt.where(EventRecord.on_date <= end)
    out = []
    for ev in session.scalars(stmt.order_by(EventRecord.on_date, EventRecord.id)):
        key = (ev.step_id, ev.occurrence_key, ev.event)
        detail = ev.detail or {}
        if ev.event in ("reminder", "escalation"):
            which = detail.get("reminder_for") or detail.get("escalation")
            rec = recipients.get((ev.step_id, ev.occurrence_key, f"{ev.event}-{which}"), [])
        else:
            rec = recipients.get(key, [])
        out.append({"date": ev.on_date.isoformat(), "step": ev.step_id, "occurrence": ev.occurrence_key,
                    "event": ev.event, "actor": ev.actor, "recipients": sorted(set(rec)), "detail": detail})
    return out


def _event_of_reason(reason: str) -> str:
    """Outbox reasons back to audit events: opened/disseminate/coordinate/draft -> opened, reminder-D, ..."""
    if reason in ("opened", "participant", "disseminate", "coordinate", "draft"):
        return "opened"
    return reason
