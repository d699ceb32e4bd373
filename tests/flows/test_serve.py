"""`kehoach serve` against a real Prefect server: scheduled ticks run, the confirmation form validates."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine.state.db import open_store, session_factory
from engine.state.models import ConfirmationRecord, EventRecord
from tests.conftest import PLANS
from tests.flows.conftest import prefect_env, spawn, stop, wait_until
from tests.flows.test_tick import read

TICK = "kehoach-tick/kh-28-khcn-2022"
CONFIRM = "kehoach-confirm/confirm"


@pytest.fixture(scope="module")
def served(prefect_server, tmp_path_factory):
    """`kehoach serve plan_definitions` in a child process, its store, stopped after the module."""
    tmp = tmp_path_factory.mktemp("serve")
    url = f"sqlite:///{tmp / 'state.db'}"
    env = prefect_env(tmp / "prefect-home", prefect_server)
    env["PREFECT_RUNNER_POLL_FREQUENCY"] = "1"  # pick up runs within a second (default 10 s)
    log = open(tmp / "serve.log", "wb")
    command = [sys.executable, "-c", "from engine.cli.app import main; main()", "serve", str(PLANS),
               "--db", url]
    # If the session dies, the server dies too: `serve` could not pause its deployments, so it is killed.
    proc = spawn(command, death_signal=signal.SIGKILL, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc, url, tmp / "serve.log"
    finally:
        stop(proc)
        log.close()


def final_state(flow_run_id, timeout: float = 120):
    def done():
        run = read(lambda c: c.read_flow_run(flow_run_id))
        return run if run.state and run.state.is_final() else None

    return wait_until(done, timeout, f"flow run {flow_run_id} to finish", every=0.5).state


def test_serve_registers_schedules_and_runs_a_scheduled_tick(served, prefect_api):
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId, FlowRunFilter, \
        FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType
    from prefect.states import Scheduled

    proc, url, log = served

    def registered():
        assert proc.poll() is None, log.read_text()
        try:
            return [read(lambda c: c.read_deployment_by_name(name)) for name in (TICK, CONFIRM)]
        except Exception:  # noqa: BLE001 - not registered yet
            return None

    tick, _ = wait_until(registered, 90, "kehoach serve to register its deployments")
    schedules = [(s.schedule.cron, s.schedule.timezone) for s in tick.schedules]
    assert schedules == [("30 7 * * *", "Asia/Ho_Chi_Minh")]

    # The server's scheduler creates the daily runs: 07:30 in Hà Nội is 00:30 UTC.
    only_tick = DeploymentFilter(id=DeploymentFilterId(any_=[tick.id]))
    scheduled_type = FlowRunFilterStateType(any_=[StateType.SCHEDULED])
    scheduled = FlowRunFilter(state=FlowRunFilterState(type=scheduled_type))

    def daily_runs():
        return read(lambda c: c.read_flow_runs(deployment_filter=only_tick, flow_run_filter=scheduled))

    runs = wait_until(daily_runs, 60, "the scheduler to create the daily runs")
    local = [r.expected_start_time.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")) for r in runs]
    assert {(t.hour, t.minute) for t in local} == {(7, 30)}
    assert min(local) - datetime.now(timezone.utc) <= timedelta(days=1)

    # Bring the first scheduled run forward to now (as the day it ticks for, 25/10/2023): `serve` runs it.
    first = min(runs, key=lambda r: r.expected_start_time)

    async def run_now(client):
        await client.update_flow_run(first.id, parameters={**first.parameters, "at": "2023-10-25"})
        now = Scheduled(scheduled_time=datetime.now(timezone.utc))
        await client.set_flow_run_state(first.id, now, force=True)

    read(run_now)
    assert final_state(first.id).is_completed(), log.read_text()[-3000:]
    with session_factory(open_store(url))() as session:
        done = {(e.step_id, e.occurrence_key, e.event, e.on_date)
                for e in session.scalars(select(EventRecord))}
    assert ("quan-triet", "once", "opened", date(2023, 10, 25)) in done
    assert ("bao-cao-hang-nam", "2023", "opened", date(2023, 10, 25)) in done


def test_confirm_deployment_validates_like_the_cli(served, prefect_api):
    from prefect.deployments import run_deployment

    _, url, log = served
    wait_until(lambda: read(lambda c: c.read_deployment_by_name(CONFIRM)), 90, "the confirm deployment")
    form = {"plan": "kh-28-khcn-2022", "step": "quan-triet", "occurrence": "once", "by": "Nguyễn Văn An",
            "done_on": "2023-10-26",
            "evidence": {"date": "2023-10-20", "attendees": 40}}

    bad = run_deployment(CONFIRM, parameters={**form, "evidence": {"date": "2023-10-20"}}, timeout=0)
    state = final_state(bad.id)
    assert state.is_failed()
    assert "step 'quan-triet' needs evidence: attendees (số người tham dự)" in state.message
    with session_factory(open_store(url))() as session:
        assert session.scalars(select(ConfirmationRecord)).all() == []

    good = run_deployment(CONFIRM, parameters=form, timeout=0)
    assert final_state(good.id).is_completed(), log.read_text()[-3000:]
    with session_factory(open_store(url))() as session:
        rec = session.scalars(select(ConfirmationRecord)).one()
    assert (rec.step_id, rec.by, rec.source, rec.evidence) == (
        "quan-triet", "Nguyễn Văn An", "prefect", {"date": "20/10/2023", "attendees": "40"})

    with pytest.raises(Exception, match="plan"):  # the form offers only the served plans
        run_deployment(CONFIRM, parameters={**form, "plan": "kh-99"}, timeout=0)
