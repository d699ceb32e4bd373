"""The tick: given a plan, the stored state and `now`, decide what is due and apply it exactly once.

`decide` reads the occurrences whose `next_on` has come and returns actions; `apply` writes them. Every action
carries an effect key that is unique in the audit log, so applying an action twice - a rerun after a crash, or
two workers at once - writes its event, status change, notices and documents once. Nothing here reads the
wall clock: `now` is a parameter.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.calendar import CalendarBuilder
from engine.materialize import claim_plan, row_values, sync  # noqa: F401 - sync is part of this module's interface
from engine.models.policy import Escalation
from engine.models.steps import Coordinate, Disseminate, Report, Review
from engine.models.timing import OnDemand
from engine.notices import Notice, notice_context, outbox_rows, queue_notices  # noqa: F401 - re-exported
from engine.plan import Plan
from engine.state.models import (
    FINISHED,
    OPEN,
    OVERDUE,
    SCHEDULED,
    DocumentRecord,
    EventRecord,
    OccurrenceRecord,
    OutboxRecord,
)
from engine.state.store import (
    due_occurrences,
    effect_key,
    existing_effects,
    find_occurrence,
    insert_ignore,
    insert_many_ignore,
    inserted_keys,
    transaction_memo,
)


@dataclass
class Action:
    """One effect on one occurrence, applied at most once (by `effect_key`)."""

    step_id: str
    occurrence_key: str
    event: str  # opened, reminder, due, overdue, escalation
    effect_key: str
    occurrence_id: int | None = None
    set_status: str | None = None
    notices: list[Notice] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)
    documents: bool = False  # run the automatic part of the step's kind (review summary, report draft)
    next_on: date | None = None  # when the tick should look at the occurrence again once this is applied


@dataclass
class TickResult:
    """What one tick did, for printing and for the Prefect UI."""

    plan_id: str
    today: date
    applied: list[Action] = field(default_factory=list)
    skipped: int = 0  # actions another run had already applied, or made stale by a confirmation

    def by_step(self) -> dict[str, list[Action]]:
        out: dict[str, list[Action]] = {}
        for a in self.applied:
            out.setdefault(a.step_id, []).append(a)
        return out


def plan_today(plan: Plan, now: datetime) -> date:
    """The calendar day `now` falls on in the plan's time zone.

    Raises:
        ValueError: `now` has no time zone.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(ZoneInfo(plan.meta.timezone)).date()


# ---------------------------------------------------------------------------------------------------------------
# Dates of a stored occurrence


def _calendar_index(plan: Plan) -> dict[tuple[str, str], Any]:
    cached = getattr(plan, "_calendar_index", None)
    if cached is None:
        cached = {(o.step_id, o.key): o for cal in plan.calendar.values() for o in cal.occurrences if not o.projected}
        plan._calendar_index = cached  # type: ignore[attr-defined]
    return cached


def reminder_dates(plan: Plan, step: Any, row: OccurrenceRecord) -> tuple[date, ...]:
    """The reminder days of a stored occurrence: the calendar's, or computed for request/'after'/re-dated rows."""
    occ = _calendar_index(plan).get((step.id, row.key))
    if occ is not None and occ.due == row.due_on:
        return occ.reminders
    return CalendarBuilder(plan).finish(step, plan.policy(step), row.key, row.due_on, row.opens_on).reminders


def first_escalation(due: date, esc: Escalation) -> date:
    """The day of the first escalation: `after_days` after the due date, and never on the due date itself."""
    return due + timedelta(days=max(esc.after_days, 1))


def escalation_number(due: date, esc: Escalation, today: date) -> int:
    """How many escalations are due by `today` (capped at max_times); 0 before the first one."""
    first = first_escalation(due, esc)
    if not esc.max_times or today < first:
        return 0
    return min(esc.max_times, (today - first).days // esc.every_days + 1)


def next_check(plan: Plan, step: Any, row: OccurrenceRecord, today: date) -> date | None:
    """The next day after `today` on which an open occurrence has something due: a reminder, the due-day
    notice, turning overdue, an escalation. None when nothing is left (escalations exhausted)."""
    policy = plan.policy(step)
    due = row.due_on
    if today < due:
        reminders = reminder_dates(plan, step, row)
        i = bisect.bisect_right(reminders, today)
        nxt = due if policy.reminders.on_due_day else due + timedelta(days=1)
        return min(reminders[i], nxt) if i < len(reminders) else nxt
    if today == due:
        return due + timedelta(days=1)
    esc = policy.escalation
    first = first_escalation(due, esc)
    if today < first:
        return first if esc.max_times else None
    k = (today - first).days // esc.every_days + 1
    return first + timedelta(days=k * esc.every_days) if k < esc.max_times else None


# ---------------------------------------------------------------------------------------------------------------
# Deciding


def _deps_done(plan: Plan, session: Session, rows: list[OccurrenceRecord]) -> dict[str, bool]:
    """Whether each predecessor of a waiting row's step has a finished occurrence.

    (A recurring predecessor counts once it has been done at least once; an on-demand one never blocks.) Being
    done never goes back, so what one query found is remembered for the rest of the transaction.
    """
    needed = {d for r in rows if r.status == SCHEDULED and r.step_id in plan.step_by_id
              for d in plan.step_by_id[r.step_id].depends_on}
    if not needed:
        return {}
    known: set[str] = transaction_memo(session, "done_steps").setdefault(plan.id, set())
    ask = sorted(d for d in needed if d not in known and not (
        d in plan.step_by_id and isinstance(plan.step_by_id[d].timing, OnDemand)))
    if ask:
        known.update(session.scalars(select(OccurrenceRecord.step_id).where(
            OccurrenceRecord.plan_id == plan.id, OccurrenceRecord.step_id.in_(ask),
            OccurrenceRecord.status.in_(FINISHED)).group_by(OccurrenceRecord.step_id)))
    return {d: d in known or d not in ask for d in needed}


def _current_rows(session: Session, plan: Plan, ids: set[int]) -> dict[int, OccurrenceRecord]:
    """The occurrence rows of these ids as they stand in this transaction.

    Rows `decide` read in this same transaction are current: it read them under the plan's lock, which every
    writer of the plan takes, and what `apply` looks at (status, orphaned) changes only through this session.
    Others (a decision made in an earlier transaction, the session keeping objects across commits) are read
    again.
    """
    decided = transaction_memo(session, "decided").get(plan.id, {})
    rows = {i: decided[i] for i in ids if i in decided}
    missing = ids - rows.keys()
    if missing:
        rows.update((r.id, r) for r in session.scalars(select(OccurrenceRecord).where(
            OccurrenceRecord.id.in_(missing)).execution_options(populate_existing=True)))
    return rows


def decide(plan: Plan, session: Session, today: date) -> list[Action]:
    """Everything due today for the plan's occurrences whose `next_on` has come, as actions.

    Applies nothing, but moves bookkeeping forward where there is nothing to apply: an occurrence waiting for a
    predecessor sleeps (`next_on` cleared; a confirmation of the predecessor wakes it), and one whose effects
    were all applied before is given its next day. Both are derived from the row and `today`, so they are
    idempotent, and losing them (a rolled back transaction) only costs a second look.
    """
    rows = due_occurrences(session, plan.id, today)
    transaction_memo(session, "decided")[plan.id] = {r.id: r for r in rows}  # read under the lock: see apply
    deps = _deps_done(plan, session, rows)
    planned: list[tuple[OccurrenceRecord, list[Action], date | None]] = []
    for row in rows:
        step = plan.step_by_id.get(row.step_id)
        if step is None:
            continue
        actions: list[Action] = []
        status, opened_on = row.status, row.opened_on
        if status == SCHEDULED:
            if not all(deps.get(d, True) for d in step.depends_on):
                row.next_on = None
                continue
            actions.append(_open_action(plan, step, row, today))
            status, opened_on = OPEN, today
        actions += _follow_up(plan, step, row, status, opened_on or today, today)
        planned.append((row, actions, next_check(plan, step, row, today)))
    done = existing_effects(session, [a.effect_key for _, acts, _ in planned for a in acts])
    out: list[Action] = []
    for row, actions, nxt in planned:
        actions = [a for a in actions if a.effect_key not in done]
        if not actions:
            row.next_on = nxt
        for a in actions:
            a.occurrence_id, a.next_on = row.id, nxt
        out += actions
    return out


def _open_action(plan: Plan, step: Any, row: OccurrenceRecord, today: date) -> Action:
    ctx = notice_context(plan, step, row, today)
    notices = [Notice("opened", "opened", u, ctx) for u in dict.fromkeys([step.owner, *step.participants])]
    if isinstance(step, Disseminate):
        notices += [Notice("disseminate", "disseminate", u, ctx) for u in step.audience]
    elif isinstance(step, Coordinate):
        notices += [Notice("coordinate", "coordinate", u, ctx) for u in step.partners]
    return Action(step.id, row.key, "opened", effect_key(plan.id, step.id, row.key, "opened"),
                  set_status=OPEN, notices=notices, documents=isinstance(step, (Review, Report)),
                  detail={"opens": row.opens_on.isoformat(), "due": row.due_on.isoformat()})


def _follow_up(plan: Plan, step: Any, row: OccurrenceRecord, status: str, opened_on: date,
               today: date) -> list[Action]:
    """Reminders before the due date, the due-day notice, then overdue and escalations.

    The effect keys of what happens on or after the due date name that date: when an edit moves the deadline,
    the new one is announced, passed and escalated in its turn.
    """
    policy = plan.policy(step)
    due = row.due_on

    def act(event: str, what: str, notices: list[Notice], **kw: Any) -> Action:
        return Action(step.id, row.key, event, effect_key(plan.id, step.id, row.key, what), notices=notices, **kw)

    if today < due:
        reminders = reminder_dates(plan, step, row)
        i = bisect.bisect_right(reminders, today)
        # After a gap (no tick for days) only the latest reminder is sent: a pile of stale ones helps nobody.
        if i and reminders[i - 1] >= opened_on:
            d = reminders[i - 1]
            ctx = notice_context(plan, step, row, today)
            return [act("reminder", f"reminder/{d}", [Notice(f"reminder-{d}", "reminder", step.owner, ctx)],
                        detail={"reminder_for": d.isoformat(), "due": due.isoformat()})]
        return []
    if today == due:
        if not policy.reminders.on_due_day:
            return []
        return [act("due", f"due/{due}",
                    [Notice("due", "due_today", step.owner, notice_context(plan, step, row, today))])]
    out = []
    days_overdue = (today - due).days
    if status != OVERDUE:
        out.append(act("overdue", f"overdue/{due}", [], set_status=OVERDUE,
                       detail={"due": due.isoformat(), "days_overdue": days_overdue}))
    esc = policy.escalation
    k = escalation_number(due, esc, today)
    if k:
        to = list(dict.fromkeys([step.owner, *esc.to]))
        ctx = {**notice_context(plan, step, row, today), "escalation": k}
        notices = [Notice(f"escalation-{k}", "overdue", u, ctx) for u in to]
        out.append(act("escalation", f"escalation/{due}/{k}", notices,
                       detail={"escalation": k, "of": esc.max_times, "to": to, "due": due.isoformat(),
                               "days_overdue": days_overdue}))
    return out


# ---------------------------------------------------------------------------------------------------------------
# Applying

DocumentMaker = Callable[[Plan, Session, Any, OccurrenceRecord, date], dict[str, bytes]]


def _default_documents(plan: Plan, session: Session, step: Any, row: OccurrenceRecord,
                       today: date) -> dict[str, bytes]:
    from engine.reports.drafts import draft_documents

    return draft_documents(plan, session, step, row, today)


def apply(plan: Plan, session: Session, actions: list[Action], today: date, now: datetime,
          documents: DocumentMaker | None = None) -> tuple[list[Action], int]:
    """Write each action once: its event (the idempotency gate), status, next check, notices, documents.

    May run in another transaction than `decide`: it takes the plan's lock, reads again the rows `decide` did not
    read in this transaction, and drops actions made stale meanwhile (the occurrence was confirmed, skipped,
    cancelled or orphaned). The events of all actions go in one statement, their notices in another. Returns
    the actions applied now and the number dropped or already applied (by an earlier or concurrent run).
    """
    if not actions:
        return [], 0
    make_docs = documents or _default_documents
    claim_plan(plan, session, today, now)
    ids = {a.occurrence_id for a in actions if a.occurrence_id is not None}
    rows = _current_rows(session, plan, ids)
    live: list[tuple[Action, OccurrenceRecord]] = []
    for action in actions:
        if action.occurrence_id is not None:
            row = rows.get(action.occurrence_id)
        else:  # an action built by hand: find its row by key
            row = find_occurrence(session, plan.id, action.step_id, action.occurrence_key)
        if row is not None and not row.orphaned and row.status not in FINISHED:
            live.append((action, row))
    written = set(inserted_keys(session, EventRecord, [dict(
        effect_key=a.effect_key, plan_id=plan.id, step_id=a.step_id, occurrence_key=a.occurrence_key, event=a.event,
        on_date=today, at=now, actor="engine", detail=a.detail, plan_version=plan.version) for a, _ in live],
        "effect_key"))
    applied: list[Action] = []
    notices: list[dict[str, Any]] = []
    for action, row in live:
        if action.effect_key not in written:
            continue
        written.discard(action.effect_key)  # the same action twice in one list is applied once
        if action.set_status == OPEN and row.status == SCHEDULED:
            row.status, row.opened_on = OPEN, today
        elif action.set_status == OVERDUE and row.status in (SCHEDULED, OPEN):
            row.status = OVERDUE
        row.next_on = action.next_on
        queued = list(action.notices)
        step = plan.step_by_id.get(action.step_id)
        if action.documents and step is not None:
            queued.append(_draft(plan, session, action, step, row, today, make_docs))
        notices += outbox_rows(plan, action.step_id, action.occurrence_key, queued, today, action.effect_key)
        applied.append(action)
    insert_many_ignore(session, OutboxRecord, notices)
    return applied, len(actions) - len(applied)


def _draft(plan: Plan, session: Session, action: Action, step: Any, row: OccurrenceRecord, today: date,
           make_docs: DocumentMaker) -> Notice:
    """The automatic part of reviews and reports: store the drafts, note them on the action's audit event, and
    ask the owner to finish them."""
    docs = make_docs(plan, session, step, row, today)
    for fmt_name, content in docs.items():
        insert_ignore(session, DocumentRecord, dict(plan_id=plan.id, step_id=step.id, occurrence_key=row.key,
                                                    format=fmt_name, content=content, created_on=today,
                                                    plan_version=plan.version))
    ids = list(session.scalars(select(DocumentRecord.id).where(
        DocumentRecord.plan_id == plan.id, DocumentRecord.step_id == step.id,
        DocumentRecord.occurrence_key == row.key).order_by(DocumentRecord.id)))
    action.detail = {**action.detail, "drafted": sorted(docs), "documents": ids}
    session.execute(update(EventRecord).where(EventRecord.effect_key == action.effect_key)
                    .values(detail=action.detail))
    summary = docs.get("md", b"").decode("utf-8")[:1500]
    template = "review_summary" if isinstance(step, Review) else "report_draft"
    # The draft goes to the owner with the stored documents attached (by id, read at delivery).
    return Notice("draft", template, step.owner, {**notice_context(plan, step, row, today), "summary": summary,
                                                  "attachments": ids})


# ---------------------------------------------------------------------------------------------------------------
# The whole tick


def tick_in(plan: Plan, session: Session, now: datetime, crash_after: int | None = None,
            documents: DocumentMaker | None = None) -> TickResult:
    """One tick inside the caller's transaction: materialise, decide, apply (see `tick`)."""
    today = plan_today(plan, now)
    result = TickResult(plan.id, today)
    sync(plan, session, today, now)
    actions = decide(plan, session, today)
    if crash_after is not None:
        applied, _ = apply(plan, session, actions[:crash_after], today, now, documents)
        session.flush()
        raise RuntimeError(f"simulated crash after {len(applied)} actions")
    result.applied, result.skipped = apply(plan, session, actions, today, now, documents)
    return result


def tick(plan: Plan, session_factory: Callable[[], Session], now: datetime,
         crash_after: int | None = None, documents: DocumentMaker | None = None) -> TickResult:
    """Advance one plan to `now` in one transaction: materialise the rows whose time has come, decide, apply.

    `crash_after` (tests only) raises after that many actions were applied, before commit, to prove that a
    rerun produces every effect once.
    """
    with session_factory() as session, session.begin():
        return tick_in(plan, session, now, crash_after, documents)


__all__ = ["Action", "Notice", "TickResult", "apply", "decide", "effect_key", "next_check", "notice_context",
           "plan_today", "queue_notices", "reminder_dates", "row_values", "sync", "tick", "tick_in"]
