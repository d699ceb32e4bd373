"""Deployments served by `kehoach serve`: one daily tick per plan, and the confirmation form."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.schedules import Cron

from engine.plan import Plan
from flows.confirm import confirm_flow
from flows.tick import tick_flow

DAILY = "30 7 * * *"  # 07:30 every day, in the plan's time zone
TAGS = ["kehoach"]


def cron_at(hhmm: str) -> str:
    """'07:30' -> '30 7 * * *'.

    Raises:
        ValueError: not a time of day written HH:MM.
    """
    hours, sep, minutes = hhmm.strip().partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        raise ValueError(f"'{hhmm}' is not a time of day: write HH:MM, e.g. 07:30")
    return f"{int(minutes)} {int(hours)} * * *"


def tick_deployment(plan: Plan, cron: str = DAILY, timezone: str | None = None) -> RunnerDeployment:
    """The plan's scheduled tick; the plan path is fixed (read-only in the UI), `at` may be set for a rerun.

    Raises:
        ValueError: an invalid cron expression.
    """
    path = str(plan.path.resolve())
    deployment = tick_flow.to_deployment(
        name=plan.id,
        schedule=Cron(cron, timezone=timezone or plan.meta.timezone),
        parameters={"plan": path},
        description=f"Kế hoạch số {plan.meta.number}: {' '.join(plan.meta.title.split())}",
        tags=[*TAGS, plan.id],
        version=plan.version,
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    _freeze(deployment, "plan", path)
    return deployment


def confirm_deployment(plan_dir: Path, plan_ids: list[str]) -> RunnerDeployment:
    """The confirmation form; `plan` is a choice among the served plans' ids."""
    folder = str(plan_dir.resolve())
    deployment = confirm_flow.to_deployment(
        name="confirm",
        parameters={"plan_dir": folder},
        description="Xác nhận hoàn thành một lần thực hiện (confirmation form), kiểm tra như "
                    "`kehoach confirm`.",
        tags=TAGS,
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    _freeze(deployment, "plan_dir", folder)
    # The form offers the served plans as a list (the schema is edited as Prefect's `freeze` does).
    deployment._parameter_openapi_schema.properties["plan"]["enum"] = sorted(plan_ids)
    return deployment


def _freeze(deployment: RunnerDeployment, name: str, value: str) -> None:
    """Show a parameter read-only in the UI and refuse other values.

    This is what `parameters={name: freeze(value)}` should do, but in Prefect 3.9 `to_deployment` applies
    `freeze` before the deployment has its parameter schema, and then sends the wrapper itself as the value.
    """
    prop = deployment._parameter_openapi_schema.properties[name]
    prop["readOnly"] = True
    prop["enum"] = [value]


def deployments(plans: list[Plan], plan_dir: Path, cron: str = DAILY,
                timezone: str | None = None) -> list[RunnerDeployment]:
    """Every deployment `kehoach serve` registers.

    Raises:
        ValueError: an invalid cron expression or an unknown time zone.
    """
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{timezone}' (e.g. Asia/Ho_Chi_Minh, UTC)") from None
    ticks = [tick_deployment(p, cron, timezone) for p in plans]
    return [*ticks, confirm_deployment(plan_dir, [p.id for p in plans])]
