"""Run a plan day by day through the same tick code, with simulated confirmations, no Prefect needed."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import StateError
from engine.people import confirm
from engine.plan import Plan
from engine.state.models import OPEN, OVERDUE, EventRecord, OccurrenceRecord, OutboxRecord
from engine.tick import tick

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
        raise StateError(f"--confirm '{text}' is not understood: use on-time, late:N (e.g. late:5) or never")

    def confirm_on(self, row: OccurrenceRecord, today: date) -> bool:
        if self.mode == "never":
            return False
        target = row.due_on + timedelta(days=self.late_days if self.mode == "late" else 0)
        return today >= target


def tick_time(plan: Plan, day: date) -> datetime:
    """The moment of the daily tick (07:30 in the plan's time zone)."""
    return datetime.combine(day, TICK_TIME, tzinfo=ZoneInfo(plan.meta.timezone))


def simulate(plan: Plan, sessions: Callable[[], Session], start: date, end: date, policy: ConfirmPolicy,
             confirmer: str = "Mô phỏng") -> None:
    """Tick every day from `start` to `end`; simulated people confirm open occurrences per `policy`.

    Raises:
        StateError: an empty span.
    """
    if end < start:
        raise StateError(f"--to ({end:%d/%m/%Y}) is before --from ({start:%d/%m/%Y})")
    day = start
    while day <= end:
        now = tick_time(plan, day)
        tick(plan, sessions, now)
        if policy.mode != "never":
            _confirm_due(plan, sessions, day, now, policy, confirmer)
        day += timedelta(days=1)


def _confirm_due(plan: Plan, sessions: Callable[[], Session], day: date, now: datetime, policy: ConfirmPolicy,
                 confirmer: str) -> None:
    with sessions() as session, session.begin():
        rows = session.scalars(select(OccurrenceRecord).where(
            OccurrenceRecord.plan_id == plan.id, OccurrenceRecord.status.in_((OPEN, OVERDUE)),
            OccurrenceRecord.orphaned.is_(False))).all()
        for row in rows:
            step = plan.step_by_id.get(row.step_id)
            if step is None or not policy.confirm_on(row, day):
                continue
            evidence = {r: _sample(r, row, day) for r in step.confirmation.requires}
            confirm(plan, session, row.step_id, key=row.key, by=confirmer, at=day, now=now, evidence=evidence,
                    source="simulation")


def _sample(kind: str, row: OccurrenceRecord, day: date) -> str:
    return {"attendees": "45", "date": day.strftime("%d/%m/%Y"), "document_date": day.strftime("%d/%m/%Y"),
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
    if reason in ("opened", "disseminate", "coordinate", "draft"):
        return "opened"
    if reason.startswith("reminder-") or reason.startswith("escalation-"):
        return reason
    return reason
