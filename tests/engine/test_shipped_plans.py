"""The shipped plans load, together use every part of the plan language, and date their steps as written."""

from __future__ import annotations

from datetime import date
from typing import Any, get_args

import pytest

from engine.models import KINDS
from engine.models.steps import Report, Review
from engine.models.timing import After, Deadline, OnDemand, Timing
from engine.plan import Plan, PlanLoader, plan_paths
from tests.conftest import PLANS

CCHC = PLANS / "kh-07-khcn-2024.yaml"
CDS = PLANS / "kh-15-ubnd-phu-binh-2024.yaml"


def _timing_classes() -> set[type]:
    """Every timing form of the language, read from the Timing union so a new form cannot be forgotten."""
    union = get_args(Timing)[0]
    return {get_args(member)[0] for member in get_args(union)}


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    loader = PlanLoader()
    return {p.name: loader.load(p) for p in plan_paths([PLANS, PLANS / "ninh-binh"])}


@pytest.fixture(scope="module")
def steps(plans) -> list[Any]:
    return [s for plan in plans.values() for s in plan.steps]


@pytest.fixture(scope="module")
def cchc(plans) -> Plan:
    return plans[CCHC.name]


@pytest.fixture(scope="module")
def cds(plans) -> Plan:
    return plans[CDS.name]


def _occ(plan: Plan, step_id: str, key: str):
    return next(o for o in plan.occurrences(step_id) if o.key == key)


class TestLanguageCoverage:
    """Together the shipped plans are a worked example of every construct a plan author can write."""

    def test_there_are_several_plans(self, plans):
        assert {CCHC.name, CDS.name, "kh-28-khcn-2022.yaml"} <= set(plans)

    def test_every_timing_form_is_used(self, steps):
        used = {type(s.timing) for s in steps}
        assert _timing_classes() - used == set()

    def test_every_variant_of_a_form_is_used(self, steps):
        deadlines = [s.timing for s in steps if isinstance(s.timing, Deadline)]
        assert any(t.due and not t.start for t in deadlines), "a plain 'due' deadline"
        assert any(t.before for t in deadlines), "a 'before' deadline"
        assert any(t.start for t in deadlines), "a window (start + due)"
        afters = [s.timing.after for s in steps if isinstance(s.timing, After)]
        assert any(a.days is not None for a in afters) and any(a.working_days is not None for a in afters)
        demands = [s.timing.on_demand for s in steps if isinstance(s.timing, OnDemand)]
        assert any(d.days is not None for d in demands) and any(d.working_days is not None for d in demands)

    def test_recurrences_bounded_by_their_own_from_and_with_periods_left_out(self, steps):
        bounded = [s.timing for s in steps if hasattr(s.timing, "from_")]
        assert any(t.from_ is not None for t in bounded)
        assert any(t.except_ is not None for t in bounded), "a recurrence with periods left out"
        assert any(not isinstance(getattr(t, "yearly", ""), str) for t in bounded), "a recurring 'before' deadline"

    def test_every_kind_is_used(self, steps):
        assert {s.kind for s in steps} == set(KINDS)
        assert {s.level for s in steps if isinstance(s, Review)} == {"interim", "final"}

    def test_reports_name_recipient_period_and_cutoff(self, steps):
        reports = [s for s in steps if isinstance(s, Report)]
        assert {r.period for r in reports} >= {"month", "quarter", "half_year", "year"}
        assert {r.cutoff_day for r in reports} - {14}, "some report sets its own cut-off day"
        assert any(r.cutoff_month for r in reports)

    def test_reminders_escalation_policy_and_confirmation(self, steps, plans):
        reminders = [s.reminders for s in steps if s.reminders]
        assert any(r.days_before for r in reminders)
        assert any(r.working_days_before for r in reminders)
        assert any(r.on for r in reminders)
        assert any(s.escalation and s.escalation.to for s in steps)
        policies = {s.on_non_working_day for s in steps} | {p.default_policy.on_non_working_day for p in plans.values()}
        assert {"keep", "previous", "next"} <= policies
        evidence = {e for s in steps for e in s.confirmation.requires}
        assert {"document_number", "date", "attendees", "link"} <= evidence

    def test_calendars_at_plan_and_agency_level(self, plans):
        assert any(p.file.calendar.holidays and p.file.calendar.working_days for p in plans.values())
        assert any(a.calendar.holidays for p in plans.values() for a in p.agencies)

    def test_both_agency_files_are_shared(self, plans):
        included = {inc for p in plans.values() for inc in p.file.include}
        assert included >= {"agencies/so-khcn-thai-nguyen.yaml", "agencies/ubnd-huyen-phu-binh.yaml"}
        assert sum("agencies/so-khcn-thai-nguyen.yaml" in p.file.include for p in plans.values()) >= 2


class TestAdministrativeReformPlan:
    """Kế hoạch 07/KH-KHCN: cải cách hành chính năm 2024 of the Department (its agency file is shared with 28/KH-KHCN)."""

    def test_header_and_agency(self, cchc):
        assert cchc.meta.number == "07/KH-KHCN"
        assert cchc.issuer.name == "Sở Khoa học và Công nghệ"
        assert cchc.units["so-noi-vu"].external

    def test_quarterly_report_on_day_16_of_the_third_month_except_the_fourth_quarter(self, cchc):
        occs = cchc.occurrences("bao-cao-quy")
        assert [o.key for o in occs] == ["2024-Q1", "2024-Q2", "2024-Q3"]  # except Q4: the yearly report covers it
        assert [o.nominal_due for o in occs] == [date(2024, 3, 16), date(2024, 6, 16), date(2024, 9, 16)]
        assert [o.due for o in occs] == [date(2024, 3, 15), date(2024, 6, 14), date(2024, 9, 16)]  # Sat, Sun -> Fri

    def test_monthly_report_starts_from_february(self, cchc):
        occs = cchc.occurrences("bao-cao-tthc-thang")
        assert occs[0].key == "2024-02" and len(occs) == 11
        assert _occ(cchc, "bao-cao-tthc-thang", "2024-04").due == date(2024, 4, 19)  # 20/04 is a Saturday

    def test_working_days_after_dissemination_skip_tet(self, cchc):
        (occ,) = cchc.occurrences("tuyen-truyen-cchc")
        assert occ.projected
        # 31/01/2024 + 10 working days, skipping the weekends and Tết Giáp Thìn (08-14/02/2024)
        assert occ.due == date(2024, 2, 21)

    def test_window_due_on_sunday_moves_to_friday(self, cchc):
        (occ,) = cchc.occurrences("ra-soat-tthc")
        assert occ.opens == date(2024, 3, 1)
        assert (occ.nominal_due, occ.due) == (date(2024, 6, 30), date(2024, 6, 28))

    def test_milestone_in_the_year(self, cchc):
        (occ,) = cchc.occurrences("ra-soat-van-ban")
        assert (occ.key, occ.due) == ("2024", date(2024, 10, 31))

    def test_final_review_two_weeks_after_the_yearly_report(self, cchc):
        (occ,) = cchc.occurrences("tong-ket")
        assert occ.due == date(2024, 12, 24) and occ.projected


class TestDigitalTransformationPlan:
    """Kế hoạch 15/KH-UBND: chuyển đổi số of a district People's Committee, 2024-2025."""

    def test_header_and_agency(self, cds):
        assert cds.meta.number == "15/KH-UBND"
        assert cds.issuer.name == "Ủy ban nhân dân huyện Phú Bình"
        assert cds.default_policy.opens_before_days == 10

    def test_deadline_on_tet_moves_to_the_previous_working_day(self, cds):
        (occ,) = cds.occurrences("dti-2024")
        assert occ.nominal_due == date(2025, 1, 31)  # "trước ngày 01/02/2025": Mùng ba Tết Ất Tỵ
        assert occ.due == date(2025, 1, 24)  # the Friday before the Tết break (25/01-02/02/2025)
        assert date(2025, 1, 20) in occ.reminders  # the reminder written as a date

    def test_deadline_on_tet_moves_to_the_next_working_day(self, cds):
        occ = _occ(cds, "bao-cao-to-cnscd", "2025-01")
        assert occ.nominal_due == date(2025, 1, 31)
        assert occ.due == date(2025, 2, 3)  # the Monday after Tết

    def test_next_skips_a_weekend_and_the_national_day(self, cds):
        assert _occ(cds, "bao-cao-to-cnscd", "2024-08").due == date(2024, 9, 4)  # 31/08 Sat, 02-03/09 holidays

    def test_keep_leaves_a_sunday_alone(self, cds):
        occ = _occ(cds, "tuyen-truyen", "2024-Q1")
        assert occ.due == occ.nominal_due == date(2024, 3, 31)

    def test_half_yearly_and_yearly(self, cds):
        assert [o.key for o in cds.occurrences("bao-cao-6-thang")] == ["2024-H1", "2024-H2", "2025-H1", "2025-H2"]
        assert _occ(cds, "bao-cao-6-thang", "2024-H1").due == date(2024, 6, 14)
        assert [(o.key, o.due) for o in cds.occurrences("ngay-cds")] == [
            ("2024", date(2024, 10, 10)),
            ("2025", date(2025, 10, 10)),
        ]

    def test_after_days_from_the_interim_review(self, cds):
        (occ,) = cds.occurrences("dieu-chinh-nhiem-vu")
        assert occ.nominal_due == date(2025, 1, 19)  # 20/12/2024 + 30 days, a Sunday
        assert occ.due == date(2025, 1, 17)

    def test_plan_calendar_adds_a_day_off_and_a_swapped_saturday(self, cds, cchc):
        assert not cds.workdays.is_working_day(date(2024, 4, 19))
        assert cds.workdays.is_working_day(date(2024, 5, 11))
        assert cchc.workdays.is_working_day(date(2024, 4, 19))  # only the district's plan has them
        assert not cchc.workdays.is_working_day(date(2024, 5, 11))

    def test_on_demand_has_no_occurrence(self, cds):
        assert cds.calendar["cung-cap-so-lieu"].on_demand
        assert cds.occurrences("cung-cap-so-lieu") == []
