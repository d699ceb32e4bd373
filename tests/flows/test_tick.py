"""The tick flow and `kehoach run`: in-process against the session's Prefect server; the README command."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import date

import pytest
from sqlalchemy import func, select

from engine.cli.app import main
from engine.state.db import open_store, session_factory
from engine.state.models import EventRecord, OccurrenceRecord
from flows.artifacts import PUBLISHER
from flows.tick import tick_flow
from tests.conftest import PLANS, ROOT, SEED
from tests.flows.conftest import prefect_env, wait_until

DAY = date(2023, 10, 25)
KEYS = {"kh-28-khcn-2022-tien-do": "progress", "kh-28-khcn-2022-viec-dang-mo": "table",
        "kh-28-khcn-2022-han-sap-toi": "markdown"}


def kehoach(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exit_info.value.code or 0, out, err


def unwrapped(out: str) -> list[str]:
    """`kehoach run`'s lines as written, before they were wrapped to the terminal (a continuation is indented by
    four spaces)."""
    lines: list[str] = []
    for line in out.splitlines():
        if line.startswith("    ") and lines:
            lines[-1] += " " + line.strip()
        else:
            lines.append(line)
    return lines


def read(coro_fn):
    """Run `coro_fn(client)` with a client of the current API."""
    from prefect import get_client

    async def go():
        async with get_client() as client:
            return await coro_fn(client)

    return asyncio.run(go())


def events(url: str) -> list[tuple[str, str, str]]:
    with session_factory(open_store(url))() as session:
        return [(e.step_id, e.occurrence_key, e.event) for e in session.scalars(select(EventRecord))]


class TestTickFlow:
    def test_steps_acted_on_are_named_tasks_and_artifacts_are_published(self, prefect_api, store):
        summary = tick_flow(str(SEED), DAY)

        assert {(a["step"], a["occurrence"], a["event"]) for a in summary["applied"]} >= {
            ("quan-triet", "once", "opened"), ("quan-triet", "once", "overdue"),
            ("bao-cao-hang-nam", "2023", "opened")}
        assert {(a["step"], a["occurrence"], a["event"]) for a in summary["applied"]} <= set(events(store))

        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

        from flows.tick import apply_task

        only_this_run = FlowRunFilter(id=FlowRunFilterId(any_=[summary["flow_run_id"]]))
        expected = {"decide", "quan-triet", "bao-cao-hang-nam", "publish"}

        def task_runs():  # task runs reach the server as events, shortly after the flow returns
            runs = read(lambda c: c.read_task_runs(flow_run_filter=only_this_run))
            return runs if expected <= {t.name for t in runs} else None

        runs = wait_until(task_runs, 60, "the tick's task runs")
        # One apply task per step acted on - not one per occurrence, and none for idle steps.
        steps = sorted(t.name for t in runs if t.task_key == apply_task.task_key)
        acted = {a["step"] for a in summary["applied"]}  # quan-triet, the report, and what waits for quan-triet
        assert steps == sorted(acted) and {"bao-cao-hang-nam", "quan-triet", "cung-cap-thong-tin"} <= acted

        assert PUBLISHER.drain() == []  # artifacts go out in the background
        artifacts = read(lambda c: c.read_artifacts(flow_run_filter=only_this_run))
        assert KEYS.items() <= {a.key: a.type for a in artifacts}.items()
        # The yearly report opened today: its draft is shown on the task run of its step.
        (draft,) = [a for a in artifacts if a.key == "kh-28-khcn-2022-draft-bao-cao-hang-nam-2023"]
        assert draft.type == "markdown" and draft.data.startswith("# Dự thảo: Tổng hợp, báo cáo kết quả")
        assert draft.task_run_id == next(t.id for t in runs if t.name == "bao-cao-hang-nam")
        by_type = {a.type: a for a in artifacts if a.key in KEYS}
        assert by_type["progress"].data == 0.0
        assert by_type["progress"].description.startswith(
            "Tiến độ Kế hoạch số 28/KH-KHCN ngày 25/10/2023: 0/")
        table = json.loads(by_type["table"].data)
        assert any(r["Việc"] == "Quán triệt Đề án 02-ĐA/TU" and r["Hạn"] == "18/03/2022" for r in table)
        assert by_type["markdown"].data.startswith("## Hạn sắp tới - Kế hoạch số 28/KH-KHCN")

    def test_rerun_of_a_day_writes_nothing_twice(self, prefect_api, store):
        tick_flow(str(SEED), DAY)
        before = events(store)
        again = tick_flow(str(SEED), DAY)
        assert again["applied"] == [] and events(store) == before


class TestRunTick:
    """`run_tick`, what `kehoach run` calls: the run is created with its name, inside one client context."""

    def test_the_run_is_created_named_and_ticks_once(self, prefect_api, store):
        from prefect import get_client
        from prefect.context import SyncClientContext

        from engine.language.plan import load_plan
        from flows.env import client_context, client_tls
        from flows.tick import run_tick

        sent: list[tuple[str, str, dict]] = []

        def record(response):
            # Requests the server answered: a busy server may answer 503, and the client then sends the same
            # request again - one request as far as the tick is concerned.
            if response.status_code == 503:
                return
            request = response.request
            body = json.loads(request.content) if request.content else {}
            sent.append((request.method, request.url.path.removeprefix("/api"), body))

        client = get_client(sync_client=True, httpx_settings={**client_tls(prefect_api),
                                                              "event_hooks": {"response": [record]}})
        with SyncClientContext.model_construct(client=client), client_context() as ctx:
            assert ctx.client is client  # an open context is reused
            summary = run_tick(load_plan(SEED), DAY)
            again = run_tick(load_plan(SEED), DAY)

        assert ("quan-triet", "once", "opened") in {(a["step"], a["occurrence"], a["event"])
                                                    for a in summary["applied"]}
        assert again["applied"] == [] and summary["flow_run_id"] != again["flow_run_id"]
        run = read(lambda c: c.read_flow_run(summary["flow_run_id"]))
        assert run.name == "kh-28-khcn-2022 25/10/2023" and run.state.is_completed()
        assert run.parameters == {"plan": str(SEED), "at": "2023-10-25", "channels": None}
        # Named when created, never renamed; Prefect's own lookups (the result storage) used this client too,
        # and asked once per run: the flow says it persists no result.
        created = [b for m, path, b in sent if (m, path) == ("POST", "/flow_runs/")]
        assert [b["name"] for b in created] == ["kh-28-khcn-2022 25/10/2023"] * 2
        assert not [b for m, _, b in sent if m == "PATCH" and "name" in b]
        assert sum((m, path) == ("GET", "/admin/storage") for m, path, _ in sent) == 2

    def test_flow_runs_inside_a_client_context_share_its_client(self, prefect_api):
        from prefect import flow, get_client
        from prefect.context import FlowRunContext

        from flows.env import client_context

        @flow
        def clients() -> tuple[int, int]:
            return id(FlowRunContext.get().client), id(get_client(sync_client=True))

        with client_context() as ctx:
            assert clients() == clients() == (id(ctx.client), id(ctx.client))


class TestRunCommand:
    def test_prints_what_it_did_and_the_status(self, prefect_api, store, capsys):
        code, out, err = kehoach(capsys, "run", SEED, "--at", "25/10/2023")
        assert code == 0, err
        assert max(map(len, out.splitlines())) <= 80  # wrapped between words: a long line goes on indented
        lines = unwrapped(out)
        assert lines[0] == "Kế hoạch số 28/KH-KHCN (kh-28-khcn-2022) - lượt chạy ngày 25/10/2023:"
        # The plan's first tick, 19 months late: overdue work is escalated once, not three times over
        assert "  quan-triet: mở việc, quá hạn, đôn đốc lần 1 (van-phong, lanh-dao-so)" in lines
        assert "  bao-cao-hang-nam (2 kỳ, năm 2022 - năm 2023): mở việc, quá hạn, đôn đốc lần 1 (van-phong, " \
               "lanh-dao-so)" in lines
        assert "  cung-cap-thong-tin (20 kỳ, tháng 3/2022 - tháng 10/2023): chờ việc trước, đôn đốc lần 1 " \
               "(lanh-dao-so)" in lines
        assert "  Bắt kịp 588 ngày chưa chạy: việc đã quá hạn được báo một lần (mỗi đơn vị một thư), không gửi " \
               "lại các lần nhắc đã lỡ." in lines
        assert lines[-1].startswith("  Tình hình: 0/36 lần đến hạn đã hoàn thành, 35 quá hạn, 34 chờ bước trước; ")
        code, status_out, _ = kehoach(capsys, "status", SEED, "--at", "25/10/2023")
        assert code == 0 and status_out.splitlines()[-1] == "0/36 lần đến hạn đã hoàn thành, 35 quá hạn, " \
                                                           "34 chờ bước trước."  # run and status agree
        assert "Prefect UI: " in err  # a server is configured: each run links to its page

        code, out, _ = kehoach(capsys, "run", SEED, "--at", "25/10/2023")
        assert code == 0
        assert "  (không có việc gì mới)" in out.splitlines()

        latest = read(lambda c: c.read_latest_artifacts())
        assert KEYS.items() <= {a.key: a.type for a in latest}.items()

    def test_db_option_names_the_store_for_this_command_only(self, prefect_api, tmp_path, monkeypatch,
                                                             capsys):
        monkeypatch.delenv("KEHOACH_DATABASE_URL", raising=False)
        url = f"sqlite:///{tmp_path / 'other.db'}"
        code, _, err = kehoach(capsys, "run", PLANS, "--at", "25/10/2023", "--db", url)
        assert code == 0, err
        assert ("quan-triet", "once", "opened") in events(url)
        import os

        assert "KEHOACH_DATABASE_URL" not in os.environ

    def test_the_environments_store_is_used_and_recorded_for_commands_pasted_elsewhere(
            self, prefect_api, tmp_path, monkeypatch, capsys):
        """KEHOACH_DATABASE_URL names the store (as a worker's environment does): the run writes there, leaves no
        store in the folder it ran from, and records that store for a command pasted from a notice."""
        elsewhere = tmp_path / "elsewhere" / "state.db"
        monkeypatch.setenv("KEHOACH_DATABASE_URL", f"sqlite:///{elsewhere}")
        monkeypatch.setenv("KEHOACH_HOME", str(tmp_path / "home"))
        work = tmp_path / "work"
        work.mkdir()
        monkeypatch.chdir(work)
        code, out, err = kehoach(capsys, "run", SEED, "--at", "25/10/2023")
        assert code == 0, err
        assert out.startswith("Kế hoạch số 28/KH-KHCN (kh-28-khcn-2022) - lượt chạy ngày 25/10/2023:")
        assert ("quan-triet", "once", "opened") in events(f"sqlite:///{elsewhere}")
        assert not (work / ".kehoach" / "state.db").exists()
        served = json.loads((tmp_path / "home" / "served.json").read_text(encoding="utf-8"))
        assert served["plans"] == {"kh-28-khcn-2022": str(SEED)}
        assert served["store"] == {"url": f"sqlite:///{elsewhere}"}

    def test_a_run_from_a_folder_without_a_store_says_it_ticks_the_servers_store(self, prefect_api, tmp_path,
                                                                                 monkeypatch, capsys):
        """Where the folder has no .kehoach/state.db, the run ticks the store of the plans this machine serves
        (engine.runtime.registry) and says so; `--db` names another store without a word."""
        from engine.runtime import registry

        monkeypatch.setenv("KEHOACH_HOME", str(tmp_path / "home"))
        monkeypatch.delenv("KEHOACH_DATABASE_URL", raising=False)
        served = f"sqlite:///{tmp_path / 'server' / 'state.db'}"
        registry.record({"kh-28-khcn-2022": SEED}, served, None)
        (tmp_path / "elsewhere").mkdir()
        monkeypatch.chdir(tmp_path / "elsewhere")
        code, out, err = kehoach(capsys, "run", SEED, "--at", "17/03/2022")
        assert code == 0, err
        said = " ".join(err.split("\n\n")[0].split())  # wrapped to the terminal's width
        assert said.startswith(f"Kho dữ liệu: {tmp_path / 'server' / 'state.db'} - kho của các kế hoạch máy này "
                               "đang chạy (thư mục này không có .kehoach/state.db); chỉ kho khác bằng --db")
        assert "  quan-triet: mở việc" in unwrapped(out)
        assert ("quan-triet", "once", "opened") in events(served)
        assert not (tmp_path / "elsewhere" / ".kehoach" / "state.db").exists()
        code, _, err = kehoach(capsys, "run", SEED, "--at", "18/03/2022", "--db", served)
        assert code == 0 and "Kho dữ liệu" not in err

    def test_a_broken_plan_stops_every_run(self, tmp_path, store, capsys, monkeypatch):
        monkeypatch.setenv("KEHOACH_AGENCY_DIRS", str(PLANS / "agencies"))  # the linked folder lies outside tmp_path
        broken = tmp_path / "broken.yaml"
        broken.write_text(SEED.read_text(encoding="utf-8").replace("owner: van-phong", "owner: van-phng", 1),
                          encoding="utf-8")
        (tmp_path / "agencies").symlink_to(PLANS / "agencies")
        code, out, err = kehoach(capsys, "run", SEED, broken, "--at", "25/10/2023")
        assert code == 1 and out == ""
        assert "không có đơn vị 'van-phng' - ý bạn là 'van-phong'?" in err
        with session_factory(open_store(store))() as session:
            assert session.scalar(select(func.count()).select_from(OccurrenceRecord)) == 0

    @pytest.mark.parametrize("flow", ["tick", "day"])
    def test_a_day_out_of_range_picked_in_the_ui_is_one_vietnamese_sentence(self, store, flow):
        from flows.day import day_flow

        run = tick_flow.fn(str(SEED), at=date(3000, 1, 1)) if flow == "tick" else day_flow.fn(str(PLANS),
                                                                                                at=date(3000, 1, 1))
        assert run.is_failed() and run.name == "Chưa chạy"
        assert run.message == "Ngày chạy không hợp lệ: '01/01/3000' có năm ngoài khoảng 1900-2200: xem lại năm."
        with session_factory(open_store(store))() as session:
            assert session.scalar(select(func.count()).select_from(OccurrenceRecord)) == 0

    def test_a_bad_date_is_a_clear_error(self, store, capsys):
        code, _, err = kehoach(capsys, "run", SEED, "--at", "31/02/2023")
        assert code == 1 and "--at: '31/02/2023' không phải là ngày có thật" in err


def test_readme_command_on_a_fresh_machine(tmp_path):
    """`kehoach run PLAN --at DATE` with no Prefect configured: embedded server, history under .kehoach/.

    First with the store elsewhere (`--db`) from a folder with no .kehoach/ yet - the embedded server is made
    there all the same - then README's command as it is, in that folder, making .kehoach/state.db. One fresh
    server for both (each costs half a minute of start-up); the second run has a registry of its own, since
    from a folder with no store a run ticks the store the registry names (engine.runtime.registry)."""
    env = prefect_env(tmp_path / "unused")
    del env["PREFECT_HOME"]
    env.pop("KEHOACH_DATABASE_URL", None)
    env["HOME"] = str(tmp_path)  # no ~/.prefect profile
    work = tmp_path / "work"
    work.mkdir()
    plan = ROOT / "plan_definitions" / "kh-28-khcn-2022.yaml"
    elsewhere = tmp_path / "elsewhere" / "state.db"
    for home, extra, store in ((tmp_path / "home-1", ["--db", f"sqlite:///{elsewhere}"], elsewhere),
                               (tmp_path / "home-2", [], work / ".kehoach" / "state.db")):
        proc = subprocess.run([sys.executable, "-c", "from engine.cli.app import main; main()", "run", str(plan),
                               "--at", "25/10/2023", *extra], cwd=work, env={**env, "KEHOACH_HOME": str(home)},
                              capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, proc.stderr
        first = proc.stdout.splitlines()[0]
        assert first == "Kế hoạch số 28/KH-KHCN (kh-28-khcn-2022) - lượt chạy ngày 25/10/2023:"
        assert "  quan-triet: mở việc, quá hạn, đôn đốc lần 1 (van-phong, lanh-dao-so)" in unwrapped(proc.stdout)
        assert "|" not in proc.stdout and "prefect" not in proc.stdout.lower()  # no log lines among the results
        assert proc.stderr == ""  # Prefect's own INFO logs are lowered to warnings
        assert store.is_file()
        assert (work / ".kehoach" / "prefect" / "prefect.db").is_file()
        served = json.loads((home / "served.json").read_text(encoding="utf-8"))
        assert served["plans"] == {"kh-28-khcn-2022": str(plan)}
        assert served["store"] == {"url": f"sqlite:///{store}"}  # a URL without a password is recorded as it is
        if extra:
            assert not (work / ".kehoach" / "state.db").exists()
