"""What people do: confirm an occurrence is done (with its evidence), and request an on-demand step; and a
parent plan's occurrences completed by what its child plans' people have done (`pull`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import StateError, accepted, did_you_mean
from engine.language.calendar import CalendarBuilder, Occurrence, per_owner, split_key
from engine.language.dates import fmt
from engine.language.models.policy import EvidenceKind
from engine.language.models.timing import After, OnDemand
from engine.language.plan import Plan
from engine.runtime.family import SOURCE as CHILD_SOURCE
from engine.runtime.family import carried_by, carrying_child, children, done_periods, period_of
from engine.runtime.materialize import audit, claim_plan, plan_after_steps, row_values, wake_dependents
from engine.runtime.notices import Notice, notice_context, outbox_rows
from engine.runtime.status import STATUS_VI
from engine.state.models import (
    ACTIVE,
    CANCELLED,
    DONE,
    FINISHED,
    OPEN,
    OVERDUE,
    SCHEDULED,
    SKIPPED,
    ConfirmationRecord,
    EventRecord,
    OccurrenceRecord,
    OutboxRecord,
)
from engine.state.store import (
    effect_key,
    find_occurrence,
    insert_ignore,
    insert_many_ignore,
    inserted_rows,
    stage,
    write_staged,
)

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

    created: bool
    late_days: int
    stored: ConfirmationRecord | None = None  # one recorded before, as read
    columns: dict[str, Any] = field(default_factory=dict)  # a new one's, as written

    @cached_property
    def record(self) -> ConfirmationRecord:
        """The confirmation. A new one's object is made when asked for: it is a plain copy of the row written (no
        flush writes it), and the simulation, which confirms thousands, asks for none."""
        return self.stored if self.stored is not None else ConfirmationRecord(**self.columns)


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
            raise StateError(f"không có loại minh chứng '{key.strip()}'"
                             f"{did_you_mean(key.strip(), EVIDENCE_KINDS)} "
                             f"(các loại: {accepted(EVIDENCE_KINDS)})")
        elif len(requires) == 1 and requires[0] not in out:
            out[requires[0]] = item.strip()
        else:
            need = ", ".join(f"{r}=..." for r in requires) or "key=value"
            raise StateError(f"minh chứng '{item}' cần ghi tên loại: viết --evidence {need}")
    return out


def step_of(plan: Plan, step_id: str) -> Any:
    """The step with this id.

    Raises:
        StateError: no such step (with the closest id).
    """
    step = plan.step_by_id.get(step_id)
    if step is None:
        raise StateError(f"kế hoạch {plan.id} không có bước '{step_id}'"
                         f"{did_you_mean(step_id, plan.step_by_id)} (các bước: "
                         f"{accepted(plan.step_by_id)})")
    return step


def unit_of(plan: Plan, step: Any, key: str | None, unit: str | None) -> str | None:
    """The owner unit a person means for a step with several owners (`--unit`, or the unit of a key such as
    '2023-H1@ubnd-nho-quan'); None for a step with one owner.

    Raises:
        StateError: no unit for a step with several owners, a unit that does not own the step (with the closest
            owner), a key naming another unit than `--unit`.
    """
    owners = plan.step_owners[step.id]
    key_unit = split_key(key)[1] if key else None
    if step.id not in plan.per_unit:
        if unit is not None and unit != owners[0]:
            raise StateError(f"bước '{step.id}' chỉ có một đơn vị chủ trì, '{owners[0]}': bỏ --unit")
        return None
    if key_unit is not None and unit is not None and key_unit != unit:
        raise StateError(f"--occurrence '{key}' là của đơn vị '{key_unit}', nhưng --unit ghi '{unit}'")
    unit = unit or key_unit
    if unit is None:
        raise StateError(f"bước '{step.id}' có {len(owners)} đơn vị chủ trì: ghi rõ đơn vị bằng --unit "
                         f"({accepted(owners)})")
    if unit not in owners:
        raise StateError(f"đơn vị '{unit}' không chủ trì bước '{step.id}'"
                         f"{did_you_mean(unit, owners) or f' (đơn vị chủ trì: {accepted(owners)})'}")
    return unit


def _pick_occurrence(plan: Plan, session: Session, step: Any, key: str | None, at: date,
                     unit: str | None = None) -> OccurrenceRecord | Occurrence:
    """The occurrence a person means: the given key, else the single open one (else the last confirmed one) -
    of `unit` for a step with several owners.

    A key of the calendar that has no row yet (work done before it opened) comes back as the calendar's
    Occurrence: the caller creates its row once every check has passed.
    """
    unit = unit_of(plan, step, key, unit)
    if key is not None:
        key = occurrence_key(plan, session, step, key, unit)
        row = find_occurrence(session, plan.id, step.id, key)
        if row is not None:
            return row
    calendar = {o.key: o for o in plan.occurrences(step.id) if not o.projected and (unit is None or o.owner == unit)}
    if key is not None and key in calendar:
        return calendar[key]
    rows = [r for r in session.scalars(select(OccurrenceRecord).where(
        OccurrenceRecord.plan_id == plan.id, OccurrenceRecord.step_id == step.id).order_by(OccurrenceRecord.due_on))
        if unit is None or split_key(r.key)[1] == unit]
    of = f" của {unit}" if unit else ""
    if key is not None:
        known = list(dict.fromkeys([*calendar, *(r.key for r in rows)]))
        raise StateError(f"bước '{step.id}' không có lần '{key}'{of}{did_you_mean(key, known)}"
                         + (f" (các lần: {accepted(known)})" if known else "")
                         + (f" - bước này có ngày khi bước '{step.timing.after.step}' được xác nhận"
                            if isinstance(step.timing, After) and not rows else ""))
    # Open work: active rows, and opened calendar occurrences the tick has not stored yet (no tick since).
    stored = {r.key for r in rows}
    active: list[OccurrenceRecord | Occurrence] = [r for r in rows if r.status in ACTIVE and r.opens_on <= at]
    active += [o for k, o in calendar.items() if k not in stored and o.opens <= at]
    if len(active) == 1:
        return active[0]
    if len(active) > 1:
        raise StateError(f"bước '{step.id}' có {len(active)} lần đang mở{of} vào ngày {fmt(at)}: chọn một lần "
                         f"bằng --occurrence ({accepted((split_key(r.key)[0] for r in active))})")
    done = [r for r in rows if r.status == DONE]
    if done:
        return done[-1]
    upcoming = [r.key for r in rows if r.status in ACTIVE] or [k for k, o in calendar.items() if o.opens > at]
    hint = f"; ghi --occurrence ({accepted((split_key(k)[0] for k in upcoming))})" if upcoming else ""
    if isinstance(step.timing, OnDemand):
        hint = f"; tạo một lần bằng lệnh: kehoach request {plan.path.name} {step.id}"
    elif isinstance(step.timing, After) and not rows:
        hint = f" - bước này có ngày khi bước '{step.timing.after.step}' được xác nhận"
    raise StateError(f"bước '{step.id}' không có lần nào đang mở{of} vào ngày {fmt(at)}{hint}")


def occurrence_key(plan: Plan, session: Session, step: Any, given: str, unit: str | None = None) -> str:
    """An occurrence named as people name it ('quý II/2023', 'năm 2023', '6 tháng đầu năm 2022') or by its key
    ('2023-Q2'): its key - `unit`'s occurrence of that period for a step with several owners. A name that
    matches none is returned as given (the caller says it is unknown)."""
    from engine.language.periods import key_label

    wanted = " ".join(given.split()).lower()
    keys = [o.key for o in plan.occurrences(step.id)] + list(session.scalars(select(OccurrenceRecord.key).where(
        OccurrenceRecord.plan_id == plan.id, OccurrenceRecord.step_id == step.id)))
    if unit is not None:
        keys = [k for k in keys if split_key(k)[1] == unit]
        if split_key(given)[1] is None:
            given = plan.key_for(step.id, given, unit)
    if given in keys:
        return given
    return next((k for k in dict.fromkeys(keys) if key_label(k).lower() == wanted), given)


def _row_for(plan: Plan, session: Session, step: Any, picked: OccurrenceRecord | Occurrence) -> OccurrenceRecord:
    if isinstance(picked, OccurrenceRecord):
        return picked
    insert_ignore(session, OccurrenceRecord, row_values(plan, step, picked))
    row = find_occurrence(session, plan.id, step.id, picked.key)
    assert row is not None
    return row


MAX_TEXT = 2000  # a result, note or reason is a sentence or a paragraph, not a document


def _check_date(plan: Plan, at: date, now: datetime) -> None:
    """A day a person acted on: not before the plan starts, and not after today.

    Raises:
        StateError: before the plan starts, or after the moment of recording.
    """
    if at < plan.meta.period.start:
        raise StateError(f"--at {fmt(at)} là trước ngày bắt đầu kế hoạch ({fmt(plan.meta.period.start)})")
    today = now.astimezone(ZoneInfo(plan.meta.timezone)).date()
    if at > today:
        raise StateError(f"--at {fmt(at)} là sau hôm nay ({fmt(today)}): việc chỉ được xác nhận khi đã làm xong")


def _check_done_date(plan: Plan, at: date, now: datetime) -> None:
    """The day work was done: as `_check_date`, and within the plan's period (an extension or a skip may be
    decided after the plan has ended; work done for it may not be dated then).

    Raises:
        StateError: as `_check_date`, or after the plan's end.
    """
    _check_date(plan, at, now)
    if at > plan.meta.period.end:
        raise StateError(f"--at {fmt(at)} là sau ngày kết thúc kế hoạch ({fmt(plan.meta.period.end)}): ghi ngày đã "
                         "làm bằng --at dd/mm/yyyy (không có --at là hôm nay)")


def clean_text(value: str | None, what: str) -> str | None:
    """A person's free text (result, note, reason) as stored: trimmed, None when blank.

    Raises:
        StateError: longer than MAX_TEXT characters, or holding control characters other than line breaks.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    from engine.language.templates import PLACEHOLDER

    if PLACEHOLDER.match(value):
        raise StateError(f"{what} {value} là chỗ trống của lệnh mẫu trong thông báo: ghi nội dung, hoặc bỏ "
                         f"{what}")
    if len(value) > MAX_TEXT:
        raise StateError(f"{what} dài {len(value)} ký tự: tối đa {MAX_TEXT}")
    if any(ord(c) < 32 and c not in "\n\t" or ord(c) == 127 for c in value):
        raise StateError(f"{what} có ký tự điều khiển: chỉ ghi văn bản thường")
    return value


def confirm(plan: Plan, session: Session, step_id: str, *, by: str, at: date, now: datetime,
            key: str | None = None, evidence: dict[str, str] | None = None, note: str | None = None,
            result: str | None = None, source: str = "cli", unit: str | None = None) -> Confirmed:
    """Record that an occurrence is done. Confirming twice returns the existing confirmation unchanged.

    Checks everything before writing; the caller's transaction is rolled back on an error, so a refused
    confirmation leaves no row behind.

    Raises:
        StateError: unknown step or occurrence, missing evidence, a blank name, a date before the plan or after
            today, an occurrence that was skipped or cancelled, no or a wrong `unit` (see `unit_of`).
    """
    step = step_of(plan, step_id)
    unit_of(plan, step, key, unit)
    by = _name(by, "--by cần họ tên người xác nhận")
    _check_done_date(plan, at, now)
    note, result = clean_text(note, "--note"), clean_text(result, "--result")
    evidence = {k: str(v).strip() for k, v in (evidence or {}).items() if v is not None and str(v).strip()}
    claim_plan(plan, session, at, now)
    picked = _pick_occurrence(plan, session, step, key, at, unit)
    if isinstance(picked, OccurrenceRecord):
        existing = None if picked.status != DONE else session.scalars(select(ConfirmationRecord).where(
            ConfirmationRecord.occurrence_id == picked.id)).first()
        if existing is not None:
            return Confirmed(False, picked.late_days or 0, existing)
        if picked.status in FINISHED:
            raise StateError(_already_finished(step, picked) + (f": {picked.reason}" if picked.reason else ""))
    missing_evidence(step, evidence)
    evidence = typed_evidence(evidence)
    return _record(plan, session, [(step, _row_for(plan, session, step, picked), evidence)], by, at, now, note,
                   source, result)[0]


def _already_finished(step: Any, row: OccurrenceRecord) -> str:
    """Why a finished occurrence is refused, as people read it: 'lần '2024-03' của bước 'b' ở trạng thái 'bỏ qua''."""
    return f"lần '{row.key}' của bước '{step.id}' ở trạng thái '{STATUS_VI[row.status]}'"


def _name(by: str | None, message: str) -> str:
    """A person's name as given with --by.

    Raises:
        StateError: `message`, when the name is blank; a name that is too long or not plain text.
    """
    if not by or not by.strip():
        raise StateError(message)
    from engine.language.templates import PLACEHOLDER

    by = " ".join(by.split())
    if PLACEHOLDER.match(by):
        raise StateError(f"--by {by} là chỗ trống của lệnh mẫu trong thông báo: ghi họ tên người xác nhận")
    if len(by) > 200:
        raise StateError(f"--by dài {len(by)} ký tự: họ tên tối đa 200 ký tự")
    return by


def missing_evidence(step: Any, evidence: dict[str, str]) -> None:
    """Raises StateError naming what the step requires and the evidence lacks."""
    missing = [r for r in step.confirmation.requires if r not in evidence]
    if missing:
        labels = ", ".join(f"{m} ({EVIDENCE_LABELS[m]})" for m in missing)
        flags = " ".join(f"--evidence {m}=..." for m in missing)
        raise StateError(f"bước '{step.id}' cần minh chứng: {labels} - thêm {flags}")


def typed_evidence(evidence: dict[str, str]) -> dict[str, str]:
    """Evidence as it is recorded: dates written dd/mm/yyyy, a number of attendees, a web address for a link.

    Raises:
        StateError: a value that is not of its kind, or a placeholder of a notice's command left as it is.
    """
    from engine.language.dates import parse_date
    from engine.language.templates import PLACEHOLDER

    out = {}
    for key, value in evidence.items():
        label = f"minh chứng {key} ({EVIDENCE_LABELS.get(key, key)})"
        if PLACEHOLDER.match(value):
            raise StateError(f"{label} vẫn là chỗ trống {value} của lệnh mẫu trong thông báo: ghi giá trị thật")
        if len(value) > 500:
            raise StateError(f"{label} dài {len(value)} ký tự: tối đa 500")
        if key in ("date", "document_date"):
            try:
                value = fmt(parse_date(value))
            except ValueError:
                raise StateError(f"{label} '{value}' không phải là ngày: viết ngày/tháng/năm, ví dụ "
                                 "20/10/2023") from None
        elif key == "attendees":
            if not value.isdigit() or int(value) > 1_000_000:
                raise StateError(f"{label} '{value}' không phải là số người: viết số, ví dụ 45") from None
            value = str(int(value))
        elif key == "link" and not value.lower().startswith(("http://", "https://")):
            raise StateError(f"{label} '{value}' không phải là địa chỉ trang web: viết https://...")
        out[key] = value
    return out


def confirm_rows(plan: Plan, session: Session, rows: list[OccurrenceRecord], *, by: str, at: date, now: datetime,
                 evidence: Callable[[Any, OccurrenceRecord], dict[str, str]], note: str | None = None,
                 source: str = "cli") -> list[Confirmed]:
    """Confirm open occurrences the caller already holds (the simulation's people confirm a day's work at once):
    `confirm` without the search, with the rows, events and notices of all of them written in three statements.

    Raises:
        StateError: as `confirm`, before anything is written.
    """
    if not rows:
        return []
    by = _name(by, "--by cần họ tên người xác nhận")
    _check_done_date(plan, at, now)
    todo = []
    for row in dict.fromkeys(rows):
        step = step_of(plan, row.step_id)
        if row.status in FINISHED:
            raise StateError(_already_finished(step, row))
        given = evidence(step, row)
        missing_evidence(step, given)
        todo.append((step, row, given))
    claim_plan(plan, session, at, now)
    return _record(plan, session, todo, by, at, now, note, source)


def _record(plan: Plan, session: Session, todo: list[tuple[Any, OccurrenceRecord, dict[str, str]]], by: str,
            at: date, now: datetime, note: str | None, source: str, result: str | None = None) -> list[Confirmed]:
    """Write checked confirmations: their rows, the occurrences done, the audit events, the owners' notices."""
    values = [dict(occurrence_id=row.id, plan_id=plan.id, step_id=step.id, occurrence_key=row.key, by=by,
                   done_on=at, evidence=given, note=note, result=result, source=source, recorded_at=now,
                   plan_version=plan.version) for step, row, given in todo]
    ids = dict(inserted_rows(session, ConfirmationRecord, values, ("occurrence_id", "id")))
    new = set(ids)
    out: list[Confirmed] = []
    events, notices = [], []
    changed: dict[OccurrenceRecord, dict[str, Any]] = {}  # written together (engine.state.store.stage)
    for (step, row, given), v in zip(todo, values):
        if row.id not in new:  # recorded meanwhile (the unique occurrence_id): report that one
            existing = session.scalars(select(ConfirmationRecord).where(
                ConfirmationRecord.occurrence_id == row.id)).one()
            out.append(Confirmed(False, max((existing.done_on - row.due_on).days, 0), existing))
            continue
        late = max((at - row.due_on).days, 0)
        stage(changed, row, status=DONE, done_on=at, late_days=late, next_on=None,
              opened_on=row.opened_on or at)
        ekey = effect_key(plan.id, step.id, row.key, "confirmed")
        events.append(dict(effect_key=ekey, plan_id=plan.id, step_id=step.id, occurrence_key=row.key,
                           event="confirmed", on_date=at, at=now, actor=by, plan_version=plan.version,
                           detail={"by": by, "done_on": at.isoformat(), "due": row.due_on.isoformat(),
                                   "late_days": late, "evidence": given, "note": note, "result": result,
                                   "source": source}))
        if source != CHILD_SOURCE:  # a child plan's own confirmation told its people (engine.runtime.family)
            ctx = {**notice_context(plan, step, row, at), "done_on": fmt(at), "late_days": late, "by": by,
                   "result": result or ""}
            notices += outbox_rows(plan, step.id, row.key, [Notice("confirmed", "confirmed",
                                                                  plan.owner_of(step.id, row.key), ctx)], at, ekey)
        out.append(Confirmed(True, late, columns={"id": ids.get(row.id), **v}))  # one INSERT for all, no flush
    write_staged(session, changed)
    insert_many_ignore(session, EventRecord, events)
    insert_many_ignore(session, OutboxRecord, notices)
    for step_id in dict.fromkeys(step.id for step, _, _ in todo):
        _finished(plan, session, step_id, at, now)
    return out


def record_from_child(plan: Plan, session: Session, step: Any, row: OccurrenceRecord, done: Any,
                      now: datetime) -> Confirmed:
    """Complete a parent plan's occurrence that a child plan has done (`pull`): dated when the
    child finished, by whoever confirmed it there, with its evidence and result."""
    note = f"Theo Kế hoạch số {done.child.number} ({done.child.issuer})" if done.child.issuer else \
        f"Theo Kế hoạch số {done.child.number}"
    return _record(plan, session, [(step, row, done.evidence)], done.by, done.done_on, now, note, CHILD_SOURCE,
                   done.result)[0]


def pull(plan: Plan, session: Session, today: date, now: datetime) -> int:
    """Complete the parent's open occurrences whose period a child has done: the occurrence of that period for
    the child's unit (or the period's only occurrence, for a step of one owner), dated when the child finished,
    with the child's confirmation (the child carrying it out: engine.runtime.family.carrying_child). Returns how
    many were completed."""
    carried = {k: kid for k, kid in carried_by(session, plan.id).items() if k[0] in plan.step_by_id}
    if not carried:
        return 0
    open_rows = session.scalars(select(OccurrenceRecord).where(
        OccurrenceRecord.plan_id == plan.id, OccurrenceRecord.step_id.in_({step for step, _ in carried}),
        OccurrenceRecord.status.notin_((DONE, SKIPPED, CANCELLED)), OccurrenceRecord.orphaned.is_(False),
    ).order_by(OccurrenceRecord.due_on, OccurrenceRecord.step_id, OccurrenceRecord.key)).all()
    if not open_rows:
        return 0
    done: dict[tuple[str, str, str], Any] = {}  # (child, parent step, period) -> what the child did
    for kid in children(session, plan.id):
        if kid.id in carried.values():
            for d in done_periods(session, kid, list(kid.steps), today):
                done.setdefault((kid.id, kid.steps[d.step_id], d.period), d)
    completed = 0
    for row in open_rows:
        kid = carrying_child(carried, row.step_id, row.key)
        if kid is not None and (by_child := done.get((kid, row.step_id, period_of(row.key)))) is not None:
            record_from_child(plan, session, plan.step_by_id[row.step_id], row, by_child, now)
            completed += 1
    return completed


def skip(plan: Plan, session: Session, step_id: str, *, key: str | None, by: str, reason: str, at: date,
         now: datetime, unit: str | None = None) -> OccurrenceRecord:
    """Mark an occurrence as not needed ('bỏ qua'), with who and why; it counts as finished for its dependents.

    Raises:
        StateError: unknown step or occurrence, a blank name or reason, an occurrence already finished.
    """
    step = step_of(plan, step_id)
    unit_of(plan, step, key, unit)
    by = _name(by, "--by cần họ tên người quyết định bỏ qua")
    reason = clean_text(reason, "--reason") or ""
    if not reason:
        raise StateError("cần --reason: ghi lý do không cần thực hiện lần này")
    _check_date(plan, at, now)
    claim_plan(plan, session, at, now)
    picked = _pick_occurrence(plan, session, step, key, at, unit)
    if isinstance(picked, OccurrenceRecord) and picked.status in FINISHED:
        raise StateError(_already_finished(step, picked))
    row = _row_for(plan, session, step, picked)
    row.status, row.reason, row.next_on = SKIPPED, reason, None
    audit(session, plan, step.id, row.key, "skipped", at, now, detail={"by": by, "reason": reason}, actor=by)
    _finished(plan, session, step.id, at, now)
    return row


def extend(plan: Plan, session: Session, step_id: str, *, to: date, by: str, reason: str, key: str | None,
           at: date, now: datetime, unit: str | None = None) -> OccurrenceRecord:
    """Move one occurrence's deadline later ('gia hạn'), with who and why, as an audited event.

    The row keeps its first deadline (`original_due_on`); reminders, the due-day notice and escalations follow the
    new one (their effects are keyed by date), escalation counting starts again, and the owner is told.

    Raises:
        StateError: unknown step or occurrence, a blank name or reason, a finished occurrence, a new deadline
            not after the one in force.
    """
    step = step_of(plan, step_id)
    unit_of(plan, step, key, unit)
    by = _name(by, "--by cần họ tên người cho gia hạn")
    reason = clean_text(reason, "--reason") or ""
    if not reason:
        raise StateError("cần --reason: ghi lý do gia hạn")
    _check_date(plan, at, now)
    claim_plan(plan, session, at, now)
    picked = _pick_occurrence(plan, session, step, key, at, unit)
    if isinstance(picked, OccurrenceRecord) and picked.status in FINISHED:
        raise StateError(_already_finished(step, picked) + ": chỉ gia hạn được việc chưa xong")
    current = picked.due_on if isinstance(picked, OccurrenceRecord) else picked.due
    if to <= current:
        raise StateError(f"--to {fmt(to)} không sau hạn đang áp dụng ({fmt(current)}): gia hạn là lùi hạn về "
                         "sau")
    if to < at:
        raise StateError(f"--to {fmt(to)} là trước ngày {fmt(at)}: gia hạn là cho thêm thời gian từ nay")
    row = _row_for(plan, session, step, picked)
    before = row.due_on
    row.original_due_on = row.original_due_on or row.due_on
    row.due_on = to
    row.escalations, row.escalated_on = 0, None
    if row.status == OVERDUE:
        row.status = OPEN
    if row.status in ACTIVE:
        row.next_on = max(at, row.opens_on) if row.status == SCHEDULED and row.opened_on is None else at
    ekey = effect_key(plan.id, step.id, row.key, f"extended/{to.isoformat()}")
    detail = {"by": by, "reason": reason, "from": before.isoformat(), "to": to.isoformat(),
              "original": row.original_due_on.isoformat()}
    if insert_ignore(session, EventRecord, dict(
            effect_key=ekey, plan_id=plan.id, step_id=step.id, occurrence_key=row.key, event="extended",
            on_date=at, at=now, actor=by, detail=detail, plan_version=plan.version)):
        ctx = {**notice_context(plan, step, row, at), "by": by, "reason": reason, "previous_due": fmt(before)}
        insert_many_ignore(session, OutboxRecord, outbox_rows(
            plan, step.id, row.key, [Notice("extended", "extended", plan.owner_of(step.id, row.key), ctx)], at, ekey))
    return row


def _finished(plan: Plan, session: Session, step_id: str, at: date, now: datetime) -> None:
    """An occurrence of `step_id` finished: wake what waited for it, date 'after' steps that follow it."""
    wake_dependents(plan, session, step_id, now.astimezone(ZoneInfo(plan.meta.timezone)).date())
    plan_after_steps(plan, session, at, now, predecessor=step_id)


def request(plan: Plan, session: Session, step_id: str, *, at: date, now: datetime, by: str = "",
            note: str | None = None) -> OccurrenceRecord:
    """Start an occurrence of an on-demand step ('báo cáo khi có yêu cầu'), due per its timing.

    Each request is a new occurrence, keyed by its date (`yc-2024-05-02`, then `yc-2024-05-02-2`...).

    Raises:
        StateError: unknown step, a step that is not on demand, a date outside the plan period.
    """
    step = step_of(plan, step_id)
    if not isinstance(step.timing, OnDemand):
        on_demand = [s.id for s in plan.steps if isinstance(s.timing, OnDemand)]
        raise StateError(f"bước '{step.id}' không phải việc làm khi có yêu cầu ('{plan.calendar[step.id].describe}')"
                         + (f"; các bước làm khi có yêu cầu: {accepted(on_demand)}" if on_demand else ""))
    if not (plan.meta.period.start <= at <= plan.meta.period.end):
        raise StateError(f"ngày {fmt(at)} nằm ngoài thời gian của kế hoạch ({fmt(plan.meta.period.start)} - "
                         f"{fmt(plan.meta.period.end)})")
    claim_plan(plan, session, at, now)
    base = f"yc-{at.isoformat()}"
    count = len({split_key(k)[0] for k in session.scalars(select(OccurrenceRecord.key).where(
        OccurrenceRecord.plan_id == plan.id, OccurrenceRecord.step_id == step.id,
        OccurrenceRecord.key.like(f"{base}%")))})
    key = base if count == 0 else f"{base}-{count + 1}"
    within = step.timing.on_demand
    nominal = at + timedelta(days=within.days) if within.days is not None else \
        plan.workdays.add_working_days(at, within.working_days)
    occ = CalendarBuilder(plan).finish(step, plan.policy(step), key, nominal, at)
    occs = per_owner([occ], plan.step_owners[step.id]) if step.id in plan.per_unit else [occ]
    for o in occs:  # a step with several owners: a request asks each of them
        values = row_values(plan, step, o)
        values.update(requested_by=by.strip() or None)
        insert_ignore(session, OccurrenceRecord, values)
        audit(session, plan, step.id, o.key, "requested", at, now,
              detail={"by": by.strip(), "note": note, "due": o.due.isoformat()}, actor=by.strip() or "engine")
    session.flush()
    row = find_occurrence(session, plan.id, step.id, occs[0].key)
    assert row is not None
    return row
