"""A day's ticks of many plans in one flow run: what a work pool runs daily (`kehoach deploy`).

A process worker starts a Python process for every flow run it picks up (several seconds of imports each);
run once per plan, a province's hundreds of plans would spend their morning starting processes. So the plans of
a folder are split into a few parts, each ticked by one daily run of the flow below, a task run per plan: named
after the plan and the day, tagged by the plan and its owner units as the plan's own runs are, its final state
named by the plan's health ("Có 35 việc quá hạn"), its log saying what the tick did; the plan's artifacts are
the same. A task, not a flow run of its own: on a Prefect server a child flow run per plan cost the server
about 1.4 s of CPU (its orchestrated states, a task run per step), ten times the tick, and the day of 200
plans took nearly 10 minutes on two cores. The plan's deployment (`kehoach-tick/<plan>`) is kept, unscheduled,
for a rerun of one plan from the UI.

Each plan belongs to one part (a hash of its file's name, stable across runs, machines and added plans). A part
run twice on a day - rerun by hand, or retried - ticks only the plans the store has not seen ticked that day: a
tick that failed left nothing (one transaction), so its plan is ticked again; the others are not.
"""

from __future__ import annotations

import zlib
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote

from engine.errors import PlanError
from engine.language.plan import Plan, PlanLoader, plan_paths
from engine.runtime.tick import plan_today
from flows.artifacts import PUBLISHER
from flows.tick import DEFAULT_TZ, day_refused, health, moment, run_name, run_tags, store_sessions, ticked

DAY_FLOW = "kehoach-ngay"


def part_of(path: Path, parts: int) -> int:
    """The part (1 to `parts`) whose daily run ticks the plan of this file: by the file's name, so that a part
    reads only its own plans (a file renamed may move to another part: the store, keyed by the plan's id, still
    knows whether it was ticked that day)."""
    return zlib.crc32(Path(path).stem.encode()) % parts + 1


def _run_name() -> str:
    from datetime import datetime

    params = flow_run.parameters
    day = params.get("at") or datetime.now(ZoneInfo(DEFAULT_TZ)).date()
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return f"phần {params.get('part', 1)}/{params.get('parts', 1)} {day:%d/%m/%Y}"


@flow(name=DAY_FLOW, persist_result=False, log_prints=False, flow_run_name=_run_name,
      on_completion=[PUBLISHER.flush], on_failure=[PUBLISHER.flush], on_crashed=[PUBLISHER.flush])
def day_flow(plan_dir: str, part: int = 1, parts: int = 1, at: date | None = None) -> Any:
    """Lượt chạy trong ngày của các kế hoạch một thư mục (phần `part` trên `parts`): mỗi kế hoạch một tác vụ,
    mang tên kế hoạch và ngày chạy.

    Args:
        plan_dir: Thư mục kế hoạch (đặt sẵn khi đăng ký bằng `kehoach deploy`).
        part: Phần thứ mấy (từ 1 đến `parts`): mỗi kế hoạch thuộc đúng một phần.
        parts: Số phần các kế hoạch được chia (đặt sẵn).
        at: Ngày chạy (mặc định: hôm nay) - mỗi kế hoạch chạy một lần mỗi ngày.
    """
    from prefect import tags

    if (refusal := day_refused(at)) is not None:
        return refusal
    logger = get_run_logger()
    loader = PlanLoader()
    mine: list[tuple[Plan, date]] = []
    failed: dict[str, str] = {}
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
        if plan.meta.period.start <= day <= plan.meta.period.end:
            mine.append((plan, day))
    seen = last_ticks([plan for plan, _ in mine])
    ran: list[str] = []
    skipped: list[str] = []
    for plan, day in mine:
        last = seen.get(plan.id)
        if last is not None and last >= day:
            skipped.append(plan.id)
            logger.info("%s: đã chạy ngày %s, không chạy lại.", plan.id, f"{last:%d/%m/%Y}")
            continue
        with tags(*run_tags(plan)):
            # (quoted: Prefect would walk the whole plan for the task's inputs, ~30 ms for the seed plan)
            state = plan_tick(run_name(plan.id, day), quote(plan), at, return_state=True)
        if state.is_completed():
            ran.append(plan.id)
        else:
            exc = state.result(raise_on_failure=False)
            failed[plan.id] = f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else state.name
            logger.error("Lượt chạy của %s lỗi: %s", plan.id, failed[plan.id])
    # The ticks' artifacts go out now, while the run's process is whole (at its exit Prefect's event and log
    # workers are already stopped, and would log an error per artifact).
    for line in PUBLISHER.drain():
        logger.warning("Artifact chưa gửi được: %s", line)
    return _outcome(ran, skipped, failed)


@task(name="kehoach-tick", task_run_name="{name}", cache_policy=NONE, persist_result=False)
def plan_tick(name: str, plan: Plan, at: date | None) -> Any:
    """One plan's tick in a part's run (`name`: the plan and the day, the task run's name): its final state
    named by the plan's health, as a tick flow's run (flows.tick.health)."""
    return health(ticked(plan, at, None, as_tasks=False))


def last_ticks(plans: list[Plan]) -> dict[str, date]:
    """The day (in each plan's time zone) each of these plans was last ticked, per the state store."""
    from sqlalchemy import select

    from engine.state.models import PlanRecord

    zones = {plan.id: ZoneInfo(plan.meta.timezone) for plan in plans}
    if not zones:
        return {}
    with store_sessions()() as session:
        rows = session.execute(select(PlanRecord.id, PlanRecord.last_tick_at).where(PlanRecord.id.in_(zones))).all()
    # SQLite gives back the tick's wall time in the plan's zone, as written, without the zone.
    return {pid: (at if at.tzinfo is None else at.astimezone(zones[pid])).date() for pid, at in rows if at}


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
