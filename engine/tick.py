"""The tick: given a plan, the stored state and `now`, decide what is due and apply it exactly once.

`decide` reads the state and returns actions; `apply` writes them. Every action carries an effect key that is
unique in the audit log, so applying an action twice - a rerun after a crash, or two workers at once - writes
its event, status change, notices and documents once. Nothing here reads the wall clock.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calendar import CalendarBuilder, Occurrence
from engine.dates import fmt
from engine.models.steps import Coordinate, Disseminate, Report, Review
from engine.models.timing import After, OnDemand
from engine.plan import Plan
from engine.state.models import (
    ACTIVE,
    CANCELLED,
    DONE,
    FINISHED,
    NO_TARGET,
    OPEN,
    OVERDUE,
    PENDING,
    SCHEDULED,
    DocumentRecord,
    EventRecord,
    OccurrenceRecord,
    OutboxRecord,
    PlanRecord,
)
from engine.state.store import active_occurrences, insert_ignore, lock_plan


@dataclass
class Notice:
    """A message to queue for one unit (one outbox row per notification tag of that unit)."""

    reason: str
    template: str
    unit_id: str
    context: dict[str, Any]


@dataclass
class Action:
    """One effect on one occurrence, applied at most once (by `effect_key`)."""

    step_id: str
    occurrence_key: str
    event: str  # opened, reminder, due, overdue, escalation, cancelled, orphaned, confirmed, requested
    effect_key: str
    set_status: str | None = None
    notices: list[Notice] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)
    documents: bool = False  # run the automatic part of the step's kind (review/report drafts)


@dataclass
class TickResult:
    """What one tick did, for printing and for the Prefect UI."""

    plan_id: str
    today: date
    applied: list[Action] = field(default_factory=list)
    skipped: int = 0  # actions another run had already applied

    def by_step(self) -> dict[str, list[Action]]:
        out: dict[str, list[Action]] = {}
        for a in self.applied:
            out.setdefault(a.step_id, []).append(a)
        return out


def plan_today(plan: Plan, now: datetime) -> date:
    """The calendar day `now` falls on in the plan's time zone."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(ZoneInfo(plan.meta.timezone)).date()


def effect_key(plan_id: str, step_id: str, key: str, what: str) -> str:
    return f"{plan_id}/{step_id}/{key}/{what}"


# ---------------------------------------------------------------------------------------------------------------
# Materialising the calendar into rows


def _opening_index(plan: Plan) -> tuple[list[date], list[Occurrence]]:
    """Dated occurrences sorted by opening day (cached on the plan), so a tick looks only at what opens now."""
    cached = getattr(plan, "_opening_index", None)
    if cached is None:
        occs = sorted(
            (o for cal in plan.calendar.values() for o in cal.occurrences if not o.projected),
            key=lambda o: (o.opens, o.step_id, o.key),
        )
        cached = ([o.opens for o in occs], occs)
        plan._opening_index = cached  # type: ignore[attr-defined]
    return cached


def _row_values(plan: Plan, step: Any, occ: Occurrence) -> dict[str, Any]:
    return dict(plan_id=plan.id, step_id=step.id, key=occ.key, kind=step.kind, status=SCHEDULED,
                opens_on=occ.opens, due_on=occ.due, plan_version=plan.version, orphaned=False)


def sync(plan: Plan, session: Session, today: date, now: datetime) -> PlanRecord:
    """Make sure every occurrence whose opening has come has a row; reconcile after a plan edit."""
    record = lock_plan(session, plan.id)
    if record is None:
        insert_ignore(session, PlanRecord, dict(id=plan.id, number=plan.meta.number, path=str(plan.path),
                                                version=plan.version, materialized_through=None))
        record = lock_plan(session, plan.id)
    assert record is not None
    edited = record.version != plan.version
    if edited:
        _reconcile(plan, session, record, today, now)
    days, occs = _opening_index(plan)
    lo = 0 if edited or record.materialized_through is None else bisect.bisect_right(days, record.materialized_through)
    hi = bisect.bisect_right(days, today)
    for occ in occs[lo:hi]:
        insert_ignore(session, OccurrenceRecord, _row_values(plan, plan.step_by_id[occ.step_id], occ))
    _materialize_after_steps(plan, session)
    record.materialized_through = max(today, record.materialized_through or today)
    record.last_tick_at = now
    return record


def _materialize_after_steps(plan: Plan, session: Session) -> None:
    """An 'after' step gets its occurrence once its predecessor is done: due N (working) days later."""
    after_steps = [s for s in plan.steps if isinstance(s.timing, After)]
    if not after_steps:
        return
    wanted = {s.id for s in after_steps} | {s.timing.after.step for s in after_steps}
    rows = session.execute(
        select(OccurrenceRecord.step_id, OccurrenceRecord.status, OccurrenceRecord.done_on)
        .where(OccurrenceRecord.plan_id == plan.id, OccurrenceRecord.step_id.in_(wanted))
    ).all()
    have = {r.step_id for r in rows}
    done_on: dict[str, date] = {}
    for r in rows:
        if r.status == DONE and r.done_on and (r.step_id not in done_on or r.done_on > done_on[r.step_id]):
            done_on[r.step_id] = r.done_on
    builder = CalendarBuilder(plan)
    for step in after_steps:
        if step.id in have or step.timing.after.step not in done_on:
            continue
        base = done_on[step.timing.after.step]
        nominal = builder.due_after(base, step.timing.after)
        occ = builder.finish(step, builder._with_open(plan.policy(step), step.timing), "once", nominal, None)
        occ = Occurrence(occ.step_id, occ.key, max(occ.opens, base), occ.due, occ.nominal_due, occ.reminders)
        insert_ignore(session, OccurrenceRecord, _row_values(plan, step, occ))


def _reconcile(plan: Plan, session: Session, record: PlanRecord, today: date, now: datetime) -> None:
    """After an edit: keep every record; flag rows of removed steps as orphaned; re-date or cancel the rest."""
    calendar_keys = {(o.step_id, o.key): o for cal in plan.calendar.values() for o in cal.occurrences}
    rows = session.scalars(select(OccurrenceRecord).where(OccurrenceRecord.plan_id == plan.id)).all()
    for row in rows:
        step = plan.step_by_id.get(row.step_id)
        if step is None:
            if not row.orphaned:
                row.orphaned = True
                _log(session, plan, row.step_id, row.key, "orphaned", today, now,
                     effect_key(plan.id, row.step_id, row.key, f"orphaned/{plan.version}"),
                     {"reason": "step removed from the plan"})
            continue
        row.orphaned = False
        if row.status not in ACTIVE or isinstance(step.timing, (OnDemand, After)):
            continue
        occ = calendar_keys.get((row.step_id, row.key))
        if occ is None:
            row.status = CANCELLED
            row.reason = f"không còn trong kế hoạch (phiên bản {plan.version})"
            _log(session, plan, row.step_id, row.key, "cancelled", today, now,
                 effect_key(plan.id, row.step_id, row.key, f"cancelled/{plan.version}"), {"reason": row.reason})
        elif row.status == SCHEDULED:
            row.opens_on, row.due_on = occ.opens, occ.due
        else:
            row.due_on = occ.due
    record.version = plan.version
    record.path = str(plan.path)
    record.materialized_through = None


def _log(session: Session, plan: Plan, step_id: str | None, key: str | None, event: str, today: date,
         now: datetime, ekey: str, detail: dict[str, Any], actor: str = "engine") -> bool:
    return insert_ignore(session, EventRecord, dict(
        effect_key=ekey, plan_id=plan.id, step_id=step_id, occurrence_key=key, event=event, on_date=today,
        at=now, actor=actor, detail=detail, plan_version=plan.version))


# ---------------------------------------------------------------------------------------------------------------
# Deciding


def _deps_done(plan: Plan, session: Session, rows: list[OccurrenceRecord]) -> dict[str, bool]:
    """Whether each step's dependencies are satisfied: every predecessor has a finished occurrence.

    (A recurring predecessor counts once it has been done at least once; an on-demand one never blocks.)
    """
    needed = {d for r in rows if r.step_id in plan.step_by_id for d in plan.step_by_id[r.step_id].depends_on}
    if not needed:
        return {}
    finished = set(session.scalars(
        select(OccurrenceRecord.step_id).where(OccurrenceRecord.plan_id == plan.id,
                                               OccurrenceRecord.step_id.in_(needed),
                                               OccurrenceRecord.status.in_(FINISHED)).distinct()))
    return {d: d in finished or isinstance(plan.step_by_id[d].timing, OnDemand) for d in needed}


def reminder_dates(plan: Plan, step: Any, row: OccurrenceRecord) -> tuple[date, ...]:
    """The reminder days of a stored occurrence (from the calendar, or computed for request/after rows)."""
    for occ in plan.occurrences(step.id):
        if occ.key == row.key and not occ.projected:
            return occ.reminders
    builder = CalendarBuilder(plan)
    return builder.finish(step, plan.policy(step), row.key, row.due_on, row.opens_on).reminders


def decide(plan: Plan, session: Session, today: date) -> list[Action]:
    """Everything due today for the plan's active occurrences, as actions (nothing is written)."""
    rows = [r for r in active_occurrences(session, plan.id, today) if not r.orphaned]
    deps = _deps_done(plan, session, rows)
    actions: list[Action] = []
    for row in rows:
        step = plan.step_by_id.get(row.step_id)
        if step is None:
            continue
        status = row.status
        if status == SCHEDULED:
            if not all(deps.get(d, True) for d in step.depends_on):
                continue
            actions.append(_open_action(plan, step, row, today))
            status = OPEN
        actions += _follow_up(plan, step, row, status, today)
    return actions


def _open_action(plan: Plan, step: Any, row: OccurrenceRecord, today: date) -> Action:
    ctx = notice_context(plan, step, row, today)
    owners = [step.owner, *step.participants]
    notices = [Notice("opened", "opened", u, ctx) for u in dict.fromkeys(owners)]
    if isinstance(step, Disseminate):
        notices += [Notice("disseminate", "disseminate", u, ctx) for u in step.audience]
    elif isinstance(step, Coordinate):
        notices += [Notice("coordinate", "coordinate", u, ctx) for u in step.partners]
    return Action(step.id, row.key, "opened", effect_key(plan.id, step.id, row.key, "opened"),
                  set_status=OPEN, notices=notices, documents=isinstance(step, (Review, Report)),
                  detail={"due": row.due_on.isoformat()})


def _follow_up(plan: Plan, step: Any, row: OccurrenceRecord, status: str, today: date) -> list[Action]:
    """Reminders before the due date, the due-day notice, then overdue and escalations."""
    policy = plan.policy(step)
    out: list[Action] = []
    ctx = notice_context(plan, step, row, today)
    if today < row.due_on:
        passed = [d for d in reminder_dates(plan, step, row) if d <= today]
        # After a gap (no tick for days) only the latest reminder is sent: a pile of stale ones helps nobody.
        if passed and passed[-1] >= (row.opened_on or today):
            d = passed[-1]
            out.append(Action(step.id, row.key, "reminder", effect_key(plan.id, step.id, row.key, f"reminder/{d}"),
                              notices=[Notice(f"reminder-{d}", "reminder", step.owner, ctx)],
                              detail={"reminder_for": d.isoformat()}))
    elif today == row.due_on:
        if policy.reminders.on_due_day:
            out.append(Action(step.id, row.key, "due", effect_key(plan.id, step.id, row.key, "due"),
                              notices=[Notice("due", "due_today", step.owner, ctx)]))
    else:
        if status != OVERDUE:
            out.append(Action(step.id, row.key, "overdue", effect_key(plan.id, step.id, row.key, "overdue"),
                              set_status=OVERDUE, detail={"days_overdue": (today - row.due_on).days}))
        esc = policy.escalation
        first = row.due_on + timedelta(days=esc.after_days)
        if esc.max_times and today >= first:
            k = min(esc.max_times, (today - first).days // esc.every_days + 1)
            to = list(dict.fromkeys([step.owner, *esc.to]))
            ectx = {**ctx, "escalation": k}
            out.append(Action(step.id, row.key, "escalation", effect_key(plan.id, step.id, row.key, f"escalation/{k}"),
                              notices=[Notice(f"escalation-{k}", "overdue", u, ectx) for u in to],
                              detail={"escalation": k, "to": to, "days_overdue": (today - row.due_on).days}))
    return out


def notice_context(plan: Plan, step: Any, row: OccurrenceRecord, today: date) -> dict[str, Any]:
    """The values a message template may use (all plain JSON)."""
    units = plan.units
    requires = ", ".join(step.confirmation.requires)
    occ_flag = "" if row.key == "once" else f" --occurrence {row.key}"
    evidence = "".join(f" --evidence {r}=..." for r in step.confirmation.requires)
    return {
        "plan_id": plan.id,
        "plan_number": plan.meta.number,
        "plan_title": plan.meta.title,
        "issuer": plan.issuer.name,
        "step_id": step.id,
        "step_title": step.title,
        "kind": step.kind,
        "occurrence": row.key,
        "owner": step.owner,
        "owner_name": units[step.owner].name if step.owner in units else step.owner,
        "due": fmt(row.due_on),
        "due_iso": row.due_on.isoformat(),
        "today": fmt(today),
        "days_left": max((row.due_on - today).days, 0),
        "days_overdue": max((today - row.due_on).days, 0),
        "requires": requires,
        "material": getattr(step, "material", None) or "",
        "method": getattr(step, "method", None) or "",
        "subject": getattr(step, "subject", None) or "",
        "recipient": units[step.recipient].name if isinstance(step, Report) and step.recipient in units else "",
        "confirm_command": f"kehoach confirm {plan.path.name} {step.id}{occ_flag} --by \"Họ tên\"{evidence}",
        "ui_url": "",
        "summary": "",
        "escalation": 0,
    }


# ---------------------------------------------------------------------------------------------------------------
# Applying

DocumentMaker = Callable[[Plan, Session, Any, OccurrenceRecord, date], dict[str, bytes]]


def _default_documents(plan: Plan, session: Session, step: Any, row: OccurrenceRecord, today: date) -> dict[str, bytes]:
    from engine.reports.drafts import draft_documents

    return draft_documents(plan, session, step, row, today)


def apply(plan: Plan, session: Session, actions: list[Action], today: date, now: datetime,
          documents: DocumentMaker | None = None) -> tuple[list[Action], int]:
    """Write each action once: its event (the idempotency gate), status, notices, documents.

    Returns the actions applied now and the number already applied by an earlier or concurrent run.
    """
    make_docs = documents or _default_documents
    applied, skipped = [], 0
    for action in actions:
        if not _log(session, plan, action.step_id, action.occurrence_key, action.event, today, now,
                    action.effect_key, action.detail):
            skipped += 1
            continue
        row = session.scalars(select(OccurrenceRecord).where(
            OccurrenceRecord.plan_id == plan.id, OccurrenceRecord.step_id == action.step_id,
            OccurrenceRecord.key == action.occurrence_key)).first()
        if row is not None and action.set_status:
            if action.set_status == OPEN and row.status == SCHEDULED:
                row.status, row.opened_on = OPEN, today
            elif action.set_status == OVERDUE and row.status in (SCHEDULED, OPEN):
                row.status = OVERDUE
        step = plan.step_by_id.get(action.step_id)
        if action.documents and row is not None and step is not None:
            summary, doc_ids = _store_documents(plan, session, step, row, today, make_docs)
            template = "review_summary" if isinstance(step, Review) else "report_draft"
            # The draft goes to the owner with the stored documents attached (by id, read at delivery).
            action.notices.append(Notice("draft", template, step.owner, {
                **notice_context(plan, step, row, today), "summary": summary, "attachments": doc_ids}))
        queue_notices(plan, session, action, today)
        applied.append(action)
    return applied, skipped


def _store_documents(plan: Plan, session: Session, step: Any, row: OccurrenceRecord, today: date,
                     make_docs: DocumentMaker) -> tuple[str, list[int]]:
    """Store the drafts; return a short Markdown summary for the notice and the stored documents' ids."""
    docs = make_docs(plan, session, step, row, today)
    for fmt_name, content in docs.items():
        insert_ignore(session, DocumentRecord, dict(plan_id=plan.id, step_id=step.id, occurrence_key=row.key,
                                                    format=fmt_name, content=content, created_on=today,
                                                    plan_version=plan.version))
    ids = list(session.scalars(select(DocumentRecord.id).where(
        DocumentRecord.plan_id == plan.id, DocumentRecord.step_id == step.id,
        DocumentRecord.occurrence_key == row.key).order_by(DocumentRecord.id)))
    md = docs.get("md", b"").decode("utf-8")
    return md[:1500], ids


def queue_notices(plan: Plan, session: Session, action: Action, today: date) -> int:
    """One outbox row per notice and notification tag of its unit; a unit with no tag gets a 'no target' row."""
    from notifiers.templates import render

    count = 0
    for n in action.notices:
        unit = plan.units.get(n.unit_id)
        tags = list(unit.notify) if unit and unit.notify else [None]
        ctx = {**n.context, "unit_name": unit.name if unit else n.unit_id}
        subject, body = render(n.template, ctx, plan_templates(plan))
        for tag in tags:
            key = f"{plan.id}/{action.step_id}/{action.occurrence_key}/{n.reason}/{n.unit_id}/{tag or '-'}"
            count += insert_ignore(session, OutboxRecord, dict(
                idempotency_key=key, plan_id=plan.id, step_id=action.step_id,
                occurrence_key=action.occurrence_key, reason=n.reason, template=n.template, unit_id=n.unit_id,
                tag=tag, context=ctx, subject=subject, body=body, status=PENDING if tag else NO_TARGET,
                attempts=0, created_on=today, plan_version=plan.version))
    return count


def plan_templates(plan: Plan) -> dict[str, str]:
    """Template overrides a plan (or its agency) declares; empty until the language has them."""
    return getattr(plan, "templates", {}) or {}


# ---------------------------------------------------------------------------------------------------------------
# The whole tick


def tick(plan: Plan, session_factory: Callable[[], Session], now: datetime,
         crash_after: int | None = None) -> TickResult:
    """Advance one plan to `now`: materialise, decide, apply, in one transaction.

    `crash_after` (tests only) raises after that many actions were applied, before commit, to prove that a
    rerun produces every effect once.
    """
    today = plan_today(plan, now)
    result = TickResult(plan.id, today)
    with session_factory() as session, session.begin():
        sync(plan, session, today, now)
        session.flush()
        actions = decide(plan, session, today)
        if crash_after is not None:
            applied, _ = apply(plan, session, actions[:crash_after], today, now)
            session.flush()
            raise RuntimeError(f"simulated crash after {len(applied)} actions")
        result.applied, result.skipped = apply(plan, session, actions, today, now)
    return result
