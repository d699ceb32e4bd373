"""Stores written when a plan's id was its file name: its rows moved to the plan's id, once, in one transaction.

A migration cannot do this (the ids come from the plan files), so it is done when the plan is next used: the
plan has no row under its id, and the store has one under its file's name, made from a file of that name for a
plan of the same number. Every table's rows follow, the audit log's and the outbox's keys with them (a notice
already sent is not sent again), and a `former_id` event records it.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, literal, select, update
from sqlalchemy.orm import Session

from engine.state.models import (
    ConfirmationRecord,
    DocumentRecord,
    EventRecord,
    MessageRecord,
    OccurrenceRecord,
    OutboxRecord,
    PlanRecord,
)
from engine.state.store import effect_key, lock_plan, log_event

_BY_PLAN = (ConfirmationRecord, EventRecord, OutboxRecord, MessageRecord, DocumentRecord)
_NOT_SENT = ("pending", "failed", "sending", "unknown", "no_target")


def former_record(session: Session, plan_id: str, number: str, path: Path) -> PlanRecord | None:
    """The row this plan's history was kept under when its id was its file name; None when there is none, or
    when the plan already has its own row.

    Only a row made from a file of that name (its id is its file's name) for a plan of the same number is taken:
    another plan that happens to have the file name as its id keeps its state.
    """
    old_id = path.stem
    if old_id == plan_id or session.get(PlanRecord, plan_id) is not None:
        return None
    old = lock_plan(session, old_id)  # a second worker doing the same waits here, then finds it gone
    if old is None or old.number != number or Path(old.path).stem != old_id:
        return None
    return old if session.get(PlanRecord, plan_id) is None else None


def adopt(session: Session, plan_id: str, number: str, path: Path, version: str, today: date,
          now: datetime) -> str | None:
    """Move the history kept under the plan file's name to the plan's id (see `former_record`); the former id
    when it was moved, else None."""
    old = former_record(session, plan_id, number, path)
    if old is None:
        return None
    old_id = old.id
    rekey(session, old, plan_id, path, version, today, now)
    return old_id


def rekey(session: Session, old: PlanRecord, plan_id: str, path: Path, version: str, today: date,
          now: datetime) -> None:
    """Move every row of `old` to `plan_id` (in the caller's transaction), and record it.

    The plan's row is copied under the new id first and the old one deleted last, so that the occurrences'
    foreign key holds at every statement.
    """
    old_id = old.id
    session.add(PlanRecord(id=plan_id, number=old.number, path=str(path.resolve()), version=old.version,
                           materialized_through=old.materialized_through, last_tick_at=old.last_tick_at,
                           former_ids=[*(old.former_ids or []), old_id]))
    session.flush()
    session.execute(update(OccurrenceRecord).where(OccurrenceRecord.plan_id == old_id).values(plan_id=plan_id))
    for model in _BY_PLAN:
        session.execute(update(model).where(model.plan_id == old_id).values(plan_id=plan_id))
    # Keys start with the plan's id ('old/step/key/what'): the next tick must find what was done under it.
    for column in (EventRecord.effect_key, OutboxRecord.idempotency_key):
        prefix = f"{old_id}/"
        moved = literal(f"{plan_id}/") + func.substr(column, len(prefix) + 1)
        session.execute(update(column.class_).where(func.substr(column, 1, len(prefix)) == prefix)
                        .values({column.key: moved}))
    _notices_not_sent(session, old_id, plan_id)
    session.delete(old)
    session.flush()
    log_event(session, plan_id=plan_id, plan_version=version, step_id=None, key=None, event="former_id",
              on_date=today, at=now, ekey=effect_key(plan_id, None, None, f"former-id/{old_id}"),
              detail={"from": old_id, "path": str(path.resolve()),
                      "reason": "mã kế hoạch không còn lấy từ tên tệp"})


def _notices_not_sent(session: Session, old_id: str, plan_id: str) -> None:
    """Notices waiting to be sent name the plan in their confirmation command: the new id, which the served
    plans answer to."""
    rows = session.scalars(select(OutboxRecord).where(OutboxRecord.plan_id == plan_id,
                                                      OutboxRecord.status.in_(_NOT_SENT)))
    for row in rows:
        ctx: dict[str, Any] = dict(row.context or {})
        if ctx.get("plan_id") != old_id:
            continue
        ctx["plan_id"] = plan_id
        if isinstance(ctx.get("confirm_command"), str):
            ctx["confirm_command"] = ctx["confirm_command"].replace(f"kehoach confirm {old_id} ",
                                                                    f"kehoach confirm {plan_id} ", 1)
        row.context = ctx


def message(old_id: str, plan_id: str, number: str) -> str:
    """The line that tells people the history moved."""
    return (f"Kế hoạch số {number}: lịch sử lưu theo tên tệp '{old_id}' đã chuyển sang mã kế hoạch '{plan_id}' "
            "(mã không còn lấy từ tên tệp).")
