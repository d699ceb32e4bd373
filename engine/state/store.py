"""Small store operations shared by the tick, confirmations and commands: idempotent inserts, queries."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.state.models import ACTIVE, EventRecord, OccurrenceRecord, OutboxRecord, PlanRecord


def insert_ignore(session: Session, model: type, values: dict[str, Any]) -> bool:
    """INSERT that does nothing on a unique-key conflict; True when the row was inserted.

    Under PostgreSQL a concurrent transaction inserting the same key waits for the first to commit and then
    does nothing, which is what makes two workers ticking the same plan produce each effect once.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    result = session.execute(insert(model).values(**values).on_conflict_do_nothing())
    return bool(result.rowcount)


def lock_plan(session: Session, plan_id: str) -> PlanRecord | None:
    """The plan's row, locked for the rest of the transaction (row lock on PostgreSQL; SQLite locks the file)."""
    stmt = select(PlanRecord).where(PlanRecord.id == plan_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def active_occurrences(session: Session, plan_id: str, today: date) -> list[OccurrenceRecord]:
    """Occurrences that may need work today: scheduled whose opening has come, open, overdue."""
    stmt = (
        select(OccurrenceRecord)
        .where(OccurrenceRecord.plan_id == plan_id, OccurrenceRecord.status.in_(ACTIVE),
               OccurrenceRecord.opens_on <= today)
        .order_by(OccurrenceRecord.due_on, OccurrenceRecord.step_id)
    )
    return list(session.scalars(stmt))


def occurrences_of(session: Session, plan_id: str, step_ids: list[str] | None = None) -> list[OccurrenceRecord]:
    stmt = select(OccurrenceRecord).where(OccurrenceRecord.plan_id == plan_id)
    if step_ids is not None:
        stmt = stmt.where(OccurrenceRecord.step_id.in_(step_ids))
    return list(session.scalars(stmt.order_by(OccurrenceRecord.due_on, OccurrenceRecord.step_id, OccurrenceRecord.key)))


def find_occurrence(session: Session, plan_id: str, step_id: str, key: str) -> OccurrenceRecord | None:
    return session.scalars(select(OccurrenceRecord).where(
        OccurrenceRecord.plan_id == plan_id, OccurrenceRecord.step_id == step_id, OccurrenceRecord.key == key)).first()


def events_of(session: Session, plan_id: str, since: date | None = None) -> list[EventRecord]:
    stmt = select(EventRecord).where(EventRecord.plan_id == plan_id)
    if since is not None:
        stmt = stmt.where(EventRecord.on_date >= since)
    return list(session.scalars(stmt.order_by(EventRecord.id)))


def outbox_of(session: Session, plan_id: str | None = None, statuses: tuple[str, ...] | None = None) -> list[OutboxRecord]:
    stmt = select(OutboxRecord)
    if plan_id is not None:
        stmt = stmt.where(OutboxRecord.plan_id == plan_id)
    if statuses is not None:
        stmt = stmt.where(OutboxRecord.status.in_(statuses))
    return list(session.scalars(stmt.order_by(OutboxRecord.id)))
