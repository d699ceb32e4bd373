"""The stateful commands of the `kehoach` CLI: status, confirm, request, skip, simulate (in-process, real stores)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import pytest

from engine.state.models import ConfirmationRecord, EventRecord, OccurrenceRecord, PlanRecord
from tests.conftest import ROOT, SEED
from tests.conftest import run_cli as run
from tests.engine.state_helpers import count, sessions_for, snapshot


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path / 'state.db'}"


def confirm_quan_triet(capsys, db, *extra):
    return run(capsys, "confirm", SEED, "quan-triet", "--by", "Nguyễn Văn A", "--at", "17/03/2022", "--db", db, *extra)


class TestConfirmCommand:
    def test_records_and_reports_the_confirmation(self, capsys, db):
        code, out, err = confirm_quan_triet(capsys, db, "--evidence", "date=17/03/2022", "--evidence", "attendees=45",
                                            "--note", "Hội trường tầng 2")
        assert code == 0, err
        # what was recorded, named as people name it: the step's short title and the period (none for a one-off)
        assert out.strip() == ("Đã ghi nhận: Quán triệt Đề án 02-ĐA/TU hoàn thành ngày 17/03/2022, đúng hạn; "
                               "người xác nhận: Nguyễn Văn A.")
        assert count(sessions_for(db), ConfirmationRecord) == 1

    def test_confirming_twice_shows_the_existing_confirmation(self, capsys, db):
        confirm_quan_triet(capsys, db, "--evidence", "date=17/03/2022", "--evidence", "attendees=45")
        code, out, _ = run(capsys, "confirm", SEED, "quan-triet", "--by", "Người khác", "--at", "20/03/2022",
                           "--db", db)
        assert code == 0
        assert out.strip() == ("Đã có xác nhận trước đó: Quán triệt Đề án 02-ĐA/TU - Nguyễn Văn A, ngày 17/03/2022; "
                               "ngày thực hiện: 17/03/2022; số người tham dự: 45. Không ghi thêm.")
        assert count(sessions_for(db), ConfirmationRecord) == 1

    @pytest.mark.parametrize("args, message", [
        (("quan-triet",), "kehoach: bước 'quan-triet' cần minh chứng: date (ngày thực hiện), attendees (số người "
                          "tham dự) - thêm --evidence date=... --evidence attendees=..."),
        (("quan-tiet",), "kehoach: kế hoạch kh-28-khcn-2022 không có bước 'quan-tiet' - ý bạn là 'quan-triet'?"),
        (("bao-cao-hang-nam", "--occurrence", "2021", "--evidence", "1/BC"),
         "kehoach: bước 'bao-cao-hang-nam' không có lần '2021' - ý bạn là '2025'? "
         "(các lần: '2022', '2023', '2024', '2025')"),
        (("quan-triet", "--evidence", "ngay=17/03/2022"), "kehoach: không có loại minh chứng 'ngay'"),
    ])
    def test_bad_input_is_a_clear_error_and_writes_nothing(self, capsys, db, tmp_path, args, message):
        sessions = sessions_for(db)
        before = snapshot(sessions)
        code, out, err = run(capsys, "confirm", SEED, *args, "--by", "A", "--at", "17/03/2022", "--db", db)
        assert code == 1
        assert err.startswith(message), err
        assert "Traceback" not in err and out == ""
        assert snapshot(sessions) == before
        assert count(sessions, PlanRecord) == count(sessions, OccurrenceRecord) == count(sessions, EventRecord) == 0

    def test_a_bad_date_is_a_usage_error_without_traceback(self, capsys, db):
        code, _, err = run(capsys, "confirm", SEED, "quan-triet", "--by", "A", "--at", "31/02/2022", "--db", db)
        assert code == 1 and err.strip() == "kehoach: --at: '31/02/2022' không phải là ngày có thật"


class TestRequestAndSkipCommands:
    def test_request_starts_an_on_demand_occurrence(self, capsys, db):
        code, out, err = run(capsys, "request", SEED, "bao-cao-theo-yeu-cau", "--by", "Sở Nội vụ", "--note",
                             "Công văn 120/SNV", "--at", "02/05/2024", "--db", db)
        assert code == 0, err
        assert out.strip() == ("Đã tạo yêu cầu: Báo cáo khi có yêu cầu (theo yêu cầu ngày 02/05/2024), hạn "
                               "08/05/2024. Lượt chạy tiếp theo sẽ mở việc và thông báo.")

    def test_request_of_a_dated_step_is_refused(self, capsys, db):
        code, _, err = run(capsys, "request", SEED, "so-ket", "--at", "02/05/2024", "--db", db)
        assert code == 1 and "bước 'so-ket' không phải việc làm khi có yêu cầu" in err
        assert count(sessions_for(db), OccurrenceRecord) == 0

    def test_skip_needs_a_reason_and_records_it(self, capsys, db):
        code, _, err = run(capsys, "skip", SEED, "cung-cap-thong-tin", "--occurrence", "2022-04", "--by", "GĐ",
                           "--db", db)
        assert code == 2 and "--reason" in err  # a missing option is a usage error
        code, out, err = run(capsys, "skip", SEED, "cung-cap-thong-tin", "--occurrence", "2022-04", "--by", "GĐ",
                             "--reason", "không có thông tin mới", "--at", "10/04/2022", "--db", db)
        assert code == 0, err
        assert out.strip() == ("Đã bỏ qua: Cung cấp thông tin cho Cổng TTĐT tỉnh (tháng 4/2022) ngày 10/04/2022; "
                               "lý do: không có thông tin mới.")


class TestStatusCommand:
    def test_json_lists_every_occurrence_with_counts(self, capsys, db):
        confirm_quan_triet(capsys, db, "--evidence", "date=17/03/2022", "--evidence", "attendees=45")
        code, out, err = run(capsys, "status", SEED, "--at", "20/03/2022", "--format", "json", "--db", db)
        assert code == 0, err
        data = json.loads(out)
        assert (data["plan"], data["date"]) == ("kh-28-khcn-2022", "2022-03-20")
        assert data["counts"]["done"] == 1
        first = data["occurrences"][0]
        assert (first["step"], first["status"], first["confirmation"]["by"]) == ("quan-triet", "done", "Nguyễn Văn A")
        website = next(r for r in data["occurrences"] if r["step"] == "dang-website")
        assert (website["stored"], website["due"]) == (True, "2022-03-31")  # 10 working days after 17/03

    def test_a_read_only_command_never_creates_a_store(self, capsys, tmp_path):
        missing = tmp_path / "missing" / "state.db"
        code, out, err = run(capsys, "status", SEED, "--db", f"sqlite:///{missing}")
        assert code == 1 and out == "" and not missing.exists() and not missing.parent.exists()
        assert err.strip() == (f"kehoach: không có kho dữ liệu ở {missing}: chưa có lượt chạy nào ở đây - chỉ đúng "
                               "kho bằng --db hoặc KEHOACH_DATABASE_URL, hoặc chạy 'kehoach run' trước")

    def test_table_in_vietnamese(self, capsys, db):
        sessions_for(db)  # an empty store
        code, out, _ = run(capsys, "status", SEED, "--at", "20/03/2022", "--db", db)
        assert code == 0
        assert "Kế hoạch số 28/KH-KHCN - tình hình ngày 20/03/2022" in out
        assert "quan-triet" in out and "18/03/2022" in out
        # quan-triet (due 18/03) is late; cung-cap-thong-tin opened 18/03 but waits for it
        assert out.strip().endswith("0/1 lần đến hạn đã hoàn thành, 1 quá hạn, 1 chờ bước trước.")
        # Nothing of this plan in the store: said, since the figures are then the calendar's alone.
        assert "Kho dữ liệu này chưa có lượt chạy nào của kế hoạch: các lần thực hiện theo lịch, chưa có xác nhận." \
            in " ".join(out.split())

    def test_an_80_column_terminal_gets_whole_lines_and_whole_ids(self, capsys, db, monkeypatch):
        run(capsys, "simulate", SEED, "--from", "15/03/2022", "--to", "31/12/2023", "--confirm", "late:3", "--db", db)
        monkeypatch.setenv("COLUMNS", "80")
        code, out, _ = run(capsys, "status", SEED, "--at", "20/10/2023", "--db", db)
        assert code == 0
        lines = out.splitlines()
        assert max(len(line.rstrip()) for line in lines) <= 80
        words = {w for line in lines for w in line.split()}
        rows = json.loads(run(capsys, "status", SEED, "--at", "20/10/2023", "--format", "json", "--db", db)[1])
        assert {r["step"] for r in rows["occurrences"]} <= words
        # Each occurrence named as people name it, never by its key; a name that fits its column is on one line.
        from engine.language.periods import occurrence_label

        labels = {occurrence_label(r["occurrence"]) for r in rows["occurrences"]}
        assert {"lần duy nhất", "tháng 10/2023", "quý III/2023", "năm 2023", "6 tháng đầu năm 2023"} <= labels
        texts = {line[:15].strip() for line in lines}
        assert {label for label in labels if len(label) <= 13} <= texts
        keys = {r["occurrence"] for r in rows["occurrences"] if "-" in r["occurrence"]}  # '2023-Q3', not '2023'
        assert "6 tháng đầu" in texts and keys and not keys & words
        assert "once" not in words
        # The evidence and the notices in words: 'số người tham dự: 45', '8 mô phỏng (không gửi)'.
        flat = " ".join(out.split())
        assert "số người tham dự: 45" in flat and "mô phỏng (không gửi)" in flat
        assert not {"attendees", "document_number", "simulated"} & words

    def test_an_unreachable_database_is_a_clear_error(self, capsys):
        code, _, err = run(capsys, "status", SEED, "--db", "postgresql://nobody@127.0.0.1:1/none")
        assert code == 1 and err.startswith("kehoach: không mở được kho dữ liệu") and "Traceback" not in err


class TestStoreProblems:
    """Whatever a store does wrong is one line on stderr, exit 1, and never the database password."""

    URL = "postgresql://kehoach:S3cret/Pass@127.0.0.1:1/kehoach"

    @pytest.mark.parametrize("args", [
        ("status", SEED), ("confirm", SEED, "quan-triet", "--by", "A", "--at", "17/03/2022"), ("outbox",),
        ("report", SEED, "--period", "2023", "-f", "md"), ("calendar", SEED), ("request", SEED, "bao-cao-theo-yeu-cau"),
        ("simulate", SEED, "--from", "15/03/2022", "--to", "20/03/2022"), ("run", SEED, "--at", "17/03/2022"),
    ])
    def test_the_password_of_a_store_url_is_never_printed(self, capsys, args):
        code, out, err = run(capsys, *args, "--db", self.URL)
        assert code == 1 and out == ""
        assert err.startswith("kehoach: không mở được kho dữ liệu postgresql://kehoach:***@127.0.0.1:1/kehoach: ")
        assert len(err.strip().splitlines()) == 1 and "S3cret" not in err and "Pass@" not in err

    def test_the_default_store_is_named_when_it_fails(self, capsys, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        monkeypatch.delenv("KEHOACH_DATABASE_URL", raising=False)
        (tmp_path / ".kehoach").mkdir()
        (tmp_path / ".kehoach" / "state.db").write_text("không phải cơ sở dữ liệu\n")
        code, _, err = run(capsys, "status", SEED)
        assert code == 1
        assert err.strip() == ("kehoach: không mở được kho dữ liệu .kehoach/state.db: tệp không phải cơ sở dữ liệu "
                               "SQLite")

    def test_a_store_failing_in_the_middle_of_a_command_is_one_line(self, capsys, db, monkeypatch):
        import sqlite3

        from sqlalchemy.exc import OperationalError

        import engine.runtime.people

        def disk_full(*_args, **_kwargs):
            raise OperationalError("INSERT INTO confirmations (occurrence_id) VALUES (?)", (1,),
                                   sqlite3.OperationalError("database or disk is full"))

        monkeypatch.setattr(engine.runtime.people, "confirm", disk_full)
        code, out, err = confirm_quan_triet(capsys, db, "--evidence", "date=17/03/2022", "--evidence", "attendees=4")
        assert (code, out) == (1, "")
        assert err.strip() == "kehoach: kho dữ liệu gặp lỗi: database or disk is full"


class TestLongestValues:
    """Every value that validates fits its column: on PostgreSQL a longer one was a traceback at write time."""

    def longest_plan(self, folder):
        from tests.engine.state_helpers import HEADER, STEPS, write_plan

        ids = {"vp": "v" * 64, "ld": "l" * 64, "ngoai": "n" * 64, "a": "a" * 64, "c": "c" * 64}
        header = HEADER.replace("number: 1/KH-THU", f"number: {'1/KH-' + 'X' * 123}")
        header = header.replace("id: thu", f"id: {'k' * 128}")
        header = header.replace("notify: [vp, vp-chat]", f"notify: [{'t' * 64}]")
        steps = STEPS
        for short, long in ids.items():
            header = header.replace(f"  {short}: {{name", f"  {long}: {{name").replace(f"to: [{short}]", f"to: [{long}]")
            steps = (steps.replace(f"id: {short}\n", f"id: {long}\n").replace(f": {short}\n", f": {long}\n")
                     .replace(f"[{short}]", f"[{long}]").replace(f"step: {short},", f"step: {long},"))
        return write_plan(folder / f"{'k' * 128}.yaml", steps, header)

    @pytest.mark.postgres
    def test_the_longest_valid_values_are_stored_on_postgresql(self, capsys, tmp_path, pg_url):
        from engine.language.plan import load_plan
        from engine.runtime.tick import tick
        from tests.engine.state_helpers import at

        path = self.longest_plan(tmp_path)
        plan = load_plan(path)
        assert len(plan.id) == len(plan.meta.number) == 128
        a, c = "a" * 64, "c" * 64
        tick(plan, sessions_for(pg_url), at(date(2024, 2, 1)))
        code, _, err = run(capsys, "request", path, c, "--by", "Y" * 128, "--at", "02/02/2024", "--db", pg_url)
        assert code == 0, err
        code, _, err = run(capsys, "confirm", path, a, "--by", "Z" * 200, "--evidence", "document_number=" + "9" * 500,
                           "--note", "n" * 2000, "--at", "03/02/2024", "--db", pg_url)
        assert code == 0, err
        assert count(sessions_for(pg_url), ConfirmationRecord) == 1

    @pytest.mark.parametrize("change, message", [
        ("id", f"plan.id: '{'k' * 57}...' dài 129 ký tự: tối đa 128 ký tự"),
        ("number", f"plan.number: '1/KH-{'X' * 52}...' dài 129 ký tự: tối đa 128 ký tự"),
    ])
    def test_a_longer_plan_id_or_number_is_refused_when_the_plan_is_read(self, tmp_path, change, message):
        from engine.errors import PlanError
        from engine.language.plan import load_plan

        path = self.longest_plan(tmp_path)
        if change == "id":
            path.write_text(path.read_text(encoding="utf-8").replace("id: k", "id: kk"), encoding="utf-8")
        else:
            path.write_text(path.read_text(encoding="utf-8").replace("1/KH-X", "1/KH-XX"), encoding="utf-8")
        with pytest.raises(PlanError) as info:
            load_plan(path)
        assert [str(p).split(":", 3)[3].strip() for p in info.value.problems] == [message]

    def test_a_longer_requester_is_refused_before_the_store(self, capsys, db):
        code, out, err = run(capsys, "request", SEED, "bao-cao-theo-yeu-cau", "--by", "Y" * 129, "--at", "02/05/2024",
                             "--db", db)
        assert (code, out) == (1, "")
        assert err.strip() == "kehoach: --by dài 129 ký tự: họ tên người yêu cầu tối đa 128 ký tự"


class TestDatesAtTheEdges:
    """Dates near year 1 or 9999 overflowed Python's dates (tracebacks); dates are years 1900-2200 everywhere."""

    @pytest.mark.parametrize("args, option", [
        (("simulate", SEED, "--from", "30/12/9999", "--to", "31/12/9999"), "--from"),
        (("status", SEED, "--at", "31/12/9999"), "--at"),
        (("request", SEED, "bao-cao-theo-yeu-cau", "--at", "01/01/0001"), "--at"),
        (("extend", SEED, "quan-triet", "--to", "31/12/9999", "--by", "A", "--reason", "r", "--at", "17/03/2022"),
         "--to"),
    ])
    def test_a_date_outside_the_years_is_one_line(self, capsys, db, args, option):
        code, out, err = run(capsys, *args, "--db", db)
        assert (code, out) == (1, "")
        assert err.strip().startswith(f"kehoach: {option}: '") and err.strip().endswith(
            "có năm ngoài khoảng 1900-2200: xem lại năm")

    def test_a_served_run_started_with_such_a_date_fails_with_the_message(self, seed_plan):
        from datetime import date

        from flows.tick import moment

        with pytest.raises(ValueError, match="'9999-12-31' có năm ngoài khoảng 1900-2200: xem lại năm"):
            moment(seed_plan, date(9999, 12, 31))


class TestSimulateCommand:
    def test_json_events_carry_date_step_occurrence_event(self, capsys):
        code, out, err = run(capsys, "simulate", SEED, "--from", "15/03/2022", "--to", "31/05/2022", "--confirm",
                             "late:2", "--request", "bao-cao-theo-yeu-cau@02/05/2022", "--format", "json")
        assert code == 0, err
        events = json.loads(out)["events"]
        assert {"date", "step", "occurrence", "event"} <= set(events[0])
        got = [(e["date"], e["step"], e["event"]) for e in events]
        assert got[:2] == [("2022-03-16", "quan-triet", "opened"), ("2022-03-17", "quan-triet", "reminder")]
        assert ("2022-03-20", "quan-triet", "confirmed") in got
        assert ("2022-05-02", "bao-cao-theo-yeu-cau", "opened") in got

    def test_a_request_outside_the_simulated_days_is_refused_not_ignored(self, capsys):
        code, out, err = run(capsys, "simulate", SEED, "--from", "15/03/2022", "--to", "20/03/2022",
                             "--request", "bao-cao-theo-yeu-cau@02/05/2024")
        assert (code, out) == (1, "")
        assert err.strip() == ("kehoach: --request 'bao-cao-theo-yeu-cau@02/05/2024': ngày 02/05/2024 nằm ngoài "
                               "những ngày mô phỏng (15/03/2022 - 20/03/2022)")

    def test_table_output_and_count(self, capsys):
        code, out, err = run(capsys, "simulate", SEED, "--from", "15/03/2022", "--to", "20/03/2022")
        assert code == 0
        lines = out.splitlines()
        words = [" ".join(x.split()) for x in lines]
        assert words[:4] == ["Ngày Bước, lần Sự kiện Báo cho", "─" * 80,
                             "16/03/2022 quan-triet mở việc cac-phong-don-vi,",
                             "lần duy nhất toan-the-cbccvc, van-phong"]  # in Vietnamese; units whole
        assert words[4:6] == ["17/03/2022 quan-triet nhắc hạn van-phong", "lần duy nhất"]
        assert "lên lịch" in out and "tháng 3/2022" in out and "once" not in out and "opened" not in out
        assert max(map(len, lines)) <= 80 and err.strip() == "8 sự kiện."

    @pytest.mark.parametrize("args, message", [
        (("--from", "15/03/2022", "--to", "10/03/2022"), "kehoach: --to 10/03/2022 là trước --from 15/03/2022"),
        (("--from", "15/03/2022", "--to", "20/03/2022", "--confirm", "sometimes"), "kehoach: --confirm 'sometimes'"),
        (("--from", "15/03/2022", "--to", "20/03/2022", "--request", "bao-cao"), "kehoach: --request 'bao-cao'"),
        (("--from", "15/03/2022", "--to", "20/03/2022", "--request", "bao-cao@01/04/2022"),
         "kehoach: kế hoạch kh-28-khcn-2022 không có bước 'bao-cao'"),
    ])
    def test_bad_input(self, capsys, args, message):
        code, out, err = run(capsys, "simulate", SEED, *args)
        assert code == 1 and err.startswith(message) and out == ""

    def test_simulating_over_recorded_history_is_refused(self, capsys, db):
        confirm_quan_triet(capsys, db, "--evidence", "date=17/03/2022", "--evidence", "attendees=45")
        code, _, err = run(capsys, "simulate", SEED, "--from", "15/03/2022", "--to", "20/03/2022", "--db", db)
        assert code == 1 and "đã có sự kiện" in err


class TestInstalledCommand:
    def test_a_failing_confirm_exits_1_with_one_line_and_no_traceback(self, tmp_path):
        db = f"sqlite:///{tmp_path / 'state.db'}"
        proc = subprocess.run([sys.executable, "-c", "from engine.cli.app import main; main()", "confirm", str(SEED),
                               "quan-triet", "--by", "A", "--at", "17/03/2022", "--db", db],
                              capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert proc.returncode == 1
        assert proc.stderr.count("\n") == 1 and "cần minh chứng" in proc.stderr


class TestPlansByIdFromAnyFolder:
    """A command pasted from a notice names the plan by id and finds the store the server uses (engine.runtime.registry)."""

    @pytest.fixture
    def served(self, tmp_path, monkeypatch):
        from engine.runtime import registry

        monkeypatch.setenv("KEHOACH_HOME", str(tmp_path / "home"))
        monkeypatch.delenv("KEHOACH_DATABASE_URL", raising=False)
        url = f"sqlite:///{tmp_path / 'server' / 'state.db'}"
        registry.record({"kh-28-khcn-2022": SEED}, url, None)
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)
        return url

    def test_confirm_by_id_writes_to_the_servers_store(self, capsys, served, tmp_path):
        code, out, err = run(capsys, "confirm", "kh-28-khcn-2022", "quan-triet", "--by", "Nguyễn Văn A",
                             "--evidence", "date=17/03/2022", "--evidence", "attendees=45", "--at", "17/03/2022")
        assert code == 0, err
        assert out.startswith("Đã ghi nhận: Quán triệt Đề án 02-ĐA/TU")
        assert count(sessions_for(served), ConfirmationRecord) == 1
        assert not (tmp_path / "elsewhere" / ".kehoach").exists()

    def test_an_unknown_id_says_which_plans_are_served(self, capsys, served):
        code, _, err = run(capsys, "status", "kh-28-khcn-202")
        assert code == 2 and "ý bạn là 'kh-28-khcn-2022'?" in err and "Traceback" not in err

    def test_a_store_named_by_an_unset_variable_is_a_clear_error(self, capsys, served):
        from engine.runtime import registry

        registry.record({}, "postgresql://kehoach:S3cret@127.0.0.1/kh", "KEHOACH_DATABASE_URL")
        assert "S3cret" not in (registry.home() / registry.FILE).read_text(encoding="utf-8")
        code, out, err = run(capsys, "status", "kh-28-khcn-2022")
        assert code == 1 and out == ""
        assert err.strip() == ("kehoach: kho dữ liệu của các kế hoạch máy này đang chạy được chỉ bằng biến môi trường "
                               "KEHOACH_DATABASE_URL, nhưng ở đây biến này chưa đặt: đặt như trên máy chủ, hoặc chỉ "
                               "kho bằng --db")


def test_an_occurrence_is_named_as_people_name_it(capsys, tmp_path):
    db = f"sqlite:///{tmp_path / 'state.db'}"
    code, out, err = run(capsys, "confirm", SEED, "bao-cao-hang-nam", "--occurrence", "năm 2023", "--by", "Trần B",
                         "--evidence", "document_number=120/BC-KHCN", "--at", "25/10/2023", "--db", db)
    assert code == 0, err
    assert out.startswith("Đã ghi nhận: Báo cáo kết quả hằng năm gửi Sở Nội vụ (năm 2023) hoàn thành")


class TestSeveralOwnersOnTheCommandLine:
    """`--unit` for a step with several owners: required, checked with a close match, one line, nothing written."""

    @pytest.fixture
    def regime(self, tmp_path):
        from tests.engine.test_owners import regime_file

        return str(regime_file(tmp_path))

    @pytest.mark.parametrize("command", [("confirm",), ("skip", "--reason", "x"),
                                         ("extend", "--to", "30/06/2023", "--reason", "x")])
    @pytest.mark.parametrize("unit, message", [
        ((), "kehoach: bước 'bao-cao-huyen' có 3 đơn vị chủ trì: ghi rõ đơn vị bằng --unit ('gia-vien', 'hoa-lu', "
             "'nho-quan')"),
        (("--unit", "nho-quang"), "kehoach: đơn vị 'nho-quang' không chủ trì bước 'bao-cao-huyen' - ý bạn "
                                  "là 'nho-quan'?"),
    ])
    def test_a_missing_or_wrong_unit_is_one_line(self, capsys, db, regime, command, unit, message):
        code, out, err = run(capsys, command[0], regime, "bao-cao-huyen", *command[1:], *unit, "--by", "A",
                             "--occurrence", "6 tháng đầu năm 2023", "--at", "01/06/2023", "--db", db)
        assert (code, out, err.strip()) == (1, "", message)
        assert count(sessions_for(db), EventRecord) == 0

    def test_the_unit_names_whose_occurrence_is_confirmed(self, capsys, db, regime):
        code, out, err = run(capsys, "confirm", regime, "bao-cao-huyen", "--unit", "hoa-lu", "--by", "A",
                             "--occurrence", "6 tháng đầu năm 2023", "--at", "01/06/2023", "--db", db)
        assert code == 0, err
        assert out.startswith("Đã ghi nhận: Báo cáo giảm nghèo của huyện (6 tháng đầu năm 2023, UBND huyện Hoa Lư) "
                              "hoàn thành ngày 01/06/2023, đúng hạn")


def test_what_a_run_did_is_said_per_step_and_period_whole_words_at_80_columns(capsys, monkeypatch):
    """`kehoach run`'s lines (engine.cli.run_cmds._print_tick) for a step of three owners overdue for a quarter:
    the period once with how many units, each unit told of the escalation once, lines broken between words."""
    from engine.cli.run_cmds import _print_tick
    from engine.language.plan import load_plan

    monkeypatch.setenv("COLUMNS", "80")
    plan = load_plan(ROOT / "plan_definitions" / "ninh-binh" / "kh-35-ubnd-tinh-ninh-binh-2025.yaml")
    units = ["ubnd-gia-vien", "ubnd-hoa-lu", "ubnd-nho-quan"]
    applied = [a for u in units for a in (
        {"step": "bao-cao-quy-huyen", "occurrence": f"2025-Q1@{u}", "event": "opened"},
        {"step": "bao-cao-quy-huyen", "occurrence": f"2025-Q1@{u}", "event": "escalation", "escalation": 1,
         "to": [u, "van-phong-ubnd-tinh"]})]
    _print_tick(plan, {"date": "2025-08-20", "applied": applied, "skipped": 0, "caught_up_days": 222,
                       "line": "0/29 lần đến hạn đã hoàn thành, 28 quá hạn"})
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "Kế hoạch số 35/KH-UBND (kh-35-ubnd-ninh-binh-2025) - lượt chạy ngày 20/08/2025:",
        "  bao-cao-quy-huyen (quý I/2025, 3 đơn vị): mở việc, đôn đốc lần 1",
        "    (ubnd-gia-vien, ubnd-hoa-lu, ubnd-nho-quan, van-phong-ubnd-tinh)",
        "  Bắt kịp 222 ngày chưa chạy: việc đã quá hạn được báo một lần (mỗi đơn vị một",
        "    thư), không gửi lại các lần nhắc đã lỡ.",
        "  Tình hình: 0/29 lần đến hạn đã hoàn thành, 28 quá hạn"]


class TestAgencyStatus:
    """`kehoach status DIR`: the head of an office's view of the folder's plans - the plans most behind first,
    then each unit's overdue work across them (engine.runtime.overview, as the daily overview artifact)."""

    FOLDER = ROOT / "plan_definitions" / "ninh-binh"

    @pytest.fixture(scope="class")
    def store(self, tmp_path_factory):
        db = f"sqlite:///{tmp_path_factory.mktemp('agency') / 'state.db'}"
        from engine.cli.app import main

        with pytest.raises(SystemExit) as done:  # nobody confirms anything: every plan falls behind
            main(["simulate", str(self.FOLDER), "--from", "01/01/2025", "--to", "20/08/2025", "--confirm", "never",
                  "--db", db])
        assert done.value.code in (0, None)
        return db

    def test_plans_most_behind_first_with_the_figures_of_each_plans_status(self, capsys, store):
        code, out, err = run(capsys, "status", self.FOLDER, "--at", "20/08/2025", "--db", store, "-f", "json")
        assert code == 0, err
        data = json.loads(out)
        assert len(data["plans"]) == 4 and data["date"] == "2025-08-20"
        assert [p["overdue"] for p in data["plans"]] == sorted((p["overdue"] for p in data["plans"]), reverse=True)
        for p in data["plans"]:  # the same figures as the plan's own status
            path = next(self.FOLDER.glob(f"kh-{p['number'].split('/')[0]}-*.yaml"))
            one = json.loads(run(capsys, "status", path, "--at", "20/08/2025", "--db", store, "-f", "json")[1])
            assert (p["due"], p["overdue"], p["on_time"]) == (one["counts"]["due"], one["counts"]["overdue"], 0)
        units = {u["unit"]: u["overdue"] for u in data["units"]}
        # its reports once, from its own plan: the province's occurrences it carries out are the same reports
        gia_vien = units["Ủy ban nhân dân huyện Gia Viễn"]
        assert {i["plan"] for i in gia_vien} == {"08/KH-UBND"} and len(gia_vien) == 7
        assert [i["days_overdue"] for i in gia_vien] == sorted((i["days_overdue"] for i in gia_vien), reverse=True)
        assert gia_vien[0]["period"] == "tháng 2/2025"
        assert not any(p["never_run"] for p in data["plans"])
        # Plans this store has never run: their figures are the calendar's, and the table says so.
        code, out, _ = run(capsys, "status", ROOT / "plan_definitions", "--at", "20/08/2025", "--db", store)
        assert code == 0 and " ".join(out.split()).count("(chưa chạy lần nào)") == 3

    def test_one_plans_overdue_work_alone_longest_first(self, capsys, store):
        plan = self.FOLDER / "kh-35-ubnd-tinh-ninh-binh-2025.yaml"
        whole = json.loads(run(capsys, "status", plan, "--at", "20/08/2025", "--db", store, "-f", "json")[1])
        code, out, err = run(capsys, "status", plan, "--at", "20/08/2025", "--db", store, "-f", "json", "--late")
        assert code == 0, err
        late = json.loads(out)
        assert late["counts"] == whole["counts"]  # the plan's figures, whatever is listed
        assert len(late["occurrences"]) == whole["counts"]["overdue"] > 0
        days = [r["days_overdue"] for r in late["occurrences"]]
        assert all(days) and days == sorted(days, reverse=True)
        table = run(capsys, "status", plan, "--at", "20/08/2025", "--db", store, "--late")[1]
        assert table.startswith("Kế hoạch số 35/KH-UBND - việc quá hạn ngày 20/08/2025")
        rows = table.split("lần đến hạn đã hoàn thành")[0]  # the table, before the plan's counts
        assert "chưa mở" not in rows and "hoàn thành" not in rows and rows.count("quá hạn") >= len(days)

    def test_the_table_at_80_columns(self, capsys, store, monkeypatch):
        monkeypatch.setenv("COLUMNS", "80")
        code, out, err = run(capsys, "status", self.FOLDER, "--at", "20/08/2025", "--db", store)
        assert code == 0, err
        lines = out.splitlines()
        assert max(len(line) for line in lines) <= 80
        flat = " ".join(out.split())
        assert flat.startswith("Tổng quan các kế hoạch - ngày 20/08/2025: 4 kế hoạch; 4 kế hoạch có việc quá hạn;")
        assert "Theo kế hoạch (chậm nhất trước)" in lines[2] and "Kế hoạch Quá hạn Đúng hạn Đến hạn Tên kế hoạch" \
            == " ".join(lines[3].split())
        assert "Đơn vị có việc quá hạn (nhiều việc nhất trước)" in flat and "và 4 việc khác" in flat
        assert "21/KH-UBND" in lines[5]  # Hoa Lư's plan, of five wards, is the most behind


@pytest.mark.parametrize("command", [("confirm", "quan-triet", "--by", "A"), ("show",), ("report", "--period", "2025")])
def test_a_folder_where_one_plan_is_needed_is_said_so(capsys, command):
    folder = ROOT / "plan_definitions" / "ninh-binh"
    code, out, err = run(capsys, command[0], folder, *command[1:])
    assert (code, out) == (2, "")
    assert err.strip() == f"kehoach: {folder} là thư mục: lệnh này cần một tệp kế hoạch"
