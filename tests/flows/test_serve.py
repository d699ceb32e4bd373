"""`kehoach serve` against a real Prefect server: scheduled ticks run, the forms' runs record or refuse (in
Vietnamese)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from sqlalchemy import select

from engine.state.db import open_store, session_factory
from engine.state.models import ConfirmationRecord, EventRecord
from tests.conftest import PLANS
from tests.flows.conftest import prefect_env, spawn, stop, wait_until
from tests.flows.test_tick import read

TICK = "kehoach-tick/kh-28-khcn-2022"
CONFIRM = "kehoach-confirm/kh-28-khcn-2022:quan-triet"


@pytest.fixture(scope="module")
def served(prefect_server, tmp_path_factory):
    """`kehoach serve plan_definitions` in a child process, its store, stopped after the module."""
    tmp = tmp_path_factory.mktemp("serve")
    url = f"sqlite:///{tmp / 'state.db'}"
    # The shipped plans, the seed's period running on to 2030: a plan whose period is over gets no schedule.
    plans = tmp / "plans"
    shutil.copytree(PLANS, plans)
    seed = plans / "kh-28-khcn-2022.yaml"
    seed.write_text(seed.read_text(encoding="utf-8").replace("end: 31/12/2025", "end: 31/12/2030", 1),
                    encoding="utf-8")
    env = prefect_env(tmp / "prefect-home", prefect_server)
    env["PREFECT_RUNNER_POLL_FREQUENCY"] = "1"  # pick up runs within a second (default 10 s)
    log = open(tmp / "serve.log", "wb")
    command = [sys.executable, "-c", "from engine.cli.app import main; main()", "serve", str(plans),
               "--db", url, "--drafts-port", "0"]
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
    schedules = [(s.schedule.rrule, s.schedule.timezone) for s in tick.schedules]
    assert schedules == [("DTSTART:20220316T073000\nRRULE:FREQ=DAILY;UNTIL=20301231T073000", "Asia/Ho_Chi_Minh")]
    assert set(tick.tags) >= {"kehoach", "kh-28-khcn-2022", "don-vi:van-phong"}
    ended = read(lambda c: c.read_deployment_by_name("kehoach-tick/kh-07-khcn-2024"))
    assert ended.schedules == []  # its period is over: no runs after its end

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


def test_a_form_run_records_or_refuses_in_vietnamese(served, prefect_api):
    """The server merges the form's fixed plan and step into the run; a served run ends in a named state."""
    from prefect.deployments import run_deployment

    _, url, log = served
    wait_until(lambda: read(lambda c: c.read_deployment_by_name(CONFIRM)), 90, "the confirmation form")
    form = {"occurrence": "lần duy nhất", "by": "Nguyễn Văn An", "done_on": "2023-10-26",
            "date": "2023-10-20", "attendees": 40, "result": "Đã quán triệt tới toàn thể công chức."}

    bad = run_deployment(CONFIRM, parameters={**form, "attendees": 0}, timeout=0)
    state = final_state(bad.id)
    assert (state.type.value, state.name) == ("FAILED", "Chưa ghi nhận"), log.read_text()[-3000:]
    assert state.message == "Số người tham dự phải là số nguyên từ 1 trở lên (đã nhập: 0)."
    with session_factory(open_store(url))() as session:
        assert session.scalars(select(ConfirmationRecord)).all() == []

    def logs():  # sent by the run's process as it ends, stored a moment later
        found = [e.message for e in read(lambda c: c.read_logs(LogFilter(
            flow_run_id=LogFilterFlowRunId(any_=[bad.id]))))]
        return found if any(m.startswith("Finished in state") for m in found) else None

    messages = wait_until(logs, 60, "the run's logs")
    assert state.message in messages
    assert not [m for m in messages if "Traceback" in m or "unexpected exception" in m]

    good = run_deployment(CONFIRM, parameters=form, timeout=0)
    state = final_state(good.id)
    assert (state.type.value, state.name) == ("COMPLETED", "Đã ghi nhận"), log.read_text()[-3000:]
    with session_factory(open_store(url))() as session:
        rec = session.scalars(select(ConfirmationRecord)).one()
    assert (rec.step_id, rec.by, rec.source, rec.evidence, rec.result) == (
        "quan-triet", "Nguyễn Văn An", "prefect", {"date": "20/10/2023", "attendees": "40"}, form["result"])

    again = run_deployment(CONFIRM, parameters={**form, "by": "Trần Thị B"}, timeout=0)
    state = final_state(again.id)
    assert (state.type.value, state.name) == ("CANCELLED", "Không ghi nhận")
    assert state.message.startswith("Đã có xác nhận trước đó cho lần duy nhất: Nguyễn Văn An")


def test_stale_forms_are_removed(prefect_api):
    """A step gone from a served plan, and the single form of earlier versions; other plans' forms stay."""
    from flows.confirm import confirm_flow
    from flows.deployments import remove_stale

    names = ["confirm", "kh-77:buoc-da-bo", "kh-99:quan-triet", "kh-77:quan-triet"]
    for name in names:
        confirm_flow.to_deployment(name=name, parameters={"step": name}).apply()
    kept = [type("Built", (), {"flow_name": "kehoach-confirm", "name": "kh-77:quan-triet"})()]
    removed = remove_stale(kept, ["kh-77"])
    assert sorted(removed) == ["kehoach-confirm/confirm", "kehoach-confirm/kh-77:buoc-da-bo"]

    def exists(name):
        try:
            read(lambda c: c.read_deployment_by_name(f"kehoach-confirm/{name}"))
            return True
        except Exception:  # noqa: BLE001 - ObjectNotFound
            return False

    assert [exists(n) for n in names] == [False, False, True, True]
