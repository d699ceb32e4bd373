"""The tick as a Prefect flow: decide in one task, apply per acted-on step as named tasks, publish artifacts."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from prefect import flow, task  # noqa: E402

from engine.plan import Plan  # noqa: E402


@task(name="decide")
def decide_task(plan: Plan, db: str | None, now: datetime) -> list[Any]:
    from engine.state.db import open_store, session_factory
    from engine.tick import decide, plan_today, sync

    sessions = session_factory(open_store(db))
    today = plan_today(plan, now)
    with sessions() as session, session.begin():
        sync(plan, session, today, now)
        session.flush()
        return decide(plan, session, today)


def _apply_step(plan: Plan, db: str | None, actions: list[Any], now: datetime) -> list[Any]:
    from engine.state.db import open_store, session_factory
    from engine.tick import apply, plan_today

    sessions = session_factory(open_store(db))
    with sessions() as session, session.begin():
        applied, _ = apply(plan, session, actions, plan_today(plan, now), now)
    return applied


apply_task = task(_apply_step, name="apply")


@flow(name="kehoach-tick", log_prints=False)
def tick_flow(plan: Plan, now: datetime, db: str | None = None) -> list[Any]:
    """One tick of one plan; each step acted on shows as a task named after it."""
    actions = decide_task(plan, db, now)
    by_step: dict[str, list[Any]] = {}
    for a in actions:
        by_step.setdefault(a.step_id, []).append(a)
    applied: list[Any] = []
    for step_id, step_actions in by_step.items():
        applied += apply_task.with_options(name=f"{step_id}", task_run_name=f"{step_id}")(plan, db, step_actions, now)
    return applied


def run_tick(plan: Plan, now: datetime, db: str | None = None) -> dict[str, Any]:
    """Run the tick flow and summarise it for the CLI."""
    from engine.dates import fmt
    from engine.state.db import open_store, session_factory
    from engine.status import plan_status
    from engine.tick import plan_today

    applied = tick_flow.with_options(flow_run_name=f"{plan.id} {now:%Y-%m-%d}")(plan, now, db)
    today = plan_today(plan, now)
    lines = [f"  {a.event:<11} {a.step_id} ({a.occurrence_key})" for a in applied]
    with session_factory(open_store(db))() as session:
        rows = plan_status(plan, session, today)
    due = [r for r in rows if r["due"] <= today.isoformat()]
    done = sum(r["status"] == "done" for r in due)
    overdue = sum(r["status"] == "overdue" for r in due)
    upcoming = [r for r in rows if r["due"] > today.isoformat() and r["status"] != "done"][:3]
    status_line = f"{done}/{len(due)} lần đã đến hạn hoàn thành, {overdue} quá hạn"
    if upcoming:
        status_line += "; sắp tới: " + ", ".join(f"{r['step']} ({fmt(datetime.fromisoformat(r['due']).date())})"
                                                for r in upcoming)
    return {"applied": applied, "lines": lines, "status_line": status_line}
