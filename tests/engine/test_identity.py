"""engine.language.identity and the plan id: written, else derived from number, year and issuer - never the file name;
two plans with one id refused across files; a store kept under file names moved to the ids (engine.state.rekey).
"""

from __future__ import annotations

import shutil
from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from engine.errors import PlanError
from engine.language.identity import MAX_PLAN_ID, derived_id, slug
from engine.language.plan import PlanLoader, load_plan
from engine.runtime.tick import tick
from engine.state.models import (
    ConfirmationRecord,
    EventRecord,
    OccurrenceRecord,
    OutboxRecord,
    PlanRecord,
)
from tests.conftest import PLANS, SEED
from tests.conftest import run_cli as run
from tests.engine.state_helpers import HEADER, at, count, effects, no_documents, row, sessions_for, write_plan

DERIVED = HEADER.replace("  id: thu\n", "")  # the test plan without its id: 1/KH-THU, 2024, Sở Thử nghiệm


def issuer(name: str, place: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(name=name, place=place)


class TestDerivedId:
    @pytest.mark.parametrize("text, expected", [
        ("28/KH-KHCN", "28-kh-khcn"),
        ("Thái Nguyên", "thai-nguyen"),
        ("Đắk Lắk", "dak-lak"),
        ("09/2019/NĐ-CP", "09-2019-nd-cp"),
        ("  Sở Tư pháp (STP)  ", "so-tu-phap-stp"),
        ("Ủy ban nhân dân huyện Phú Bình", "uy-ban-nhan-dan-huyen-phu-binh"),
    ])
    def test_slugs_are_lowercase_ascii_without_diacritics(self, text, expected):
        assert slug(text) == expected

    @pytest.mark.parametrize("number, year, body, expected", [
        ("28/KH-KHCN", 2022, issuer("Sở Khoa học và Công nghệ", "Thái Nguyên"), "28-kh-khcn-2022-thai-nguyen"),
        ("15/KH-UBND", 2024, issuer("Ủy ban nhân dân huyện Phú Bình", "Phú Bình"), "15-kh-ubnd-2024-phu-binh"),
        ("15/KH-UBND", 2024, issuer("Ủy ban nhân dân huyện Đại Từ", "Đại Từ"), "15-kh-ubnd-2024-dai-tu"),
        # no place: the issuer's name; a number that holds its year does not get it twice
        ("1/KH-THU", 2024, issuer("Sở Thử nghiệm"), "1-kh-thu-2024-so-thu-nghiem"),
        ("12/2024/KH-STP", 2024, issuer("Sở Tư pháp", "Đắk Lắk"), "12-2024-kh-stp-dak-lak"),
        ("07/KH-BCĐ", 2023, None, "07-kh-bcd-2023"),
    ])
    def test_number_year_and_place_or_name(self, number, year, body, expected):
        assert derived_id(number, year, body) == expected

    def test_a_long_number_is_cut_between_words_to_the_stores_column(self):
        got = derived_id("1/KH-" + "-".join(["ABCDEFGHIJ"] * 20), 2024, issuer("Sở X", "Hà Nội"))
        assert len(got) <= MAX_PLAN_ID and got.startswith("1-kh-abcdefghij") and not got.endswith("-")

    def test_the_shipped_plans_keep_their_former_ids(self):
        for path in sorted(PLANS.glob("*.yaml")):
            assert load_plan(path).id == path.stem

    def test_a_plan_without_id_is_named_from_its_header_not_its_file(self, tmp_path):
        a = load_plan(write_plan(tmp_path / "kh.yaml", header=DERIVED))
        b = load_plan(write_plan(tmp_path / "khac-ten.yml", header=DERIVED))
        assert a.id == b.id == "1-kh-thu-2024-so-thu-nghiem"

    def test_the_issuer_of_the_agency_file_counts(self, tmp_path):
        shutil.copytree(PLANS / "agencies", tmp_path / "agencies")
        text = SEED.read_text(encoding="utf-8").replace("  id: kh-28-khcn-2022\n", "")
        (tmp_path / "x.yaml").write_text(text, encoding="utf-8")
        assert load_plan(tmp_path / "x.yaml").id == "28-kh-khcn-2022-thai-nguyen"

    @pytest.mark.parametrize("written, message", [
        ("KH_28", "plan.id: 'KH_28' không phải mã hợp lệ: chỉ dùng chữ thường a-z không dấu, chữ số và '-'"),
        ("'28/KH'", "plan.id: '28/KH' không phải mã hợp lệ"),
    ])
    def test_a_written_id_is_a_slug(self, tmp_path, written, message):
        path = write_plan(tmp_path / "p.yaml", header=HEADER.replace("id: thu", f"id: {written}"))
        with pytest.raises(PlanError) as info:
            load_plan(path)
        (problem,) = info.value.problems
        assert (problem.line, problem.column) == (2, 7) and message in str(problem)


class TestDuplicateIds:
    """Two plans with one id would share one state: refused wherever plans are used together."""

    def two(self, tmp_path, header_b=HEADER):
        (tmp_path / "a").mkdir()
        write_plan(tmp_path / "a" / "kh.yaml")
        write_plan(tmp_path / "b.yaml", header=header_b.replace("title: Kế hoạch thử nghiệm", "title: Khác"))
        shutil.move(tmp_path / "b.yaml", tmp_path / "a" / "b.yaml")
        return tmp_path / "a"

    def test_validate_dir_points_at_both(self, capsys, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        self.two(tmp_path)
        code, out, err = run(capsys, "validate", "a")
        assert code == 1
        assert out.splitlines() == [
            "a/b.yaml:2:7: plan.id: mã kế hoạch 'thu' trùng với mã của kế hoạch ở a/kh.yaml:2:7: hai kế hoạch cùng "
            "mã sẽ dùng chung một trạng thái - đặt cho mỗi kế hoạch một plan.id riêng",
            "a/kh.yaml:2:7: plan.id: mã kế hoạch 'thu' trùng với mã của kế hoạch ở a/b.yaml:2:7: hai kế hoạch cùng "
            "mã sẽ dùng chung một trạng thái - đặt cho mỗi kế hoạch một plan.id riêng"]
        assert "0 tệp hợp lệ, 2 tệp có lỗi, tổng 2 lỗi." in err

    def test_a_derived_id_points_at_the_number(self, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        folder = self.two(tmp_path, header_b=DERIVED.replace("number: 1/KH-THU", "number: 2/KH-THU"))
        (folder / "kh.yaml").write_text((folder / "kh.yaml").read_text(encoding="utf-8")
                                        .replace("id: thu", "id: 2-kh-thu-2024-so-thu-nghiem"), encoding="utf-8")
        with pytest.raises(PlanError) as info:
            PlanLoader().load_all(sorted(folder.iterdir()))
        derived = next(p for p in info.value.problems if p.file == "a/b.yaml")
        assert (derived.line, derived.column, derived.path) == (2, 11, "plan.id")
        assert "(lấy từ plan.number, năm ban hành và địa danh hoặc tên cơ quan ban hành)" in derived.message

    def test_run_refuses_before_anything_runs(self, capsys, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        self.two(tmp_path)
        code, out, err = run(capsys, "run", "a", "--db", f"sqlite:///{tmp_path / 's.db'}")
        assert code == 1 and "mã kế hoạch 'thu' trùng với mã của kế hoạch ở" in out + err
        assert not (tmp_path / "s.db").exists()

    def test_one_file_given_twice_is_one_plan(self, tmp_path):
        path = write_plan(tmp_path / "kh.yaml")
        assert len(PlanLoader().load_all([path, tmp_path / "." / "kh.yaml"])) == 2


def _tick(plan, sessions, day):
    tick(plan, sessions, at(day), documents=no_documents)


def _confirm(plan, sessions, step, day):
    from engine.runtime.people import confirm

    with sessions() as s, s.begin():
        confirm(plan, s, step, by="Trần Thị B", at=day, now=at(day, 15), evidence={"document_number": "5/VP"})


class TestStateFollowsTheId:
    def test_renaming_and_moving_the_file_keeps_its_history(self, tmp_path, store_url):
        sessions = sessions_for(store_url)
        first = load_plan(write_plan(tmp_path / "kh.yaml"))
        _tick(first, sessions, date(2024, 2, 1))
        _confirm(first, sessions, "a", date(2024, 2, 10))
        (tmp_path / "moi").mkdir()
        moved = load_plan((tmp_path / "kh.yaml").rename(tmp_path / "moi" / "ke-hoach-thu.yaml"))
        _tick(moved, sessions, date(2024, 2, 11))
        r = row(sessions, "thu", "a", "once")
        assert (r.status, r.done_on, r.orphaned) == ("done", date(2024, 2, 10), False)
        with sessions() as s:
            record = s.get(PlanRecord, "thu")
            assert s.scalars(select(PlanRecord.id)).all() == ["thu"]
        assert record.path == str((tmp_path / "moi" / "ke-hoach-thu.yaml").resolve())
        assert [e for e in effects(sessions) if e[3] == "orphaned" or e[1] == "a"] == [
            ("01/02/2024", "a", "once", "opened"), ("10/02/2024", "a", "once", "confirmed")]

    def test_two_files_of_one_name_in_two_folders_keep_separate_states(self, tmp_path):
        sessions = sessions_for(f"sqlite:///{tmp_path / 's.db'}")
        for folder, number in (("so-a", "1/KH-THU"), ("so-b", "2/KH-THU")):
            (tmp_path / folder).mkdir()
            write_plan(tmp_path / folder / "kh.yaml", header=DERIVED.replace("number: 1/KH-THU", f"number: {number}"))
        a, b = (load_plan(tmp_path / f / "kh.yaml") for f in ("so-a", "so-b"))
        assert (a.id, b.id) == ("1-kh-thu-2024-so-thu-nghiem", "2-kh-thu-2024-so-thu-nghiem")
        _tick(a, sessions, date(2024, 2, 1))
        _confirm(a, sessions, "a", date(2024, 2, 10))
        _tick(b, sessions, date(2024, 2, 11))
        _tick(a, sessions, date(2024, 2, 12))
        assert row(sessions, a.id, "a", "once").status == "done"
        assert row(sessions, b.id, "a", "once").status == "open"
        assert not [e for e in effects(sessions) if e[3] == "orphaned"]


class TestFormerFileNameIds:
    """A store written when ids were file names: the plan's rows move to its id when it is next used."""

    def legacy(self, tmp_path, sessions):
        """The store as the previous version left it: every row under the file name 'kh'."""
        path = write_plan(tmp_path / "kh.yaml", header=HEADER.replace("id: thu", "id: kh"))
        old = load_plan(path)
        _tick(old, sessions, date(2024, 2, 1))
        _confirm(old, sessions, "a", date(2024, 2, 10))
        _tick(old, sessions, date(2024, 2, 21))
        write_plan(path, header=DERIVED)  # the new version: no id written, derived from the header
        return path

    def test_every_table_moves_to_the_new_id_once_and_says_so(self, tmp_path, store_url):
        sessions = sessions_for(store_url)
        path = self.legacy(tmp_path, sessions)
        with sessions() as s:
            before = {m.__tablename__: s.query(m).count() for m in (OccurrenceRecord, ConfirmationRecord,
                                                                    EventRecord, OutboxRecord)}
        plan = load_plan(path)
        new = "1-kh-thu-2024-so-thu-nghiem"
        assert plan.id == new
        _tick(plan, sessions, date(2024, 2, 21))  # the same day again: nothing is done or sent twice
        with sessions() as s:
            for model in (PlanRecord, OccurrenceRecord, ConfirmationRecord, EventRecord, OutboxRecord):
                ids = set(s.scalars(select(model.id if model is PlanRecord else model.plan_id)))
                assert ids == {new}, model.__tablename__
            after = {m.__tablename__: s.query(m).count() for m in (OccurrenceRecord, ConfirmationRecord,
                                                                   EventRecord, OutboxRecord)}
            keys = s.scalars(select(EventRecord.effect_key)).all() + s.scalars(select(OutboxRecord.idempotency_key)).all()
            record = s.get(PlanRecord, new)
            moved = s.scalars(select(EventRecord).where(EventRecord.event == "former_id")).one()
            waiting = s.scalars(select(OutboxRecord).where(OutboxRecord.status == "pending")).all()
        assert after == {**before, "events": before["events"] + 1}
        assert all(k.startswith(new + "/") for k in keys)
        assert record.former_ids == ["kh"] and row(sessions, new, "a", "once").status == "done"
        assert moved.detail["from"] == "kh"
        assert waiting and all(w.context["plan_id"] == new and f"kehoach confirm {new} " in w.context["confirm_command"]
                               for w in waiting if w.context.get("confirm_command"))

    def test_the_command_that_finds_it_says_so_in_one_line(self, capsys, tmp_path):
        db = f"sqlite:///{tmp_path / 's.db'}"
        path = self.legacy(tmp_path, sessions_for(db))
        code, _, err = run(capsys, "status", path, "--at", "21/02/2024", "--db", db)
        assert code == 0
        assert err.strip() == ("Kế hoạch số 1/KH-THU: lịch sử lưu theo tên tệp 'kh' đã chuyển sang mã kế hoạch "
                               "'1-kh-thu-2024-so-thu-nghiem' (mã không còn lấy từ tên tệp).")
        code, _, err = run(capsys, "status", path, "--at", "21/02/2024", "--db", db)
        assert (code, err) == (0, "")

    def test_a_plan_that_merely_has_the_file_name_as_id_keeps_its_state(self, tmp_path):
        sessions = sessions_for(f"sqlite:///{tmp_path / 's.db'}")
        (tmp_path / "khac").mkdir()
        other = load_plan(write_plan(tmp_path / "khac" / "p.yaml", header=HEADER.replace("id: thu", "id: kh")
                                     .replace("1/KH-THU", "9/KH-KHAC")))
        _tick(other, sessions, date(2024, 2, 1))
        plan = load_plan(write_plan(tmp_path / "kh.yaml", header=DERIVED))
        _tick(plan, sessions, date(2024, 2, 1))
        assert count(sessions, PlanRecord) == 2
        assert row(sessions, "kh", "a", "once").status == "open"

    def test_a_command_pasted_from_an_old_notice_still_finds_the_plan(self, capsys, tmp_path, monkeypatch):
        from engine.runtime import registry

        monkeypatch.setenv("KEHOACH_HOME", str(tmp_path / "home"))
        monkeypatch.delenv("KEHOACH_DATABASE_URL", raising=False)
        db = f"sqlite:///{tmp_path / 's.db'}"
        path = self.legacy(tmp_path, sessions_for(db))
        registry.record({"kh": path}, db, None)  # what `kehoach run` recorded when file names made ids
        (tmp_path / "elsewhere").mkdir()  # a folder with no .kehoach/ of its own (the checkout may have one)
        monkeypatch.chdir(tmp_path / "elsewhere")
        code, out, err = run(capsys, "confirm", "kh", "a", "--by", "Nguyễn Văn C", "--evidence",
                             "document_number=6/VP", "--at", "21/02/2024")
        assert code == 0 and out.startswith("Đã có xác nhận trước đó: Việc A - Trần Thị B, ngày 10/02/2024")
        assert "lịch sử lưu theo tên tệp 'kh' đã chuyển sang mã kế hoạch" in err
        code, out, err = run(capsys, "status", "kh", "--at", "21/02/2024", "-f", "json")
        assert code == 0 and '"plan": "1-kh-thu-2024-so-thu-nghiem"' in out
