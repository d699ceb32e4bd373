"""A plan's status on a day: every occurrence (stored or still ahead) as it stood that day, and the counts.

One definition, as of a day, serves `kehoach status`, `kehoach run`, the Prefect artifacts and the reports:
an occurrence is *done* on a day when it was confirmed by then, *overdue* when its due date has passed and it
was not done by then - whether or not it could open (waiting for a predecessor counts: the work is late all the
same) - *in progress* when it had opened, *not opened* from its opening day until then (its predecessor is not
done, or no tick has opened it yet), and *not due* before its opening day. What the store recorded after the day
(a later confirmation, a status set by a later tick) does not count for that day.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.language.calendar import split_key
from engine.language.dependencies import waiting as unmet
from engine.language.plan import Plan
from engine.state.models import (
    CANCELLED,
    DELIVERED,
    DONE,
    FAILED,
    GIVEN_UP,
    NO_TARGET,
    OPEN,
    OVERDUE,
    PENDING,
    SCHEDULED,
    SENDING,
    SIMULATED,
    SKIPPED,
    UNKNOWN,
    ConfirmationRecord,
    OccurrenceRecord,
    OutboxRecord,
)

STATUS_VI = {SCHEDULED: "chưa mở", OPEN: "đang thực hiện", OVERDUE: "quá hạn", DONE: "hoàn thành",
             SKIPPED: "bỏ qua", CANCELLED: "đã hủy"}
# A notice's (or message's) status, for people: `kehoach status`, `kehoach outbox`, the delivery's summary.
NOTICE_VI = {DELIVERED: "đã gửi", PENDING: "chờ gửi", NO_TARGET: "chưa có kênh", FAILED: "lỗi gửi",
             GIVEN_UP: "ngừng gửi", SENDING: "đang gửi", UNKNOWN: "có thể đã gửi", SIMULATED: "mô phỏng (không gửi)"}

# Outcomes of one occurrence on a day.
ON_TIME, LATE, OVERDUE_ON, IN_PROGRESS, NOT_OPENED, NOT_DUE, DROPPED = (
    "on_time", "late", "overdue", "in_progress", "not_opened", "not_due", "dropped")
DONE_OUTCOMES = (ON_TIME, LATE)
_STATUS_OF = {ON_TIME: DONE, LATE: DONE, OVERDUE_ON: OVERDUE, IN_PROGRESS: OPEN, NOT_OPENED: SCHEDULED,
              NOT_DUE: SCHEDULED}


def outcome(due: date, opens: date, day: date, *, done_on: date | None = None, opened_on: date | None = None,
            status: str | None = None) -> tuple[str, int]:
    """What had become of an occurrence on `day`, and its days late (LATE) or overdue (OVERDUE)."""
    if status in (CANCELLED, SKIPPED):
        return DROPPED, 0
    if done_on is not None and done_on <= day:
        late = (done_on - due).days
        return (LATE, late) if late > 0 else (ON_TIME, 0)
    if due < day:
        return OVERDUE_ON, (day - due).days
    if opened_on is not None and opened_on <= day:
        return IN_PROGRESS, 0
    return (NOT_OPENED, 0) if opens <= day else (NOT_DUE, 0)


@dataclass(frozen=True)
class Counts:
    """A plan's counts on a day (orphaned, cancelled, skipped and projected occurrences are left out of the
    first five: they are not work anyone owes)."""

    due: int = 0  # due on or before the day
    done: int = 0  # of those, done by the day
    done_late: int = 0  # of those done, after their deadline
    overdue: int = 0  # past due and not done by the day (`waiting` included)
    waiting: int = 0  # could not open because a predecessor was not done (whether overdue or not)
    done_ahead: int = 0  # done by the day although due later
    orphaned: int = 0
    cancelled_or_skipped: int = 0

    @property
    def percent(self) -> float:
        return round(100 * self.done / self.due, 1) if self.due else 0.0

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def line(self) -> str:
        """One Vietnamese sentence: '3/5 nhiệm vụ đến hạn đã hoàn thành (1 chậm), 2 quá hạn (1 chờ bước trước)'."""
        text = f"{self.done}/{self.due} lần đến hạn đã hoàn thành"
        if self.done_late:
            text += f" ({self.done_late} chậm)"
        text += f", {self.overdue} quá hạn"
        if self.waiting:
            text += f", {self.waiting} chờ bước trước"
        if self.done_ahead:
            text += f", {self.done_ahead} xong trước hạn"
        if self.orphaned:
            text += f", {self.orphaned} mồ côi (bước đã bỏ khỏi kế hoạch)"
        return text


def counts(rows: list[dict[str, Any]], day: date) -> Counts:
    """The counts of `plan_status` rows of `day`."""
    live = [r for r in rows if not r["orphaned"] and r["status"] not in (CANCELLED, SKIPPED) and not r["projected"]]
    today = day.isoformat()
    due = [r for r in live if r["due"] <= today]
    return Counts(
        due=len(due),
        done=sum(r["status"] == DONE for r in due),
        done_late=sum(r["status"] == DONE and bool(r["late_days"]) for r in due),
        overdue=sum(r["days_overdue"] > 0 for r in live),
        waiting=sum(bool(r["waiting_for"]) for r in live),
        done_ahead=sum(r["status"] == DONE and r["due"] > today for r in live),
        orphaned=sum(r["orphaned"] for r in rows),
        cancelled_or_skipped=sum(r["status"] in (CANCELLED, SKIPPED) for r in rows if not r["orphaned"]),
    )


def status_counts(rows: list[dict[str, Any]], day: date) -> dict[str, int]:
    """`counts` as a dict (the JSON of `kehoach status`)."""
    return counts(rows, day).as_dict()


def plan_status(plan: Plan, session: Session, day: date) -> list[dict[str, Any]]:
    """Rows for `kehoach status`, ordered by due date, each as it stood on `day`: every stored occurrence
    (orphaned ones included), then the calendar's occurrences that have no row yet."""
    stored = list(session.scalars(select(OccurrenceRecord).where(OccurrenceRecord.plan_id == plan.id)))
    confirmations = {c.occurrence_id: c for c in session.scalars(
        select(ConfirmationRecord).where(ConfirmationRecord.plan_id == plan.id))}
    notices: dict[tuple[str | None, str | None], Counter[str]] = defaultdict(Counter)
    for step_id, key, status in session.execute(select(OutboxRecord.step_id, OutboxRecord.occurrence_key,
                                                       OutboxRecord.status).where(OutboxRecord.plan_id == plan.id)):
        notices[(step_id, key)][status] += 1
    finished = {(r.step_id, r.key) for r in stored if r.status in (SKIPPED, CANCELLED)
                or (r.status == DONE and r.done_on is not None and r.done_on <= day)}
    rows = [_row(plan, r, confirmations.get(r.id), notices.get((r.step_id, r.key)), day, finished) for r in stored]
    have = {(r.step_id, r.key) for r in stored}
    for cal in plan.calendar.values():
        for occ in cal.occurrences:
            if (occ.step_id, occ.key) in have:
                continue
            step = plan.step_by_id[occ.step_id]
            if occ.projected:
                result, days, waiting = NOT_DUE, 0, []
            else:
                result, days = outcome(occ.due, occ.opens, day)
                waiting = _waiting(plan, step, occ.key, occ.due, finished) if occ.opens <= day else []
            rows.append(_shape(occ.step_id, occ.key, step.kind, result, days, waiting, occ.opens, occ.due,
                               projected=occ.projected, stored=False, unit=occ.owner))
    rows.sort(key=lambda r: (r["due"], r["step"], r["occurrence"]))
    return rows


def _waiting(plan: Plan, step: Any, key: str, due: date, finished: set[tuple[str, str]]) -> list[str]:
    """The predecessors an occurrence of `step` still waits for (engine.language.dependencies; a dependency that opens
    anyway does not hold it)."""
    return list(dict.fromkeys(link.step for link, _, _ in unmet(plan, step, split_key(key)[0], due, finished)
                              if not link.opens_anyway))


def _row(plan: Plan, r: OccurrenceRecord, c: ConfirmationRecord | None, counts_: Counter[str] | None,
         day: date, finished: set[str]) -> dict[str, Any]:
    step = plan.step_by_id.get(r.step_id)
    result, days = outcome(r.due_on, r.opens_on, day, done_on=r.done_on, opened_on=r.opened_on, status=r.status)
    waiting = []
    if not r.orphaned and step is not None and r.opened_on is None and result in (NOT_OPENED, OVERDUE_ON):
        waiting = _waiting(plan, step, r.key, r.due_on, finished)
    row = _shape(r.step_id, r.key, r.kind, result, days, waiting, r.opens_on, r.due_on, status=r.status,
                 orphaned=r.orphaned, reason=r.reason, unit=plan.owner_of(r.step_id, r.key))
    row["original_due"] = r.original_due_on.isoformat() if r.original_due_on else None
    done = result in DONE_OUTCOMES
    row["confirmation"] = None if c is None or not done else {
        "by": c.by, "done_on": c.done_on.isoformat(), "evidence": c.evidence, "note": c.note, "source": c.source,
        "plan_version": c.plan_version}
    row["notices"] = ", ".join(f"{n} {NOTICE_VI.get(s, s)}" for s, n in sorted((counts_ or {}).items()))
    return row


def waiting_phrase(steps: list[str]) -> str:
    """What a status says of the steps an occurrence waits for: ' (chờ a, b)' - their ids, as the CLI names
    steps (the artifacts say ' (chờ việc trước)': see `status_text`)."""
    return " (chờ " + ", ".join(steps) + ")"


def _shape(step_id: str, key: str, kind: str, result: str, days: int, waiting: list[str], opens: date, due: date,
           *, status: str | None = None, orphaned: bool = False, reason: str | None = None, projected: bool = False,
           stored: bool = True, unit: str = "") -> dict[str, Any]:
    """One row of `plan_status`; `status` is the state on the day (the stored one for skipped/cancelled)."""
    state = status if result == DROPPED else _STATUS_OF[result]
    row = {
        "step": step_id, "occurrence": key, "period": split_key(key)[0], "unit": unit, "kind": kind,
        "status": state, "status_vi": "",
        "opens": opens.isoformat(), "due": due.isoformat(),
        "days_overdue": days if result == OVERDUE_ON and not orphaned else 0,
        "late_days": days if result == LATE else (0 if result == ON_TIME else None),
        "confirmation": None, "orphaned": orphaned, "notices": "", "stored": stored, "projected": projected,
        "waiting_for": waiting, "reason": reason, "original_due": None,
    }
    row["status_vi"] = status_text(row)
    return row


def status_text(row: dict[str, Any], waiting: str | None = None) -> str:
    """A `plan_status` row's state in words: 'hoàn thành (chậm 3 ngày)', 'quá hạn (chờ quan-triet)', 'bỏ qua: ...'.
    `waiting`: how the work it waits for is said (default: the steps' ids, as the CLI names steps)."""
    state = row["status"]
    text = STATUS_VI.get(state, state)
    if row["late_days"]:
        text += f" (chậm {row['late_days']} ngày)"
    if row["projected"]:
        text += " (dự kiến)"
    if row["waiting_for"]:
        text += waiting if waiting is not None else waiting_phrase(row["waiting_for"])
    if row["reason"] and state in (SKIPPED, CANCELLED):
        text += f": {row['reason']}"
    if row["orphaned"]:
        text = f"mồ côi - bước không còn trong kế hoạch ({text})"
    return text
