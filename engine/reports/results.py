"""Facts for a review or report, read from the store: each covered occurrence's outcome as of the cut-off day."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import String, and_, bindparam, func, not_, or_, select, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from engine.errors import ReportError
from engine.language.calendar import Occurrence, split_key
from engine.language.keys import UNIT_SEP
from engine.language.models.steps import Report, Review
from engine.language.models.timing import OnDemand
from engine.language.periods import CUMULATIVE, Window
from engine.language.plan import Plan
from engine.runtime.status import (  # noqa: F401 - the outcomes are part of this module's interface
    DONE_OUTCOMES,
    DROPPED,
    IN_PROGRESS,
    LATE,
    NOT_DUE,
    NOT_OPENED,
    ON_TIME,
    outcome,
)
from engine.runtime.status import (
    OVERDUE_ON as OVERDUE,
)
from engine.state.models import (
    CANCELLED,
    SKIPPED,
    ConfirmationRecord,
    EventRecord,
    OccurrenceRecord,
    PlanRecord,
)
from engine.state.store import shared_memo

# Outcomes of one occurrence on the cut-off day: one definition with `kehoach status` (engine.runtime.status).
FINISHED = DONE_OUTCOMES


@dataclass(frozen=True)
class Item:
    """One occurrence of a covered step and what had become of it by the cut-off day."""

    step_id: str
    key: str
    opens: date
    due: date
    outcome: str
    days: int = 0  # days late (LATE) or overdue (OVERDUE)
    done_on: date | None = None
    by: str | None = None
    evidence: dict[str, str] = field(default_factory=dict)
    note: str | None = None
    reason: str | None = None
    projected: bool = False
    result: str | None = None  # what was done, in the confirmer's words
    nominal_due: date | None = None  # the plan's date, when the deadline moved off a day off
    extensions: tuple[tuple[date, date, str], ...] = ()  # (from, to, reason) of each extension, in order

    @property
    def finished(self) -> bool:
        return self.outcome in FINISHED


@dataclass
class StepResult:
    """A covered step: its occurrences in the window, the last one done before it, the next one to do."""

    step: Any
    items: list[Item]
    done_before: Item | None = None
    next_item: Item | None = None
    unit: str | None = None  # the one owner shown of a step of several owners (a unit's own report)
    # Its section of a draft, once written (engine.reports.sections): the drafts of one tick share a step's facts.
    written: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass
class Facts:
    """Everything a review or report says, as of `as_of` (the cut-off day, or today when earlier)."""

    window: Window
    as_of: date
    steps: list[StepResult]
    # Child plans carrying out the covered steps, with what they had done of the window's period by the day the
    # draft is made (engine.reports.drafts.draft): a unit reports after the data cut-off, with data up to it.
    children: list[tuple[Any, list[Any]]] = field(default_factory=list)

    @property
    def items(self) -> list[Item]:
        return [i for s in self.steps for i in s.items]

    def count(self, *outcomes: str) -> int:
        return sum(i.outcome in outcomes for i in self.items)

    @property
    def overdue(self) -> list[Item]:
        return [i for i in self.items if i.outcome == OVERDUE]


def covered_steps(plan: Plan, step: Any, unit: str | None = None) -> list[str]:
    """The steps a review or report covers: its `covers`, else every other step (a review: every step that is
    not a review or a report), as the plan language documents.

    `unit`: the owner whose own occurrence of a step of several owners is drafted. A unit's report speaks for its
    own work: of the steps it shares with other units, those it is an owner of (its own occurrences only, see
    `collect`); of the steps of one owner, those it owns or the step names in `covers`."""
    if step.covers:
        ids = list(step.covers)
    elif isinstance(step, Review):
        ids = [s.id for s in plan.steps if not isinstance(s, (Review, Report))]
    else:
        ids = [s.id for s in plan.steps if s.id != step.id]
    if unit is None:
        return ids
    named = set(step.covers or ())
    return [i for i in ids if unit in plan.step_owners[i] or i not in plan.per_unit and i in named]


def require_records(plan: Plan, session: Session) -> None:
    """Raises ReportError when the store has never seen the plan (a report from nothing would mislead)."""
    if session.get(PlanRecord, plan.id) is None:
        raise ReportError(f"kho dữ liệu chưa có số liệu của kế hoạch {plan.id}: chạy 'kehoach run' hoặc "
                          "'kehoach simulate --db ...' trước, hoặc chỉ đúng --db")


def _from_row(row: OccurrenceRecord, conf: Any, as_of: date, planned: Occurrence | None,
              extensions: tuple[tuple[date, date, str], ...]) -> Item:
    result, days = outcome(row.due_on, row.opens_on, as_of, done_on=row.done_on, opened_on=row.opened_on,
                           status=row.status)
    seen = result in FINISHED
    shifted = (planned.nominal_due if planned is not None and row.original_due_on is None
               and planned.due == row.due_on != planned.nominal_due else None)
    return Item(row.step_id, row.key, row.opens_on, row.due_on, result, days, row.done_on if seen else None,
                conf.by if conf and seen else None, dict(conf.evidence or {}) if conf and seen else {},
                conf.note if conf and seen else None, row.reason, result=conf.result if conf and seen else None,
                nominal_due=shifted, extensions=extensions if row.original_due_on else ())


def _from_calendar(occ: Occurrence, as_of: date) -> Item:
    result, days = outcome(occ.due, occ.opens, as_of)
    return Item(occ.step_id, occ.key, occ.opens, occ.due, result, days, projected=occ.projected,
                nominal_due=occ.nominal_due if occ.nominal_due != occ.due else None)


def _extensions(session: Session, plan_id: str, ids: list[str]) -> dict[tuple[str, str], list[tuple[date, date, str]]]:
    """Each extended occurrence's extensions (from, to, reason), oldest first, from the audit log."""
    out: dict[tuple[str, str], list[tuple[date, date, str]]] = {}
    for ev in session.scalars(select(EventRecord).where(
            EventRecord.plan_id == plan_id, EventRecord.event == "extended", EventRecord.step_id.in_(ids))
            .order_by(EventRecord.on_date, EventRecord.id)):
        d = ev.detail or {}
        out.setdefault((ev.step_id, ev.occurrence_key), []).append(
            (date.fromisoformat(d["from"]), date.fromisoformat(d["to"]), d.get("reason", "")))
    return out


def _in_window(item: Item, window: Window, as_of: date) -> bool:
    if window.start <= item.due <= window.end:
        return True
    if item.outcome == DROPPED:
        return False
    if item.due < window.start:  # carried over: not done before the window began
        return item.done_on is None or item.done_on >= window.start
    return item.done_on is not None and window.start <= item.done_on <= as_of  # done ahead of time


class KeyUnit(FunctionElement[str]):
    """The owner part of an occurrence key ('@ubnd-nho-quan' of '2023-H1@ubnd-nho-quan'; '' for one owner)."""

    type = String()
    inherit_cache = True
    name = "key_unit"


@compiles(KeyUnit)
def _key_unit_sqlite(element: KeyUnit, compiler: Any, **kw: Any) -> str:
    key = compiler.process(element.clauses, **kw)
    return f"substr({key}, instr({key}, '@') + (instr({key}, '@') = 0) * length({key}) + 1)"


@compiles(KeyUnit, "postgresql")
def _key_unit_postgresql(element: KeyUnit, compiler: Any, **kw: Any) -> str:
    key = compiler.process(element.clauses, **kw)
    return f"split_part({key}, '@', 2)"


_ROW_COLUMNS = (OccurrenceRecord.id, OccurrenceRecord.step_id, OccurrenceRecord.key, OccurrenceRecord.status,
                OccurrenceRecord.opens_on, OccurrenceRecord.due_on, OccurrenceRecord.opened_on,
                OccurrenceRecord.done_on, OccurrenceRecord.reason, OccurrenceRecord.original_due_on)


# What a draft shows of a confirmation (`_from_row`), read as plain rows: loading the records costs more.
_CONFIRMATION_COLUMNS = (ConfirmationRecord.occurrence_id, ConfirmationRecord.by, ConfirmationRecord.evidence,
                         ConfirmationRecord.note, ConfirmationRecord.result)


@dataclass(frozen=True)
class _Stored:
    """Which calendar occurrences the store has a row of (see `_rows`): those read by key, those opening by
    `through` (none when it is None), and for a step with an estimated occurrence, any of it once one is."""

    keys: set[tuple[str, str]]
    steps: set[str]  # the steps with a row read
    through: date | None

    def missing(self, plan: Plan, step_id: str, unit: str | None) -> Iterable[Occurrence]:
        """A covered step's calendar occurrences (`unit`'s own, of a step of several owners) with no row, by
        opening day. Those opening by `through` all have one: only the later ones are looked at."""
        opens, occs = plan.by_opening.get((step_id, unit if step_id in plan.per_unit else None), ([], []))
        if self.through is not None and step_id not in plan.projected_steps:
            occs = occs[bisect_right(opens, self.through):]
        for occ in occs:
            if (occ.step_id, occ.key) in self.keys:
                continue
            if occ.projected:  # an 'after' step's estimate stands in only until the step is dated for real
                if occ.step_id not in self.steps:
                    yield occ
            elif self.through is None or occ.opens > self.through:
                yield occ


def _rows(session: Session, plan: Plan, ids: list[str], window: Window, as_of: date, unit: str | None = None,
          by_unit: bool = False) -> tuple[list[Any], _Stored]:
    """The stored occurrences a draft may show, and which calendar occurrences are stored.

    A draft late in a long plan must not read the plan's whole history: an occurrence finished before the window
    (due and done before its start, done by `as_of`) is never in it, and only the last one of each step is shown
    (as what was done before). Whether the others are stored, the plan's row says: every calendar occurrence
    opening by its `materialized_through` day has a row (engine.runtime.materialize.sync) - unless the plan was edited
    since, when their keys are read. `unit`: of the steps of several owners, only that unit's occurrences;
    `by_unit`: the last one before the window of each owner of those steps (a read shared by every unit's draft).
    """
    shape, params = _own(plan, ids, unit)
    rows_stmt, last_stmt, keys_stmt = _window_statements(*shape, by_unit=by_unit,
                                                         dialect=session.get_bind().dialect.name)
    params.update(plan=plan.id, ids=ids, start=window.start, cut=min(window.start, as_of + timedelta(days=1)))
    rows = list(session.execute(rows_stmt, params))
    last = list(session.execute(last_stmt, params))
    keys = {(r.step_id, r.key) for r in rows}
    record = session.get(PlanRecord, plan.id)
    through = record.materialized_through if record is not None and record.version == plan.version else None
    if through is None or not plan.projected_steps.isdisjoint(ids):
        keys.update(session.execute(keys_stmt, params).tuples())
        through = None  # the keys read are the whole answer
    return rows + last, _Stored(keys, {step_id for step_id, _ in keys} | {r.step_id for r in last}, through)


@lru_cache(maxsize=None)
def _window_statements(own: str | None = None, alone: bool = True, by_unit: bool = False,
                       dialect: str = "") -> tuple[Any, Any, Any]:
    """The statements of `_rows` - the rows not finished before the window, the last one finished before it per
    step (and owner, `by_unit`), the keys of those finished before it - built once per shape, so that each is
    compiled once. Parameters: plan, ids, start (the window's), cut (done before it: finished before the window);
    with `own` ('keys' or 'suffix', see `_own`) own_keys or suffix, and shared unless `alone`.

    The last one is the latest by due date, then key. On SQLite it is found by grouping (the row of the greatest
    due date and key: SQLite takes a group's other columns from the row of its one max()), about twice as fast
    as ranking every finished row, which grows with the plan's history; elsewhere by ranking."""
    occ = OccurrenceRecord
    mine = [occ.plan_id == bindparam("plan"), occ.step_id.in_(bindparam("ids", expanding=True)), occ.orphaned.is_(False)]
    if own is not None:
        cond = (occ.key.in_(bindparam("own_keys", expanding=True)) if own == "keys"
                else occ.key.like(bindparam("suffix"), escape="/"))
        mine.append(cond if alone else or_(occ.step_id.not_in(bindparam("shared", expanding=True)), cond))
    old = and_(occ.due_on < bindparam("start"), occ.done_on.is_not(None), occ.done_on < bindparam("cut"))
    rows = select(*_ROW_COLUMNS).where(*mine, not_(old))
    shown = (*mine, old, occ.status.not_in((CANCELLED, SKIPPED)))
    groups = (occ.step_id, KeyUnit(occ.key)) if by_unit else (occ.step_id,)
    if dialect == "sqlite":  # dates are ISO text there: due date and key in one string order as (due, key)
        latest = func.max(type_coerce(occ.due_on, String) + "|" + occ.key).label("latest")
        last = select(*_ROW_COLUMNS, latest).where(*shown).group_by(*groups)
    else:
        ranked = select(*_ROW_COLUMNS, func.row_number().over(
            partition_by=groups, order_by=(occ.due_on.desc(), occ.key.desc())).label("n")).where(*shown).subquery()
        last = select(*(ranked.c[c.key] for c in _ROW_COLUMNS)).where(ranked.c.n == 1)
    return rows, last, select(occ.step_id, occ.key).where(*mine, old)


def _own(plan: Plan, ids: list[str], unit: str | None) -> tuple[tuple[str | None, bool], dict[str, Any]]:
    """How `_rows` keeps, of the steps of several owners among `ids`, only `unit`'s occurrences - by their keys in
    the calendar (the unique index finds them), by the key's ending for a step done on request - as the shape of
    its statements and their parameters."""
    shared = [i for i in ids if i in plan.per_unit]
    if unit is None or not shared:
        return (None, True), {}
    alone = len(shared) == len(ids)
    params: dict[str, Any] = {} if alone else {"shared": shared}
    if any(isinstance(plan.step_by_id[i].timing, OnDemand) for i in shared):
        escaped = unit.replace("/", "//").replace("%", "/%").replace("_", "/_")
        return ("suffix", alone), {**params, "suffix": f"%@{escaped}"}
    keys = sorted({o.key for i in shared for o in plan.own_occurrences.get((i, unit), ())})
    return ("keys", alone), {**params, "own_keys": keys}


def _read(session: Session, plan: Plan, ids: list[str], window: Window, as_of: date, unit: str | None,
          by_unit: bool = False) -> tuple[list[Any], _Stored, dict[int, Any], dict[Any, Any]]:
    """What a draft reads of the store (see `_rows`): the rows, the test of being stored, the rows' confirmations
    by occurrence id, the extensions of extended rows."""
    rows, stored = _rows(session, plan, ids, window, as_of, unit, by_unit)
    confirmations = {c.occurrence_id: c for c in session.execute(select(*_CONFIRMATION_COLUMNS).where(
        ConfirmationRecord.occurrence_id.in_([r.id for r in rows])))} if rows else {}
    extended = _extensions(session, plan.id, ids) if any(r.original_due_on for r in rows) else {}
    return rows, stored, confirmations, extended


def collect(plan: Plan, session: Session, step: Any, window: Window, as_of: date, unit: str | None = None,
            today: date | None = None) -> Facts:
    """The facts of every step `step` covers, for `window`, as recorded in the store on `as_of`; `unit`: the
    owner whose own occurrence is drafted, for a step of several owners (see `covered_steps`).

    A covered step that `step` waits for period by period (`depends_on` with `same_period`: the districts'
    half-year reports, in the province's compile of them) is shown by period: its occurrence of the window's
    period is in the window whatever its deadline, as of `today` (the drafting day, default `as_of`) - such
    reports are due after the data cut-off by design (Decree 09/2019), and the report compiling them is drafted
    from what they did - with those of earlier periods still unfinished."""
    today = today or as_of
    ids = covered_steps(plan, step, unit)
    by_period = ({link.step for link in plan.links.get(step.id, ()) if link.same_period}
                 if window.kind != CUMULATIVE else set())
    memo = shared_memo(session)
    shared: dict[tuple[str, str | None, bool], StepResult] | None = None
    if memo is None:
        rows, stored, confirmations, extended = _read(session, plan, ids, window, as_of, unit)
        grouped, made = _by_owner(rows), {}
    else:  # the drafts the tick makes in one pass share one read of every step, every owner, and each step's facts
        key = ("draft-facts", plan.id, window.start, window.end, as_of, today)
        if key not in memo:
            read = _read(session, plan, [s.id for s in plan.steps], window, as_of, None, by_unit=True)
            memo[key] = (read, _by_owner(read[0]), {}, {})
        (rows, stored, confirmations, extended), grouped, shared, made = memo[key]
    results = []
    for step_id in ids:
        owner = unit if unit is not None and step_id in plan.per_unit else None
        seen = (step_id, owner, step_id in by_period)  # by period or not, a step's facts differ
        done = shared.get(seen) if shared is not None else None
        if done is None:
            done = _step_result(plan, step_id, grouped.get((step_id, owner), []), stored, confirmations, extended,
                                window, as_of, owner, made, today if step_id in by_period else None)
            if shared is not None:
                shared[seen] = done
        results.append(done)
    return Facts(window, as_of, results)


def _by_owner(rows: list[Any]) -> dict[tuple[str, str | None], list[Any]]:
    """The rows by step, (step, None), and by step and owner, (step, unit), for the occurrences of a step of
    several owners (their keys end '@unit'), in the order read."""
    out: dict[tuple[str, str | None], list[Any]] = {}
    for r in rows:
        out.setdefault((r.step_id, None), []).append(r)
        owner = split_key(r.key)[1]
        if owner is not None:
            out.setdefault((r.step_id, owner), []).append(r)
    return out


def _step_result(plan: Plan, step_id: str, rows: list[Any], stored: _Stored,
                 confirmations: dict[int, Any], extended: dict[Any, Any], window: Window, as_of: date,
                 unit: str | None, made: dict[Any, Item], period_day: date | None = None) -> StepResult:
    """One covered step's facts: its stored rows (`unit`'s own, of a step of several owners) and the calendar's
    occurrences never stored, as of `as_of`. `made`: the items already made of rows read together (a row is
    the same item in its unit's facts and in the step's), by row id. `period_day`: for a step shown by period
    (see `collect`), the day its occurrence of the window's period is seen as of."""
    own, unit_of = window.key, window.key + UNIT_SEP

    def in_period(key: str) -> bool:  # the window's period, of one owner or of each ('2025-H1', '2025-H1@...')
        return period_day is not None and (key == own or key.startswith(unit_of))

    def seen_on(key: str) -> date:
        return period_day if period_day is not None and in_period(key) else as_of

    have: dict[str, Item] = {}
    for r in rows:
        made_as = (r.id, True) if in_period(r.key) else r.id  # seen as of `period_day`: another item
        item = made.get(made_as)
        if item is None:
            planned = plan.dated.get((r.step_id, r.key))
            if planned is None and r.step_id in plan.projected_steps:
                planned = next((o for o in plan.occurrences(r.step_id) if o.key == r.key), None)
            item = made[made_as] = _from_row(r, confirmations.get(r.id), seen_on(r.key), planned,
                                          tuple(extended.get((r.step_id, r.key), ())))
        have[r.key] = item
    later: Occurrence | None = None
    for occ in stored.missing(plan, step_id, unit):
        if later is not None and occ.opens > later.due:
            break  # by opening day: none after this one is due before the next one found
        if occ.key in have:
            continue
        # Never stored, so never done: it counts within the window (or carried into it), or as the next one.
        if occ.due <= window.end or in_period(occ.key):
            have[occ.key] = _from_calendar(occ, seen_on(occ.key))
        elif later is None or (occ.due, occ.key) < (later.due, later.key):
            later = occ
    if later is not None:
        have[later.key] = _from_calendar(later, as_of)
    items = sorted(have.values(), key=lambda i: (i.due, i.key))
    if period_day is None:
        shown = [i for i in items if _in_window(i, window, as_of)]
        before = [i for i in items if i.finished and i.done_on is not None and i.done_on < window.start]
    else:  # by period: the period's own, and those of earlier periods still unfinished (carried over)
        earlier = [i for i in items if not in_period(i.key) and i.due <= window.end]
        shown = sorted([i for i in items if in_period(i.key)]
                       + [i for i in earlier if not i.finished and i.outcome != DROPPED], key=lambda i: (i.due, i.key))
        before = [i for i in earlier if i.finished]
    ahead_items = [i for i in items if i.due > seen_on(i.key) and not i.finished and i.outcome != DROPPED]
    return StepResult(plan.step_by_id[step_id], shown, before[-1] if before else None,
                      ahead_items[0] if ahead_items else None, unit)
