"""The tick as a Prefect flow: decide in one task, apply each step acted on as a task named after it, publish.

Artifacts (standing, drafts, deliveries) are built in the tasks that own them and sent once the run is over by
`flows.artifacts.PUBLISHER`, in the background: `kehoach run` waits for them before it exits.

Only steps with something to do today get a task (a Prefect task costs 6-10 ms; a plan has many idle
occurrences). Deciding and applying share one transaction, committed once (tasks called from a flow run in its
thread); every effect is idempotent (see engine.runtime.tick), so a rerun after a crash - or two runs at once - writes
each effect once.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote
from sqlalchemy.orm import Session

from engine.language.dates import DateError, fmt, parse_date
from engine.language.models.plan import DEFAULT_TZ
from engine.language.plan import Plan, PlanLoader
from engine.runtime.tick import Action, caught_up_days, plan_today
from flows.artifacts import PUBLISHER

TICK_TIME = time(7, 30)  # the moment of a tick given a day (`--at`), as the daily schedule

# Plans, sessions and actions are passed wrapped in `quote` and nothing is cached or persisted: Prefect would
# otherwise walk and hash a whole plan for every task, which costs more than the task.
plain_task = task(cache_policy=NONE, persist_result=False)


def moment(plan: Plan, at: date | None) -> datetime:
    """The tick's `now`: 07:30 on `at` in the plan's time zone, or the wall clock.

    Raises:
        ValueError: `at` is outside the years dates may take (a run started from the UI with any date).
    """
    tz = ZoneInfo(plan.meta.timezone)
    return datetime.combine(parse_date(at), TICK_TIME, tzinfo=tz) if at else datetime.now(tz)


def store_sessions() -> Any:
    from engine.state.db import open_store, session_factory

    return session_factory(open_store())  # KEHOACH_DATABASE_URL, else .kehoach/state.db


@plain_task(name="decide", task_run_name="decide")
def decide_task(plan: Plan, session: Session, now: datetime) -> list[Action]:
    """Claim the plan, materialise its calendar up to today and list what is due."""
    from engine.runtime.tick import decide, plan_today, sync

    today = plan_today(plan, now)
    sync(plan, session, today, now)
    return decide(plan, session, today)


# Named after its step through a parameter: `with_options` per step would build a Task each time (~0.3 ms:
# Prefect reads the function's source).
@plain_task(name="apply", task_run_name="{step}")
def apply_task(step: str, plan: Plan, session: Session, actions: list[Action],
               now: datetime) -> tuple[list[Action], int, list[Any]]:
    """Apply one step's actions (`step`, its id, names the task run): events, statuses, notices, drafts.

    Returns the actions applied, the number dropped (done by an earlier run), and a Markdown artifact per draft
    made, attached to this task run - for the flow to publish once the tick's transaction is committed.
    """
    from engine.reports.artifacts import draft_artifacts, draft_records
    from engine.runtime.tick import apply, describe, plan_today
    from flows.artifacts import artifact

    done, again = apply(plan, session, actions, plan_today(plan, now), now)
    logger = get_run_logger()
    for a in done:  # what the tick did, in the run's log, a line per action
        logger.info(describe(plan, a))
    drafted = {(a.step_id, a.occurrence_key) for a in done if a.detail.get("drafted")}
    drafts = draft_artifacts(plan, draft_records(session, plan.id, drafted)) if drafted else []
    return done, again, [artifact("markdown", key, text, about) for key, text, about in drafts]


@plain_task(name="publish", task_run_name="publish")
def publish_task(plan: Plan, now: datetime) -> dict[str, Any]:
    """Read the plan's standing and publish it as artifacts (progress, open work, upcoming deadlines)."""
    from engine.runtime.status import plan_status
    from engine.runtime.tick import plan_today
    from flows.artifacts import standing, standing_artifacts

    today = plan_today(plan, now)
    with store_sessions()() as session:
        s = standing(plan.id, plan_status(plan, session, today), today)
    shown = standing_artifacts(plan, s)
    PUBLISHER.submit(shown)
    return {"due": s.due, "done": s.done, "overdue": s.overdue, "percent": s.percent, "line": s.line(plan),
            "artifacts": [a.key for a in shown]}


@plain_task(name="deliver", task_run_name="deliver")
def deliver_task(plan: Plan, now: datetime, channels: str | None) -> dict[str, Any]:
    """Send the plan's due notices through Apprise and publish what happened; the task fails (the tick does
    not) when a notice failed this run or has been given up, so that it shows in the UI."""
    from flows.artifacts import artifact, artifact_key
    from flows.links import ConfirmLinks, ExtendLinks
    from notifiers.delivery import DeliveryFailed, deliver_outbox

    report = deliver_outbox(store_sessions(), now, channels, plan_id=plan.id,
                            plans=lambda pid: plan if pid == plan.id else None, link=ConfirmLinks(),
                            extend_link=ExtendLinks())
    shown = artifact("markdown", artifact_key(plan.id, "thong-bao"), report.markdown(), report.summary())
    PUBLISHER.submit([shown])
    if not report.ok:
        raise DeliveryFailed(report.summary())
    return {"line": report.summary(), "delivered": report.delivered}


def run_name(plan_id: str, at: date | str | None) -> str:
    """A tick run's name: the plan's id and the day, e.g. 'kh-28-khcn-2022 25/10/2023'."""
    day = at or datetime.now(ZoneInfo(DEFAULT_TZ)).date()
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return f"{plan_id} {day:%d/%m/%Y}"


def _run_name() -> str:
    """The name of a run created by the plan's deployment (named after the plan's id), or of the flow called
    with a plan file: then the file is read for its id."""
    from prefect.runtime import deployment

    params = flow_run.parameters
    plan_id = deployment.name or PlanLoader().load(params["plan"]).id
    return run_name(plan_id, params.get("at"))


def tick_flow(plan: str, at: date | None = None, channels: str | None = None) -> Any:
    """Một lượt chạy của một kế hoạch: mở việc đến hạn, nhắc hạn, báo quá hạn, đôn đốc; cập nhật tiến độ.

    Args:
        plan: Đường dẫn tệp kế hoạch YAML (plan file path).
        at: Ngày chạy (mặc định: hôm nay) - chạy lại một ngày đã qua không gửi trùng thông báo.
        channels: Tệp kênh (Apprise) để gửi thông báo; mặc định KEHOACH_CHANNELS, không có thì thông báo chờ.
    """
    if (refusal := day_refused(at)) is not None:  # a date picked in the UI: said in one sentence, nothing run
        return refusal
    return health(ticked(PlanLoader().load(plan), at, channels, as_tasks=True))


def day_refused(at: date | None) -> Any:
    """A run's final state "Chưa chạy" saying in Vietnamese why its day cannot be a tick's day (a year out of
    range); None when it can."""
    try:
        parse_date(at) if at else None
    except DateError as exc:
        from flows.outcome import refused

        shown = DateError(fmt(at) if isinstance(at, date) else str(at), exc.problem)
        return refused("Chưa chạy", f"Ngày chạy không hợp lệ: {shown}.")
    return None


def ticked(loaded: Plan, at: date | None, channels: str | None, *, as_tasks: bool) -> dict[str, Any]:
    """A plan's tick inside a run: decide, apply each step acted on, publish the standing, deliver; the summary.

    `as_tasks`: each part a task run of its own (the tick flow); else the same functions in the calling run
    (a task per plan in a part of the day's ticks, flows.day, where a task run per part would cost the server
    more than the tick).
    """
    call = (lambda t: t) if as_tasks else (lambda t: t.fn)
    q = quote if as_tasks else (lambda x: x)
    now = moment(loaded, at)
    applied: list[Action] = []
    skipped = 0
    drafts: list[Any] = []
    # One transaction for the whole tick, as `engine.runtime.tick.tick`: one commit, and a failed step leaves nothing.
    with store_sessions()() as session, session.begin():
        actions = call(decide_task)(q(loaded), q(session), now)
        by_step: dict[str, list[Action]] = {}
        for a in actions:
            by_step.setdefault(a.step_id, []).append(a)
        for step_id, step_actions in by_step.items():
            done, again, shown = call(apply_task)(step_id, q(loaded), q(session), q(step_actions), now)
            applied += done
            skipped += again
            drafts += shown
    PUBLISHER.submit(drafts)  # once committed: no artifact shows a draft the store does not hold
    summary = call(publish_task)(q(loaded), now)
    summary["notices"] = _delivered(loaded, now, channels, as_tasks)
    today = plan_today(loaded, now)
    tasks = 1 + len(by_step) + 2 if as_tasks else 0  # decide, one per step, publish, deliver
    result = {"plan": loaded.id, "date": today.isoformat(), "flow_run_id": str(flow_run.id),
              "skipped": skipped, "tasks": tasks,
              "applied": [{"step": a.step_id, "occurrence": a.occurrence_key, "event": a.event, **a.detail}
                          for a in applied],
              "caught_up_days": caught_up_days(loaded, applied, today),
              "ended_on": loaded.meta.period.end.isoformat() if today >= loaded.meta.period.end else None,
              **summary}
    get_run_logger().info("Tình hình: %s.", summary["line"])
    return result


def _delivered(loaded: Plan, now: datetime, channels: str | None, as_tasks: bool) -> Any:
    """The delivery's summary, or what went wrong: a failed delivery fails its task (or is logged), not the tick."""
    from notifiers.delivery import DeliveryFailed

    if as_tasks:
        sent = deliver_task(quote(loaded), now, channels, return_state=True)
        return sent.result() if sent.is_completed() else str(sent.result(raise_on_failure=False))
    try:
        return deliver_task.fn(loaded, now, channels)
    except DeliveryFailed as exc:
        get_run_logger().error("Gửi thông báo lỗi: %s", exc)
        return str(exc)


def health(summary: dict[str, Any]) -> Any:
    """The run's final state says how the plan stands: Completed, named "Đúng tiến độ" or "Có 35 việc quá hạn"
    (or "Đã kết thúc"), the counts in its message. The run itself succeeded - the plan's being behind is not
    a failure of the run, and must not trip alerts meant for broken runs - so the state stays Completed: the
    runs list shows the name, and the tags (plan, owner units) and the agency overview let managers filter."""
    from prefect.states import Completed

    if summary.get("ended_on"):
        name = "Đã kết thúc"
    elif summary.get("overdue"):
        name = f"Có {summary['overdue']} việc quá hạn"
    else:
        name = "Đúng tiến độ"
    return Completed(name=name, message=summary["line"], data=summary)


# The flow's settings. Its result (the summary above) is never persisted: the state store is the record, and
# leaving `persist_result` unset would cost a request per run (Prefect asks the server whether to persist).
# Artifacts queued by the run are sent once it is over, whatever its end (see flows.artifacts.Publisher).
_TICK_FLOW: dict[str, Any] = {
    "name": "kehoach-tick", "persist_result": False, "log_prints": False, "on_completion": [PUBLISHER.flush],
    "on_failure": [PUBLISHER.flush], "on_crashed": [PUBLISHER.flush], "on_cancellation": [PUBLISHER.flush]}
# `run_tick` creates its runs with their names; renaming a run once it starts costs two more requests, so only
# runs created elsewhere (by a deployment's schedule, or by calling the flow) are renamed.
_tick_created_named = flow(**_TICK_FLOW)(tick_flow)
tick_flow = flow(**_TICK_FLOW, flow_run_name=_run_name)(tick_flow)


def run_tick(plan: Plan, at: date | None = None, channels: str | None = None,
             tags: list[str] | None = None) -> dict[str, Any]:
    """One tick of a loaded plan as a flow run in this process, created with its name (`run_name`): what
    `kehoach run` does.

    Returns the flow's summary; raises what the flow raises. Inside `flows.env.client_context` (as `kehoach
    run` calls it), every run shares that context's client. `tags` (see `run_tags`) let the UI filter runs.
    """
    from flows.env import client_context

    with client_context() as ctx:
        return run_created(create_tick_run(ctx.client, plan, at, channels, tags or []))


def create_tick_run(client: Any, plan: Plan, at: date | None, channels: str | None, tags: list[str], *,
                    parent_task_run_id: Any = None, idempotency_key: str | None = None) -> Any:
    """A Pending run of the tick flow for `run_created`, named (`run_name`) and on the plan's deployment if the
    server has one.

    Args:
        parent_task_run_id: the task run of another flow run this run is a child of (flows.day).
        idempotency_key: one run per key: a second creation returns the first run (whatever its state).
    """
    parameters = {"plan": str(plan.path), "at": at, "channels": channels}
    created = _create_run(client, name=run_name(plan.id, at), tags=tags,
                          parameters=_tick_created_named.serialize_parameters(parameters),
                          deployment_id=_deployment_of(client, plan.id),
                          parent_task_run_id=parent_task_run_id, idempotency_key=idempotency_key)
    created.parameters = parameters
    return created


def run_created(created: Any) -> dict[str, Any]:
    """Run a tick made by `create_tick_run` in this process; returns the flow's summary, raises what it raises.

    The run belongs to the plan's deployment on the server, but the engine is handed it without: for a run of
    a deployment, Prefect 3.9 starts a thread that connects to the server's event stream to watch for a request
    to suspend the run, and joins it at the end - ~0.25 s a run here, more than the tick of a quiet day. A tick
    is never suspended. The engine reads the run back from the server before the flow starts, so the run's
    context (and its events) still name the deployment.
    """
    from prefect.flow_engine import run_flow

    started = created.model_copy(update={"deployment_id": None})
    return run_flow(_tick_created_named, flow_run=started, parameters=created.parameters)


_DEPLOYMENTS: dict[tuple[str, str], Any] = {}
_FLOW_IDS: dict[str, Any] = {}


def _deployment_of(client: Any, plan_id: str) -> Any:
    """The id of the plan's tick deployment (`kehoach serve`/`deploy` register it) on a configured server, so
    that a run made by `kehoach run` shows on the plan's deployment page; None on the embedded server or when
    the plan is not deployed. Asked once per plan and process."""
    from flows.env import ui_url

    api = str(client.api_url)
    if ui_url() is None:
        return None
    if (api, plan_id) not in _DEPLOYMENTS:
        from prefect.exceptions import ObjectNotFound

        try:
            _DEPLOYMENTS[(api, plan_id)] = client.read_deployment_by_name(f"kehoach-tick/{plan_id}").id
        except ObjectNotFound:
            _DEPLOYMENTS[(api, plan_id)] = None
    return _DEPLOYMENTS[(api, plan_id)]


def _create_run(client: Any, *, name: str, tags: list[str], parameters: dict[str, Any], deployment_id: Any,
                parent_task_run_id: Any = None, idempotency_key: str | None = None) -> Any:
    """A Pending run of the tick flow, created named (as Prefect's `create_flow_run` makes one, plus the
    deployment it belongs to, which that method does not take)."""
    from prefect.client.schemas.actions import FlowCreate, FlowRunCreate
    from prefect.client.schemas.objects import Flow, FlowRun, FlowRunPolicy
    from prefect.states import Pending, to_state_create

    api = str(client.api_url)
    if api not in _FLOW_IDS:  # the flow's id on this server, asked once per process
        _FLOW_IDS[api] = Flow.model_validate(client.request("POST", "/flows/", json=FlowCreate(
            name=_tick_created_named.name).model_dump(mode="json")).json()).id
    flow_id = _FLOW_IDS[api]
    create = FlowRunCreate(flow_id=flow_id, flow_version=_tick_created_named.version, name=name,
                           parameters=parameters, tags=tags, state=to_state_create(Pending()),
                           empirical_policy=FlowRunPolicy(retries=0, retry_delay=0))
    for field, value in (("deployment_id", deployment_id), ("parent_task_run_id", parent_task_run_id),
                         ("idempotency_key", idempotency_key)):
        if value is not None:
            setattr(create, field, value)
    return FlowRun.model_validate(client.request("POST", "/flow_runs/", json=create.model_dump(
        mode="json", exclude_unset=True)).json())


def run_tags(plan: Plan) -> list[str]:
    """The tags of a plan's runs, so the UI filters them by plan and by owner unit: kehoach, the plan's id, and
    'don-vi:<unit>' for each unit owning a step."""
    owners = dict.fromkeys(u for s in plan.steps for u in plan.step_owners[s.id])
    return ["kehoach", plan.id, *(f"don-vi:{u}" for u in owners)]
