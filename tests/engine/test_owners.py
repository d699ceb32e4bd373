"""Steps owned by several units (groups, lists): an occurrence per owner and period, notices to that owner, `--unit`;
and dependencies per period (all owners or a share, or opening anyway)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from engine.errors import PlanError, StateError
from engine.language.plan import load_plan
from engine.runtime.people import confirm, extend, request, skip
from engine.runtime.status import counts, plan_status
from engine.runtime.tick import tick
from engine.state.models import DONE, OPEN, SCHEDULED, EventRecord, OccurrenceRecord, OutboxRecord
from tests.engine.state_helpers import REGIME_UNITS, at, no_documents, sessions_for, write_plan

HEADER = """\
plan:
  number: 5/KH-UBND
  title: Theo dõi chương trình giảm nghèo
  issuer: {name: UBND tỉnh Ninh Bình}
  issued_on: 01/01/2023
  period: {start: 01/01/2023, end: 31/12/2024}
""" + REGIME_UNITS + """\
defaults:
  reminders: {days_before: [3], working_days_before: []}
  escalation: {after_days: 1, every_days: 5, max_times: 2, to: [ld]}
  on_non_working_day: keep
steps:
"""
DISTRICTS = """\
  - id: bao-cao-huyen
    kind: report
    title: Báo cáo giảm nghèo của huyện
    owner: cac-huyen
    recipient: so
    cutoff_day: 10  # data cut off before the report is due on the 12th
    timing: {half_yearly: {month: 6, day: 12}}
"""
COMPILE = """\
  - id: tong-hop
    kind: report
    title: Báo cáo tổng hợp của tỉnh
    owner: so
    recipient: bo
    depends_on: [DEP]
    timing: {half_yearly: {month: 6, day: 26}}
"""


def regime_file(folder, dep: str = "bao-cao-huyen", extra: str = ""):
    """The districts' half-yearly report and the province's compile waiting on it (`dep`), as a plan file."""
    return write_plan(folder / "giam-ngheo.yaml", DISTRICTS + COMPILE.replace("DEP", dep) + extra, HEADER)


def plan_with(tmp_path, dep: str = "bao-cao-huyen", extra: str = ""):
    return load_plan(regime_file(tmp_path, dep, extra))


@pytest.fixture
def sessions(tmp_path):
    return sessions_for(f"sqlite:///{tmp_path / 'state.db'}")


def run(plan, sessions, start: date, end: date) -> None:
    day = start
    while day <= end:
        tick(plan, sessions, at(day), documents=no_documents)
        day = date.fromordinal(day.toordinal() + 1)


def rows_of(plan, sessions, step: str) -> dict[str, OccurrenceRecord]:
    with sessions() as s:
        return {r.key: r for r in s.scalars(select(OccurrenceRecord).where(
            OccurrenceRecord.plan_id == plan.id, OccurrenceRecord.step_id == step))}


def done_by(plan, sessions, unit: str, day: date, key: str = "2023-H1") -> None:
    with sessions() as s, s.begin():
        confirm(plan, s, "bao-cao-huyen", key=key, unit=unit, by="Cán bộ huyện", at=day, now=at(day, 15))


class TestOwners:
    def test_a_group_gives_each_unit_its_own_occurrence_keyed_by_period_and_unit(self, tmp_path):
        plan = plan_with(tmp_path)
        keys = [o.key for o in plan.occurrences("bao-cao-huyen")]
        assert keys[:3] == ["2023-H1@nho-quan", "2023-H1@gia-vien", "2023-H1@hoa-lu"] and len(keys) == 12
        assert {o.owner for o in plan.occurrences("bao-cao-huyen")} == {"nho-quan", "gia-vien", "hoa-lu"}
        assert [o.key for o in plan.occurrences("tong-hop")][:2] == ["2023-H1", "2023-H2"]  # one owner: as before

    def test_a_list_is_per_unit_even_with_one_unit_and_groups_stand_for_their_units(self, tmp_path):
        extra = """\
  - id: quan-triet
    kind: disseminate
    title: Quán triệt
    owner: [so]
    participants: [cac-huyen]
    audience: [cac-huyen, ld]
    timing: {due: 31/03/2023}
"""
        plan = plan_with(tmp_path, extra=extra)
        assert [o.key for o in plan.occurrences("quan-triet")] == ["once@so"]
        assert plan.members(plan.step_by_id["quan-triet"].audience) == ["nho-quan", "gia-vien", "hoa-lu", "ld"]

    def test_each_owner_is_told_reminded_and_chased_on_its_own(self, tmp_path, sessions):
        plan = plan_with(tmp_path)
        run(plan, sessions, date(2023, 5, 29), date(2023, 6, 8))
        done_by(plan, sessions, "nho-quan", date(2023, 6, 8))
        run(plan, sessions, date(2023, 6, 9), date(2023, 6, 20))
        with sessions() as s:
            sent = s.execute(select(OutboxRecord.unit_id, OutboxRecord.occurrence_key, OutboxRecord.reason)
                             .where(OutboxRecord.step_id == "bao-cao-huyen")).all()
        for unit in ("nho-quan", "gia-vien", "hoa-lu"):
            assert (unit, f"2023-H1@{unit}", "draft") in sent  # each is given its own draft
        assert not [r for r in sent if r[0] == "nho-quan" and r[2].startswith("escalation")]
        late = {u for u, key, reason in sent if reason == "escalation-1"}
        assert late == {"gia-vien", "hoa-lu", "ld"}
        assert all(key.endswith("@" + u) for u, key, reason in sent if u != "ld")
        rows = rows_of(plan, sessions, "bao-cao-huyen")
        assert rows["2023-H1@nho-quan"].status == DONE and rows["2023-H1@gia-vien"].escalations == 2

    def test_unit_is_needed_checked_and_suggested(self, tmp_path, sessions):
        plan = plan_with(tmp_path)
        day = date(2023, 6, 1)
        with sessions() as s, s.begin():
            with pytest.raises(StateError, match=r"có 3 đơn vị chủ trì: ghi rõ đơn vị bằng --unit \('gia-vien'"):
                confirm(plan, s, "bao-cao-huyen", by="A", at=day, now=at(day))
            with pytest.raises(StateError, match="đơn vị 'gia-vienn' không chủ trì bước 'bao-cao-huyen' - ý "
                                                 "bạn là 'gia-vien'"):
                confirm(plan, s, "bao-cao-huyen", unit="gia-vienn", by="A", at=day, now=at(day))
            with pytest.raises(StateError, match="có 3 đơn vị chủ trì"):
                skip(plan, s, "bao-cao-huyen", key="2023-H1", by="A", reason="x", at=day, now=at(day))
            with pytest.raises(StateError, match="chỉ có một đơn vị chủ trì, 'so': bỏ --unit"):
                confirm(plan, s, "tong-hop", unit="gia-vien", by="A", at=day, now=at(day))

    def test_human_labels_and_composite_keys_both_name_an_occurrence(self, tmp_path, sessions):
        plan = plan_with(tmp_path)
        day = date(2023, 6, 1)
        with sessions() as s, s.begin():
            a = confirm(plan, s, "bao-cao-huyen", key="6 tháng đầu năm 2023", unit="hoa-lu", by="A", at=day,
                        now=at(day))
            b = confirm(plan, s, "bao-cao-huyen", key="2023-H1@gia-vien", by="A", at=day, now=at(day))
            row = extend(plan, s, "bao-cao-huyen", key="2023-H1", unit="nho-quan", to=date(2023, 6, 30),
                         by="Chủ tịch", reason="Thiên tai", at=day, now=at(day))
        assert (a.record.occurrence_key, b.record.occurrence_key) == ("2023-H1@hoa-lu", "2023-H1@gia-vien")
        assert row.key == "2023-H1@nho-quan" and row.due_on == date(2023, 6, 30)
        with sessions() as s:
            told = s.scalars(select(OutboxRecord.unit_id).where(OutboxRecord.reason == "extended")).all()
        assert told == ["nho-quan"]

    def test_status_counts_each_owner(self, tmp_path, sessions):
        plan = plan_with(tmp_path)
        run(plan, sessions, date(2023, 5, 29), date(2023, 5, 29))
        done_by(plan, sessions, "nho-quan", date(2023, 6, 1))
        with sessions() as s:
            rows = plan_status(plan, s, date(2023, 6, 20))
        h1 = [r for r in rows if r["step"] == "bao-cao-huyen" and r["period"] == "2023-H1"]
        assert [(r["unit"], r["status"]) for r in h1] == [
            ("gia-vien", "overdue"), ("hoa-lu", "overdue"), ("nho-quan", "done")]
        c = counts(rows, date(2023, 6, 20))
        assert (c.due, c.done, c.overdue) == (3, 1, 2)

    def test_an_on_demand_step_with_several_owners_asks_each(self, tmp_path, sessions):
        extra = """\
  - id: dot-xuat
    kind: report
    title: Báo cáo đột xuất
    owner: cac-huyen
    recipient: so
    timing: {on_demand: {days: 5}}
"""
        plan = plan_with(tmp_path, extra=extra)
        with sessions() as s, s.begin():
            request(plan, s, "dot-xuat", at=date(2023, 3, 1), now=at(date(2023, 3, 1)), by="Bộ")
            request(plan, s, "dot-xuat", at=date(2023, 3, 1), now=at(date(2023, 3, 1), 9), by="Bộ")
        assert sorted(rows_of(plan, sessions, "dot-xuat")) == sorted(
            f"yc-2023-03-01{n}@{u}" for n in ("", "-2") for u in ("nho-quan", "gia-vien", "hoa-lu"))

    def test_a_unit_leaving_the_group_cancels_its_open_work_and_keeps_the_others(self, tmp_path, sessions):
        plan = plan_with(tmp_path)
        run(plan, sessions, date(2023, 5, 29), date(2023, 5, 29))
        path = tmp_path / "giam-ngheo.yaml"
        path.write_text(path.read_text().replace("[nho-quan, gia-vien, hoa-lu]", "[nho-quan, gia-vien]"))
        edited = load_plan(path)
        run(edited, sessions, date(2023, 5, 30), date(2023, 5, 30))
        rows = rows_of(edited, sessions, "bao-cao-huyen")
        assert rows["2023-H1@hoa-lu"].status == "cancelled" and rows["2023-H1@nho-quan"].status == OPEN


class TestPerPeriod:
    def test_the_compile_step_waits_for_every_owner_of_its_period_each_year(self, tmp_path, sessions):
        """The defect: depends_on on a recurring step was satisfied once for ever."""
        plan = plan_with(tmp_path)
        run(plan, sessions, date(2023, 5, 29), date(2023, 6, 13))
        for unit in ("nho-quan", "gia-vien"):
            done_by(plan, sessions, unit, date(2023, 6, 13))
        run(plan, sessions, date(2023, 6, 14), date(2023, 6, 20))
        assert rows_of(plan, sessions, "tong-hop")["2023-H1"].status == SCHEDULED  # Hoa Lư has not reported
        done_by(plan, sessions, "hoa-lu", date(2023, 6, 20))
        run(plan, sessions, date(2023, 6, 21), date(2023, 6, 21))
        assert rows_of(plan, sessions, "tong-hop")["2023-H1"].status == OPEN
        with sessions() as s, s.begin():
            confirm(plan, s, "tong-hop", by="Sở", at=date(2023, 6, 22), now=at(date(2023, 6, 22)))
        run(plan, sessions, date(2023, 6, 23), date(2024, 6, 20))  # the districts never report again
        rows = rows_of(plan, sessions, "tong-hop")
        assert rows["2023-H2"].status == SCHEDULED and rows["2024-H1"].status == SCHEDULED
        with sessions() as s:
            blocked = s.scalars(select(EventRecord).where(EventRecord.step_id == "tong-hop",
                                                          EventRecord.occurrence_key == "2023-H2",
                                                          EventRecord.event == "blocked")).one()
        assert blocked.detail["missing"] == {"bao-cao-huyen": ["nho-quan", "gia-vien", "hoa-lu"]}

    def test_a_share_of_the_owners_is_enough(self, tmp_path, sessions):
        plan = plan_with(tmp_path, dep="{step: bao-cao-huyen, share: 60%}")
        run(plan, sessions, date(2023, 5, 29), date(2023, 6, 13))
        done_by(plan, sessions, "nho-quan", date(2023, 6, 13))
        run(plan, sessions, date(2023, 6, 14), date(2023, 6, 14))
        assert rows_of(plan, sessions, "tong-hop")["2023-H1"].status == SCHEDULED  # 1 of 3: 60% needs 2
        done_by(plan, sessions, "hoa-lu", date(2023, 6, 14))
        run(plan, sessions, date(2023, 6, 15), date(2023, 6, 15))
        assert rows_of(plan, sessions, "tong-hop")["2023-H1"].status == OPEN

    def test_opens_anyway_on_its_date_naming_who_is_missing(self, tmp_path, sessions):
        plan = plan_with(tmp_path, dep="{step: bao-cao-huyen, opens_anyway: true}")
        run(plan, sessions, date(2023, 5, 29), date(2023, 6, 1))
        done_by(plan, sessions, "gia-vien", date(2023, 6, 1))
        run(plan, sessions, date(2023, 6, 2), date(2023, 6, 12))
        row = rows_of(plan, sessions, "tong-hop")["2023-H1"]
        assert row.status == OPEN and row.opened_on == date(2023, 6, 12)
        with sessions() as s:
            draft = s.scalars(select(OutboxRecord).where(OutboxRecord.step_id == "tong-hop",
                                                          OutboxRecord.reason == "draft")).one()
        assert draft.context["missing"] == ("Báo cáo giảm nghèo của huyện (6 tháng đầu năm 2023): chưa có UBND "
                                            "huyện Nho Quan, UBND huyện Hoa Lư")

    def test_status_shows_the_wait_per_period(self, tmp_path, sessions):
        plan = plan_with(tmp_path)
        with sessions() as s:
            rows = plan_status(plan, s, date(2023, 6, 20))
        assert [r["waiting_for"] for r in rows if r["step"] == "tong-hop" and r["period"] == "2023-H1"] == [
            ["bao-cao-huyen"]]

    def test_a_one_off_step_waits_for_the_latest_period_due_by_its_date(self, tmp_path, sessions):
        extra = """\
  - id: so-ket
    kind: review
    level: interim
    title: Sơ kết
    owner: so
    depends_on: [bao-cao-huyen]
    timing: {due: 30/09/2023}
"""
        plan = plan_with(tmp_path, extra=extra)
        from engine.language.dependencies import wanted

        step = plan.step_by_id["so-ket"]
        assert [(link.step, period) for link, period in wanted(plan, step, "once", date(2023, 9, 30))] == [
            ("bao-cao-huyen", "2023-H1")]


class TestChecks:
    def test_same_period_defaults_to_true_between_steps_of_one_cycle(self, tmp_path):
        plan = plan_with(tmp_path)
        assert [(link.step, link.same_period, link.share) for link in plan.links["tong-hop"]] == [
            ("bao-cao-huyen", True, "all")]

    def test_unit_ids_too_long_for_a_composite_key(self, tmp_path):
        long_id = "u" * 50
        header = HEADER.replace("  bo: {", f"  {long_id}: {{name: Dài}}\n  bo: {{")
        steps = DISTRICTS.replace("owner: cac-huyen", f"owner: [nho-quan, {long_id}]")
        with pytest.raises(PlanError, match="mã đơn vị 'u{50}' dài 50 ký tự: .* tối đa 47 ký tự"):
            load_plan(write_plan(tmp_path / "dai.yaml", steps, header))


class TestOwnDrafts:
    """A unit's report speaks for its own work: the draft of its occurrence of a step of several owners covers its
    own occurrences of the other shared steps, not the other units'; the province's compile covers every unit."""

    EXTRA = """\
  - id: ra-soat
    kind: coordinate
    title: Rà soát hộ nghèo trên địa bàn
    owner: cac-huyen
    partners: [so]
    timing: {half_yearly: {month: 6, day: 5}}
  - id: kiem-tra
    kind: coordinate
    title: Kiểm tra của Sở tại các huyện
    owner: so
    partners: [cac-huyen]
    timing: {half_yearly: {month: 6, day: 5}}
"""

    def test_a_districts_draft_shows_its_own_rows_and_the_compile_shows_all(self, tmp_path, sessions):
        from engine.reports.drafts import draft, render, window_of
        from engine.reports.results import collect

        plan = plan_with(tmp_path, extra=self.EXTRA)
        run(plan, sessions, date(2023, 5, 29), date(2023, 6, 1))
        with sessions() as s, s.begin():
            confirm(plan, s, "ra-soat", key="2023-H1", unit="gia-vien", by="Cán bộ huyện", at=date(2023, 6, 1),
                    now=at(date(2023, 6, 1), 15))
        with sessions() as s:
            rows = {r.key: r for r in s.scalars(select(OccurrenceRecord).where(
                OccurrenceRecord.plan_id == plan.id, OccurrenceRecord.step_id == "bao-cao-huyen"))}
            row = rows["2023-H1@nho-quan"]
            window = window_of(plan, plan.step_by_id["bao-cao-huyen"], row.key, row.due_on, row.opens_on)
            day, step = date(2023, 6, 2), plan.step_by_id["bao-cao-huyen"]
            own = collect(plan, s, step, window, day, "nho-quan")
            text = render(draft(plan, s, step, window, day, row.due_on, "nho-quan"), "md").decode()
            every = collect(plan, s, plan.step_by_id["tong-hop"], window, day)
        shown = {r.step.id: [i.key for i in r.items] for r in own.steps}
        assert shown == {"ra-soat": ["2023-H1@nho-quan"]}  # not Gia Viễn's, not the Sở's own inspection
        assert "Nho Quan" in text and "Gia Viễn" not in text.split("2. Kết quả thực hiện")[1]
        all_rows = {r.step.id: [i.key for i in r.items] for r in every.steps}
        assert sorted(all_rows["ra-soat"]) == ["2023-H1@gia-vien", "2023-H1@hoa-lu", "2023-H1@nho-quan"]
        assert "kiem-tra" in all_rows and "bao-cao-huyen" in all_rows

    def test_the_drafts_a_tick_makes_together_read_as_each_would_alone(self, tmp_path, store_url):
        """The tick makes a day's drafts in one pass, sharing one read of the store (every step, every owner);
        each stored draft is the one made for it alone - on SQLite and on PostgreSQL."""
        from engine.reports.drafts import draft, render, window_of
        from engine.state.models import DocumentRecord

        plan = plan_with(tmp_path, extra=self.EXTRA)
        sessions = sessions_for(store_url)
        day = date(2023, 5, 29)
        while day <= date(2023, 12, 1):  # H1 reported by two districts, H2's reports open
            tick(plan, sessions, at(day))
            if day == date(2023, 6, 8):
                for unit in ("nho-quan", "hoa-lu"):
                    done_by(plan, sessions, unit, day)
            day = date.fromordinal(day.toordinal() + 1)
        with sessions() as s:
            stored = {(d.step_id, d.occurrence_key): (d.content.decode(), d.created_on) for d in s.scalars(
                select(DocumentRecord).where(DocumentRecord.plan_id == plan.id, DocumentRecord.format == "md"))}
            assert {k for k in stored if k[0] == "bao-cao-huyen"} == {
                ("bao-cao-huyen", f"{p}@{u}") for p in ("2023-H1", "2023-H2") for u in ("nho-quan", "gia-vien", "hoa-lu")}
            for (step_id, key), (text, made) in stored.items():
                row = s.scalars(select(OccurrenceRecord).where(OccurrenceRecord.plan_id == plan.id,
                                                               OccurrenceRecord.step_id == step_id,
                                                               OccurrenceRecord.key == key)).one()
                step = plan.step_by_id[step_id]
                alone = draft(plan, s, step, window_of(plan, step, key, row.due_on, row.opens_on), made, row.due_on,
                              key.partition("@")[2] or None)
                assert render(alone, "md").decode() == text, (step_id, key)
        h1_gia_vien = stored[("bao-cao-huyen", "2023-H1@gia-vien")][0]
        assert "Gia Viễn" in h1_gia_vien and "Nho Quan" not in h1_gia_vien.split("2. Kết quả thực hiện")[1]

    def test_a_compile_shows_the_period_it_waits_for_beside_a_report_drafted_with_it(self, tmp_path):
        """The province's compile waits for the districts' half-year reports (same period); the Sở's own report,
        drafted in the same pass, covers them too. The compile shows each district's report of the period as of
        the drafting day (they are due after its data cut-off); the Sở's own shows the window as of the cut-off.
        Each stored draft is the one made for it alone: the pass's shared facts keep the two views apart."""
        from engine.reports.drafts import draft, render, window_of
        from engine.state.models import DocumentRecord

        own = """\
  - id: bao-cao-so
    kind: report
    title: Báo cáo của Sở
    owner: so
    recipient: bo
    covers: [bao-cao-huyen]
    cutoff_day: 5
    timing: {half_yearly: {month: 6, day: 26}}
"""
        compile_ = COMPILE.replace("DEP", "{step: bao-cao-huyen, opens_anyway: true}").replace(
            "    timing:", "    cutoff_day: 5\n    timing:")
        plan = load_plan(write_plan(tmp_path / "giam-ngheo.yaml", DISTRICTS + compile_ + own, HEADER))
        sessions = sessions_for(f"sqlite:///{tmp_path / 'state.db'}")
        day = date(2023, 6, 1)
        while day <= date(2023, 6, 30):
            tick(plan, sessions, at(day))
            if day in (date(2023, 6, 9), date(2023, 6, 15)):  # after the data cut-off, before and after the drafts
                done_by(plan, sessions, "nho-quan" if day.day == 9 else "gia-vien", day)
            day = date.fromordinal(day.toordinal() + 1)
        with sessions() as s:
            docs = {d.step_id: d for d in s.scalars(select(DocumentRecord).where(
                DocumentRecord.format == "md", DocumentRecord.occurrence_key == "2023-H1",
                DocumentRecord.step_id.in_(["tong-hop", "bao-cao-so"])))}
            assert docs["tong-hop"].created_on == docs["bao-cao-so"].created_on == date(2023, 6, 12)
            for step_id, doc in docs.items():
                row = s.scalars(select(OccurrenceRecord).where(OccurrenceRecord.step_id == step_id,
                                                               OccurrenceRecord.key == "2023-H1")).one()
                step = plan.step_by_id[step_id]
                alone = draft(plan, s, step, window_of(plan, step, row.key, row.due_on, row.opens_on),
                              doc.created_on, row.due_on)
                assert render(alone, "md") == doc.content, step_id
        compiled, own_report = docs["tong-hop"].content.decode(), docs["bao-cao-so"].content.decode()
        assert "| UBND huyện Nho Quan | 12/06/2023 | 09/06/2023 |" in compiled
        assert "| UBND huyện Gia Viễn | 12/06/2023 | Đang thực hiện |" in compiled
        assert ("2.1. Báo cáo giảm nghèo của huyện**\n\nĐơn vị chủ trì: UBND huyện Nho Quan, UBND huyện Gia Viễn, "
                "UBND huyện Hoa Lư (mỗi đơn vị thực hiện riêng). Thời hạn: 6 tháng một lần, ngày 12/06 và 12/12.\n\n"
                "Trong kỳ chưa có lần thực hiện đến hạn; lần tiếp theo: hạn 12/06/2023.") in own_report

    def test_reports_of_one_owner_each_drafted_together_read_as_alone(self, tmp_path):
        """Four monthly reports of one owner each, opening the same days: the drafts of a tick share each covered
        step's facts and section; every stored draft is still the one made for it alone."""
        from engine.reports.drafts import draft, render, window_of
        from engine.runtime.simulate import ConfirmPolicy, simulate
        from engine.state.models import DocumentRecord

        steps = "".join(f"""\
  - id: bao-cao-{u}-{j}
    kind: report
    title: Báo cáo chuyên đề {j} của {u}
    owner: {u}
    recipient: so
    cutoff_day: 10
    timing: {{monthly: {14 + j}}}
""" for u in ("nho-quan", "gia-vien") for j in (1, 2))
        plan = load_plan(write_plan(tmp_path / "chuyen-de.yaml", steps, HEADER))
        sessions = sessions_for(f"sqlite:///{tmp_path / 'state.db'}")
        simulate(plan, sessions, date(2023, 1, 1), date(2023, 4, 30), ConfirmPolicy.parse("late:3"))
        with sessions() as s:
            stored = s.scalars(select(DocumentRecord).where(DocumentRecord.format == "md")).all()
            assert len(stored) == 16
            for doc in stored:
                row = s.scalars(select(OccurrenceRecord).where(OccurrenceRecord.step_id == doc.step_id,
                                                               OccurrenceRecord.key == doc.occurrence_key)).one()
                step = plan.step_by_id[doc.step_id]
                alone = draft(plan, s, step, window_of(plan, step, row.key, row.due_on, row.opens_on),
                              doc.created_on, row.due_on)
                assert render(alone, "md") == doc.content, (doc.step_id, doc.occurrence_key)
