"""SQLAlchemy 2 typed tables of the state store."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Occurrence lifecycle. "overdue" is an open occurrence past its due date; done ones record lateness separately.
SCHEDULED, OPEN, OVERDUE, DONE, SKIPPED, CANCELLED = "scheduled", "open", "overdue", "done", "skipped", "cancelled"
ACTIVE = (SCHEDULED, OPEN, OVERDUE)
FINISHED = (DONE, SKIPPED, CANCELLED)

# Outbox and message statuses. A notice (outbox row) is one item for one unit and tag; a message is what is sent
# to a tag: the notices of one plan and tag of a day, composed at delivery. "unknown": a send whose outcome is not
# known (a time-out after the request went out, a crash between send and record) - maybe delivered, retried at
# most once. "simulated": written by `kehoach simulate`, never sent.
PENDING, NO_TARGET, DELIVERED, FAILED, GIVEN_UP = "pending", "no_target", "delivered", "failed", "given_up"
SENDING, UNKNOWN, SIMULATED = "sending", "unknown", "simulated"


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class PlanRecord(Base):
    """A plan the store has seen: its current version and how far its calendar has been materialised."""

    __tablename__ = "plans"
    __table_args__ = (Index("ix_plan_parent", "parent_id"),)

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    number: Mapped[str] = mapped_column(String(128))
    path: Mapped[str] = mapped_column(Text)
    version: Mapped[str] = mapped_column(String(32))
    materialized_through: Mapped[date | None] = mapped_column(Date)
    last_tick_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The ids its history was kept under before (a file name, when file names made ids), oldest first.
    former_ids: Mapped[list[Any] | None] = mapped_column(JSON)
    # The plan this one carries out, and how (engine.family.links_of); NULL for a plan without a parent id.
    parent_id: Mapped[str | None] = mapped_column(String(128))
    links: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class OccurrenceRecord(Base):
    """One dated instance of a step, keyed by (plan, step, occurrence key)."""

    __tablename__ = "occurrences"
    __table_args__ = (
        UniqueConstraint("plan_id", "step_id", "key", name="uq_occurrence"),
        Index("ix_occurrence_active", "plan_id", "status", "opens_on"),
        Index("ix_occurrence_next", "plan_id", "next_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(String(128), ForeignKey("plans.id"))
    step_id: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=SCHEDULED)
    opens_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    opened_on: Mapped[date | None] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date)
    late_days: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    orphaned: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_by: Mapped[str | None] = mapped_column(String(128))
    plan_version: Mapped[str] = mapped_column(String(32))
    # The deadline before its first extension (gia hạn); NULL when never extended. `due_on` is the one in force.
    original_due_on: Mapped[date | None] = mapped_column(Date)
    # How often the owner was chased (reminders, due-day notice, escalations) and the escalations sent so far:
    # the next escalation follows the last one, so a gap in ticks never jumps to "lần 3".
    chased: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    escalations: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    escalated_on: Mapped[date | None] = mapped_column(Date)
    # The first day the tick has something to check (open, remind, due, overdue, escalate); NULL when there is
    # nothing left or the occurrence waits for a predecessor. A tick reads only rows with next_on <= today, so
    # its cost follows what is due, not what is stored.
    next_on: Mapped[date | None] = mapped_column(Date)


class ConfirmationRecord(Base):
    """A person's confirmation that an occurrence is done; never deleted, matched by step id across edits."""

    __tablename__ = "confirmations"
    __table_args__ = (Index("ix_confirmation_plan", "plan_id", "step_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrences.id"), unique=True)
    plan_id: Mapped[str] = mapped_column(String(128))
    step_id: Mapped[str] = mapped_column(String(64))
    occurrence_key: Mapped[str] = mapped_column(String(64))
    by: Mapped[str] = mapped_column(String(256))
    done_on: Mapped[date] = mapped_column(Date)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)  # what was done, in the confirmer's words (reports quote it)
    source: Mapped[str] = mapped_column(String(32), default="cli")
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    plan_version: Mapped[str] = mapped_column(String(32))


class EventRecord(Base):
    """The audit log: every effect and every human action, once (effect_key is unique)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_event_plan", "plan_id", "on_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    effect_key: Mapped[str] = mapped_column(String(400), unique=True)
    plan_id: Mapped[str] = mapped_column(String(128))
    step_id: Mapped[str | None] = mapped_column(String(64))
    occurrence_key: Mapped[str | None] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(32))
    on_date: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(256), default="engine")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    plan_version: Mapped[str] = mapped_column(String(32))


class OutboxRecord(Base):
    """A notice to deliver, recorded before any send; one row per (plan, step, occurrence, reason, unit, tag)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status", "status", "next_attempt_at"),
        Index("ix_outbox_plan", "plan_id", "step_id", "occurrence_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(500), unique=True)
    plan_id: Mapped[str] = mapped_column(String(128))
    step_id: Mapped[str | None] = mapped_column(String(64))
    occurrence_key: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(64))  # opened, reminder-2023-10-24, due, escalation-1, ...
    template: Mapped[str] = mapped_column(String(32))  # which message template renders it
    unit_id: Mapped[str] = mapped_column(String(64))
    tag: Mapped[str | None] = mapped_column(String(64))  # None: the unit has no notification tag
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_on: Mapped[date] = mapped_column(Date)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    plan_version: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)  # the message it went in


class MessageRecord(Base):
    """One message to one notification tag: the notices of a plan for that tag on a day, most urgent first.

    Composed at delivery from pending notices (outbox rows); sent, retried and given up as a whole, each service
    of the tag on its own (`delivered_to`).
    """

    __tablename__ = "messages"
    __table_args__ = (Index("ix_message_due", "status", "next_attempt_at"),
                      Index("ix_message_day", "plan_id", "tag", "day"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(String(128))
    tag: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)  # the working day it is for, in the plan's time zone
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list[Any]] = mapped_column(JSON, default=list)  # document ids
    items: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    unknown: Mapped[int] = mapped_column(Integer, default=0)  # sends whose outcome was not known
    delivered_to: Mapped[list[Any]] = mapped_column(JSON, default=list)  # keys of services that took it
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DocumentRecord(Base):
    """A drafted review or report (Markdown and/or DOCX), produced when its occurrence opens."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("plan_id", "step_id", "occurrence_key", "format", name="uq_document"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(String(128))
    step_id: Mapped[str] = mapped_column(String(64))
    occurrence_key: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(8))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_on: Mapped[date] = mapped_column(Date)
    plan_version: Mapped[str] = mapped_column(String(32))
