"""Reporting periods and their data cut-off windows (Decree 09/2019), as engine/reports/periods.py computes them."""

from __future__ import annotations

from datetime import date

import pytest

from engine.reports import ReportError
from engine.reports.periods import key_label, make_window, occurrence_window, parse_period, report_window


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
        with pytest.raises(ReportError, match=r"unknown period.*2023-H1.*2023-Q2.*2023-05"):
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
        with pytest.raises(ReportError, match="outside the plan"):
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
