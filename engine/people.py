"""What people do: confirm an occurrence is done (with its evidence), and request an on-demand step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.calendar import CalendarBuilder
from engine.dates import fmt
from engine.errors import StateError, accepted, did_you_mean
from engine.models.policy import EvidenceKind
from engine.models.timing import OnDemand
from engine.plan import Plan
from engine.state.models import ACTIVE, DONE, FINISHED, SCHEDULED, ConfirmationRecord, OccurrenceRecord
from engine.state.store import find_occurrence, insert_ignore
from engine.tick import Action, Notice, _log, _row_values, effect_key, notice_context, queue_notices

EVIDENCE_LABELS: dict[str, str] = {
    "document_number": "số văn bản",
    "document_date": "ngày văn bản",
    "date": "ngày thực hiện",
    "attendees": "số người tham dự",
    "link": "đường link",
    "place": "địa điểm",
    "note": "ghi chú",
}
EVIDENCE_KINDS = tuple(EvidenceKind.__args__)  # type: ignore[attr-defined]


@dataclass
class Confirmed:
    """The outcome of a confirmation: the record, and whether it was new."""

    record: ConfirmationRecord
    created: bool
    late_days: int


def parse_evidence(items: list[str], requires: list[str]) -> dict[str, str]:
    """`--evidence key=value` items (a bare value fills the single required field).

    Raises:
        StateError: an unknown key, or a bare value when the step needs several fields.
    """
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if sep and key.strip() in EVIDENCE_KINDS:
            out[key.strip()] = value.strip()
        elif sep and key.strip().isidentifier():
            raise StateError(f"unknown evidence '{key.strip()}'{did_you_mean(key.strip(), EVIDENCE_KINDS)} "
                             f"(accepted: {accepted(EVIDENCE_KINDS)})")
        elif len(requires) == 1 and requires[0] not in out:
            out[requires[0]] = item.strip()
        else:
            need = ", ".join(f"{r}=..." for r in requires) or "key=value"
            raise StateError(f"evidence '{item}' needs a name: write --evidence {need}")
    return out


def step_of(plan: Plan, step_id: str) -> Any:
    """The step with this id.

    Raises:
        StateError: no such step (with the closest id).
    """
    step = plan.step_by_id.get(step_id)
    if step is None:
        raise StateError(f"unknown step '{step_id}'{did_you_mean(step_id, plan.step_by_id)} in plan {plan.id} "
                         f"(steps: {accepted(plan.step_by_id)})")
    return step


def _pick_occurrence(plan: Plan, session: Session, step: Any, key: str | None, at: date) -> OccurrenceRecord:
    """The occurrence to confirm: the given key, else the single open one (or the earliest active one)."""
    rows = list(session.scalars(select(OccurrenceRecord).where(
        OccurrenceRecord.plan_id == plan.id, OccurrenceRecord.step_id == step.id).order_by(OccurrenceRecord.due_on)))
    calendar = {o.key: o for o in plan.occurrences(step.id) if not o.projected}
    if key is None:
        active = [r for r in rows if r.status in ACTIVE and r.opens_on <= at]
        if len(active) == 1:
            return active[0]
        if len(active) > 1:
            raise StateError(f"step '{step.id}' has {len(active)} open occurrences: choose one with --occurrence "
                             f"({accepted(r.key for r in active)})")
        done = [r for r in rows if r.status == DONE]
        if done:
            return done[-1]
        raise StateError(f"step '{step.id}' has no open occurrence on {fmt(at)}"
                         + (f"; its occurrences: {accepted(calendar)}" if calendar else ""))
    row = next((r for r in rows if r.key == key), None)
    if row is not None:
        return row
    if key in calendar:  # not opened yet (done early): give it its row now
        insert_ignore(session, OccurrenceRecord, _row_values(plan, step, calendar[key]))
        found = find_occurrence(session, plan.id, step.id, key)
        assert found is not None
        return found
    known = list(calendar) + [r.key for r in rows]
    raise StateError(f"step '{step.id}' has no occurrence '{key}'{did_you_mean(key, known)}"
                     + (f" (occurrences: {accepted(dict.fromkeys(known))})" if known else ""))


def confirm(plan: Plan, session: Session, step_id: str, *, by: str, at: date, now: datetime,
            key: str | None = None, evidence: dict[str, str] | None = None, note: str | None = None,
            source: str = "cli") -> Confirmed:
    """Record that an occurrence is done. Confirming twice returns the existing confirmation unchanged.

    Raises:
        StateError: unknown step or occurrence, missing evidence, a blank name, a date before the plan.
    """
    step = step_of(plan, step_id)
    if not by or not by.strip():
        raise StateError("--by needs the name of the person confirming")
    if at < plan.meta.period.start:
        raise StateError(f"--at {fmt(at)} is before the plan starts ({fmt(plan.meta.period.start)})")
    evidence = {k: v for k, v in (evidence or {}).items() if v is not None and str(v).strip()}
    row = _pick_occurrence(plan, session, step, key, at)
    existing = session.scalars(select(ConfirmationRecord).where(ConfirmationRecord.occurrence_id == row.id)).first()
    if existing is not None:
        return Confirmed(existing, False, row.late_days or 0)
    if row.status in FINISHED:
        raise StateError(f"occurrence '{row.key}' of step '{step.id}' is {row.status}"
                         + (f": {row.reason}" if row.reason else ""))
    missing = [r for r in step.confirmation.requires if r not in evidence]
    if missing:
        labels = ", ".join(f"{m} ({EVIDENCE_LABELS[m]})" for m in missing)
        flags = " ".join(f"--evidence {m}=..." for m in missing)
        raise StateError(f"step '{step.id}' needs evidence: {labels} - add {flags}")
    late = max((at - row.due_on).days, 0)
    record = ConfirmationRecord(occurrence_id=row.id, plan_id=plan.id, step_id=step.id, occurrence_key=row.key,
                                by=by.strip(), done_on=at, evidence=evidence, note=note, source=source,
                                recorded_at=now, plan_version=plan.version)
    session.add(record)
    row.status, row.done_on, row.late_days = DONE, at, late
    if row.opened_on is None:
        row.opened_on = at
    ekey = effect_key(plan.id, step.id, row.key, "confirmed")
    detail = {"by": by.strip(), "done_on": at.isoformat(), "late_days": late, "evidence": evidence, "note": note}
    _log(session, plan, step.id, row.key, "confirmed", at, now, ekey, detail, actor=by.strip())
    ctx = {**notice_context(plan, step, row, at), "done_on": fmt(at), "late_days": late, "by": by.strip()}
    queue_notices(plan, session, Action(step.id, row.key, "confirmed", ekey,
                                        notices=[Notice("confirmed", "confirmed", step.owner, ctx)]), at)
    session.flush()
    return Confirmed(record, True, late)


def request(plan: Plan, session: Session, step_id: str, *, at: date, now: datetime, by: str = "",
            note: str | None = None) -> OccurrenceRecord:
    """Start an occurrence of an on-demand step ('báo cáo khi có yêu cầu'), due per its timing.

    Raises:
        StateError: unknown step, or a step that is not on demand.
    """
    step = step_of(plan, step_id)
    if not isinstance(step.timing, OnDemand):
        on_demand = [s.id for s in plan.steps if isinstance(s.timing, OnDemand)]
        raise StateError(f"step '{step.id}' is not on demand ('{plan.calendar[step.id].describe}')"
                         + (f"; on-demand steps: {accepted(on_demand)}" if on_demand else ""))
    if not (plan.meta.period.start <= at <= plan.meta.period.end):
        raise StateError(f"{fmt(at)} is outside the plan period")
    base = f"yc-{at.isoformat()}"
    count = session.scalar(select(func.count()).select_from(OccurrenceRecord).where(
        OccurrenceRecord.plan_id == plan.id, OccurrenceRecord.step_id == step.id,
        OccurrenceRecord.key.like(f"{base}%"))) or 0
    key = base if count == 0 else f"{base}-{count + 1}"
    builder = CalendarBuilder(plan)
    within = step.timing.on_demand
    nominal = at + timedelta(days=within.days) if within.days is not None else \
        plan.workdays.add_working_days(at, within.working_days)
    occ = builder.finish(step, plan.policy(step), key, nominal, at)
    values = _row_values(plan, step, occ)
    values.update(status=SCHEDULED, requested_by=by or None)
    insert_ignore(session, OccurrenceRecord, values)
    _log(session, plan, step.id, key, "requested", at, now, effect_key(plan.id, step.id, key, "requested"),
         {"by": by, "note": note, "due": occ.due.isoformat()}, actor=by or "engine")
    session.flush()
    row = find_occurrence(session, plan.id, step.id, key)
    assert row is not None
    return row
