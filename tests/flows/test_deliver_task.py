"""The tick flow's 'deliver' task on a real Prefect server: failures show as a failed task, never a failed tick."""

from __future__ import annotations

from datetime import date

from engine.state.db import open_store, session_factory
from engine.state.models import DELIVERED, FAILED, OutboxRecord
from flows.artifacts import PUBLISHER
from flows.tick import tick_flow
from tests.conftest import SEED
from tests.flows.conftest import wait_until
from tests.flows.test_tick import read
from tests.notifiers.conftest import SEED_TAGS, closed_port, write_channels
from tests.notifiers.receivers import HttpReceiver

SECRET = "Flow-Hook-Secret-6161"


def test_failed_notices_fail_the_deliver_task_and_the_tick_completes(prefect_api, store, tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK_PW", SECRET)
    monkeypatch.delenv("KEHOACH_CHANNELS", raising=False)
    with HttpReceiver() as http:
        _run(http, tmp_path, store)


def _run(http, tmp_path, store):
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    down = f"json://k:${{HOOK_PW}}@127.0.0.1:{closed_port()}/x"
    path = write_channels(tmp_path / "c.txt", {t: (down if t == "toan-so" else http.url(t)) for t in SEED_TAGS})
    summary = tick_flow(str(SEED), date(2022, 3, 16), str(path))
    assert summary["notices"].startswith("Gửi thông báo (2 thư): đã gửi 1, lỗi 2")
    with session_factory(open_store(store))() as session:
        assert sorted(r.status for r in session.query(OutboxRecord)) == [DELIVERED, FAILED, FAILED]
    assert len(http.payloads) == 1

    only_this_run = FlowRunFilter(id=FlowRunFilterId(any_=[summary["flow_run_id"]]))

    def deliver_run():
        runs = [t for t in read(lambda c: c.read_task_runs(flow_run_filter=only_this_run)) if t.name.startswith("deliver")]
        return runs if runs and runs[0].state and runs[0].state.is_final() else None

    (task_run,) = wait_until(deliver_run, 60, "the deliver task run")
    assert task_run.state.is_failed()
    flow = read(lambda c: c.read_flow_run(summary["flow_run_id"]))
    assert flow.state.is_completed()
    assert PUBLISHER.drain() == []
    artifacts = {a.key: a for a in read(lambda c: c.read_artifacts(flow_run_filter=only_this_run))}
    notices = artifacts["kh-28-khcn-2022-thong-bao"]
    assert "lỗi gửi" in notices.data and "toan-so" in notices.data and "json://k:***@127.0.0.1" in notices.data
    assert SECRET not in notices.data and SECRET not in (notices.description or "")


def test_a_channels_file_reads_a_prefect_secret_block(prefect_api, tmp_path):
    from prefect.blocks.system import Secret

    from notifiers.channels import load_channels

    Secret(value="Block-Secret-Value-8080").save("kehoach-hook-password", overwrite=True)
    path = write_channels(tmp_path / "c.txt", "van-phong=json://k:${secret:kehoach-hook-password}@127.0.0.1:9/x\n")
    (service,) = load_channels(path).for_tag("van-phong")
    assert service.plugin.password == "Block-Secret-Value-8080"
    assert "Block-Secret-Value-8080" not in service.display


def test_run_passes_the_channels_file_through(prefect_api, store, tmp_path, capsys, monkeypatch):
    from tests.flows.test_tick import kehoach, unwrapped

    monkeypatch.delenv("KEHOACH_CHANNELS", raising=False)
    with HttpReceiver() as http:
        path = write_channels(tmp_path / "c.txt", {t: http.url(t) for t in SEED_TAGS})
        code, out, err = kehoach(capsys, "run", SEED, "--at", "16/03/2022", "--channels", path)
        assert code == 0, err
        assert "  Gửi thông báo (2 thư): đã gửi 3, lỗi 0, ngừng gửi 0, chưa có kênh 0." in unwrapped(out)
        assert len(http.payloads) == 2
    code, out, _ = kehoach(capsys, "run", SEED, "--at", "17/03/2022")  # no file: the day's notices wait
    assert code == 0 and "chờ gửi, sẽ gửi khi có tệp kênh" in " ".join(unwrapped(out))
