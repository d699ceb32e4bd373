"""Notices: what happened to whom, queued by the tick and by people's actions as outbox rows (one per unit and
notification tag); `notifiers.compose` turns a recipient's notices of a day into one message when it is sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from engine.language.dates import fmt
from engine.language.plan import Plan
from engine.state.models import NO_TARGET, PENDING, OccurrenceRecord, OutboxRecord
from engine.state.store import insert_many_ignore


@dataclass
class Notice:
    """A message to queue for one unit (one outbox row per notification tag of that unit)."""

    reason: str  # opened, participant, disseminate, coordinate, draft, reminder-2023-10-24, due, escalation-2, ...
    template: str
    unit_id: str
    context: dict[str, Any]


def notice_context(plan: Plan, step: Any, row: OccurrenceRecord, today: date) -> dict[str, Any]:
    """What a notice about an occurrence says, as plain JSON; the values that depend on the day it is read
    (days left, overdue) are added when it is sent (engine.language.templates.item_context)."""
    from engine.language.templates import confirm_command

    requires = list(step.confirmation.requires)
    owner = plan.owner_of(step.id, row.key)
    return {
        **plan.step_words[step.id],  # plan_id, plan_number, plan_title, issuer, step_id ... recipient
        "occurrence": row.key,
        "owner": owner,
        "owner_name": plan.unit_name(owner),
        "due": fmt(row.due_on),
        "due_iso": row.due_on.isoformat(),
        "original_due": fmt(row.original_due_on),
        "created": today.isoformat(),
        "requires": requires,
        "confirm_command": confirm_command(plan.id, step.id, row.key, requires),
        "escalation": 0,
        "chased": row.chased or 0,
    }


def queue_notices(plan: Plan, session: Session, step_id: str | None, key: str | None, notices: list[Notice],
                  today: date, effect: str) -> int:
    """Queue notices in the outbox (see `outbox_rows`); rows already queued are left alone. Returns the number
    of new rows."""
    return insert_many_ignore(session, OutboxRecord, outbox_rows(plan, step_id, key, notices, today, effect))


def outbox_rows(plan: Plan, step_id: str | None, key: str | None, notices: list[Notice], today: date,
                effect: str) -> list[dict[str, Any]]:
    """One outbox row per notice and notification tag of its unit (a unit with no tag gets a 'no target' row,
    so the gap is visible).

    `effect` is the effect key of what caused the notices (see engine.runtime.tick): a row's idempotency key is that
    plus reason, unit and tag, so the same notice is queued once however often its cause is replayed.
    """
    rows = []
    for n in notices:
        unit = plan.units.get(n.unit_id)
        tags = list(unit.notify) if unit and unit.notify else [None]
        ctx = {**n.context, "unit_name": unit.name if unit else n.unit_id}
        for tag in tags:
            rows.append(dict(
                idempotency_key=f"{effect}/{n.reason}/{n.unit_id}/{tag or '-'}",
                plan_id=plan.id, step_id=step_id, occurrence_key=key, reason=n.reason, template=n.template,
                unit_id=n.unit_id, tag=tag, context=ctx, subject=None, body=None,
                status=PENDING if tag else NO_TARGET, attempts=0, created_on=today, plan_version=plan.version))
    return rows
