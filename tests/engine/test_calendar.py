"""Recurrence rules of engine/calendar.py: the periods `except`/`only` leave out or keep, deadlines written
'trước ngày ...' on a recurrence, and how they read in Vietnamese."""

from __future__ import annotations

from datetime import date

import pytest

from engine.plan import load_plan
from tests.engine.state_helpers import write_plan

HEADER = """\
plan:
  number: 2/KH-THU
  title: Kế hoạch thử lịch lặp
  issuer: {name: Sở Thử nghiệm}
  issued_on: 01/01/2024
  period: {start: 01/01/2024, end: 31/12/2025}
units:
  vp: {name: Văn phòng}
defaults:
  on_non_working_day: keep
steps:
"""


def _calendar(tmp_path, timing: str):
    steps = f"""\
  - id: buoc
    kind: coordinate
    title: Việc lặp
    owner: vp
    partners: [vp]
    timing: {timing}
"""
    plan = load_plan(write_plan(tmp_path / "lap.yaml", steps, HEADER))
    return plan.calendar["buoc"].describe, [(o.key, o.nominal_due) for o in plan.occurrences("buoc")]


class TestExceptAndOnly:
    def test_quarterly_except_q2_and_q4_the_decree_09_pattern(self, tmp_path):
        describe, occ = _calendar(tmp_path, "{quarterly: {month: 3, day: 15}, except: [Q2, Q4]}")
        assert [k for k, _ in occ] == ["2024-Q1", "2024-Q3", "2025-Q1", "2025-Q3"]
        assert describe == "hằng quý, ngày 15 tháng thứ 3 của quý, trừ quý II, quý IV"

    def test_a_yearly_review_except_the_mid_term_year(self, tmp_path):
        describe, occ = _calendar(tmp_path, '{yearly: "20/12", except: [2024]}')
        assert occ == [("2025", date(2025, 12, 20))]
        assert describe.endswith("trừ năm 2024")

    def test_monthly_except_december_and_one_period(self, tmp_path):
        _, occ = _calendar(tmp_path, '{monthly: 25, except: [12, "2024-06"]}')
        keys = [k for k, _ in occ]
        assert len(keys) == 21 and "2024-12" not in keys and "2025-12" not in keys and "2024-06" not in keys

    def test_only_keeps_the_periods_named(self, tmp_path):
        describe, occ = _calendar(tmp_path, "{half_yearly: {month: 6, day: 15}, only: [H2]}")
        assert [k for k, _ in occ] == ["2024-H2", "2025-H2"]
        assert describe.endswith("chỉ 6 tháng cuối năm")

    def test_a_half_year_on_a_quarterly_recurrence_means_its_two_quarters(self, tmp_path):
        _, occ = _calendar(tmp_path, "{quarterly: {month: 1, day: 20}, except: [H1]}")
        assert [k for k, _ in occ] == ["2024-Q3", "2024-Q4", "2025-Q3", "2025-Q4"]

    def test_ongoing_check_ins_take_them_too(self, tmp_path):
        _, occ = _calendar(tmp_path, "{ongoing: {check_in: quarterly}, except: [Q4]}")
        assert [k for k, _ in occ] == ["2024-Q1", "2024-Q2", "2024-Q3", "2025-Q1", "2025-Q2", "2025-Q3"]


class TestBeforeOnARecurrence:
    def test_yearly_before_20_november_is_due_on_the_19th(self, tmp_path):
        describe, occ = _calendar(tmp_path, "{yearly: {before: 20/11}}")
        assert occ == [("2024", date(2024, 11, 19)), ("2025", date(2025, 11, 19))]
        assert describe == "hằng năm, trước ngày 20/11"

    def test_quarterly_before_the_20th_of_the_quarters_first_month(self, tmp_path):
        describe, occ = _calendar(tmp_path, "{quarterly: {month: 1, before: 20}}")
        assert occ[:2] == [("2024-Q1", date(2024, 1, 19)), ("2024-Q2", date(2024, 4, 19))]
        assert describe == "hằng quý, trước ngày 20 tháng thứ 1 của quý"

    def test_before_the_first_is_the_last_day_of_the_month_before_keyed_by_it(self, tmp_path):
        _, occ = _calendar(tmp_path, "{monthly: {before: 1}}")
        assert occ[0] == ("2024-01", date(2024, 1, 31)) and occ[1] == ("2024-02", date(2024, 2, 29))
        assert occ[-1] == ("2025-12", date(2025, 12, 31)) and len(occ) == 24

    def test_before_1_march_every_year_is_the_last_day_of_february(self, tmp_path):
        _, occ = _calendar(tmp_path, "{yearly: {before: 01/03}}")
        assert [d for _, d in occ] == [date(2024, 2, 29), date(2025, 2, 28)]

    @pytest.mark.parametrize("timing", ["{monthly: 31}", "{quarterly: {month: 3, day: 15}}",
                                        '{yearly: "31/10"}'])
    def test_the_written_day_keeps_its_keys(self, tmp_path, timing):
        _, occ = _calendar(tmp_path, timing)
        assert all(k.startswith(str(d.year)) for k, d in occ)
