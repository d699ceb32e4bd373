"""Benchmark: an agency's day on a Prefect server on PostgreSQL with two process workers (`kehoach deploy`).

Run from the repository root (PostgreSQL binaries installed, as for the tests):

    python bench/bench_scale.py                 # 200 plans, every path (over an hour here: the first
                                                # deploy registers ~16,000 deployments); writes the report
    python bench/bench_scale.py --plans 20 --no-write     # a quick look

What it sets up, all on 127.0.0.1: a private PostgreSQL cluster (tests/pg.py) holding the Prefect server's
database and the state stores; `prefect server start` on it; 200 plans generated from the three shipped ones
(distinct ids, each widened to 22-60 steps by copies of its steps); a loopback receiver for every notification
tag. Every plan is first brought to the day before without Prefect (a store made once, then copied for each path
with CREATE DATABASE ... TEMPLATE), so each path ticks the same ordinary day from the same state.

The paths, each on its own copy of the store, each measured from the moment the day's runs are started until
every one of them is over:

- parts: `kehoach deploy PLANS --pool P --parts 2`, two workers (`prefect worker start --pool P --limit 2`):
  the day's two runs of flows.day, each ticking its half of the plans as child runs in its process;
- one process per plan: `kehoach deploy PLANS --pool P --parts 0` (a tick deployment per plan), the same two
  workers, one flow run - one Python process - per plan;
- without Prefect: the same ticks (the tick flow's task functions in order, notices delivered, artifacts built
  but not sent) in two processes of half the plans each;

and, for one plan: `kehoach run PLAN --at DAY` (a process of its own, as cron would start it) against the tick
flow called in a warm process (what a part does for each plan) and the same work without Prefect.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out" / "scale"
SECTION = "## An agency's day on Prefect workers (`kehoach deploy`)"
DAY = date(2024, 3, 18)  # a Monday within the three shipped plans' periods
TARGET_S = 300.0
SHAPES = ("kh-07-khcn-2024", "kh-15-ubnd-phu-binh-2024", "kh-28-khcn-2022")
POOL = "bench"
WORKER_LIMIT = 2  # flow runs each worker runs at once (more, on 2 cores, only makes every process slower)

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("KEHOACH_NOTIFY_MIN_INTERVAL", "0")


# ------------------------------------------------------------------------------------------------------------
# Plans


def widen(src: Path, dest: Path, factor: int) -> int:
    """Write `src` to `dest` with its steps repeated `factor` times (copies' ids and references suffixed -2,
    -3, ...); returns the number of steps."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.width = 4096
    data = yaml.load(src.read_text(encoding="utf-8"))
    steps = data["steps"]
    ids = {s["id"] for s in steps}

    def suffixed(node: Any, k: int, key: str | None = None) -> Any:
        if isinstance(node, dict):
            return {kk: suffixed(v, k, kk) for kk, v in node.items()}
        if isinstance(node, list):
            return [suffixed(v, k, key) for v in node]
        if key in ("id", "step", "depends_on", "covers") and isinstance(node, str) and node in ids:
            return f"{node}-{k}"
        return node

    out = list(steps)
    for k in range(2, factor + 1):
        out += [suffixed(copy.deepcopy(dict(s)), k) for s in steps]
    data["steps"] = out
    data["plan"]["id"] = dest.stem  # each copy a plan of its own
    with dest.open("w", encoding="utf-8") as f:
        yaml.dump(data, f)
    return len(out)


def generate(n: int, folder: Path) -> list[Path]:
    """`n` plans in `folder` (with the agencies they include): copies of the shipped plans in turn, ids
    `<shipped id>-NNN`, steps x2 to x5."""
    import shutil

    from engine.language.plan import PlanLoader

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copytree(ROOT / "plan_definitions" / "agencies", folder / "agencies")
    for schema in ("plan.schema.json", "agency.schema.json"):
        shutil.copy(ROOT / "plan_definitions" / schema, folder / schema)
    paths = []
    for i in range(n):
        shape = SHAPES[i % len(SHAPES)]
        path = folder / f"{shape}-{i + 1:03d}.yaml"
        widen(ROOT / "plan_definitions" / f"{shape}.yaml", path, 2 + (i // len(SHAPES)) % 4)
        paths.append(path)
    loader = PlanLoader()
    for p in paths[:12]:  # every shape at every width loads
        loader.load(p)
    return paths


# ------------------------------------------------------------------------------------------------------------
# Stores


def prepare_base(cluster: Any, paths: list[Path], day: date, channels: Path) -> tuple[str, float]:
    """A store in which every plan has been ticked up to the day before `day` (without Prefect) and every notice
    of those days delivered; returns its URL (its connections closed, ready as a template) and the seconds it
    took."""
    from sqlalchemy import update

    from engine.language.plan import PlanLoader
    from engine.runtime.tick import tick
    from engine.state.db import close_store, open_store, session_factory
    from engine.state.models import DELIVERED, PENDING, OutboxRecord
    from flows.tick import moment

    t = time.perf_counter()
    url = cluster.create_database()
    sessions = session_factory(open_store(url))
    loader = PlanLoader()
    for path in paths:
        plan = loader.load(path)
        tick(plan, sessions, moment(plan, day - timedelta(days=1)))
    with sessions() as session, session.begin():
        session.execute(update(OutboxRecord).where(OutboxRecord.status == PENDING).values(
            status=DELIVERED, delivered_at=datetime.now(timezone.utc)))
    close_store(url)
    return url, time.perf_counter() - t


def copy_of(cluster: Any, base: str, name: str) -> str:
    """A new database made from `base` (CREATE DATABASE ... TEMPLATE): the same state, in a second."""
    from sqlalchemy.engine import make_url

    with cluster._admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(base).database}"')
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def ticked_on(url: str, day: date) -> int:
    """How many plans of the store were ticked on `day` (their last tick)."""
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from engine.state.db import close_store, open_store, session_factory
    from engine.state.models import PlanRecord

    with session_factory(open_store(url))() as session:
        n = sum(1 for t in session.scalars(select(PlanRecord.last_tick_at))
                if t is not None and t.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date() == day)
    close_store(url)
    return n


# ------------------------------------------------------------------------------------------------------------
# Processes


def cpu_of(pid: int, children: bool = False) -> float:
    """CPU seconds of a process (and of its children it has waited for)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


_POSTMASTER: list[int] = []


def postgres_cpu() -> float:
    """CPU seconds of this benchmark's PostgreSQL: its postmaster and the processes it started (other clusters on
    a shared machine are left out)."""
    if not _POSTMASTER:
        return 0.0
    out = subprocess.run(["pgrep", "-P", str(_POSTMASTER[0])], capture_output=True, text=True).stdout.split()
    total = 0.0
    for pid in [_POSTMASTER[0], *map(int, out)]:
        try:
            total += cpu_of(pid, children=True)
        except (OSError, ValueError):
            pass
    return total


def settle(server_pid: int, quiet: float = 0.15, every: float = 5.0, timeout: float = 600) -> float:
    """Wait until the Prefect server is quiet (under `quiet` of a core over `every` seconds): its services write
    the last path's events and task runs for minutes after the runs are over. Returns the seconds waited."""
    t = time.perf_counter()
    while time.perf_counter() - t < timeout:
        before = cpu_of(server_pid)
        time.sleep(every)
        if cpu_of(server_pid) - before < quiet * every:
            break
    return time.perf_counter() - t


class Cpu:
    """CPU seconds spent by the Prefect server and PostgreSQL between `start` and `stop`."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid

    def start(self) -> None:
        settle(self.server_pid)
        self.s0, self.p0 = cpu_of(self.server_pid), postgres_cpu()

    def stop(self) -> dict[str, float]:
        return {"server_cpu": cpu_of(self.server_pid) - self.s0, "pg_cpu": postgres_cpu() - self.p0}


def python_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]),
               PREFECT_SERVER_ANALYTICS_ENABLED="false", KEHOACH_HOME=str(OUT / "kehoach-home"),
               PREFECT_HOME=str(OUT / "prefect-home"), **extra)
    return env


def start_server(database: str, log: Path) -> tuple[Any, str]:
    from tests.flows.conftest import _healthy, free_port, spawn, wait_until

    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = python_env(PREFECT_API_DATABASE_CONNECTION_URL=database.replace("+psycopg", "+asyncpg", 1),
                     PREFECT_UI_API_URL=api, PREFECT_SERVER_LOGGING_LEVEL="WARNING")
    proc = spawn([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                 env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    wait_until(lambda: _healthy(api) or proc.poll() is not None, 300, "the Prefect server")
    if proc.poll() is not None:
        raise RuntimeError(f"prefect server exited: {log.read_text()[-2000:]}")
    return proc, api


def kehoach(api: str, *args: str, **env: str) -> tuple[float, str]:
    """Run `kehoach ARGS` in a process of its own; its wall time and output."""
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", "from engine.cli.app import main; main()", *args], cwd=OUT,
                          env=python_env(PREFECT_API_URL=api, **env), capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"kehoach {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - t, done.stdout


class Workers:
    """Two process workers of a pool, each running up to WORKER_LIMIT flow runs at once."""

    def __init__(self, api: str, pool: str, store: str, channels: Path) -> None:
        from tests.flows.conftest import spawn

        # Prefect's default poll, every 10 s: each poll also marks every deployment of the pool ready (see
        # flows.pool), which a shorter interval would repeat for ~16,000 deployments.
        env = python_env(PREFECT_API_URL=api, KEHOACH_DATABASE_URL=store, KEHOACH_CHANNELS=str(channels))
        self.procs = [spawn([sys.executable, "-m", "prefect", "worker", "start", "--pool", pool, "--name",
                             f"{pool}-{i}", "--limit", str(WORKER_LIMIT)], cwd=OUT, env=env,
                            stdout=(OUT / f"{pool}-{i}.log").open("wb"), stderr=subprocess.STDOUT)
                      for i in (1, 2)]
        self.api, self.pool = api, pool

    def wait_online(self) -> None:
        from tests.flows.conftest import wait_until

        wait_until(lambda: len(self._online()) >= 2, 180, "both workers")

    def _online(self) -> list[Any]:
        from flows.env import sync_client

        with sync_client() as client:
            return client.read_workers_for_work_pool(self.pool)

    def stop(self) -> float:
        """Stop the workers; returns their CPU seconds and their flow runs' (processes they waited for)."""
        from tests.flows.conftest import stop

        cpu = 0.0
        for p in self.procs:
            try:
                cpu += cpu_of(p.pid, children=True)
            except OSError:
                pass
            stop(p)
        return cpu


def wait_runs(run_ids: list[Any], timeout: float) -> list[Any]:
    """Poll until every flow run is over (100 at a time); the runs."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.env import sync_client

    deadline = time.monotonic() + timeout
    with sync_client() as client:
        while True:
            runs = []
            for i in range(0, len(run_ids), 100):
                only = FlowRunFilter(id=FlowRunFilterId(any_=run_ids[i:i + 100]))
                runs += client.read_flow_runs(flow_run_filter=only, limit=100)
            if len(runs) == len(run_ids) and all(r.state is not None and r.state.is_final() for r in runs):
                return runs
            if time.monotonic() > deadline:
                raise TimeoutError(f"{sum(r.state.is_final() for r in runs)} of {len(run_ids)} runs over")
            time.sleep(1)


def paged(read_page: Any) -> list[Any]:
    """Every row of a server query, read 200 at a time (`read_page(client, offset)`)."""
    from flows.env import sync_client

    out: list[Any] = []
    with sync_client() as client:
        while True:
            page = read_page(client, len(out))
            out += page
            if len(page) < 200:
                return out


def tick_runs_of(day: date) -> list[Any]:
    """The tick flow runs of `day` (by name) on the server."""
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterName

    only = FlowFilter(name=FlowFilterName(any_=["kehoach-tick"]))
    named = FlowRunFilter(name=FlowRunFilterName(like_=f"{day:%d/%m/%Y}"))
    return paged(lambda c, offset: c.read_flow_runs(flow_filter=only, flow_run_filter=named, limit=200,
                                                    offset=offset))


def plan_ticks_of(part_runs: list[Any]) -> list[Any]:
    """The plans' tick task runs of these part runs, as the server has written them so far."""
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        TaskRunFilter,
        TaskRunFilterName,
    )

    only = FlowRunFilter(id=FlowRunFilterId(any_=[r.id for r in part_runs]))
    named = TaskRunFilter(name=TaskRunFilterName(like_=" "))  # "<plan> dd/mm/yyyy"
    return paged(lambda c, offset: c.read_task_runs(flow_run_filter=only, task_run_filter=named, limit=200,
                                                    offset=offset))


# ------------------------------------------------------------------------------------------------------------
# The paths


def path_parts(api: str, cluster: Any, base: str, plans_dir: Path, n: int, channels: Path,
               cpu: Cpu) -> dict[str, Any]:
    from prefect.deployments import run_deployment

    from flows.day import DAY_FLOW

    store = copy_of(cluster, base, "scale_parts")
    deploy_s, _ = kehoach(api, "deploy", str(plans_dir), "--pool", POOL, "--parts", "2", "--db", store)
    redeploy_s, _ = kehoach(api, "deploy", str(plans_dir), "--pool", POOL, "--parts", "2", "--db", store)
    workers = Workers(api, POOL, store, channels)
    try:
        workers.wait_online()
        cpu.start()
        t = time.perf_counter()
        started = [run_deployment(f"{DAY_FLOW}/{POOL}-{part}", parameters={"at": DAY.isoformat()}, timeout=0)
                   for part in (1, 2)]
        parts = wait_runs([r.id for r in started], 3600)
        wall = time.perf_counter() - t
        used = cpu.stop()
        # The server writes the task runs from their events after the runs are over: its CPU until it is quiet.
        settle(cpu.server_pid)
        used["server_cpu_settled"] = cpu.stop()["server_cpu"]
    finally:
        used["worker_cpu"] = workers.stop()
    ticks = plan_ticks_of(parts)
    return {"wall": wall, "deploy": deploy_s, "redeploy": redeploy_s, **used,
            "parts": [(r.name, r.state.name, (r.end_time - r.start_time).total_seconds()) for r in parts],
            "ticks": len(ticks), "completed": sum(r.state.is_completed() for r in ticks),
            "ticked": ticked_on(store, DAY)}


def path_per_plan(api: str, cluster: Any, base: str, plans_dir: Path, paths: list[Path],
                  channels: Path, cpu: Cpu) -> dict[str, Any]:
    from flows.env import sync_client

    store = copy_of(cluster, base, "scale_each")
    # The same pool switched to a run per plan: only the ticks change (a schedule each), the parts are removed.
    deploy_s, _ = kehoach(api, "deploy", str(plans_dir), "--pool", POOL, "--parts", "0", "--db", store)
    before = {r.id for r in tick_runs_of(DAY)}
    workers = Workers(api, POOL, store, channels)
    try:
        workers.wait_online()
        cpu.start()
        t = time.perf_counter()
        with sync_client() as client:
            ids = [client.create_flow_run_from_deployment(
                client.read_deployment_by_name(f"kehoach-tick/{p.stem}").id,
                parameters={"at": DAY.isoformat()}).id for p in paths]
        runs = wait_runs(ids, 4 * 3600)
        wall = time.perf_counter() - t
        used = cpu.stop()
    finally:
        used["worker_cpu"] = workers.stop()
    durations = [(r.end_time - r.start_time).total_seconds() for r in runs if r.start_time and r.end_time]
    return {"wall": wall, "deploy": deploy_s, **used,
            "ticks": len([r for r in tick_runs_of(DAY) if r.id not in before]),
            "completed": sum(r.state.is_completed() for r in runs), "ticked": ticked_on(store, DAY),
            "run_median": statistics.median(durations)}


def path_engine(cluster: Any, base: str, paths: list[Path], channels: Path) -> dict[str, Any]:
    """The same ticks without Prefect, in two processes of half the plans each."""
    store = copy_of(cluster, base, "scale_engine")
    lists = [OUT / f"engine-{i}.txt" for i in (0, 1)]
    for i, f in enumerate(lists):
        f.write_text("\n".join(str(p) for p in paths[i::2]), encoding="utf-8")
    t = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, __file__, "--engine-part", str(f), "--db", store], cwd=OUT,
                              env=python_env(KEHOACH_CHANNELS=str(channels)), stdout=subprocess.PIPE, text=True)
             for f in lists]
    p0 = postgres_cpu()
    inner = [json.loads(p.communicate(timeout=3600)[0].strip().splitlines()[-1]) for p in procs]
    return {"wall": time.perf_counter() - t, "inner": max(x["seconds"] for x in inner),
            "worker_cpu": sum(x["cpu"] for x in inner), "pg_cpu": postgres_cpu() - p0, "server_cpu": 0.0,
            "ticked": ticked_on(store, DAY)}


def engine_only(path: str, day: date) -> None:
    """A tick flow's work without Prefect: decide and apply in one transaction, the drafts' and the standing's
    artifacts built (not sent), the plan's notices delivered."""
    from engine.language.plan import PlanLoader
    from engine.reports.artifacts import draft_artifacts, draft_records
    from engine.runtime.status import plan_status
    from engine.runtime.tick import tick_in
    from engine.state.db import open_store, session_factory
    from flows.artifacts import standing, standing_artifacts
    from flows.links import ConfirmLinks, ExtendLinks
    from flows.tick import moment
    from notifiers.delivery import deliver_outbox

    plan = PlanLoader().load(path)
    now = moment(plan, day)
    sessions = session_factory(open_store())
    with sessions() as session, session.begin():
        result = tick_in(plan, session, now)
        drafted = {(a.step_id, a.occurrence_key) for a in result.applied if a.detail.get("drafted")}
        if drafted:
            draft_artifacts(plan, draft_records(session, plan.id, drafted))
    with sessions() as session:
        standing_artifacts(plan, standing(plan.id, plan_status(plan, session, day), day))
    deliver_outbox(sessions, now, None, plan_id=plan.id, plans=lambda pid: plan if pid == plan.id else None,
                   link=ConfirmLinks(), extend_link=ExtendLinks())


def engine_part(list_file: Path, store: str) -> None:
    """Child process of `path_engine`: tick the listed plans without Prefect; prints its seconds (JSON)."""
    os.environ["KEHOACH_DATABASE_URL"] = store
    t = time.perf_counter()
    for path in list_file.read_text(encoding="utf-8").splitlines():
        engine_only(path, DAY)
    print(json.dumps({"seconds": time.perf_counter() - t, "cpu": time.process_time()}))


def one_plan(api: str, cluster: Any, base: str, paths: list[Path], channels: Path, rounds: int) -> dict[str, Any]:
    """One plan's tick three ways, each on other plans of the same shape and width, on one copy of the store:
    `kehoach run` (its own process), the tick flow in this (warm) process, the same work without Prefect."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from engine.language.plan import PlanLoader
    from flows.env import client_context, short_runs
    from flows.tick import run_tags, run_tick

    store = copy_of(cluster, base, "scale_one")
    same = [p for i, p in enumerate(paths) if i % (len(SHAPES) * 4) == len(SHAPES) * 0 + 2][:3 * rounds + 1]
    if len(same) < 3 * rounds + 1:
        raise SystemExit(f"one-plan comparison needs {3 * rounds + 1} plans of one shape: give --plans more")
    os.environ["KEHOACH_DATABASE_URL"] = store
    os.environ["KEHOACH_CHANNELS"] = str(channels)
    times: dict[str, list[float]] = {"run": [], "flow": [], "engine": []}
    with temporary_settings(updates={PREFECT_API_URL: api}):
        with client_context(), short_runs():
            warm = PlanLoader().load(same.pop())
            run_tick(warm, DAY, None, run_tags(warm))  # warm-up: imports, the client, the deployment lookups
        for _ in range(rounds):
            wall, _out = kehoach(api, "run", str(same.pop()), "--at", DAY.strftime("%d/%m/%Y"), "--db", store,
                                 KEHOACH_CHANNELS=str(channels))
            times["run"].append(wall)
            t = time.perf_counter()
            plan = PlanLoader().load(same.pop())
            with client_context(), short_runs():
                run_tick(plan, DAY, None, run_tags(plan))
            times["flow"].append(time.perf_counter() - t)
            t = time.perf_counter()
            engine_only(str(same.pop()), DAY)
            times["engine"].append(time.perf_counter() - t)
    from flows.artifacts import PUBLISHER

    PUBLISHER.drain()
    return {k: statistics.median(v) for k, v in times.items()} | {"shape": same and same[0].stem or ""}


# ------------------------------------------------------------------------------------------------------------
# Report


def save(part: dict[str, Any]) -> None:
    """Keep what is measured so far (bench/out/scale/partial.json), for a run that stops half-way."""
    path = OUT / "partial.json"
    done = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    path.write_text(json.dumps({**done, **part}, default=str, indent=1), encoding="utf-8")


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        cpu = next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        pass
    import prefect

    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "prefect": prefect.__version__,
            "date": date.today().isoformat(), "load": os.getloadavg()}


def render(r: dict[str, Any]) -> str:
    info, parts, each, engine, one = r["info"], r["parts"], r["each"], r["engine"], r["one"]
    n, steps = r["plans"], r["steps"]
    load_start = "/".join(f"{x:.1f}" for x in info["load"])
    load_end = "/".join(f"{x:.1f}" for x in r["load_end"])

    def s(x: float) -> str:
        return f"{x:,.1f} s" if x < 600 else f"{x / 60:,.1f} min"

    rows = [("two parts (flows.day), a task run per plan - **`kehoach deploy --parts 2`**", parts)]
    if each["wall"] == each["wall"]:  # measured (not NaN)
        rows.append(("one flow run (one process) per plan - `kehoach deploy --parts 0`", each))
    lines = [SECTION, "",
             f"`python bench/bench_scale.py` - {info['date']}, {info['nproc']} CPUs ({info['cpu']}), Python "
             f"{info['python']}, Prefect {info['prefect']}; load average {load_start} at the start, {load_end} at "
             "the end (**the machine is shared with other work**: wall times here are longer than on an idle "
             "machine, and the paths were measured one after another, not under identical load). PostgreSQL 15 "
             "(a private cluster on 127.0.0.1, fsync off) holds the Prefect server's database and the state "
             "stores; `prefect server start` with default services; two process workers on the same machine, "
             f"`--limit {WORKER_LIMIT}` each; notices delivered to a loopback `json://` receiver.", "",
             f"{n} plans generated from the three shipped plans (ids `<shipped id>-NNN`; steps copied x2 to x5: "
             f"{min(steps)}-{max(steps)} steps, {sum(steps):,} in all), every one first ticked up to 17/03/2024 "
             "without Prefect; then each path ticks 18/03/2024 for all of them, from that same state (a copy of "
             "the store each). Time: from starting the day's runs until the last one is over.", "",
             "| path | the day's ticks (wall) | per plan | CPU: ticking processes | CPU: Prefect server | CPU: "
             "PostgreSQL | plan ticks completed | plans ticked (store) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]

    def cpu(x: dict[str, Any]) -> str:
        return f"{x['worker_cpu']:,.0f} s | {x['server_cpu']:,.0f} s | {x['pg_cpu']:,.0f} s"

    for label, x in rows:
        lines.append(f"| {label} | {s(x['wall'])} | {x['wall'] / n:.2f} s | {cpu(x)} | {x['completed']}/{x['ticks']} "
                     f"| {x['ticked']}/{n} |")
    lines.append(f"| the same ticks without Prefect, two processes | {s(engine['wall'])} | "
                 f"{engine['wall'] / n:.2f} s | {cpu(engine)} | - | {engine['ticked']}/{n} |")
    share = 1 - engine["wall"] / parts["wall"]
    verdict = "**met**" if parts["wall"] < TARGET_S else "**not met**"
    per_plan = (f"; one process per plan takes **{each['wall'] / parts['wall']:.1f}x** as long ({s(each['wall'])}; "
                f"a tick run there lasts {each['run_median']:.1f} s, median, of which the tick is a fraction: the "
                "rest is the process - Python, Prefect's imports, the flow's module, the engine's start)"
                if len(rows) > 1 else " (one process per plan: not measured in this run)")
    lines += ["",
              f"- Target: {n} plans' day under 5 minutes on this 2-core machine: {verdict} with the parts "
              f"({s(parts['wall'])}){per_plan}.",
              f"- Prefect's share of the parts' time: {share:.0%} (the same ticks without Prefect: "
              f"{s(engine['wall'])}). What it buys: a task run per plan and day in its part's run, named after "
              "the plan and the day, tagged by plan and owner units, with its state named by the plan's health, "
              "its log and the plan's artifacts. The server goes on writing the task runs from their events after "
              f"the runs are over: its CPU until it was quiet again, {parts['server_cpu_settled']:,.0f} s.",
              f"- Registering: `kehoach deploy` of the {n} plans ({parts['deploy_count']:,} deployments: ticks, "
              "parts, the overview, a confirmation and an extension form per step) took "
              f"{s(parts['deploy'])} the first time, {s(parts['redeploy'])} again unchanged.",
              "- The parts: " + "; ".join(f"{name}: {state}, {secs:.0f} s" for name, state, secs in parts["parts"])
              + ".", "",
              "One plan (a copy of kh-28-khcn-2022, 22 steps), ticked on 18/03/2024 against the same server "
              f"and store; medians of {r['rounds']}:", "",
              "| how | wall | vs the flow in a warm process |", "|---|---:|---:|",
              f"| `kehoach run PLAN --at 18/03/2024` (a process of its own) | {one['run']:.2f} s | "
              f"{one['run'] / one['flow']:.1f}x |",
              f"| the tick flow called in a warm process | {one['flow']:.2f} s | 1.0x |",
              f"| the same work without Prefect | {one['engine']:.2f} s | {one['engine'] / one['flow']:.2f}x |"]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plans", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5, help="rounds of the one-plan comparison")
    ap.add_argument("--skip-per-plan", action="store_true", help="leave out the one-process-per-plan path")
    ap.add_argument("--no-write", action="store_true", help="print the section, do not write docs/benchmarks.md")
    ap.add_argument("--render", action="store_true", help="write the section again from bench/out/scale/result.json")
    ap.add_argument("--engine-part", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.engine_part:
        return engine_part(args.engine_part, args.db)
    if args.render:
        from bench.report import write_section

        return write_section(SECTION, render(json.loads((OUT / "result.json").read_text(encoding="utf-8"))))

    from tests.flows.conftest import stop
    from tests.notifiers.receivers import HttpReceiver
    from tests.pg import Cluster

    OUT.mkdir(parents=True, exist_ok=True)
    info = machine()
    print(f"{info}", flush=True)
    plans_dir = OUT / "plans"
    paths = generate(args.plans, plans_dir)
    from engine.language.plan import PlanLoader

    loaded = [PlanLoader().load(p) for p in paths]
    steps = [len(p.steps) for p in loaded]
    tags = sorted({t for p in loaded for u in p.units.values() for t in u.notify})
    cluster = Cluster(os.environ.get("KEHOACH_TEST_POSTGRES_URL") or None)
    cluster.start()
    if cluster.dir is not None:  # a private cluster (not KEHOACH_TEST_POSTGRES_URL): its CPU is measured
        _POSTMASTER.append(int((cluster.dir / "data" / "postmaster.pid").read_text().split()[0]))
    server = None
    try:
        with HttpReceiver() as receiver:
            channels = OUT / "channels.txt"
            channels.write_text("".join(f"{t}={receiver.url(t)}\n" for t in tags), encoding="utf-8")
            base, prep_s = prepare_base(cluster, paths, DAY, channels)
            print(f"store prepared in {prep_s:.0f} s", flush=True)
            server, api = start_server(cluster.create_database(), OUT / "server.log")
            from prefect.settings import PREFECT_API_URL, temporary_settings

            settings = temporary_settings(updates={PREFECT_API_URL: api})
            settings.__enter__()
            engine = path_engine(cluster, base, paths, channels)
            print(f"engine: {engine}", flush=True)
            save({"engine": engine})
            cpu = Cpu(server.pid)
            parts = path_parts(api, cluster, base, plans_dir, args.plans, channels, cpu)
            parts["deploy_count"] = len(loaded) + 2 + 1 + 2 * sum(steps)
            print(f"parts: {parts}", flush=True)
            save({"parts": parts})
            settle(server.pid)
            each = (path_per_plan(api, cluster, base, plans_dir, paths, channels, cpu) if not args.skip_per_plan
                    else {"wall": float("nan"), "deploy": 0, "ticks": 0, "completed": 0, "ticked": 0,
                          "run_median": float("nan")})
            print(f"per plan: {each}", flush=True)
            save({"each": each})
            settle(server.pid)
            one = one_plan(api, cluster, base, paths, channels, args.rounds)
            print(f"one plan: {one}", flush=True)
            print(f"notices received: {len(receiver.payloads)}", flush=True)
    finally:
        if server is not None:
            stop(server)
        cluster.stop()
    report = {"info": info, "plans": args.plans, "steps": steps, "parts": parts, "each": each, "engine": engine,
              "one": one, "rounds": args.rounds, "load_end": os.getloadavg(), "prep": prep_s}
    (OUT / "result.json").write_text(json.dumps(report, default=str, indent=1), encoding="utf-8")
    section = render(report)
    print(section)
    if not args.no_write:
        from bench.report import write_section

        write_section(SECTION, section)


if __name__ == "__main__":
    main()
