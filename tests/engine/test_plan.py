"""The seed plan loads whole, with the calendar the written plan implies."""

from __future__ import annotations

from datetime import date

from tests.conftest import PLANS


class TestSeedPlan:
    def test_every_item_of_the_seed_is_a_step(self, seed_plan):
        kinds = {s.id: s.kind for s in seed_plan.steps}
        assert kinds == {
            "quan-triet": "disseminate",
            "dang-website": "disseminate",
            "nang-cao-nhan-thuc": "disseminate",
            "phoi-hop-mttq": "coordinate",
            "quy-che-phoi-hop": "coordinate",
            "cung-cap-thong-tin": "disseminate",
            "ho-tro-hoi-dong-tu-van": "coordinate",
            "so-ket": "review",
            "tong-ket": "review",
            "bao-cao-hang-nam": "report",
            "bao-cao-theo-yeu-cau": "report",
        }

    def test_dissemination_before_20_march_moves_off_the_weekend(self, seed_plan):
        (occ,) = seed_plan.occurrences("quan-triet")
        assert occ.nominal_due == date(2022, 3, 19)  # "trước ngày 20/3/2022"
        assert occ.due == date(2022, 3, 18)  # 19/03/2022 is a Saturday: previous working day

    def test_yearly_report_for_each_year_before_1_november(self, seed_plan):
        occs = seed_plan.occurrences("bao-cao-hang-nam")
        assert [o.key for o in occs] == ["2022", "2023", "2024", "2025"]
        assert all(o.nominal_due.month == 10 and o.nominal_due.day == 31 for o in occs)

    def test_final_review_after_interim(self, seed_plan):
        assert "so-ket" in seed_plan.step_by_id["tong-ket"].depends_on
        assert seed_plan.occurrences("so-ket")[0].due.year == 2023
        assert seed_plan.occurrences("tong-ket")[0].due.year == 2025

    def test_units_come_from_the_agency_file(self, seed_plan):
        assert seed_plan.units["so-noi-vu"].external
        assert seed_plan.issuer.name == "Sở Khoa học và Công nghệ"
        assert seed_plan.default_policy.escalation.to == ["lanh-dao-so"]

    def test_on_request_report_has_no_dated_occurrence(self, seed_plan):
        assert seed_plan.calendar["bao-cao-theo-yeu-cau"].on_demand
        assert seed_plan.occurrences("bao-cao-theo-yeu-cau") == []

    def test_all_shipped_plans_are_valid(self):
        from engine.plan import PlanLoader, plan_paths

        loader = PlanLoader()
        for path in plan_paths([PLANS]):
            loader.load(path)
