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

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from engine.language.calendar import CalendarBuilder, split_key
from engine.language.dates import fmt
from engine.language.dependencies import Link, waiting, wanted, wanted_keys
from engine.language.models.policy import Escalation
from engine.language.models.steps import Coordinate, Disseminate, Report, Review
from engine.language.plan import Plan
from engine.runtime.materialize import claim_plan, row_values, sync  # noqa: F401 - sync is part of this module's interface
from engine.runtime.notices import Notice, notice_context, outbox_rows, queue_notices  # noqa: F401 - re-exported
from engine.runtime.people import pull
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
    insert_many_ignore,
    inserted_keys,
    inserted_rows,
    shared_reads,
    stage,
    transaction_memo,
    write_staged,
)


@dataclass
class Action:
    """One effect on one occurrence (or on the plan, when `occurrence_key` is None), applied at most once (by
    `effect_key`)."""

    step_id: str | None
    occurrence_key: str | None
    event: str  # opened, reminder, due, overdue, escalation, blocked, catch-up, closed
    effect_key: str
    occurrence_id: int | None = None
    set_status: str | None = None
    notices: list[Notice] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)
    documents: bool = False  # run the automatic part of the step's kind (review summary, report draft)
    next_on: date | None = None  # when the tick should look at the occurrence again once this is applied
    chase: bool = False  # a reminder, due-day notice or escalation to the owner: counted on the occurrence
    escalate: int = 0  # the escalation number this action sends (recorded on the occurrence)


# What each kind of action is called, for people (the CLI's and the Prefect run's log lines).
EVENT_VI = {"opened": "mở việc", "reminder": "nhắc hạn", "due": "đến hạn", "overdue": "quá hạn",
            "escalation": "đôn đốc", "cancelled": "hủy", "orphaned": "bước đã bỏ khỏi kế hoạch",
            "blocked": "chờ việc trước", "catch-up": "báo việc tồn đọng", "closed": "tổng kết khi kết thúc kế hoạch",
            # recorded by people's actions and plan edits (shown in `kehoach simulate`'s timeline)
            "confirmed": "đã xác nhận", "extended": "gia hạn", "skipped": "bỏ qua", "requested": "có yêu cầu",
            "redated": "đổi hạn theo kế hoạch sửa", "restored": "khôi phục", "scheduled": "lên lịch"}


def describe(plan: Plan, action: Action) -> str:
    """One line for a person: 'Quán triệt Đề án 02-ĐA/TU: đôn đốc lần 1 (Văn phòng Sở, Ban Giám đốc Sở)'."""
    from engine.language.periods import in_brackets

    what = EVENT_VI.get(action.event, action.event)
    if action.event == "escalation":
        told = ", ".join(plan.unit_name(u) for u in action.detail.get("to", []))
        what += f" lần {action.detail.get('escalation')}" + (f" ({told})" if told else "")
    step = plan.step_by_id.get(action.step_id or "")
    if step is None:
        return what[:1].upper() + what[1:]
    return f"{plan.short_title(step)}{in_brackets(action.occurrence_key or 'once')}: {what}"


@dataclass
class TickResult:
    """What one tick did, for printing and for the Prefect UI."""

    plan_id: str
    today: date
    applied: list[Action] = field(default_factory=list)
    skipped: int = 0  # actions another run had already applied, or made stale by a confirmation
    caught_up_days: int = 0  # days of work the tick caught up on (ticks had not run), 0 when none
    ended_on: date | None = None  # the plan's end, once it has passed

    def by_step(self) -> dict[str, list[Action]]:
        out: dict[str, list[Action]] = {}
        for a in self.applied:
            out.setdefault(a.step_id or "", []).append(a)
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


def reminder_dates(plan: Plan, step: Any, row: OccurrenceRecord) -> tuple[date, ...]:
    """The reminder days of a stored occurrence: the calendar's, or computed for request/'after'/re-dated rows."""
    occ = plan.dated.get((step.id, row.key))
    if occ is not None and occ.due == row.due_on:
        return occ.reminders
    return CalendarBuilder(plan).finish(step, plan.policy(step), row.key, row.due_on, row.opens_on).reminders


def first_escalation(plan: Plan, due: date, esc: Escalation) -> date:
    """The day of the first escalation: `after_days` working days after the due date, never the due date."""
    return plan.workdays.add_working_days(due, max(esc.after_days, 1))


def next_escalation(plan: Plan, row: OccurrenceRecord, esc: Escalation) -> date | None:
    """The day the next escalation of an overdue occurrence is due: the first one, then `every_days` working days
    after the last one actually sent (a gap in ticks delays the count, never skips it). None when all are sent."""
    if row.escalations >= esc.max_times:
        return None
    if row.escalations and row.escalated_on is not None:
        return plan.workdays.add_working_days(row.escalated_on, esc.every_days)
    return first_escalation(plan, row.due_on, esc)


def next_check(plan: Plan, step: Any, row: OccurrenceRecord, today: date, opened_on: date | None = None,
               escalated: bool = False) -> date | None:
    """The next day after `today` on which an occurrence has something due - a reminder, the due-day notice,
    turning overdue, an escalation - counting what `today`'s actions do (`escalated`: one is sent today). None
    when nothing is left."""
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
    sent = row.escalations + escalated
    if sent >= esc.max_times:
        return None
    last = today if escalated else row.escalated_on
    nxt = plan.workdays.add_working_days(last, esc.every_days) if sent and last else first_escalation(plan, due, esc)
    return max(nxt, today + timedelta(days=1))


def catching_up(plan: Plan, row: OccurrenceRecord, today: date) -> bool:
    """Whether the tick looks at an occurrence two working days or more after it needed looking at: ticks did not
    run (a plan loaded late, a server stopped). Its missed reminders and escalations are then not replayed: what
    is past due is told once, as catching up."""
    return row.next_on is not None and plan.workdays.working_days_between(row.next_on, today) >= 2


# ---------------------------------------------------------------------------------------------------------------
# Deciding


Waits = list[tuple[Link, str, list[str]]]  # unsatisfied dependencies: (link, period waited for, units missing)


def _waits(plan: Plan, session: Session, rows: list[OccurrenceRecord]) -> dict[int, Waits]:
    """What each waiting (scheduled) row still waits for (engine.language.dependencies): the periods of its predecessors
    too few of whose owners have finished.

    Only the keys those rows wait for are asked for. Being finished never goes back, so what one query found is
    remembered for the rest of the transaction.
    """
    todo: list[tuple[OccurrenceRecord, Any, str]] = []
    needed: set[tuple[str, str]] = set()
    for r in rows:
        step = plan.step_by_id.get(r.step_id)
        if r.status != SCHEDULED or step is None or not step.depends_on:
            continue
        period = split_key(r.key)[0]
        todo.append((r, step, period))
        for link, p in wanted(plan, step, period, r.due_on):
            needed.update((link.step, k) for k in wanted_keys(plan, link, p))
    if not todo:
        return {}
    known: set[tuple[str, str]] = transaction_memo(session, "finished_keys").setdefault(plan.id, set())
    ask: dict[str, list[str]] = {}
    for step_id, key in sorted(needed - known):
        ask.setdefault(step_id, []).append(key)
    for step_id, keys in ask.items():
        for i in range(0, len(keys), 500):
            known.update(session.execute(_FINISHED_KEYS, {"plan_id": plan.id, "step_id": step_id,
                                                          "keys": keys[i:i + 500]}).tuples())
    return {r.id: waiting(plan, step, period, r.due_on, known) for r, step, period in todo}


_FINISHED_KEYS = select(OccurrenceRecord.step_id, OccurrenceRecord.key).where(
    OccurrenceRecord.plan_id == bindparam("plan_id"), OccurrenceRecord.step_id == bindparam("step_id"),
    OccurrenceRecord.key.in_(bindparam("keys", expanding=True)), OccurrenceRecord.status.in_(FINISHED))


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
    predecessor sleeps until its escalation day (a confirmation of the predecessor wakes it), and one whose
    effects were all applied before is given its next day. Both are derived from the row and `today`, so they are
    idempotent, and losing them (a rolled back transaction) only costs a second look. On the plan's last day
    its closing summary is added (once); after it, that summary is the only action there can be.
    """
    if today > plan.meta.period.end:
        return _closing(plan, session, today)
    actions = _decide_rows(plan, session, today)
    return actions + _closing(plan, session, today) if today == plan.meta.period.end else actions


def _decide_rows(plan: Plan, session: Session, today: date) -> list[Action]:
    rows = due_occurrences(session, plan.id, today)
    transaction_memo(session, "decided")[plan.id] = {r.id: r for r in rows}  # read under the lock: see apply
    waits = _waits(plan, session, rows)
    planned: list[tuple[OccurrenceRecord, list[Action], date | None]] = []
    for row in rows:
        step = plan.step_by_id.get(row.step_id)
        if step is None:
            continue
        late = catching_up(plan, row, today)
        status, opened_on = row.status, row.opened_on
        if status == SCHEDULED:
            blocking = [w for w in waits.get(row.id, ()) if not w[0].opens_anyway]
            if blocking:
                actions, nxt = _blocked(plan, step, row, today, blocking, late)
                planned.append((row, actions, nxt))
                continue
            actions = [_open_action(plan, step, row, today, quiet=late and today > row.due_on,
                                    missing=waits.get(row.id, []))]
            status, opened_on = OPEN, today
        else:
            actions = []
        actions += _follow_up(plan, step, row, status, opened_on or today, today, late)
        escalated = any(a.escalate for a in actions)
        planned.append((row, actions, next_check(plan, step, row, today, opened_on, escalated)))
    for row, actions, _ in planned:
        if row.next_on is not None and catching_up(plan, row, today):
            for a in actions:
                a.detail = {**a.detail, "late_since": row.next_on.isoformat()}
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


def _open_action(plan: Plan, step: Any, row: OccurrenceRecord, today: date, quiet: bool = False,
                 missing: Waits | None = None) -> Action:
    """Open an occurrence: the owner is given the work, participants asked to help, the audience of a
    dissemination and the partners of a coordination told. `quiet` (catching up on work already past due): no
    notices - the overdue notice that follows says it all. `missing`: what it opens without (a dependency that
    opens anyway), named in the notice."""
    ctx = notice_context(plan, step, row, today)
    detail: dict[str, Any] = {"opens": row.opens_on.isoformat(), "due": row.due_on.isoformat()}
    if missing:
        ctx["missing"] = detail["missing_text"] = missing_text(plan, missing)
        detail["missing"] = {link.step: units for link, _, units in missing}
    owner = plan.owner_of(step.id, row.key)
    notices = []
    drafted = isinstance(step, (Review, Report))
    if not quiet:
        # The owner of a review or report is given the work with its draft (engine.runtime.tick._draft), in one notice.
        notices = [] if drafted else [Notice("opened", "opened", owner, ctx)]
        notices += [Notice("participant", "participant", u, ctx) for u in plan.members(step.participants)
                    if u != owner]
        if isinstance(step, Disseminate):
            notices += [Notice("disseminate", "disseminate", u, ctx) for u in plan.members(step.audience)]
        elif isinstance(step, Coordinate):
            notices += [Notice("coordinate", "coordinate", u, ctx) for u in plan.members(step.partners)]
    return Action(step.id, row.key, "opened", effect_key(plan.id, step.id, row.key, "opened"),
                  set_status=OPEN, notices=notices, documents=drafted and not quiet, detail=detail)


LISTED_UNITS = 10  # units named in a line about who is missing; the rest are counted


def units_text(plan: Plan, units: list[str]) -> str:
    """'UBND huyện Nho Quan, UBND huyện Gia Viễn' - at most LISTED_UNITS names, then how many more."""
    names = [plan.unit_name(u) for u in units[:LISTED_UNITS]]
    more = len(units) - LISTED_UNITS
    return ", ".join(names) + (f" và {more} đơn vị khác" if more > 0 else "")


def missing_text(plan: Plan, waits: Waits) -> str:
    """What an occurrence waits for, in a sentence: 'Báo cáo của các huyện (6 tháng đầu năm 2023): chưa có
    UBND huyện Gia Viễn, UBND huyện Hoa Lư'."""
    from engine.language.periods import in_brackets

    parts = []
    for link, period, units in waits:
        title = plan.short_title(plan.step_by_id[link.step]) + in_brackets(period)
        parts.append(f"{title}: chưa có {units_text(plan, units)}" if link.step in plan.per_unit else title)
    return "; ".join(parts)


def _follow_up(plan: Plan, step: Any, row: OccurrenceRecord, status: str, opened_on: date, today: date,
               late: bool) -> list[Action]:
    """Reminders before the due date, the due-day notice, then overdue and escalations.

    Nothing is repeated on the day an occurrence opens (the opening notice gives the deadline). The effect keys
    of what happens on or after the due date name that date: when an extension or an edit moves the deadline,
    the new one is announced, passed and escalated in its turn. Escalations are counted on the occurrence, so
    after a gap in ticks the next one is the next number, and catching up on overdue work escalates it once.
    """
    policy = plan.policy(step)
    due = row.due_on
    owner = plan.owner_of(step.id, row.key)

    def act(event: str, what: str, notices: list[Notice], **kw: Any) -> Action:
        return Action(step.id, row.key, event, effect_key(plan.id, step.id, row.key, what), notices=notices, **kw)

    if today < due:
        reminders = reminder_dates(plan, step, row)
        i = bisect.bisect_right(reminders, today)
        # After a gap (no tick for days) only the latest reminder is sent: a pile of stale ones helps nobody.
        if i and reminders[i - 1] > opened_on:
            d = reminders[i - 1]
            ctx = notice_context(plan, step, row, today)
            return [act("reminder", f"reminder/{d}", [Notice(f"reminder-{d}", "reminder", owner, ctx)],
                        chase=True, detail={"reminder_for": d.isoformat(), "due": due.isoformat()})]
        return []
    if today == due:
        if not policy.reminders.on_due_day or opened_on == today:
            return []
        return [act("due", f"due/{due}", [Notice("due", "due_today", owner,
                                                 notice_context(plan, step, row, today))], chase=True)]
    out = []
    days_overdue = (today - due).days
    if status != OVERDUE:
        out.append(act("overdue", f"overdue/{due}", [], set_status=OVERDUE,
                       detail={"due": due.isoformat(), "days_overdue": days_overdue}))
    esc = policy.escalation
    nxt = next_escalation(plan, row, esc)
    if nxt is not None and (late or today >= nxt):
        k = row.escalations + 1
        to = [u for u in plan.members(esc.to) if u != owner]
        ctx = {**notice_context(plan, step, row, today), "escalation": k, "catch_up": late}
        notices = [Notice(f"escalation-{k}", "overdue", owner, ctx)]
        notices += [Notice(f"escalation-{k}", "escalation", u, ctx) for u in to]
        out.append(act("escalation", f"escalation/{due}/{k}", notices, chase=True, escalate=k,
                       detail={"escalation": k, "of": esc.max_times, "to": [owner, *to],
                               "due": due.isoformat(), "days_overdue": days_overdue, "catch_up": late}))
    elif late:  # escalations used up (or none): the owner is still told once what it owes
        ctx = {**notice_context(plan, step, row, today), "catch_up": True}
        out.append(act("catch-up", f"catch-up/{today}", [Notice("catch-up", "overdue", owner, ctx)],
                       detail={"due": due.isoformat(), "days_overdue": days_overdue}))
    return out


def _blocked(plan: Plan, step: Any, row: OccurrenceRecord, today: date, waits: Waits,
             late: bool) -> tuple[list[Action], date | None]:
    """An occurrence whose opening day has come but whose predecessors are not done: its owner and the owners
    still missing are told once what waits on what; once it is past due it is escalated (to leadership) as
    overdue work is. It is looked at again on its next escalation day, or when a predecessor is confirmed."""
    owner = plan.owner_of(step.id, row.key)
    missing_units = list(dict.fromkeys(u for _, _, units in waits for u in units))
    ctx = {**notice_context(plan, step, row, today), "waiting_for": missing_text(plan, waits),
           "waiting_owners": units_text(plan, missing_units)}
    detail = {"waiting_for": list(dict.fromkeys(link.step for link, _, _ in waits)), "due": row.due_on.isoformat()}
    if any(link.step in plan.per_unit for link, _, _ in waits):
        detail["missing"] = {link.step: units for link, _, units in waits}
    actions = [Action(step.id, row.key, "blocked", effect_key(plan.id, step.id, row.key, "blocked"),
                      notices=[Notice("blocked", "blocked", u, ctx) for u in dict.fromkeys([owner, *missing_units])],
                      detail=detail)]
    escalated = False
    if today > row.due_on:
        esc = plan.policy(step).escalation
        nxt = next_escalation(plan, row, esc)
        if nxt is not None and (late or today >= nxt):
            k = row.escalations + 1
            to = plan.members(esc.to) or [owner]
            c = {**ctx, "escalation": k, "catch_up": late}
            actions.append(Action(step.id, row.key, "escalation", effect_key(
                plan.id, step.id, row.key, f"escalation/{row.due_on}/{k}"),
                notices=[Notice(f"escalation-{k}", "escalation", u, c) for u in to], escalate=k,
                detail={**detail, "escalation": k, "of": esc.max_times, "to": to,
                        "days_overdue": (today - row.due_on).days, "catch_up": late}))
            escalated = True
    nxt_day = next_check(plan, step, row, today, None, escalated) if today >= row.due_on else \
        first_escalation(plan, row.due_on, plan.policy(step).escalation)
    return actions, nxt_day


def _closing(plan: Plan, session: Session, today: date) -> list[Action]:
    """The plan's last day has come: one closing summary to its leadership (the default escalation's units, else
    the owners of unfinished work), then nothing more. Counted as of the last day (or today, when earlier)."""
    key = effect_key(plan.id, None, None, "closed")
    if existing_effects(session, [key]):
        return []
    from engine.language.periods import in_brackets
    from engine.runtime.status import counts, plan_status

    end = plan.meta.period.end
    rows = plan_status(plan, session, min(end, today))
    late = [r for r in rows if r["days_overdue"] and not r["orphaned"]]
    unfinished = "\n".join(
        f"- {plan.short_title(plan.step_by_id[r['step']])}{in_brackets(r['occurrence'])}: hạn {_dmy(r['due'])}, "
        f"{plan.unit_name(plan.owner_of(r['step'], r['occurrence']))} chủ trì" for r in late[:50]
        if r["step"] in plan.step_by_id)
    if len(late) > 50:
        unfinished += f"\n- và {len(late) - 50} việc khác"
    ctx = {"plan_id": plan.id, "plan_number": plan.meta.number, "plan_title": " ".join(plan.meta.title.split()),
           "issuer": plan.issuer.name, "plan_end": fmt(end), "standing": counts(rows, end).line().capitalize(),
           "unfinished": unfinished, "due_iso": end.isoformat(), "due": fmt(end), "step_short": "",
           "created": today.isoformat()}
    to = plan.members(plan.default_policy.escalation.to) or list(dict.fromkeys(
        plan.owner_of(r["step"], r["occurrence"]) for r in late if r["step"] in plan.step_by_id))
    return [Action(None, None, "closed", key, notices=[Notice("closing", "closing", u, ctx) for u in to],
                   detail={"ended_on": end.isoformat(), "unfinished": len(late)})]


def _dmy(iso: str) -> str:
    return fmt(date.fromisoformat(iso))


# ---------------------------------------------------------------------------------------------------------------
# Applying

DocumentMaker = Callable[[Plan, Session, Any, OccurrenceRecord, date], dict[str, bytes]]


def _default_documents(plan: Plan, session: Session, step: Any, row: OccurrenceRecord,
                       today: date) -> dict[str, bytes]:
    from engine.reports.drafts import draft_documents

    return draft_documents(plan, session, step, row, today)


def apply(plan: Plan, session: Session, actions: list[Action], today: date, now: datetime,
          documents: DocumentMaker | None = None) -> tuple[list[Action], int]:
    """Write each action once: its event (the idempotency gate), status, counts, next check, notices, documents.

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
    live: list[tuple[Action, OccurrenceRecord | None]] = []
    for action in actions:
        if action.occurrence_key is None:  # about the plan as a whole (its closing summary)
            live.append((action, None))
            continue
        if action.occurrence_id is not None:
            row = rows.get(action.occurrence_id)
        else:  # an action built by hand: find its row by key
            row = find_occurrence(session, plan.id, action.step_id or "", action.occurrence_key)
        if row is not None and not row.orphaned and row.status not in FINISHED:
            live.append((action, row))
    _leave_to_children(plan, session, live)
    written = set(inserted_keys(session, EventRecord, [dict(
        effect_key=a.effect_key, plan_id=plan.id, step_id=a.step_id, occurrence_key=a.occurrence_key, event=a.event,
        on_date=today, at=now, actor="engine", detail=a.detail, plan_version=plan.version) for a, _ in live],
        "effect_key"))
    applied: list[tuple[Action, list[Notice]]] = []
    drafting: list[tuple[Action, Any, OccurrenceRecord, list[Notice]]] = []
    changed: dict[OccurrenceRecord, dict[str, Any]] = {}  # written together (engine.state.store.stage)
    for action, row in live:
        if action.effect_key not in written:
            continue
        written.discard(action.effect_key)  # the same action twice in one list is applied once
        queued = list(action.notices)
        if row is not None:
            stage(changed, row, **_row_changes(row, action, today))
            step = plan.step_by_id.get(action.step_id)
            if action.documents and step is not None:
                drafting.append((action, step, row, queued))
        applied.append((action, queued))
    write_staged(session, changed)
    if drafting:
        # The day's drafts are made once every change above is made, so each reads the state of the whole tick,
        # and what one reads of the store serves the others (a regime's units report the same period).
        session.flush()
        drafts: list[Draft] = []
        with shared_reads(session):
            for action, step, row, queued in drafting:
                drafts.append(_draft(plan, session, action, step, row, today, make_docs))
                queued.append(drafts[-1].notice)
        _store_drafts(plan, session, drafts, today)
    insert_many_ignore(session, OutboxRecord, [n for action, queued in applied for n in outbox_rows(
        plan, action.step_id, action.occurrence_key, queued, today, action.effect_key)])
    return [a for a, _ in applied], len(actions) - len(applied)


def _leave_to_children(plan: Plan, session: Session, live: list[tuple[Action, OccurrenceRecord | None]]) -> None:
    """Take the owner's notices and the drafts off the actions on occurrences a child plan carries out
    (engine.runtime.family): the child's own plan tells its people and drafts its report. Their events say which
    child (`carried_by`); what the actions tell others still goes."""
    from engine.runtime.family import carried_by, carrying_child

    carried = carried_by(session, plan.id)
    for action, _ in live if carried else ():
        kid = action.step_id and action.occurrence_key and carrying_child(carried, action.step_id,
                                                                           action.occurrence_key)
        if kid:
            owner = plan.owner_of(action.step_id, action.occurrence_key)
            action.notices = [n for n in action.notices if n.unit_id != owner]
            action.detail = {**action.detail, "carried_by": kid}
            if "to" in action.detail:  # an escalation's recipients, as told
                action.detail["to"] = [u for u in action.detail["to"] if u != owner]
            action.chase = action.documents = False


def _row_changes(row: OccurrenceRecord, action: Action, today: date) -> dict[str, Any]:
    """What applying an action changes on its occurrence: status, chase and escalation counts, next check."""
    out: dict[str, Any] = {}
    if action.set_status == OPEN and row.status == SCHEDULED:
        out.update(status=OPEN, opened_on=today)
    elif action.set_status == OVERDUE and row.status in (SCHEDULED, OPEN):
        out.update(status=OVERDUE)
    if (chased := (row.chased or 0) + action.chase) != row.chased:
        out.update(chased=chased)
    if action.escalate:
        out.update(escalations=action.escalate, escalated_on=today)
    out.update(next_on=action.next_on)
    return out


@dataclass
class Draft:
    """The drafts made for one action, until they are stored with the others of the tick."""

    action: Action
    step: Any
    key: str
    documents: dict[str, bytes]
    notice: Notice  # to the owner, its attachments filled in once the documents have ids


def _draft(plan: Plan, session: Session, action: Action, step: Any, row: OccurrenceRecord, today: date,
           make_docs: DocumentMaker) -> Draft:
    """The automatic part of reviews and reports: make the drafts, and the notice asking the owner to finish
    them (the drafts attached, their one-line digest in the message). Stored by `_store_drafts`."""
    docs = make_docs(plan, session, step, row, today)
    template = "review_summary" if isinstance(step, Review) else "report_draft"
    ctx = {**notice_context(plan, step, row, today), "summary": digest_line(docs.get("md", b"")),
           "attachments": []}
    if action.detail.get("missing_text"):
        ctx["missing"] = action.detail["missing_text"]
    return Draft(action, step, row.key, docs, Notice("draft", template, plan.owner_of(step.id, row.key), ctx))


def _store_drafts(plan: Plan, session: Session, drafts: list[Draft], today: date) -> None:
    """Store the tick's drafts with one INSERT, and note them on their actions' audit events with one UPDATE.

    An occurrence's documents are written only by the action that opened it, whose event went in now: a
    document of it already there (kept from a store's past) is found again by one more query, as the action's
    other documents."""
    if not drafts:
        return
    values = [dict(plan_id=plan.id, step_id=d.step.id, occurrence_key=d.key, format=name, content=content,
                   created_on=today, plan_version=plan.version)
              for d in drafts for name, content in d.documents.items()]
    ids: dict[tuple[str, str], list[int]] = {}
    for doc_id, step_id, key in inserted_rows(session, DocumentRecord, values,
                                              ("id", "step_id", "occurrence_key")):
        ids.setdefault((step_id, key), []).append(doc_id)
    stored_before = [(d.step.id, d.key) for d in drafts
                     if len(ids.get((d.step.id, d.key), ())) != len(d.documents)]
    for step_id, key in stored_before:
        ids[(step_id, key)] = list(session.scalars(select(DocumentRecord.id).where(
            DocumentRecord.plan_id == plan.id, DocumentRecord.step_id == step_id,
            DocumentRecord.occurrence_key == key)))
    for d in drafts:
        mine = sorted(ids.get((d.step.id, d.key), ()))
        d.action.detail = {**d.action.detail, "drafted": sorted(d.documents), "documents": mine}
        d.notice.context["attachments"] = mine
    session.connection().execute(_SET_DETAIL, [{"effect": d.action.effect_key, "new_detail": d.action.detail}
                                               for d in drafts])


_EVENTS = EventRecord.__table__
_SET_DETAIL = update(_EVENTS).where(_EVENTS.c.effect_key == bindparam("effect")).values(
    detail=bindparam("new_detail", type_=_EVENTS.c.detail.type))


def digest_line(markdown: bytes) -> str:
    """The one-sentence digest a Markdown draft opens with ('> ...'), for the message that carries the draft."""
    first = markdown.decode("utf-8", "replace").partition("\n")[0].strip()
    return first[1:].strip() if first.startswith(">") else ""


# ---------------------------------------------------------------------------------------------------------------
# The whole tick


def tick_in(plan: Plan, session: Session, now: datetime, documents: DocumentMaker | None = None) -> TickResult:
    """One tick inside the caller's transaction: materialise, decide, apply (see `tick`)."""
    today = plan_today(plan, now)
    result = TickResult(plan.id, today)
    sync(plan, session, today, now)
    pull(plan, session, today, now)  # what child plans have done counts before anyone is chased for it
    actions = decide(plan, session, today)
    result.applied, result.skipped = apply(plan, session, actions, today, now, documents)
    result.caught_up_days = caught_up_days(plan, result.applied, today)
    if today >= plan.meta.period.end:
        result.ended_on = plan.meta.period.end
    return result


def caught_up_days(plan: Plan, applied: list[Action], today: date) -> int:
    """How many days of missed ticks this tick caught up on: from the earliest day an occurrence it acted on as
    catching up needed looking at. 0 when it caught up on nothing."""
    started = [date.fromisoformat(a.detail["late_since"]) for a in applied if a.detail.get("late_since")]
    return max((today - min(started)).days, 0) if started else 0


def tick(plan: Plan, session_factory: Callable[[], Session], now: datetime,
         documents: DocumentMaker | None = None) -> TickResult:
    """Advance one plan to `now` in one transaction: materialise the rows whose time has come, decide, apply."""
    with session_factory() as session, session.begin():
        return tick_in(plan, session, now, documents)


__all__ = ["Action", "Notice", "TickResult", "apply", "decide", "effect_key", "next_check", "notice_context",
           "plan_today", "queue_notices", "reminder_dates", "row_values", "sync", "tick", "tick_in"]
