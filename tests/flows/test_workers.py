"""`kehoach deploy` on a Prefect server backed by PostgreSQL, run by two process workers (`prefect worker start`):
a day's ticks of a small plans folder, each plan ticked once (a task run of its part's run), each notice
delivered once, a rerun ticking nothing, a plan that failed ticked by the next run of its part.

Everything on 127.0.0.1: the session's PostgreSQL cluster (tests/pg.py) holds both the Prefect server's database
and the state store; the workers are child processes with the store, the channels file and the checkout in their
environment, as README's production recipe starts them. The day is a parameter of the runs (`at`), never the
wall clock.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from engine.language.plan import PlanLoader, plan_paths
from engine.state.db import ENV_URL_REQUIRED, close_store, open_store, session_factory
from engine.state.models import (
    DELIVERED,
    FAILED,
    PENDING,
    SENDING,
    UNKNOWN,
    EventRecord,
    MessageRecord,
    OutboxRecord,
    PlanRecord,
)
from flows.day import DAY_FLOW, part_of
from tests.conftest import PLANS
from tests.flows.conftest import _healthy, free_port, prefect_env, spawn, stop, wait_until
from tests.flows.test_tick import read
from tests.notifiers.conftest import write_channels
from tests.notifiers.receivers import HttpReceiver

pytestmark = pytest.mark.postgres

POOL = "kehoach-thu"
DAY = date(2024, 3, 18)  # within the three shipped plans' periods
PARTS = 2
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
_T0 = time.monotonic()


def _mark(what: str) -> None:
    """Where the time goes (shown with `pytest -s`): the test should stay under ~2 minutes."""
    print(f"[{time.monotonic() - _T0:6.1f} s] {what}", flush=True)


@pytest.fixture(scope="module")
def pg_server(postgres_cluster, tmp_path_factory):
    """`prefect server start` on 127.0.0.1, its database on the session's PostgreSQL; the API URL."""
    home = tmp_path_factory.mktemp("prefect-pg")
    database = postgres_cluster.create_database()
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = prefect_env(home)
    env.update(PREFECT_API_DATABASE_CONNECTION_URL=database.replace("+psycopg", "+asyncpg", 1),
               PREFECT_SERVER_LOGGING_LEVEL="WARNING", PREFECT_API_LOG_RETRYABLE_ERRORS="true",
               # Only what the test looks at: no UI, no schedules or automations (the runs are started here).
               PREFECT_UI_ENABLED="false", **{f"PREFECT_SERVER_SERVICES_{name}_ENABLED": "false" for name in (
                   "SCHEDULER", "LATE_RUNS", "FOREMAN", "TRIGGERS", "CANCELLATION_CLEANUP", "PAUSE_EXPIRATIONS",
                   "REPOSSESSOR")})
    log = open(home / "server.log", "wb")
    proc = spawn([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                 env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _mark("server starting")
        wait_until(lambda: _healthy(url) or proc.poll() is not None, 120, "the Prefect server on PostgreSQL")
        _mark("server up")
        assert proc.poll() is None, (home / "server.log").read_text()[-3000:]
        yield url
    finally:
        _mark("stopping the server")
        stop(proc)
        _mark("server stopped")
        log.close()
        postgres_cluster.drop_database(database)


@pytest.fixture(scope="module")
def agency(pg_server, postgres_cluster, tmp_path_factory):
    """The shipped plans deployed to a work pool by `kehoach deploy`, two workers serving it, a loopback
    receiver for every notification tag; yields what the tests look at, stops the workers afterwards."""
    tmp = tmp_path_factory.mktemp("workers")
    plans_dir = tmp / "plans"
    shutil.copytree(PLANS, plans_dir)
    plans = [PlanLoader().load(p) for p in plan_paths([plans_dir])]
    store = postgres_cluster.create_database()
    procs, logs = [], []
    with HttpReceiver() as receiver:
        tags = sorted({t for p in plans for u in p.units.values() for t in u.notify})
        channels = write_channels(tmp / "channels.txt", {t: receiver.url(t) for t in tags})
        env = prefect_env(tmp / "prefect-home", pg_server)
        deploy = subprocess.run(
            [sys.executable, "-c", "from engine.cli.app import main; main()", "deploy", str(plans_dir), "--pool",
             POOL, "--parts", str(PARTS), "--db", store], env=env, cwd=tmp, capture_output=True, text=True,
            timeout=180)
        assert deploy.returncode == 0, deploy.stdout + deploy.stderr
        _mark("deployed")
        # The workers' environment, as README's recipe: the server, the store, the channels file.
        env.update(KEHOACH_DATABASE_URL=store, KEHOACH_CHANNELS=str(channels), KEHOACH_NOTIFY_MIN_INTERVAL="0",
                   PREFECT_WORKER_QUERY_SECONDS="1", PREFECT_LOGGING_LEVEL="INFO")
        try:
            for name in ("may-1", "may-2"):
                log = open(tmp / f"{name}.log", "wb")
                logs.append(log)
                # One run at a time each: the day's two parts go to the two workers.
                procs.append(spawn([sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--name",
                                    name, "--limit", "1"], cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT))
            wait_until(lambda: _online(pg_server) >= {"may-1", "may-2"}, 90, "both workers to come online")
            _mark("workers online")
            yield {"api": pg_server, "plans": plans, "store": store, "receiver": receiver, "deploy": deploy,
                   "tmp": tmp}
        finally:
            _mark("stopping the workers")
            stop(*procs, timeout=10)  # the tests are over: nothing of theirs is left to finish
            _mark("workers stopped")
            for log in logs:
                log.close()
            close_store(store)
            postgres_cluster.drop_database(store)


def _online(api: str) -> set[str]:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api}):
        return {w.name for w in read(lambda c: c.read_workers_for_work_pool(POOL))}


def _start_parts(parts: list[int], day: date) -> list:
    """Start the day's runs of these parts, as the schedule would on `day` (the day given, not today)."""
    from prefect.deployments import run_deployment

    return [run_deployment(f"{DAY_FLOW}/{POOL}-{part}", parameters={"at": day.isoformat()}, timeout=0)
            for part in parts]


def _finished(run_ids: list, timeout: float = 150) -> list:
    def done():
        runs = [read(lambda c, i=i: c.read_flow_run(i)) for i in run_ids]
        return runs if all(r.state is not None and r.state.is_final() for r in runs) else None

    return wait_until(done, timeout, "the day's part runs to finish", every=0.5)


def _plan_ticks(part_runs: list) -> list:
    """The task runs of these part runs (a tick per plan), once the server has written them all final."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    only = FlowRunFilter(id=FlowRunFilterId(any_=[r.id for r in part_runs]))
    return read(lambda c: c.read_task_runs(flow_run_filter=only, limit=200))


def _recorded(part_runs: list, count: int) -> list:
    def done():
        runs = _plan_ticks(part_runs)
        return runs if len(runs) >= count and all(r.state and r.state.is_final() for r in runs) else None

    return wait_until(done, 60, f"{count} plan ticks recorded", every=0.5)


def _logs(run_id=None, task_run_id=None) -> list:
    """The first 200 log lines of a flow run (with its tasks'), or of a task run."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId, LogFilterTaskRunId

    only = (LogFilter(task_run_id=LogFilterTaskRunId(any_=[task_run_id])) if task_run_id
            else LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
    return read(lambda c: c.read_logs(log_filter=only, limit=200))


def _store_counts(store: str) -> dict[str, tuple]:
    with session_factory(open_store(store))() as session:
        ticked = {p.id: p.last_tick_at for p in session.scalars(select(PlanRecord))}
        events = session.scalar(select(func.count()).select_from(EventRecord))
        messages = session.execute(select(MessageRecord.plan_id, MessageRecord.tag, MessageRecord.status)).all()
        waiting = session.scalar(select(func.count()).select_from(OutboxRecord).where(
            OutboxRecord.status.in_([PENDING, FAILED, SENDING, UNKNOWN])))
    return {"ticked": ticked, "events": events, "messages": sorted(messages), "waiting": waiting}


def test_two_workers_tick_each_plan_once_a_rerun_none_and_a_failed_tick_again(agency):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    plans, store, receiver = agency["plans"], agency["store"], agency["receiver"]
    assert f"work pool '{POOL}' (mới tạo, kiểu process)" in agency["deploy"].stdout
    assert f"prefect worker start --pool {POOL}" in agency["deploy"].stdout
    with temporary_settings(updates={PREFECT_API_URL: agency["api"]}):
        pool = read(lambda c: c.read_work_pool(POOL))
        assert pool.type == "process"
        assert pool.base_job_template["variables"]["properties"]["env"]["default"] == {ENV_URL_REQUIRED: POOL}
        started = _start_parts(list(range(1, PARTS + 1)), DAY)
        parts = _finished([r.id for r in started])
        _mark("parts done")

        # Each part ran on a worker of its own, and ticked its share of the plans.
        ran_by, part_of_run = set(), {}
        for run in parts:
            part = run.parameters["part"]
            mine = sorted(p.id for p in plans if part_of(p.path, PARTS) == part)
            assert run.state.is_completed() and run.state.name == f"Đã chạy {len(mine)} kế hoạch", run.state
            assert run.name == f"phần {part}/{PARTS} {DAY:%d/%m/%Y}" and run.work_pool_name == POOL
            part_of_run[run.id] = part
            ran_by |= {log.message.split("'")[1] for log in _logs(run.id) if log.message.startswith("Worker '")}
        assert ran_by == {"may-1", "may-2"}

        # A task run per plan in its part's run: named after the plan and the day, tagged, its state the
        # plan's health, its log what the tick did.
        ticks = _recorded(parts, len(plans))
        assert sorted(t.name for t in ticks) == sorted(f"{p.id} {DAY:%d/%m/%Y}" for p in plans)
        for plan in plans:
            (tick,) = [t for t in ticks if t.name.startswith(f"{plan.id} ")]
            assert part_of_run[tick.flow_run_id] == part_of(plan.path, PARTS)
            assert {"kehoach", plan.id, f"don-vi:{plan.steps[0].owner}"} <= set(tick.tags)
            health = tick.state.name
            assert tick.state.is_completed() and (health in ("Đúng tiến độ", "Đã kết thúc")
                                                  or health.startswith("Có ")), tick.state
            # (the log reaches the server after the run's state: the part's process sends it on its way out)
            said = wait_until(lambda t=tick: (lines := [log.message for log in _logs(task_run_id=t.id)])
                              and lines[-1].startswith("Finished in state") and lines, 30, "the tick's log")
            assert any(line.startswith("Tình hình: ") for line in said), said
            assert said[-1].startswith(f"Finished in state {health}"), said
            deployment = read(lambda c, pid=plan.id: c.read_deployment_by_name(f"kehoach-tick/{pid}"))
            assert deployment.work_pool_name == POOL and not deployment.schedules  # ticked by the parts
        assert not _tick_flow_runs()  # no flow run of its own per plan

        # The store: every plan ticked on that day; every notice delivered once, to its tag.
        first = _store_counts(store)
        assert set(first["ticked"]) == {p.id for p in plans}
        assert {t.astimezone(TZ).date() for t in first["ticked"].values()} == {DAY}
        assert first["events"] > 0 and first["messages"] and first["waiting"] == 0
        assert all(status == DELIVERED for *_, status in first["messages"])
        assert len(receiver.payloads) == len(first["messages"])
        assert sorted(receiver.paths) == sorted(f"/{tag}" for _, tag, _ in first["messages"])

        # A rerun of a part the same day: the store has its plans ticked that day, nothing is ticked again.
        (again,) = _finished([r.id for r in _start_parts([2], DAY)])
        _mark("rerun done")
        mine = [p for p in plans if part_of(p.path, PARTS) == 2]
        assert again.state.is_completed() and again.state.name == "Đã chạy trước đó", again.state
        assert f"{len(mine)} đã chạy trước đó" in again.state.message
        wait_until(lambda: sum("không chạy lại" in log.message for log in _logs(again.id)) == len(mine), 30,
                   "the rerun's log")
        assert not _plan_ticks([again])
        assert _store_counts(store) == first and len(receiver.payloads) == len(first["messages"])

        # The next day a plan's file is broken: the part fails naming it and ticks the others; once mended,
        # the next run of that part ticks that plan - that one, no other.
        broken = mine[0].path
        good = broken.read_text(encoding="utf-8")
        broken.write_text(good.replace("steps:", "steps: [", 1), encoding="utf-8")
        nxt = date.fromordinal(DAY.toordinal() + 1)
        try:
            (third,) = _finished([r.id for r in _start_parts([2], nxt)])
        finally:
            broken.write_text(good, encoding="utf-8")
        assert third.state.is_failed() and third.state.name == "1 kế hoạch lỗi", third.state
        assert f"lỗi: {broken.stem} (" in third.state.message and f"{broken.name}:" in third.state.message
        assert len(_recorded([third], len(mine) - 1)) == len(mine) - 1
        (fourth,) = _finished([r.id for r in _start_parts([2], nxt)])
        _mark("retry done")
        assert fourth.state.name == "Đã chạy 1 kế hoạch", fourth.state
        assert f"{len(mine) - 1} đã chạy trước đó" in fourth.state.message
        assert [t.name for t in _recorded([fourth], 1)] == [f"{mine[0].id} {nxt:%d/%m/%Y}"]
        ticked = _store_counts(store)["ticked"]
        assert {pid for pid, at in ticked.items() if at.astimezone(TZ).date() == nxt} == {p.id for p in mine}


def _tick_flow_runs() -> list:
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    only = FlowFilter(name=FlowFilterName(any_=["kehoach-tick"]))
    return read(lambda c: c.read_flow_runs(flow_filter=only, limit=200))


def test_a_worker_without_the_store_fails_the_run_saying_so(monkeypatch):
    """The pool's job template gives its runs KEHOACH_DATABASE_URL_REQUIRED: a run on a worker started without
    KEHOACH_DATABASE_URL fails with that sentence instead of ticking into a new store in the worker's temporary
    folder."""
    from engine.errors import StateError
    from engine.state.db import ENV_URL, database_url
    from flows.pool import pool_env, with_env

    template = with_env({"variables": {"properties": {"env": {"type": "object", "default": {"A": "1"}}}}},
                        pool_env(POOL, {"KEHOACH_DRAFTS_URL": "http://x"}))
    assert template["variables"]["properties"]["env"]["default"] == {
        "A": "1", ENV_URL_REQUIRED: POOL, "KEHOACH_DRAFTS_URL": "http://x"}
    monkeypatch.setenv(ENV_URL_REQUIRED, POOL)
    monkeypatch.delenv(ENV_URL, raising=False)
    with pytest.raises(StateError, match=f"chưa đặt {ENV_URL}: lượt chạy này thuộc work pool '{POOL}'"):
        database_url()
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"
    monkeypatch.setenv(ENV_URL, "postgresql://u@h/db")
    assert database_url() == "postgresql+psycopg://u@h/db"
