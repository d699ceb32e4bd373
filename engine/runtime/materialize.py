"""The plan's calendar as stored rows: claim the plan, add the occurrences whose time has come, follow edits.

Every transaction that writes a plan's state starts with `claim_plan`: it creates the plan's row on first use,
locks it (so ticks, confirmations and requests of one plan never interleave, even on several workers), and
reconciles the stored rows when the plan file has changed since the last write.
"""

from __future__ import annotations

import bisect
import logging
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, bindparam, case, select, update
from sqlalchemy.orm import Session

from engine.language.calendar import CalendarBuilder, Occurrence, per_owner, split_key
from engine.language.models.timing import After, OnDemand
from engine.language.plan import Plan
from engine.runtime.family import record_links
from engine.state.models import (
    ACTIVE,
    CANCELLED,
    DONE,
    FINISHED,
    OPEN,
    OVERDUE,
    SCHEDULED,
    OccurrenceRecord,
    PlanRecord,
)
from engine.state.rekey import adopt, message
from engine.state.store import (
    effect_key,
    insert_ignore,
    insert_many_ignore,
    lock_plan,
    log_event,
    set_columns,
    transaction_memo,
)

logger = logging.getLogger("kehoach")


def row_values(plan: Plan, step: Any, occ: Occurrence) -> dict[str, Any]:
    """The values of a new occurrence row (scheduled; the tick looks at it from its opening day)."""
    return dict(plan_id=plan.id, step_id=step.id, key=occ.key, kind=step.kind, status=SCHEDULED,
                opens_on=occ.opens, due_on=occ.due, plan_version=plan.version, orphaned=False, next_on=occ.opens)


def audit(session: Session, plan: Plan, step_id: str | None, key: str | None, event: str, today: date,
          now: datetime, what: str | None = None, detail: dict[str, Any] | None = None, actor: str = "engine") -> bool:
    """Write one audit event of this plan (effect key plan/step/occurrence/`what`, default the event name)."""
    return log_event(session, plan_id=plan.id, plan_version=plan.version, step_id=step_id, key=key, event=event,
                     on_date=today, at=now, ekey=effect_key(plan.id, step_id, key, what or event),
                     detail=detail or {}, actor=actor)


def claim_plan(plan: Plan, session: Session, today: date, now: datetime) -> PlanRecord:
    """The plan's row, created if new, locked for this transaction, reconciled if the plan file changed.

    Claiming again in the same transaction (apply after decide, a confirmation after a simulated tick) reuses
    the lock already held instead of asking the database again.
    """
    claims = transaction_memo(session, "claims")
    held = claims.get((plan.id, plan.version))
    if held is not None:
        return held
    record = lock_plan(session, plan.id)
    path = str(plan.path.resolve())
    if record is None:
        if (old := adopt(session, plan.id, plan.meta.number, plan.path, plan.version, today, now)) is not None:
            logger.warning(message(old, plan.id, plan.meta.number))
        insert_ignore(session, PlanRecord, dict(id=plan.id, number=plan.meta.number, path=path,
                                                version=plan.version, materialized_through=None))
        record = lock_plan(session, plan.id)
    assert record is not None
    if record.path != path:  # the file was renamed or moved: its id, and so its history, stays
        record.path = path
    if record.version != plan.version:
        reconcile(plan, session, record, today, now)
    record_links(plan, session, record)
    claims[(plan.id, plan.version)] = record
    return record


def sync(plan: Plan, session: Session, today: date, now: datetime) -> PlanRecord:
    """Claim the plan and give a row to every occurrence whose opening has come (each one once)."""
    record = claim_plan(plan, session, today, now)
    days, occs = plan.opening_index
    done = record.materialized_through
    lo = 0 if done is None else bisect.bisect_right(days, done)
    hi = bisect.bisect_right(days, today)
    if lo < hi:
        insert_many_ignore(session, OccurrenceRecord,
                           [row_values(plan, plan.step_by_id[o.step_id], o) for o in occs[lo:hi]])
    # Written at once rather than by the next flush: a tick flushing only this row costs more than the UPDATE.
    set_columns(session, record, materialized_through=today if done is None or today > done else done,
                last_tick_at=now)
    return record


def reconcile(plan: Plan, session: Session, record: PlanRecord, today: date, now: datetime) -> None:
    """After an edit, keep every record: rows of removed steps are flagged orphaned (their confirmations stay);
    active rows whose occurrence left the calendar are cancelled with the reason; the others are re-dated."""
    calendar = plan.dated
    rows = session.scalars(select(OccurrenceRecord).where(OccurrenceRecord.plan_id == plan.id)).all()
    for row in rows:
        step = plan.step_by_id.get(row.step_id)
        if step is None:
            if not row.orphaned:
                row.orphaned = True
                audit(session, plan, row.step_id, row.key, "orphaned", today, now, f"orphaned/{plan.version}",
                      {"reason": "bước đã bị xóa hoặc đổi mã trong kế hoạch",
                       "status": row.status})
            continue
        if row.orphaned:
            row.orphaned = False
            audit(session, plan, row.step_id, row.key, "restored", today, now, f"restored/{plan.version}",
                  {"reason": "bước có lại trong kế hoạch"})
        if row.status not in ACTIVE:
            continue
        row.kind = step.kind
        occ = calendar.get((row.step_id, row.key))
        period, unit = split_key(row.key)
        owned = unit in plan.step_owners[step.id] if step.id in plan.per_unit else unit is None
        if isinstance(step.timing, OnDemand):
            keep = row.key.startswith("yc-") and owned
        elif isinstance(step.timing, After):
            keep = period == "once" and owned
        else:
            keep = occ is not None
        if not keep:
            row.status, row.next_on = CANCELLED, None
            row.reason = f"không còn trong kế hoạch sau khi sửa (phiên bản {plan.version})"
            audit(session, plan, row.step_id, row.key, "cancelled", today, now, f"cancelled/{plan.version}",
                  {"reason": row.reason})
            continue
        if occ is not None and (occ.opens, occ.due) != (row.opens_on, row.due_on):
            before = {"opens": row.opens_on.isoformat(), "due": row.due_on.isoformat()}
            if row.status == SCHEDULED:
                row.opens_on = occ.opens
            row.due_on = occ.due
            if row.status == OVERDUE and row.due_on >= today:
                row.status = OPEN
            audit(session, plan, row.step_id, row.key, "redated", today, now, f"redated/{plan.version}",
                  {"from": before, "to": {"opens": row.opens_on.isoformat(), "due": row.due_on.isoformat()}})
        # Look at it again at the next tick: dependencies, reminders or deadlines may have changed.
        row.next_on = max(row.opens_on, today) if row.status == SCHEDULED else today
    record.version = plan.version
    record.path = str(plan.path.resolve())
    record.number = plan.meta.number
    record.materialized_through = None
    plan_after_steps(plan, session, today, now)


def wake_dependents(plan: Plan, session: Session, step_id: str, today: date) -> None:
    """A step finished an occurrence: its dependents' rows that were waiting for it are looked at again, from
    `today` (the day it was recorded; they slept legitimately until then, so they are not catching up).

    One UPDATE, not synchronised with rows already loaded in the session: the tick reads its rows with
    `populate_existing` (engine.state.store.due_occurrences), so it sees the new `next_on`.
    """
    waiting_on = plan.dependents.get(step_id)
    if not waiting_on:
        return
    session.execute(_WAKE, {"b_plan": plan.id, "b_steps": list(waiting_on), "b_today": today})


_TODAY = bindparam("b_today", type_=Date())  # names other than the columns', which UPDATE keeps for SET
_WAKE = update(OccurrenceRecord).where(
    OccurrenceRecord.plan_id == bindparam("b_plan"),
    OccurrenceRecord.step_id.in_(bindparam("b_steps", expanding=True)),
    OccurrenceRecord.status == SCHEDULED, OccurrenceRecord.opened_on.is_(None),
).values(next_on=case((OccurrenceRecord.opens_on > _TODAY, OccurrenceRecord.opens_on), else_=_TODAY),
         ).execution_options(synchronize_session=False)


def plan_after_steps(plan: Plan, session: Session, today: date, now: datetime, predecessor: str | None = None) -> None:
    """Date the 'after' steps whose predecessor is done: due N (working) days after its (last) confirmation.

    A predecessor is done when every occurrence of its calendar is finished and one of them was confirmed
    (for an on-demand predecessor: when any request was confirmed). Called when a confirmation is recorded
    and after an edit, never by the daily tick.
    """
    after = plan.after_steps
    after_steps = [s for steps in after.values() for s in steps] if predecessor is None else after.get(predecessor, [])
    if not after_steps:
        return
    have = set(session.scalars(select(OccurrenceRecord.step_id).where(
        OccurrenceRecord.plan_id == plan.id, OccurrenceRecord.step_id.in_([s.id for s in after_steps]))))
    pending = [s for s in after_steps if s.id not in have]
    if not pending:
        return
    preds = {s.timing.after.step for s in pending}
    rows = session.execute(select(OccurrenceRecord.step_id, OccurrenceRecord.key, OccurrenceRecord.status,
                                  OccurrenceRecord.done_on)
                           .where(OccurrenceRecord.plan_id == plan.id, OccurrenceRecord.step_id.in_(preds))).all()
    builder = CalendarBuilder(plan)
    for step in pending:
        pred = step.timing.after.step
        mine = [r for r in rows if r.step_id == pred]
        finished = {r.key for r in mine if r.status in FINISHED}
        done = [r.done_on for r in mine if r.status == DONE and r.done_on]
        expected = {o.key for o in plan.occurrences(pred)}
        if not done or not expected <= finished:
            continue
        base = max(done)
        nominal = builder.due_after(base, step.timing.after)
        occ = builder.finish(step, builder._with_open(plan.policy(step), step.timing), "once", nominal, None)
        occ = Occurrence(occ.step_id, occ.key, max(occ.opens, base), occ.due, occ.nominal_due, occ.reminders,
                         owner=occ.owner, period=occ.period)
        occs = per_owner([occ], plan.step_owners[step.id]) if step.id in plan.per_unit else [occ]
        for o in occs:
            if insert_ignore(session, OccurrenceRecord, row_values(plan, step, o)):
                audit(session, plan, step.id, o.key, "scheduled", today, now, detail={
                    "after": pred, "after_done_on": base.isoformat(), "opens": o.opens.isoformat(),
                    "due": o.due.isoformat()})

