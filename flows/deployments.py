"""Deployments of `kehoach serve` and `kehoach deploy`: a daily tick per plan, each step's confirmation and
extension forms, the agency overview; for a work pool, the parts of the day's ticks (flows.day)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.schedules import Cron, RRule
from prefect.utilities.callables import ParameterSchema

from engine.language.models.plan import DEFAULT_TZ
from engine.language.plan import Plan
from flows.confirm import confirm_flow
from flows.day import DAY_FLOW, day_flow, part_of
from flows.extend import extend_flow
from flows.forms import CONFIRM_FLOW, EXTEND_FLOW, confirm_schema, extend_schema, form_name
from flows.overview import overview_flow
from flows.tick import run_tags, tick_flow

DAILY = "30 7 * * *"  # 07:30 every day, in the plan's time zone
OVERVIEW = "0 8 * * *"  # the agency overview at 08:00, after the ticks
TAGS = ["kehoach"]
LEGACY_FORM = f"{CONFIRM_FLOW}/confirm"  # the one confirmation form of earlier versions, for every plan


def cron_at(hhmm: str) -> str:
    """'07:30' -> '30 7 * * *'.

    Raises:
        ValueError: not a time of day written HH:MM.
    """
    hours, sep, minutes = hhmm.strip().partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        raise ValueError(f"'{hhmm}' không phải là giờ trong ngày: viết giờ:phút HH:MM, ví dụ 07:30")
    return f"{int(minutes)} {int(hours)} * * *"


_CRON_DAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")


def schedule_for(plan: Plan, cron: str, timezone: str | None = None, today: date | None = None) -> Any:
    """The plan's daily schedule, bounded by its period (see `bounded`).

    Raises:
        ValueError: an invalid cron expression.
    """
    return bounded(cron, timezone or plan.meta.timezone, plan.meta.period.start, plan.meta.period.end, today)


def bounded(cron: str, tz: str, start: date, end: date, today: date | None = None) -> Any:
    """A daily schedule from `start` to `end`: an RRule from the first day to the last (the last run, on that
    day, sends a plan's closing summary), for a cron of the form 'M H * * *' or 'M H * * 1-5'; None once `end`
    is past (nothing left to run). Any other cron is kept as it is, unbounded.

    Raises:
        ValueError: an invalid cron expression.
    """
    cron_schedule = Cron(cron, timezone=tz)  # checks the expression, whatever comes of it
    if end < (today or datetime.now(ZoneInfo(tz)).date()):
        return None
    fields = cron.split()
    if len(fields) == 5 and fields[0].isdigit() and fields[1].isdigit() and fields[2:4] == ["*", "*"]:
        days = _cron_days(fields[4])
        if days is not None:
            at = f"T{int(fields[1]):02d}{int(fields[0]):02d}00"
            by_day = f";BYDAY={','.join(days)}" if len(days) < 7 else ""
            return RRule(f"DTSTART:{start:%Y%m%d}{at}\nRRULE:FREQ=DAILY{by_day};UNTIL={end:%Y%m%d}{at}", timezone=tz)
    return cron_schedule


def _cron_days(field: str) -> list[str] | None:
    """Cron's day-of-week field ('*', '1-5', '1,3,5') as RRULE days; None for what it does not cover."""
    if field == "*":
        return list(_CRON_DAYS)
    days: list[int] = []
    for part in field.split(","):
        lo, sep, hi = part.partition("-")
        if not (lo.isdigit() and (not sep or hi.isdigit())):
            return None
        days += list(range(int(lo), int(hi if sep else lo) + 1))
    if not days or max(days) > 7:
        return None
    return [_CRON_DAYS[d % 7] for d in dict.fromkeys(days)]


def tick_deployment(plan: Plan, cron: str | None = DAILY, timezone: str | None = None) -> RunnerDeployment:
    """The plan's scheduled tick (bounded by its period, see `schedule_for`; no schedule for `cron` None: the
    plan is ticked by a part of the day's ticks, see flows.day); the plan path is fixed (read-only in the UI),
    `at` may be set for a rerun; tagged by plan and owner units.

    Raises:
        ValueError: an invalid cron expression.
    """
    path = str(plan.path.resolve())
    schedule = schedule_for(plan, cron, timezone) if cron else None
    title = f"Kế hoạch số {plan.meta.number}: {' '.join(plan.meta.title.split())}"
    deployment = like(
        tick_flow,
        name=plan.id,
        schedules=[schedule] if schedule is not None else [],
        parameters={"plan": path},
        description=title if cron else f"{title}\n\nChạy hằng ngày trong lượt chạy chung của các kế hoạch "
                                        f"({DAY_FLOW}); chạy lại một ngày: Custom run với ngày chạy.",
        tags=run_tags(plan),
        version=plan.version,
    )
    _freeze(deployment, "plan", path)
    return deployment


def overview_deployment(plan_dir: Path, cron: str = OVERVIEW, timezone: str = DEFAULT_TZ) -> RunnerDeployment:
    """The agency overview of the served plans (flows.overview), daily after the ticks."""
    folder = str(plan_dir.resolve())
    deployment = overview_flow.to_deployment(
        name="tong-quan", schedule=Cron(cron, timezone=timezone), parameters={"plan_dir": folder},
        description="Tổng quan các kế hoạch: tỷ lệ đúng hạn, việc quá hạn theo kế hoạch và theo đơn vị.",
        tags=TAGS, entrypoint_type=EntrypointType.MODULE_PATH)
    _freeze(deployment, "plan_dir", folder)
    return deployment


def form_deployments(plan: Plan) -> list[RunnerDeployment]:
    """Each step's confirmation form and extension form (flows.forms), the plan file and the step fixed.

    The deployments do not enforce their schema: Prefect's checks answer in English ("'by' is a required
    property") and before any run exists, while the flows answer in Vietnamese in the run's state. With
    `enforce_parameter_schema=False` the UI's "Validate parameters" box starts unticked.
    """
    path = str(plan.path.resolve())
    out = []
    for step in plan.steps:
        title = " ".join(step.title.split())
        for flow_, schema, what in ((confirm_flow, confirm_schema(plan, step), "Xác nhận hoàn thành"),
                                    (extend_flow, extend_schema(plan, step), "Gia hạn")):
            deployment = like(
                flow_,
                name=form_name(plan.id, step.id),
                parameters={"plan": path, "step": step.id},
                description=f"{what}: {title}\n\nKế hoạch số {plan.meta.number}; thời hạn: "
                            f"{plan.calendar[step.id].describe}. Mở biểu mẫu từ đường link trong thông báo.",
                tags=[*TAGS, plan.id],
                version=plan.version,
                enforce_parameter_schema=False,
            )
            deployment._parameter_openapi_schema = ParameterSchema(**schema)
            out.append(deployment)
    return out


_BASES: dict[str, RunnerDeployment] = {}


def like(flow_: Any, **fields: Any) -> RunnerDeployment:
    """`flow_.to_deployment(**fields)` (module-path entrypoint), for the fields set here, at a fraction of the
    cost: a copy of one deployment of the flow made once, its parameter schema copied.

    `to_deployment` builds the flow's parameter schema from its signature with pydantic, ~25 ms each time: for a
    province's 200 plans of 40 steps, a confirmation and an extension form per step, over 7 minutes of
    `kehoach deploy` before anything is sent.
    """
    base = _BASES.get(flow_.name)
    if base is None:
        base = _BASES[flow_.name] = flow_.to_deployment(name="_", entrypoint_type=EntrypointType.MODULE_PATH)
    from prefect.deployments.schedules import normalize_to_deployment_schedule

    fields["schedules"] = normalize_to_deployment_schedule(fields.get("schedules") or [])  # as the model would
    out = base.model_copy(update={"triggers": [], "job_variables": {}, **fields})
    out._parameter_openapi_schema = base._parameter_openapi_schema.model_copy(deep=True)
    return out


def _freeze(deployment: RunnerDeployment, name: str, value: Any) -> None:
    """Show a parameter read-only in the UI and refuse other values.

    This is what `parameters={name: freeze(value)}` should do, but in Prefect 3.9 `to_deployment` applies
    `freeze` before the deployment has its parameter schema, and then sends the wrapper itself as the value.
    """
    prop = deployment._parameter_openapi_schema.properties[name]
    prop["readOnly"] = True
    prop["enum"] = [value]


def day_deployments(plans: list[Plan], plan_dir: Path, name: str, parts: int, cron: str = DAILY,
                    timezone: str | None = None, today: date | None = None) -> list[RunnerDeployment]:
    """The day's ticks of the plans of `plan_dir` in `parts` runs (flows.day), `<name>-1` to `<name>-<parts>`,
    each daily from the first plan's start to the last plan's end, in `timezone` or the first plan's.

    Raises:
        ValueError: an invalid cron expression.
    """
    folder = str(plan_dir.resolve())
    tz = timezone or plans[0].meta.timezone
    schedule = bounded(cron, tz, min(p.meta.period.start for p in plans), max(p.meta.period.end for p in plans),
                       today)
    out = []
    for part in range(1, parts + 1):
        count = sum(part_of(p.path, parts) == part for p in plans)
        deployment = day_flow.to_deployment(
            name=f"{name}-{part}", schedules=[schedule] if schedule is not None else [],
            parameters={"plan_dir": folder, "part": part, "parts": parts},
            description=f"Lượt chạy hằng ngày của {count} kế hoạch (phần {part}/{parts} của {folder}): mỗi kế "
                        "hoạch một tác vụ (task run) mang tên kế hoạch và ngày chạy, trạng thái là tình hình của "
                        "kế hoạch (Runs → Task runs, lọc theo tag).",
            tags=TAGS, entrypoint_type=EntrypointType.MODULE_PATH)
        for key, value in (("plan_dir", folder), ("part", part), ("parts", parts)):
            _freeze(deployment, key, value)
        out.append(deployment)
    return out


def deployments(plans: list[Plan], cron: str = DAILY, timezone: str | None = None,
                plan_dir: Path | None = None, parts: int = 0, name: str = "") -> list[RunnerDeployment]:
    """Every deployment `kehoach serve` registers: a tick per plan, each step's forms, and (given the plans'
    folder) the agency overview. With `parts` (and the folder), the ticks are not scheduled one by one but run
    daily in that many runs of flows.day, named `<name>-1`...: what `kehoach deploy` registers.

    Raises:
        ValueError: an invalid cron expression or an unknown time zone.
    """
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"không có múi giờ '{timezone}' (ví dụ Asia/Ho_Chi_Minh, UTC)") from None
    batched = bool(parts and plan_dir and plans)
    ticks = [tick_deployment(p, None if batched else cron, timezone) for p in plans]
    days = day_deployments(plans, plan_dir, name, parts, cron, timezone) if batched else []  # type: ignore[arg-type]
    overview = [overview_deployment(plan_dir, timezone=timezone or plans[0].meta.timezone)] if plan_dir and plans \
        else []
    return [*ticks, *days, *overview, *(form for p in plans for form in form_deployments(p))]


def remove_stale(built: list[RunnerDeployment], plan_ids: list[str]) -> list[str]:
    """Delete from the server the forms of these plans that `built` no longer has (a step removed or renamed),
    and the single confirmation form of earlier versions (`kehoach-confirm/confirm`), whose runs no process
    would pick up. Forms of plans served by another `kehoach serve` are left alone.

    Returns the names removed ('flow/deployment').
    """
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    from flows.env import sync_client

    keep = {f"{d.flow_name}/{d.name}" for d in built}
    prefixes = tuple(form_name(pid, "") for pid in plan_ids)
    only_forms = FlowFilter(name=FlowFilterName(any_=[CONFIRM_FLOW, EXTEND_FLOW]))
    removed = []
    with sync_client() as client:
        names = {f.id: f.name for f in client.read_flows(flow_filter=only_forms)}
        stale, offset = [], 0
        while names:
            page = client.read_deployments(flow_filter=only_forms, offset=offset, limit=200)
            stale += [d for d in page if f"{names.get(d.flow_id)}/{d.name}" not in keep
                      and (d.name.startswith(prefixes) or f"{names.get(d.flow_id)}/{d.name}" == LEGACY_FORM)]
            offset += len(page)
            if len(page) < 200:
                break
        for d in stale:
            client.delete_deployment(d.id)
            removed.append(f"{names.get(d.flow_id)}/{d.name}")
    return removed
