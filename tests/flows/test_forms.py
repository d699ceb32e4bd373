"""The forms' schemas (what the Prefect UI draws) and the checks of what an official typed (flows.answers)."""

from __future__ import annotations

from datetime import date

import pytest

from engine.language.periods import ONLY_ONE, occurrence_label
from engine.language.plan import PlanLoader, plan_paths
from flows.answers import Answers, FormError, joined
from flows.forms import EVIDENCE_FIELDS, confirm_schema, extend_schema, form_name, occurrence_choices
from tests.conftest import PLANS


def fields(schema):
    return {name: (p["title"], p.get("format") or p["type"]) for name, p in schema["properties"].items()}


class TestConfirmForm:
    def test_quan_triet_asks_exactly_for_its_evidence(self, seed_plan):
        schema = confirm_schema(seed_plan, seed_plan.step_by_id["quan-triet"])
        assert fields(schema) == {
            "occurrence": ("Lần thực hiện", "string"), "by": ("Người xác nhận", "string"),
            "done_on": ("Ngày hoàn thành", "date"), "date": ("Ngày thực hiện", "date"),
            "attendees": ("Số người tham dự", "integer"), "result": ("Kết quả thực hiện", "string")}
        assert [p["position"] for p in schema["properties"].values()] == list(range(6))
        assert schema["properties"]["occurrence"]["enum"] == [ONLY_ONE]

    def test_the_yearly_report_offers_its_years_and_asks_for_a_document_number(self, seed_plan):
        schema = confirm_schema(seed_plan, seed_plan.step_by_id["bao-cao-hang-nam"])
        assert list(schema["properties"]) == ["occurrence", "by", "done_on", "document_number", "result"]
        occurrence = schema["properties"]["occurrence"]
        assert occurrence["enum"] == ["năm 2022", "năm 2023", "năm 2024", "năm 2025"]
        assert occurrence["description"].startswith("**Kế hoạch số 28/KH-KHCN**: Tổng hợp, báo cáo kết quả")

    def test_an_on_demand_step_takes_the_occurrence_as_text(self, seed_plan):
        occurrence = confirm_schema(seed_plan, seed_plan.step_by_id["bao-cao-theo-yeu-cau"])["properties"][
            "occurrence"]
        assert "enum" not in occurrence and "theo yêu cầu ngày" in occurrence["description"]

    def test_every_field_is_required_typed_and_never_nullable(self):
        """No "(Optional)" after a title, no "None" toggle: no anyOf, no null, every property required."""
        for path in plan_paths([PLANS]):
            plan = PlanLoader().load(path)
            for step in plan.steps:
                for schema in (confirm_schema(plan, step), extend_schema(plan, step)):
                    assert schema["required"] == list(schema["properties"])
                    for prop in schema["properties"].values():
                        assert prop["type"] in ("string", "integer") and "anyOf" not in prop
                        assert prop["title"][0].isupper() and prop["description"]

    def test_evidence_inputs(self):
        assert {k: v.get("format") or v["type"] for k, v in EVIDENCE_FIELDS.items()} == {
            "document_number": "string", "document_date": "date", "date": "date", "attendees": "integer",
            "link": "string", "place": "string", "note": "string"}


class TestExtendForm:
    def test_fields(self, seed_plan):
        schema = extend_schema(seed_plan, seed_plan.step_by_id["bao-cao-hang-nam"])
        assert fields(schema) == {"occurrence": ("Lần thực hiện", "string"), "to": ("Hạn mới", "date"),
                                  "by": ("Người quyết định gia hạn", "string"),
                                  "reason": ("Lý do gia hạn", "string")}


class TestOccurrences:
    @pytest.mark.parametrize(("key", "label"), [
        ("once", ONLY_ONE), ("2023", "năm 2023"), ("2023-Q2", "quý II/2023"),
        ("2023-H1", "6 tháng đầu năm 2023"), ("2023-05", "tháng 5/2023"),
        ("yc-2024-05-02", "theo yêu cầu ngày 02/05/2024"),
    ])
    def test_labels(self, key, label):
        assert occurrence_label(key) == label

    def test_choices_follow_the_calendar(self, seed_plan):
        choices = occurrence_choices(seed_plan, "phoi-hop-mttq")
        assert list(choices)[:2] == ["quý II/2022", "quý III/2022"] and choices["quý II/2022"] == "2022-Q2"

    def test_form_names_have_no_character_prefect_forbids(self):
        assert form_name("kh-28-khcn-2022", "quan-triet") == "kh-28-khcn-2022:quan-triet"


class TestAnswers:
    TODAY = date(2023, 10, 26)

    def test_good_values(self):
        a = Answers(self.TODAY)
        assert a.name("  Nguyễn   Văn An ", "họ tên") == "Nguyễn Văn An"
        assert a.day("2023-10-20", "ngày") == date(2023, 10, 20) == a.day("20/10/2023", "ngày")
        assert a.count(45, "số người") == 45 == a.count(45.0, "số người") == a.count("45", "số người")
        assert a.text(" Đã tổ chức.\nHội nghị ", "kết quả") == "Đã tổ chức.\nHội nghị"
        assert a.link("https://sokhcn.thainguyen.gov.vn/tin/1", "đường link") == "https://sokhcn.thainguyen.gov.vn/tin/1"
        a.done()

    def test_every_problem_in_one_sentence(self):
        a = Answers(self.TODAY)
        a.name("", "họ tên người xác nhận")
        a.day(None, "ngày hoàn thành")
        a.count(-3, "số người tham dự")
        a.day("2023-12-01", "ngày thực hiện")
        with pytest.raises(FormError) as info:
            a.done()
        assert str(info.value) == (
            "Còn thiếu họ tên người xác nhận và ngày hoàn thành; số người tham dự phải là số nguyên từ 1 trở "
            "lên (đã nhập: -3); ngày thực hiện 01/12/2023 là ngày sau hôm nay (26/10/2023).")

    @pytest.mark.parametrize(("check", "value", "message"), [
        ("count", 2.5, "số người phải là số nguyên từ 1 trở lên (đã nhập: 2.5)"),
        ("count", 0, "số người phải là số nguyên từ 1 trở lên (đã nhập: 0)"),
        ("count", True, "số người phải là số nguyên từ 1 trở lên (đã nhập: True)"),
        ("count", "bốn", "số người phải là số nguyên từ 1 trở lên (đã nhập: 'bốn')"),
        ("day", "31/02/2023", "số người không phải là một ngày (đã nhập: '31/02/2023'); hãy chọn trên lịch"),
        ("link", "sokhcn.gov.vn", "số người phải là địa chỉ bắt đầu bằng https:// hoặc http://"),
        ("text", "a\x00b", "số người có ký tự điều khiển"),
        ("text", "x" * 2001, "số người dài 2001 ký tự, quá 2000 ký tự cho phép"),
        ("name", "x" * 201, "số người dài 201 ký tự, quá 200 ký tự cho phép"),
    ])
    def test_wrong_values(self, check, value, message):
        a = Answers(self.TODAY)
        assert getattr(a, check)(value, "số người") is None
        assert message in a.wrong[0]

    def test_a_date_before_a_limit(self):
        a = Answers(self.TODAY)
        a.day("2022-01-01", "ngày hoàn thành", not_before=date(2022, 3, 16),
              before_what="ngày kế hoạch bắt đầu")
        assert a.wrong == ["ngày hoàn thành 01/01/2022 trước ngày kế hoạch bắt đầu (16/03/2022)"]

    def test_joined(self):
        assert [joined(["a"]), joined(["a", "b"]), joined(["a", "b", "c"])] == ["a", "a và b", "a, b và c"]


class TestSeveralOwners:
    """A step owned by a group: the form offers its periods once, and asks whose occurrence it is."""

    @pytest.fixture
    def regime(self, tmp_path):
        from tests.engine.test_owners import plan_with

        return plan_with(tmp_path)

    def test_a_unit_choice_after_the_occurrence(self, regime):
        step = regime.step_by_id["bao-cao-huyen"]
        for schema in (confirm_schema(regime, step), extend_schema(regime, step)):
            assert list(schema["properties"])[:2] == ["occurrence", "unit"]
            assert schema["properties"]["unit"]["enum"] == [
                "UBND huyện Nho Quan", "UBND huyện Gia Viễn", "UBND huyện Hoa Lư"]
        assert list(occurrence_choices(regime, "bao-cao-huyen").values()) == [
            "2023-H1", "2023-H2", "2024-H1", "2024-H2"]
        assert "unit" not in confirm_schema(regime, regime.step_by_id["tong-hop"])["properties"]

    def test_the_unit_is_read_by_name_or_id_and_checked(self, regime, tmp_path):
        from engine.state.db import open_store, session_factory
        from flows.answers import occurrence_of

        step = regime.step_by_id["bao-cao-huyen"]
        with session_factory(open_store(f"sqlite:///{tmp_path / 's.db'}"))() as session:
            answers = Answers(date(2023, 6, 1))
            assert occurrence_of(answers, regime, step, "6 tháng đầu năm 2023", session,
                                 "UBND huyện Gia Viễn") == "2023-H1@gia-vien"
            assert occurrence_of(answers, regime, step, "2023-H2", session, "hoa-lu") == "2023-H2@hoa-lu"
            assert occurrence_of(answers, regime, step, "2023-H1", session, "UBND huyện Gia Vien") is None
            assert occurrence_of(answers, regime, step, "2023-H1", session, None) is None
            with pytest.raises(FormError, match=r"^Còn thiếu đơn vị chủ trì; 'UBND huyện Gia Vien' không phải đơn "
                                                r"vị chủ trì của việc này \(có phải 'UBND huyện Gia Viễn' không\)\.$"):
                answers.done()

    def test_a_link_fills_the_unit_by_its_name(self):
        from urllib.parse import unquote

        from flows.links import form_link

        link = form_link("http://ui", "d1", "2023-H1@gia-vien", {"gia-vien": "UBND huyện Gia Viễn"})
        assert unquote(unquote(link)).endswith(
            '{"occurrence":"6 tháng đầu năm 2023","unit":"UBND huyện Gia Viễn"}')
