"""A day's ticks of many plans in one flow run: what a work pool runs daily (`kehoach deploy`).

A process worker starts a Python process for every flow run it picks up (several seconds of imports each);
run once per plan, a province's hundreds of plans would spend their morning starting processes. So the plans of
a folder are split into a few parts, each ticked by one daily run of the flow below. Every plan's tick is still
a flow run of its own: made by the part's run as its child, on the plan's own deployment (`kehoach-tick/<plan>`),
named and tagged as a scheduled tick is, so the plan's page, the run list and the filters read as with one
process per plan.

Each plan belongs to one part (a hash of its file's name, stable across runs, machines and added plans), and each child
run is created with a key of plan and day: a part run twice on a day - rerun by hand, or retried - finds its
plans' runs made and ticks none of them again.
"""

from __future__ import annotations

import zlib
from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from engine.errors import PlanError
from engine.language.plan import Plan, PlanLoader, plan_paths
from engine.runtime.tick import plan_today
from flows.artifacts import PUBLISHER
from flows.tick import DEFAULT_TZ, create_tick_run, moment, run_created, run_tags

DAY_FLOW = "kehoach-ngay"


def part_of(path: Path, parts: int) -> int:
    """The part (1 to `parts`) whose daily run ticks the plan of this file: by the file's name, so that a part
    reads only its own plans (a file renamed may move to another part - its ticks of the day are keyed by the
    plan's id, see `tick_key`)."""
    return zlib.crc32(Path(path).stem.encode()) % parts + 1


def tick_key(plan_id: str, day: date) -> str:
    """The idempotency key of a plan's tick run made by a part's run: one per plan and day."""
    return f"kehoach-ngay {plan_id} {day.isoformat()}"


def _run_name() -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    params = flow_run.parameters
    day = params.get("at") or datetime.now(ZoneInfo(DEFAULT_TZ)).date()
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return f"phần {params.get('part', 1)}/{params.get('parts', 1)} {day:%d/%m/%Y}"


@flow(name=DAY_FLOW, persist_result=False, log_prints=False, flow_run_name=_run_name,
      on_completion=[PUBLISHER.flush], on_failure=[PUBLISHER.flush], on_crashed=[PUBLISHER.flush])
def day_flow(plan_dir: str, part: int = 1, parts: int = 1, at: date | None = None) -> Any:
    """Lượt chạy trong ngày của các kế hoạch một thư mục (phần `part` trên `parts`): mỗi kế hoạch một lượt chạy
    con, hiện ở trang deployment của kế hoạch đó.

    Args:
        plan_dir: Thư mục kế hoạch (đặt sẵn khi đăng ký bằng `kehoach deploy`).
        part: Phần thứ mấy (từ 1 đến `parts`): mỗi kế hoạch thuộc đúng một phần.
        parts: Số phần các kế hoạch được chia (đặt sẵn).
        at: Ngày chạy (mặc định: hôm nay) - mỗi kế hoạch chạy một lần mỗi ngày.
    """
    from prefect.context import FlowRunContext

    from flows.env import client_context, short_runs

    logger = get_run_logger()
    ctx = FlowRunContext.get()
    loader = PlanLoader()
    ran: list[str] = []
    skipped: list[str] = []
    failed: dict[str, str] = {}
    with client_context() as client_ctx, short_runs():
        for path in plan_paths([Path(plan_dir)]):
            if part_of(path, parts) != part:
                continue
            try:
                plan = loader.load(path)
            except PlanError as exc:
                failed[path.stem] = str(exc).splitlines()[0]
                logger.error("Kế hoạch %s lỗi, không chạy: %s", path.name, failed[path.stem])
                continue
            day = at or plan_today(plan, moment(plan, None))
            if not plan.meta.period.start <= day <= plan.meta.period.end:
                continue
            child = _claim(client_ctx.client, ctx, plan, at, day)
            if child is None:
                skipped.append(plan.id)
                continue
            try:
                run_created(child)
                ran.append(plan.id)
            except Exception as exc:  # noqa: BLE001 - one plan's failed tick does not stop the others
                failed[plan.id] = f"{type(exc).__name__}: {exc}"
                logger.error("Lượt chạy của %s lỗi: %s", plan.id, failed[plan.id])
    # The ticks' artifacts go out now, while the run's process is whole (at its exit Prefect's event and log
    # workers are already stopped, and would log an error per artifact).
    for line in PUBLISHER.drain():
        logger.warning("Artifact chưa gửi được: %s", line)
    return _outcome(ran, skipped, failed)


def _claim(client: Any, ctx: Any, plan: Plan, at: date | None, day: date) -> Any:
    """The plan's tick run of `day`, made as a child of this run, to run now; None when that plan's run of that
    day exists already and has run or is running (made by an earlier run of this part, or by this one before a
    retry). A run of that day that failed or crashed is run again: every effect of a tick is written once
    (engine.runtime.tick), so a second try of a half-done tick finishes it without repeating what was done."""
    from prefect.states import Pending

    task_run = client.create_task_run(task=_tracker(), flow_run_id=ctx.flow_run.id, dynamic_key=plan.id,
                                      name=plan.id, state=Pending())
    child = create_tick_run(client, plan, at, None, run_tags(plan), parent_task_run_id=task_run.id,
                            idempotency_key=tick_key(plan.id, day))
    state = child.state
    fresh = child.parent_task_run_id == task_run.id and state is not None and state.is_pending()
    if fresh:
        return child
    if state is not None and (state.is_failed() or state.is_crashed()):
        get_run_logger().info("%s: lượt chạy ngày %s (%s) đã lỗi, chạy lại.", plan.id, f"{day:%d/%m/%Y}",
                              child.name)
        client.set_flow_run_state(child.id, Pending(), force=True)
        # The run stays the child of the part run that made it (the server follows its state there); here its
        # task says where it went.
        client.set_task_run_state(task_run.id, _again(child), force=True)
        return child
    get_run_logger().info("%s: đã có lượt chạy ngày %s (%s), không chạy lại.", plan.id, f"{day:%d/%m/%Y}",
                          child.name)
    client.set_task_run_state(task_run.id, _already(child), force=True)
    return None


_TRACKER: list[Any] = []


def _tracker() -> Any:
    """The task that stands for a child run in this run's graph, as Prefect makes one for a subflow."""
    if not _TRACKER:
        from prefect import Task

        from flows.tick import tick_flow

        tracker = Task(name=tick_flow.name, fn=tick_flow.fn)
        tracker._is_subflow_tracking_task = True  # type: ignore[attr-defined]
        _TRACKER.append(tracker)
    return _TRACKER[0]


def _already(child: Any) -> Any:
    from prefect.states import Completed

    return Completed(name="Đã chạy", message=f"Lượt chạy {child.name} đã có, không chạy lại.")


def _again(child: Any) -> Any:
    from prefect.states import Completed

    return Completed(name="Chạy lại", message=f"Lượt chạy {child.name} đã lỗi, được chạy lại (xem lượt chạy đó).")


def _outcome(ran: list[str], skipped: list[str], failed: dict[str, str]) -> Any:
    """Completed when every plan of the part ran (or had run), Failed naming the plans that did not."""
    from prefect.states import Completed, Failed

    line = f"{len(ran)} kế hoạch đã chạy" + (f", {len(skipped)} đã chạy trước đó" if skipped else "")
    summary = {"ran": ran, "skipped": skipped, "failed": failed}
    if failed:
        names = "; ".join(f"{pid} ({why})" for pid, why in failed.items())
        return Failed(name=f"{len(failed)} kế hoạch lỗi", message=f"{line}; lỗi: {names}.", data=summary)
    name = "Đã chạy trước đó" if skipped and not ran else f"Đã chạy {len(ran)} kế hoạch"
    return Completed(name=name, message=line + ".", data=summary)
