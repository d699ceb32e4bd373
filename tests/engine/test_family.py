"""engine.runtime.family: a district's plan carrying out the province's, in one store - the province's occurrence done
when the district's is, the children's standing in `status`, the parent's report drawing on them, and the links
checked across files."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from engine.language.plan import PlanLoader, load_plan, plan_paths
from engine.reports.drafts import draft_documents
from engine.runtime.family import children
from engine.runtime.people import confirm
from engine.runtime.simulate import ConfirmPolicy, simulate_plans
from engine.runtime.tick import tick, tick_in
from engine.state.models import (
    DONE,
    OPEN,
    ConfirmationRecord,
    EventRecord,
    OccurrenceRecord,
    OutboxRecord,
    PlanRecord,
)
from tests.conftest import ROOT, run_cli
from tests.engine.state_helpers import at, no_documents, row, sessions_for

PARENT = """\
plan:
  id: tinh
  number: 5/KH-UBND
  title: Kế hoạch của tỉnh
  issuer: {name: Ủy ban nhân dân tỉnh Thử}
  issued_on: 01/01/2024
  period: {start: 01/01/2024, end: 31/12/2025}
units:
  so-noi-vu: {name: Sở Nội vụ, notify: [snv]}
  ubnd-huyen-a: {name: Ủy ban nhân dân huyện A, notify: [ha]}
  ubnd-huyen-b: {name: Ủy ban nhân dân huyện B, notify: [hb]}
groups:
  cac-huyen: [ubnd-huyen-a, ubnd-huyen-b]
defaults:
  on_non_working_day: keep
steps:
  - id: bao-cao-huyen
    kind: report
    title: Các huyện báo cáo 6 tháng
    owner: cac-huyen
    recipient: so-noi-vu
    timing: {half_yearly: {month: 6, day: 16}}
  - id: tong-hop
    kind: report
    title: Tổng hợp báo cáo 6 tháng của tỉnh
    owner: so-noi-vu
    recipient: so-noi-vu
    covers: [bao-cao-huyen]
    depends_on: [{step: bao-cao-huyen, same_period: true}]
    timing: {half_yearly: {month: 6, day: 20}}
"""

CHILD = """\
plan:
  id: kh-huyen-{x}
  number: {n}/KH-UBND
  title: Kế hoạch của huyện {X} thực hiện Kế hoạch 5/KH-UBND của tỉnh
  issuer: {{name: Ủy ban nhân dân huyện {X}}}
  issued_on: 10/01/2024
  period: {{start: 10/01/2024, end: 31/12/2025}}
  parent_plan: {{id: tinh, number: 5/KH-UBND, issuer: Ủy ban nhân dân tỉnh Thử, unit: ubnd-huyen-{x}}}
units:
  vp: {{name: Văn phòng huyện {X}, notify: [vp-{x}]}}
  tinh: {{name: Ủy ban nhân dân tỉnh Thử, external: true}}
defaults:
  on_non_working_day: keep
steps:
  - id: bao-cao
    kind: report
    title: Báo cáo 6 tháng gửi tỉnh
    owner: vp
    recipient: tinh
    carries_out: {step}
    cutoff_day: 10
    timing: {{half_yearly: {{month: 6, day: 12}}}}
"""


def family(tmp_path):
    """The province's plan (id 'tinh') and two district plans carrying it out."""
    folder = tmp_path / "plans"
    folder.mkdir()
    (folder / "tinh.yaml").write_text(PARENT, encoding="utf-8")
    for x, n in (("a", 11), ("b", 12)):
        (folder / f"huyen-{x}.yaml").write_text(
            CHILD.format(x=x, X=x.upper(), n=n, step="bao-cao-huyen"),
            encoding="utf-8")
    return folder, load_plan(folder / "tinh.yaml"), load_plan(folder / "huyen-a.yaml"), load_plan(folder / "huyen-b.yaml")


def sign(plan, sessions, step, day, key, result=None):
    with sessions() as s, s.begin():
        return confirm(plan, s, step, key=key, by="Trần Văn Huyện", at=day, now=at(day, 16),
                       evidence={"document_number": "15/BC-UBND"}, result=result)


class TestCompletion:
    def test_a_district_reporting_completes_its_occurrence_in_the_province_plan(self, tmp_path, sessions):
        _, tinh, huyen_a, huyen_b = family(tmp_path)
        june = date(2024, 6, 1)
        for p in (tinh, huyen_a, huyen_b):
            tick(p, sessions, at(june), documents=no_documents)
        sign(huyen_a, sessions, "bao-cao", date(2024, 6, 7), "2024-H1", result="Đã tổ chức 12 hội nghị")
        tick(tinh, sessions, at(date(2024, 6, 8)), documents=no_documents)
        mine = row(sessions, tinh.id, "bao-cao-huyen", "2024-H1@ubnd-huyen-a")
        assert (mine.status, mine.done_on, mine.late_days) == (DONE, date(2024, 6, 7), 0)
        with sessions() as s:
            c = s.scalars(select(ConfirmationRecord).where(ConfirmationRecord.plan_id == tinh.id)).one()
        assert (c.by, c.source, c.result, c.evidence) == ("Trần Văn Huyện", "child-plan", "Đã tổ chức 12 hội nghị",
                                                          {"document_number": "15/BC-UBND"})
        assert "Kế hoạch số 11/KH-UBND" in c.note
        # district B has not reported: its occurrence in the province's plan stays open and is chased as usual
        assert row(sessions, tinh.id, "bao-cao-huyen", "2024-H1@ubnd-huyen-b").status == OPEN

    def test_the_links_are_recorded_on_the_childs_row_by_its_tick(self, tmp_path, sessions):
        _, tinh, huyen_a, _ = family(tmp_path)
        tick(huyen_a, sessions, at(date(2024, 1, 15)), documents=no_documents)
        with sessions() as s:
            rec = s.get(PlanRecord, huyen_a.id)
        assert rec.parent_id == "tinh"
        assert rec.links == {"unit": "ubnd-huyen-a", "number": "11/KH-UBND", "issuer": "Ủy ban nhân dân huyện A",
                             "steps": {"bao-cao": "bao-cao-huyen"}}

    def test_a_child_first_ticked_after_its_parent_in_one_transaction_is_found_by_the_parent(self, tmp_path,
                                                                                               sessions):
        _, tinh, huyen_a, _ = family(tmp_path)
        day = at(date(2024, 1, 15))
        with sessions() as s, s.begin():
            tick_in(tinh, s, day, documents=no_documents)
            assert children(s, tinh.id) == []
            tick_in(huyen_a, s, day, documents=no_documents)
            assert [c.id for c in children(s, tinh.id)] == [huyen_a.id]

    def test_a_report_done_before_the_parent_ever_ticked_is_counted_at_its_first_tick(self, tmp_path, sessions):
        _, tinh, huyen_a, _ = family(tmp_path)
        tick(huyen_a, sessions, at(date(2024, 6, 1)), documents=no_documents)
        sign(huyen_a, sessions, "bao-cao", date(2024, 6, 3), "2024-H1")
        tick(tinh, sessions, at(date(2024, 6, 5)), documents=no_documents)
        assert row(sessions, tinh.id, "bao-cao-huyen", "2024-H1@ubnd-huyen-a").done_on == date(2024, 6, 3)

    def test_another_period_of_the_child_does_not_complete_this_one(self, tmp_path, sessions):
        _, tinh, huyen_a, _ = family(tmp_path)
        tick(huyen_a, sessions, at(date(2024, 12, 1)), documents=no_documents)
        sign(huyen_a, sessions, "bao-cao", date(2024, 12, 5), "2024-H2")
        tick(tinh, sessions, at(date(2024, 12, 6)), documents=no_documents)
        with sessions() as s:
            done = s.scalars(select(OccurrenceRecord.key).where(OccurrenceRecord.plan_id == tinh.id,
                                                                OccurrenceRecord.status == DONE)).all()
        assert done == ["2024-H2@ubnd-huyen-a"]


    def test_the_provinces_compilation_opens_once_every_district_has_reported_in_its_own_plan(self, tmp_path,
                                                                                             sessions):
        _, tinh, huyen_a, huyen_b = family(tmp_path)
        for p in (tinh, huyen_a, huyen_b):
            tick(p, sessions, at(date(2024, 6, 1)), documents=no_documents)
        sign(huyen_a, sessions, "bao-cao", date(2024, 6, 5), "2024-H1")
        tick(tinh, sessions, at(date(2024, 6, 6)), documents=no_documents)
        assert row(sessions, tinh.id, "tong-hop", "2024-H1").opened_on is None  # district B has not reported
        sign(huyen_b, sessions, "bao-cao", date(2024, 6, 6), "2024-H1")
        tick(tinh, sessions, at(date(2024, 6, 7)), documents=no_documents)
        assert row(sessions, tinh.id, "tong-hop", "2024-H1").status == OPEN


class TestStanding:
    def test_status_of_the_parent_lists_its_children(self, tmp_path, sessions, capsys, monkeypatch):
        folder, tinh, huyen_a, huyen_b = family(tmp_path)
        for p in (tinh, huyen_a, huyen_b):
            tick(p, sessions, at(date(2024, 6, 1)), documents=no_documents)
        sign(huyen_a, sessions, "bao-cao", date(2024, 6, 7), "2024-H1")
        db = f"sqlite:///{tmp_path / 'state.db'}"
        code, out, _ = run_cli(capsys, "status", folder / "tinh.yaml", "--db", db, "--at", "20/06/2024", "-f", "json")
        kids = {k["number"]: k for k in json.loads(out)["children"]}
        assert kids["11/KH-UBND"]["done"] == [{"step": "bao-cao", "period": "2024-H1", "done_on": "2024-06-07",
                                               "by": "Trần Văn Huyện"}]
        assert kids["12/KH-UBND"]["done"] == [] and kids["12/KH-UBND"]["counts"]["overdue"] == 1
        monkeypatch.setenv("COLUMNS", "80")
        _, table, _ = run_cli(capsys, "status", folder / "tinh.yaml", "--db", db, "--at", "20/06/2024")
        assert "Các kế hoạch cấp dưới (2)" in table
        rows = [line.split() for line in table.splitlines()[table.splitlines().index(next(
            line for line in table.splitlines() if line.startswith("11/KH-UBND"))):]]
        # what a district has done: how often, how many late, the latest period - not a line per period
        assert rows[0][-4:] == ["1", "lần,", "đúng", "hạn"] and rows[1][-2:] == ["gần", "nhất:"]
        assert rows[2][-5:] == ["6", "tháng", "đầu", "năm", "2024"] and rows[3][-1] == "-"
        assert all(len(line) <= 80 for line in table.splitlines())


class TestReport:
    def test_the_parents_report_says_which_districts_reported_the_period(self, tmp_path, sessions):
        _, tinh, huyen_a, huyen_b = family(tmp_path)
        for p in (tinh, huyen_a, huyen_b):
            tick(p, sessions, at(date(2024, 6, 1)), documents=no_documents)
        sign(huyen_a, sessions, "bao-cao", date(2024, 6, 13), "2024-H1", result="Đã tổ chức 12 hội nghị")
        tick(tinh, sessions, at(date(2024, 6, 14)), documents=no_documents)
        with sessions() as s:
            rec = s.scalars(select(OccurrenceRecord).where(OccurrenceRecord.plan_id == tinh.id,
                                                           OccurrenceRecord.step_id == "tong-hop")).one()
            text = draft_documents(tinh, s, tinh.step_by_id["tong-hop"], rec, date(2024, 6, 14))["md"].decode()
        assert "3. Tình hình thực hiện của các đơn vị" in text
        assert "1/2 đơn vị đã thực hiện kỳ 6 tháng đầu năm 2024" in text
        assert ("Ủy ban nhân dân huyện A (Kế hoạch số 11/KH-UBND): đã thực hiện ngày 13/06/2024, chậm 1 ngày so "
                "với hạn 12/06/2024 trong kế hoạch của đơn vị; kết quả: Đã tổ chức 12 hội nghị.") in text
        assert "Ủy ban nhân dân huyện B (Kế hoạch số 12/KH-UBND): chưa thực hiện." in text


class TestChecks:
    def test_a_child_must_say_which_owner_of_the_parents_step_it_is(self, tmp_path, capsys):
        folder, *_ = family(tmp_path)
        child = folder / "huyen-a.yaml"
        child.write_text(child.read_text(encoding="utf-8").replace(", unit: ubnd-huyen-a", ""), encoding="utf-8")
        code, out, _ = run_cli(capsys, "validate", folder)
        assert code == 1
        assert ("steps.bao-cao.carries_out: bước 'bao-cao-huyen' của kế hoạch cấp trên giao cho từng đơn vị "
                "ubnd-huyen-a, ubnd-huyen-b: ghi ở plan.parent_plan.unit đơn vị nào thực hiện kế hoạch này") in out

    def test_carries_out_a_step_the_parent_does_not_have_is_located_across_files(self, tmp_path, capsys):
        folder, *_ = family(tmp_path)
        child = folder / "huyen-b.yaml"
        child.write_text(child.read_text(encoding="utf-8").replace("carries_out: bao-cao-huyen",
                                                                   "carries_out: bao-cao-huyenn"), encoding="utf-8")
        code, out, err = run_cli(capsys, "validate", folder)
        assert code == 1
        line = next(n for n, text in enumerate(child.read_text(encoding="utf-8").splitlines(), 1)
                    if "carries_out" in text)
        assert (f"huyen-b.yaml:{line}:18: steps.bao-cao.carries_out: kế hoạch cấp trên 5/KH-UBND không có "
                f"bước 'bao-cao-huyenn' - ý bạn là 'bao-cao-huyen'?") in out
        assert "Traceback" not in out + err

    def test_a_family_that_holds_together_is_valid(self, tmp_path, capsys):
        folder, *_ = family(tmp_path)
        assert run_cli(capsys, "validate", folder)[0] == 0


class TestShippedFamily:
    """plan_definitions/ninh-binh: the province's reporting regime and the three district plans carrying it out,
    simulated together for 2025 with every unit reporting on time."""

    FOLDER = ROOT / "plan_definitions" / "ninh-binh"
    PROVINCE = "kh-35-ubnd-ninh-binh-2025"

    @pytest.fixture(scope="class")
    def lived(self, tmp_path_factory):
        db = f"sqlite:///{tmp_path_factory.mktemp('ninh-binh') / 'state.db'}"
        plans = {p.id: p for p in PlanLoader().load_all(plan_paths([self.FOLDER]))}
        sessions = sessions_for(db)
        simulate_plans(list(plans.values()), sessions, date(2025, 1, 10), date(2025, 12, 31), ConfirmPolicy("on-time"),
                       confirmer="Cán bộ mô phỏng", documents=no_documents)
        return plans, sessions, db

    def test_every_district_report_in_the_provinces_plan_is_done_by_the_districts_own_plans(self, lived):
        plans, sessions, _ = lived
        with sessions() as s:
            rows = s.execute(select(OccurrenceRecord.step_id, OccurrenceRecord.key, OccurrenceRecord.status,
                                    ConfirmationRecord.source)
                             .join(ConfirmationRecord, ConfirmationRecord.occurrence_id == OccurrenceRecord.id,
                                   isouter=True)
                             .where(OccurrenceRecord.plan_id == self.PROVINCE,
                                    OccurrenceRecord.step_id.like("bao-cao-%-huyen"))).all()
        periods = {(step, key.partition("@")[0]) for step, key, _, _ in rows}
        # monthly from February except Mar/Jun/Sep/Dec, Q1 and Q3, H1, the year: 7 + 2 + 1 + 1 periods, 3 districts
        assert len(periods) == 11 and len(rows) == 33
        assert {(status, source) for _, _, status, source in rows} == {(DONE, "child-plan")}

    def test_a_district_is_told_of_its_report_once_by_its_own_plan(self, lived):
        """The province's plan does not chase a district for a report the district's own plan carries out, nor
        draft it: before, every notice of it came twice a day (the opening with its draft, reminders, the due day,
        the thanks)."""
        plans, sessions, _ = lived
        carried = {p.meta.parent_plan.unit: p.id for p in plans.values() if p.meta.parent_plan}
        with sessions() as s:
            notices = s.execute(select(OutboxRecord.plan_id, OutboxRecord.unit_id, OutboxRecord.occurrence_key,
                                       OutboxRecord.reason, OutboxRecord.created_on)).all()
            events = s.scalars(select(EventRecord).where(EventRecord.plan_id == self.PROVINCE,
                                                         EventRecord.step_id.like("bao-cao-%-huyen"))).all()
        to_districts = [n for n in notices if n.unit_id in carried]
        from_own = [n for n in to_districts if n.plan_id == carried[n.unit_id]]
        assert from_own and not [n for n in to_districts if n.plan_id == self.PROVINCE and "@" in n.occurrence_key]
        once = {(n.unit_id, n.created_on, n.occurrence_key.partition("@")[0], n.reason) for n in to_districts}
        assert len(once) == len(to_districts)
        assert events and all(e.detail.get("carried_by") == carried[e.occurrence_key.partition("@")[2]]
                              for e in events if e.event != "confirmed")
        # nor drafts it: the district's own plan drafts its report
        assert not [e for e in events if e.event == "opened" and "drafted" in e.detail]
        with sessions() as s:
            own = s.scalars(select(EventRecord).where(EventRecord.plan_id.in_(carried.values()),
                                                      EventRecord.step_id == "bao-cao-thang",
                                                      EventRecord.event == "opened")).all()
        assert own and all("drafted" in e.detail for e in own)

    def test_the_province_still_tells_its_leadership_of_a_late_district(self, tmp_path):
        plans = PlanLoader().load_all(plan_paths([self.FOLDER]))
        sessions = sessions_for(f"sqlite:///{tmp_path / 'late.db'}")
        simulate_plans(plans, sessions, date(2025, 1, 10), date(2025, 4, 30), ConfirmPolicy("late", 5),
                       documents=no_documents)
        with sessions() as s:
            told = s.execute(select(OutboxRecord.unit_id).where(
                OutboxRecord.plan_id == self.PROVINCE, OutboxRecord.step_id == "bao-cao-thang-huyen",
                OutboxRecord.reason.like("escalation-%"))).scalars().all()
            office = set(s.execute(select(OutboxRecord.plan_id).where(
                OutboxRecord.unit_id == "van-phong-ubnd-tinh")).scalars())
        assert told and set(told) == {"van-phong-ubnd-tinh"}
        assert office == {self.PROVINCE}  # each district's plan escalates to the district's own leadership

    def test_the_province_compiles_each_period_after_the_districts(self, lived):
        plans, sessions, _ = lived
        with sessions() as s:
            compiled = s.scalars(select(OccurrenceRecord).where(OccurrenceRecord.plan_id == self.PROVINCE,
                                                                OccurrenceRecord.step_id.like("tong-hop-%"))).all()
            waited = s.scalars(select(EventRecord).where(EventRecord.plan_id == self.PROVINCE,
                                                         EventRecord.step_id.like("tong-hop-%"),
                                                         EventRecord.event == "opened")).all()
            due = {(r.step_id, r.key): r.due_on for r in s.scalars(select(OccurrenceRecord).where(
                OccurrenceRecord.plan_id == self.PROVINCE, OccurrenceRecord.step_id.like("bao-cao-%-huyen")))}
        assert len(compiled) == 11 and all(r.status == DONE and r.late_days == 0 for r in compiled)
        # A compilation opens once every district has reported, or on its own opening day naming who is missing:
        # with everyone on time, that happens only when it opens before the districts' deadline (20/04/2025 is a
        # Sunday: the compilation is due on Friday 18th and opens on the 15th, the districts' reports on the 16th).
        assert len(waited) == 11
        early = [(e.on_date, step, f"{e.occurrence_key}@{unit}") for e in waited
                 for step, units in (e.detail.get("missing") or {}).items() for unit in units]
        assert early and all(day < due[(step, key)] for day, step, key in early)

    def compiled(self, plans, sessions, step_id, key, day):
        """The Markdown draft of the province's compile `step_id` for the period `key`, made on `day`."""
        province = plans[self.PROVINCE]
        with sessions() as s:
            rec = s.scalars(select(OccurrenceRecord).where(OccurrenceRecord.plan_id == self.PROVINCE,
                                                           OccurrenceRecord.step_id == step_id,
                                                           OccurrenceRecord.key == key)).one()
            return draft_documents(province, s, province.step_by_id[step_id], rec, day)["md"].decode()

    def test_the_provinces_report_says_every_district_reported(self, lived):
        plans, sessions, _ = lived
        text = self.compiled(plans, sessions, "tong-hop-quy", "2025-Q3", date(2025, 9, 19))
        assert "3/3 đơn vị đã thực hiện kỳ quý III năm 2025" in text
        for district in ("huyện Nho Quan", "huyện Gia Viễn", "thành phố Hoa Lư"):
            assert f"Ủy ban nhân dân {district}" in text
        # The districts' quarterly reports are due on the 16th, after the data cut-off (the 14th), by design: the
        # compile shows them by period - done, on time - not as work "not yet due, next on 16/09/2025".
        assert "Trong kỳ báo cáo, 3/3 nhiệm vụ đến hạn đã hoàn thành, tất cả đúng hạn." in text
        assert "Trong kỳ, 3/3 lần đến hạn đã hoàn thành, tất cả đúng hạn." in text
        assert "| Ủy ban nhân dân huyện Gia Viễn | 16/09/2025 | 15/09/2025 |" in text
        assert "chưa có" not in text and "lần tiếp theo" not in text

    def test_the_provinces_report_names_the_late_districts_of_the_period_once(self, tmp_path):
        plans = {p.id: p for p in PlanLoader().load_all(plan_paths([self.FOLDER]))}
        sessions = sessions_for(f"sqlite:///{tmp_path / 'late.db'}")
        simulate_plans(list(plans.values()), sessions, date(2025, 1, 10), date(2025, 6, 30), ConfirmPolicy("late", 3),
                       documents=no_documents)
        text = self.compiled(plans, sessions, "tong-hop-6-thang", "2025-H1", date(2025, 6, 30))
        assert ("- Các huyện, thành phố báo cáo cải cách hành chính 6 tháng đầu năm: hoàn thành chậm kỳ 6 tháng "
                "đầu năm 2025: Ủy ban nhân dân thành phố Hoa Lư (3 ngày), Ủy ban nhân dân huyện Nho Quan (3 ngày).") in text

    def test_the_overview_lists_a_districts_late_report_once(self, tmp_path):
        """Nobody reports: each district's monthly report is late in its own plan and in the province's, which it
        carries out. The agency's overview lists it once per district, from the district's plan; the province's
        line still counts it (its plan is behind)."""
        from engine.runtime.overview import overview

        plans = PlanLoader().load_all(plan_paths([self.FOLDER]))
        sessions = sessions_for(f"sqlite:///{tmp_path / 'never.db'}")
        simulate_plans(plans, sessions, date(2025, 1, 10), date(2025, 4, 30), ConfirmPolicy("never"),
                       documents=no_documents)
        lines, units = overview(plans, sessions, date(2025, 4, 30))
        own = {p.meta.parent_plan.unit: p.meta.number for p in plans if p.meta.parent_plan}
        by_name = {u.name: u for u in units}
        province = next(p for p in plans if p.id == self.PROVINCE)
        for unit, number in own.items():
            items = by_name[province.unit_name(unit)].items
            assert items and {i.plan for i in items} == {number}, unit
            assert len({(i.period, i.title) for i in items}) == len(items)
        assert next(line for line in lines if line.plan.id == self.PROVINCE).overdue > sum(
            1 for u in units for i in u.items if i.plan == province.meta.number)

    def test_status_of_the_province_shows_its_three_districts_on_track(self, lived, capsys):
        _, _, db = lived
        code, out, _ = run_cli(capsys, "status", self.FOLDER / "kh-35-ubnd-tinh-ninh-binh-2025.yaml", "--db", db,
                               "--at", "31/12/2025", "-f", "json")
        kids = json.loads(out)["children"]
        assert code == 0 and len(kids) == 3
        assert all(k["counts"]["overdue"] == 0 and k["counts"]["done"] == k["counts"]["due"] > 0 for k in kids)
