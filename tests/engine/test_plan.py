"""The seed plan loads whole, with the calendar the written plan implies; includes stay in the plan's folder."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from engine.errors import PlanError
from engine.language.plan import PlanLoader
from tests.conftest import PLANS

INVALID = Path(__file__).resolve().parent / "invalid"


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
        from engine.language.plan import PlanLoader, plan_paths

        loader = PlanLoader()
        for path in plan_paths([PLANS]):
            loader.load(path)


class TestIncludes:
    """An include reads a YAML file of the plan's folder tree (or of KEHOACH_AGENCY_DIRS), nothing else."""

    PLAN = (INVALID / "include-outside-folder.yaml").read_text(encoding="utf-8")
    SECRET = "root-secret-line: hunter2"

    def plan_including(self, folder, *includes):
        text = self.PLAN.split("plan:", 1)[1]
        path = folder / "kh.yaml"
        path.write_text("include:\n" + "".join(f"  - {inc}\n" for inc in includes) + "plan:" + text, encoding="utf-8")
        return path

    def problems(self, path):
        with pytest.raises(PlanError) as info:
            PlanLoader().load(path)
        assert self.SECRET not in str(info.value) and "hunter2" not in str(info.value)
        return [(p.path, p.message) for p in info.value.problems]

    @pytest.fixture
    def outside(self, tmp_path):
        """A file outside the plan's folder that must never be read."""
        (tmp_path / "etc").mkdir()
        secret = tmp_path / "etc" / "shadow.yaml"
        secret.write_text(f"{self.SECRET}\n", encoding="utf-8")
        (tmp_path / "plans").mkdir()
        return secret

    def test_a_path_outside_the_folder_is_refused_unread(self, tmp_path, outside):
        path = self.plan_including(tmp_path / "plans", outside, "../etc/shadow.yaml")
        assert self.problems(path) == [
            ("include[0]", f"tệp cơ quan '{outside}' nằm ngoài thư mục của kế hoạch: chỉ include tệp trong thư mục "
                           "chứa tệp kế hoạch hoặc thư mục con của nó, hoặc khai báo thư mục đó trong "
                           "KEHOACH_AGENCY_DIRS"),
            ("include[1]", "tệp cơ quan '../etc/shadow.yaml' nằm ngoài thư mục của kế hoạch: chỉ include tệp trong "
                           "thư mục chứa tệp kế hoạch hoặc thư mục con của nó, hoặc khai báo thư mục đó trong "
                           "KEHOACH_AGENCY_DIRS"),
        ]

    def test_a_symbolic_link_out_of_the_folder_is_followed_and_refused(self, tmp_path, outside):
        (tmp_path / "plans" / "agencies").mkdir()
        (tmp_path / "plans" / "agencies" / "so.yaml").symlink_to(outside)
        path = self.plan_including(tmp_path / "plans", "agencies/so.yaml")
        assert self.problems(path) == [("include[0]", "tệp cơ quan 'agencies/so.yaml' nằm ngoài thư mục của kế hoạch: "
                                        "chỉ include tệp trong thư mục chứa tệp kế hoạch hoặc thư mục con của nó, "
                                        "hoặc khai báo thư mục đó trong KEHOACH_AGENCY_DIRS")]

    def test_a_symbolic_link_loop_is_a_located_problem(self, tmp_path, outside):
        (tmp_path / "plans" / "vong.yaml").symlink_to("vong.yaml")
        path = self.plan_including(tmp_path / "plans", "vong.yaml")
        assert self.problems(path) == [("include[0]", "không đọc được tệp cơ quan 'vong.yaml': liên kết tượng trưng "
                                        "trỏ vòng về chính nó")]

    def test_a_file_that_is_not_yaml_is_not_read(self, tmp_path, outside):
        (tmp_path / "plans" / ".env").write_text(f"{self.SECRET}\n", encoding="utf-8")
        path = self.plan_including(tmp_path / "plans", ".env")
        assert self.problems(path) == [("include[0]", "tệp cơ quan '.env' không phải tệp YAML: tên tệp cơ quan kết "
                                        "thúc bằng .yaml hoặc .yml")]

    def test_a_shared_agency_folder_may_be_allowed(self, tmp_path, monkeypatch):
        from tests.conftest import PLANS

        shared = tmp_path / "shared"
        shared.mkdir()
        (shared / "so.yaml").write_text((PLANS / "agencies" / "so-khcn-thai-nguyen.yaml").read_text(encoding="utf-8"),
                                        encoding="utf-8")
        (tmp_path / "plans").mkdir()
        path = self.plan_including(tmp_path / "plans", "../shared/so.yaml")
        assert [p for p, _ in self.problems(path)] == ["include[0]"]
        monkeypatch.setenv("KEHOACH_AGENCY_DIRS", str(shared))
        assert [a.agency.name for a in PlanLoader().load(path).agencies] == ["Sở Khoa học và Công nghệ"]


class TestBounds:
    """A small file cannot make a check take minutes: the calendar has a bounded number of occurrences."""

    def test_the_occurrences_of_a_plan_are_bounded_with_a_located_problem(self, tmp_path, monkeypatch):
        import engine.language.calendar

        monkeypatch.setattr(engine.language.calendar, "MAX_OCCURRENCES", 100)
        text = (INVALID / "period-too-long.yaml").read_text(encoding="utf-8")
        text = text.replace("start: 01/01/1900, end: 31/12/2199", "start: 01/01/2020, end: 31/12/2024")
        text += "".join(f"  - {{id: buoc-{i}, kind: disseminate, title: B, owner: van-phong, audience: [van-phong], "
                        f"timing: {{monthly: {i + 1}}}}}\n" for i in range(3))
        path = tmp_path / "kh.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(PlanError) as info:
            PlanLoader().load(path)
        (problem,) = info.value.problems
        assert (problem.line, problem.path) == (16, "steps.buoc-0.timing")  # 60 + 60 occurrences: the second step
        assert problem.message.startswith("đến bước này kế hoạch đã có hơn 100 lần thực hiện")
