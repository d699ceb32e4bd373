"""Notices: what a message template may use, and the outbox rows the tick and confirmations queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from engine.dates import fmt
from engine.models.steps import Report
from engine.plan import Plan
from engine.state.models import NO_TARGET, PENDING, OccurrenceRecord, OutboxRecord
from engine.state.store import insert_many_ignore


@dataclass
class Notice:
    """A message to queue for one unit (one outbox row per notification tag of that unit)."""

    reason: str  # opened, disseminate, coordinate, draft, reminder-2023-10-24, due, escalation-2, confirmed
    template: str
    unit_id: str
    context: dict[str, Any]


def notice_context(plan: Plan, step: Any, row: OccurrenceRecord, today: date) -> dict[str, Any]:
    """The values a message template may use (all plain JSON)."""
    units = plan.units
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
        "requires": ", ".join(step.confirmation.requires),
        "material": getattr(step, "material", None) or "",
        "method": getattr(step, "method", None) or "",
        "subject": getattr(step, "subject", None) or "",
        "recipient": units[step.recipient].name if isinstance(step, Report) and step.recipient in units else "",
        "confirm_command": f"kehoach confirm {plan.path.name} {step.id}{occ_flag} --by \"Họ tên\"{evidence}",
        "ui_url": "",
        "summary": "",
        "escalation": 0,
    }


def plan_templates(plan: Plan) -> dict[str, str]:
    """Template overrides the plan (or its agency files) declares."""
    return getattr(plan, "templates", None) or {}


def queue_notices(plan: Plan, session: Session, step_id: str, key: str, notices: list[Notice], today: date,
                  effect: str) -> int:
    """Queue notices in the outbox (see `outbox_rows`); rows already queued are left alone. Returns the number
    of new rows."""
    return insert_many_ignore(session, OutboxRecord, outbox_rows(plan, step_id, key, notices, today, effect))


def outbox_rows(plan: Plan, step_id: str, key: str, notices: list[Notice], today: date,
                effect: str) -> list[dict[str, Any]]:
    """One outbox row per notice and notification tag of its unit (a unit with no tag gets a 'no target' row,
    so the gap is visible), rendered with the plan's templates.

    `effect` is the effect key of what caused the notices (see engine.tick): a row's idempotency key is that
    plus reason, unit and tag, so the same notice is queued once however often its cause is replayed.
    """
    from notifiers.templates import render

    rows = []
    overrides = plan_templates(plan)
    for n in notices:
        unit = plan.units.get(n.unit_id)
        tags = list(unit.notify) if unit and unit.notify else [None]
        ctx = {**n.context, "unit_name": unit.name if unit else n.unit_id}
        subject, body = render(n.template, ctx, overrides)
        for tag in tags:
            rows.append(dict(
                idempotency_key=f"{effect}/{n.reason}/{n.unit_id}/{tag or '-'}",
                plan_id=plan.id, step_id=step_id, occurrence_key=key, reason=n.reason, template=n.template,
                unit_id=n.unit_id, tag=tag, context=ctx, subject=subject, body=body,
                status=PENDING if tag else NO_TARGET, attempts=0, created_on=today, plan_version=plan.version))
    return rows
