"""Reporting periods and their data cut-off windows (Decree 09/2019), as engine/language/periods.py computes them."""

from __future__ import annotations

from datetime import date

import pytest

from engine.errors import ReportError
from engine.language.periods import key_label, make_window, occurrence_window, parse_period, report_window


class TestDecreeWindows:
    def test_yearly_window_runs_from_15_december_to_14_december(self):
        w = make_window("year", 2023, 1)
        assert (w.start, w.end) == (date(2022, 12, 15), date(2023, 12, 14))
        assert w.label == "năm 2023"

    def test_half_years_meet_at_the_cut_off(self):
        h1, h2 = make_window("half_year", 2023, 1), make_window("half_year", 2023, 2)
        assert (h1.start, h1.end) == (date(2022, 12, 15), date(2023, 6, 14))
        assert (h2.start, h2.end) == (date(2023, 6, 15), date(2023, 12, 14))
        assert h1.label == "6 tháng đầu năm 2023"

    def test_quarter_starts_on_the_15th_of_the_month_before(self):
        w = make_window("quarter", 2023, 2)
        assert (w.start, w.end) == (date(2023, 3, 15), date(2023, 6, 14))
        assert w.label == "quý II năm 2023"

    def test_month_with_a_cut_off_past_its_end_takes_its_last_day(self):
        w = make_window("month", 2023, 3, cutoff_day=30)
        assert (w.start, w.end) == (date(2023, 3, 1), date(2023, 3, 30))  # February has no 30th: it ends on the 28th
        assert make_window("month", 2024, 2, cutoff_day=30).end == date(2024, 2, 29)

    def test_cutoff_month_moves_the_yearly_window(self):
        w = make_window("year", 2023, 1, cutoff_day=15, cutoff_month=10)
        assert (w.start, w.end) == (date(2022, 10, 16), date(2023, 10, 15))


class TestPeriodSyntax:
    @pytest.mark.parametrize("text, expected", [
        ("2023", ("year", 2023, 1)), ("2023-H2", ("half_year", 2023, 2)), ("2023-q3", ("quarter", 2023, 3)),
        ("2023-05", ("month", 2023, 5)),
    ])
    def test_accepted_forms(self, text, expected):
        assert parse_period(text) == expected

    @pytest.mark.parametrize("text", ["2023-Q5", "2023-13", "2023-H3", "23", "năm 2023", "", "2023-5"])
    def test_unknown_periods_are_refused_with_the_forms_accepted(self, text):
        with pytest.raises(ReportError, match=r"kỳ báo cáo '.*' không hợp lệ: viết .*2023-H1.*2023-Q2.*2023-05"):
            parse_period(text)

    def test_key_labels(self):
        assert key_label("2023-Q2") == "quý II/2023"
        assert key_label("2023-05") == "tháng 5/2023"
        assert key_label("2023-H2") == "6 tháng cuối năm 2023"
        assert key_label("2023") == "năm 2023"
        assert key_label("yc-2023-05-10") == "theo yêu cầu ngày 10/05/2023"
        assert key_label("once") == ""


class TestSeedReport:
    def test_the_seed_yearly_report_covers_16_october_to_15_october(self, seed_plan):
        step = seed_plan.step_by_id["bao-cao-hang-nam"]
        w = report_window(seed_plan, step, "2023")
        assert (w.start, w.end) == (date(2022, 10, 16), date(2023, 10, 15))

    def test_the_first_window_starts_with_the_plan(self, seed_plan):
        w = report_window(seed_plan, seed_plan.step_by_id["bao-cao-hang-nam"], "2022")
        assert (w.start, w.end) == (date(2022, 3, 16), date(2022, 10, 15))

    def test_a_yearly_step_refuses_a_quarter(self, seed_plan):
        with pytest.raises(ReportError, match=r"'bao-cao-hang-nam'.*'2023', không phải '2023-Q2'"):
            report_window(seed_plan, seed_plan.step_by_id["bao-cao-hang-nam"], "2023-Q2")

    def test_a_period_outside_the_plan_is_refused(self, seed_plan):
        with pytest.raises(ReportError, match="nằm ngoài thời gian thực hiện kế hoạch"):
            report_window(seed_plan, seed_plan.step_by_id["bao-cao-hang-nam"], "2030")

    def test_an_occurrence_key_names_its_period(self, seed_plan):
        step = seed_plan.step_by_id["bao-cao-hang-nam"]
        (occ,) = [o for o in seed_plan.occurrences(step.id) if o.key == "2024"]
        w = occurrence_window(seed_plan, step, occ.key, occ.due, occ.opens)
        assert (w.key, w.start, w.end) == ("2024", date(2023, 10, 16), date(2024, 10, 15))

    def test_an_on_demand_report_covers_the_plan_up_to_the_request(self, seed_plan):
        step = seed_plan.step_by_id["bao-cao-theo-yeu-cau"]
        w = occurrence_window(seed_plan, step, "yc-2023-05-10", date(2023, 5, 17), date(2023, 5, 10))
        assert (w.start, w.end) == (date(2022, 3, 16), date(2023, 5, 10))


REGIME = """\
plan:
  number: 5/KH-UBND
  title: Kế hoạch thử kỳ báo cáo
  issuer: {{name: Ủy ban nhân dân tỉnh Thử}}
  issued_on: {start}
  period: {{start: {start}, end: {end}}}
units:
  vp: {{name: Văn phòng, notify: [vp]}}
  snv: {{name: Sở Nội vụ, external: true}}
defaults:
  on_non_working_day: previous
  opens_before_days: 10
steps:
  - id: viec
    kind: coordinate
    title: Phối hợp thường xuyên
    owner: vp
    partners: [snv]
    timing: {{start: {start}, due: {end}}}
"""


def _regime(tmp_path, steps: str, start: str = "01/01/2025", end: str = "31/12/2025"):
    from engine.language.plan import load_plan
    from tests.engine.state_helpers import write_plan

    return load_plan(write_plan(tmp_path / "che-do.yaml", steps, REGIME.format(start=start, end=end)))


def _report(step_id: str, timing: str, *extra: str) -> str:
    """A report step of the test regime, owned by the office and sent to Sở Nội vụ."""
    lines = [f"  - id: {step_id}", "    kind: report", f"    title: Báo cáo {step_id}", "    owner: vp",
             "    recipient: snv", *(f"    {e}" for e in extra), f"    timing: {timing}"]
    return "\n".join(lines) + "\n"


def _opened_draft(plan, tmp_path, step_id: str, until: date) -> tuple[str, bytes]:
    """Simulate the plan up to `until` with the real drafts, and return the stored Markdown draft of the step's
    only occurrence: (occurrence key, text)."""
    from sqlalchemy import select

    from engine.runtime.simulate import ConfirmPolicy, simulate
    from engine.state.models import DocumentRecord
    from tests.engine.state_helpers import sessions_for

    sessions = sessions_for(f"sqlite:///{tmp_path / 'state.db'}")
    simulate(plan, sessions, plan.meta.period.start, until, ConfirmPolicy.parse("never"))
    with sessions() as s:
        (doc,) = s.scalars(select(DocumentRecord).where(DocumentRecord.step_id == step_id,
                                                         DocumentRecord.format == "md")).all()
        return doc.occurrence_key, doc.content.decode()


class TestDraftsTakeTheirPeriodFromTheOccurrence:
    """Issue 12's defect: the draft made when a report opens was dated from its deadline after the move off a day
    off (15/06/2025 is a Sunday, moved to Friday 13/06: '6 tháng cuối năm 2024')."""

    def test_a_half_year_report_due_on_a_sunday_is_the_first_half(self, tmp_path):
        plan = _regime(tmp_path, _report("bao-cao-6-thang", '{yearly: "15/06"}', "period: half_year"))
        (occ,) = plan.occurrences("bao-cao-6-thang")
        assert (occ.nominal_due, occ.due) == (date(2025, 6, 15), date(2025, 6, 13))
        key, md = _opened_draft(plan, tmp_path, "bao-cao-6-thang", date(2025, 6, 10))
        assert key == "2025"
        assert "6 tháng đầu năm 2025" in md and "6 tháng cuối năm 2024" not in md
        assert "từ ngày 01/01/2025 đến ngày 14/06/2025" in md  # 15/12/2024 cut to the plan's start

    def test_a_final_report_of_a_five_year_plan_covers_the_plan(self, tmp_path):
        plan = _regime(tmp_path, _report("tong-ket-giai-doan", "{due: 10/12/2010}"), start="01/01/2006",
                       end="31/12/2010")
        _, md = _opened_draft(plan, tmp_path, "tong-ket-giai-doan", date(2010, 12, 1))
        assert "năm 2009" not in md
        assert "từ ngày 01/01/2006 đến ngày 14/11/2010" in md  # to the cut-off (day 14) before the deadline

    def test_a_mid_term_evaluation_ends_at_its_cut_off_before_the_deadline(self, tmp_path):
        plan = _regime(tmp_path, _report("danh-gia-giua-ky", '{in_year: 2023, due: "30/06"}'), start="01/01/2021",
                       end="31/12/2025")
        step = plan.step_by_id["danh-gia-giua-ky"]
        (occ,) = plan.occurrences(step.id)
        w = occurrence_window(plan, step, occ.key, occ.due, occ.opens)
        assert (w.start, w.end) == (date(2021, 1, 1), date(2023, 6, 14))

    def test_an_extension_does_not_move_the_period(self, tmp_path):
        plan = _regime(tmp_path, _report("bao-cao-quy", "{quarterly: {month: 3, day: 20}}"))
        step = plan.step_by_id["bao-cao-quy"]
        w = occurrence_window(plan, step, "2025-Q1", date(2025, 4, 30), date(2025, 3, 10))  # extended to 30/04
        assert (w.label, w.end) == ("quý I năm 2025", date(2025, 3, 14))


class TestWhatAStepCovers:
    def test_a_yearly_review_covers_its_year(self, tmp_path):
        plan = _regime(tmp_path, """\
  - id: so-ket-nam
    kind: review
    level: interim
    title: Sơ kết năm
    owner: vp
    timing: {yearly: "20/12"}
""", start="01/01/2023", end="31/12/2025")
        step = plan.step_by_id["so-ket-nam"]
        occ = next(o for o in plan.occurrences(step.id) if o.key == "2024")
        w = occurrence_window(plan, step, occ.key, occ.due, occ.opens)
        assert (w.label, w.start, w.end) == ("năm 2024", date(2023, 12, 15), date(2024, 12, 14))

    def test_a_span_written_out(self, tmp_path):
        plan = _regime(tmp_path, """\
  - id: danh-gia
    kind: review
    level: interim
    title: Đánh giá 2,5 năm
    owner: vp
    period: {from: 01/01/2021, to: 30/06/2023}
    timing: {due: 15/07/2023}
""", start="01/01/2021", end="31/12/2025")
        step = plan.step_by_id["danh-gia"]
        (occ,) = plan.occurrences(step.id)
        w = occurrence_window(plan, step, occ.key, occ.due, occ.opens)
        assert (w.start, w.end, w.label) == (date(2021, 1, 1), date(2023, 6, 30), "từ ngày 01/01/2021 đến ngày 30/06/2023")

    def test_period_plan_on_a_recurring_report_covers_the_plan_so_far(self, tmp_path):
        plan = _regime(tmp_path, _report("luy-ke", "{half_yearly: {month: 6, day: 20}}", "period: plan"))
        step = plan.step_by_id["luy-ke"]
        occ = next(o for o in plan.occurrences(step.id) if o.key == "2025-H2")
        w = occurrence_window(plan, step, occ.key, occ.due, occ.opens)
        assert (w.start, w.end) == (date(2025, 1, 1), date(2025, 12, 14))

    def test_data_to_the_end_of_the_quarters_second_month(self, tmp_path):
        plan = _regime(tmp_path, _report("bao-cao-quy", "{quarterly: {month: 3, day: 10}}", "cutoff_month: 2",
                                         "cutoff_day: 31"))
        step = plan.step_by_id["bao-cao-quy"]
        w = occurrence_window(plan, step, "2025-Q2", date(2025, 6, 10), date(2025, 5, 31))
        assert (w.label, w.start, w.end) == ("quý II năm 2025", date(2025, 3, 1), date(2025, 5, 31))


class TestReportsOnThePeriodBefore:
    """`for_period: previous`: a monthly report due on the 5th for last month, a yearly report due 15/01 for last
    year - keyed, windowed, opened and drafted for the period reported on, not the one the deadline falls in."""

    def test_the_key_names_the_month_before_and_a_month_before_the_plan_has_none(self, tmp_path):
        plan = _regime(tmp_path, _report("bao-cao-thang", "{monthly: 5, for_period: previous}"), end="31/01/2026")
        occs = plan.occurrences("bao-cao-thang")
        assert [o.key for o in occs[:2]] == ["2025-01", "2025-02"]  # 05/01/2025 (for December 2024) left out
        assert (occs[0].nominal_due, occs[-1].key, occs[-1].nominal_due) == (date(2025, 2, 5), "2025-12",
                                                                             date(2026, 1, 5))
        assert occs[0].opens == date(2025, 2, 1)  # opens once January is over, not 14 days before the 5th

    def test_the_data_runs_to_the_end_of_the_month_and_the_draft_says_which_month(self, tmp_path):
        plan = _regime(tmp_path, _report("bao-cao-thang", "{monthly: 5, for_period: previous, only: [3]}"))
        step = plan.step_by_id["bao-cao-thang"]
        (occ,) = plan.occurrences(step.id)
        w = occurrence_window(plan, step, occ.key, occ.due, occ.opens)
        assert (occ.key, w.label, w.start, w.end) == ("2025-03", "tháng 3 năm 2025", date(2025, 3, 1),
                                                      date(2025, 3, 31))
        key, md = _opened_draft(plan, tmp_path, step.id, date(2025, 4, 2))
        assert key == "2025-03" and "tháng 3 năm 2025" in md and "tháng 4 năm 2025" not in md

    def test_a_yearly_report_in_january_is_for_the_year_before(self, tmp_path):
        from engine.language.calendar import describe_timing

        plan = _regime(tmp_path, _report("bao-cao-nam", '{yearly: "15/01", for_period: previous}', "cutoff_day: 15",
                                         "cutoff_month: 12"), start="01/01/2024", end="31/01/2026")
        step = plan.step_by_id["bao-cao-nam"]
        assert [o.key for o in plan.occurrences(step.id)] == ["2024", "2025"]
        w = occurrence_window(plan, step, "2025", date(2026, 1, 15), date(2026, 1, 1))
        assert (w.start, w.end) == (date(2024, 12, 16), date(2025, 12, 15))
        assert describe_timing(step.timing) == "hằng năm, hạn 15/01, cho năm trước"
