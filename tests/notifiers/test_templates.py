"""Message templates: the Vietnamese defaults, plan overrides, and overrides checked at validation time."""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from engine.errors import PlanError
from engine.models.plan import TEMPLATE_EVENTS
from engine.plan import load_plan
from notifiers.templates import DEFAULT_TEMPLATES, check_template, confirm_link, render, sample_context
from tests.conftest import PLANS, SEED
from tests.notifiers.conftest import at, outbox

QUAN_TRIET = "Tổ chức quán triệt, triển khai Đề án tới cán bộ, đảng viên, công chức, viên chức; người lao động"


def context(**extra):
    ctx = sample_context("opened")
    ctx.update(plan_number="28/KH-KHCN", issuer="Sở Khoa học và Công nghệ", owner_name="Văn phòng Sở",
               unit_name="Văn phòng Sở", step_title="Sơ kết việc triển khai, thực hiện Đề án (năm 2023)",
               occurrence="once", due="29/09/2023", days_left=6, days_overdue=0, requires="document_number",
               confirm_command="kehoach confirm kh-28-khcn-2022.yaml so-ket --by \"Họ tên\"", ui_url="")
    ctx.update(extra)
    return ctx


class TestDefaults:
    def test_every_event_has_a_template_that_renders(self):
        assert set(DEFAULT_TEMPLATES) == set(TEMPLATE_EVENTS)
        for event in DEFAULT_TEMPLATES:
            subject, body = render(event, sample_context(event))
            assert subject.startswith("[28/KH-KHCN]"), event
            assert body.strip(), event

    def test_opened_says_plan_step_owner_due_date_days_left_and_how_to_confirm(self):
        subject, body = render("opened", context())
        assert subject == "[28/KH-KHCN] Giao nhiệm vụ: Sơ kết việc triển khai, thực hiện Đề án (năm 2023)"
        assert "Thực hiện Kế hoạch số 28/KH-KHCN của Sở Khoa học và Công nghệ, Văn phòng Sở chủ trì" in body
        assert "Hạn hoàn thành: 29/09/2023 (còn 6 ngày)." in body
        assert "Khi xác nhận cần ghi: số văn bản." in body
        assert "  kehoach confirm kh-28-khcn-2022.yaml so-ket --by \"Họ tên\"\n" in body
        assert "Prefect" not in body  # no server known: no link

    def test_overdue_counts_days_and_escalations(self):
        subject, body = render("overdue", context(days_left=0, days_overdue=8, escalation=2, occurrence="2023"))
        assert subject.startswith("[28/KH-KHCN] Quá hạn 8 ngày: ")
        assert "(kỳ 2023)" in body and "đã quá hạn 8 ngày (hạn 29/09/2023). Báo cáo quá hạn lần 2." in body

    def test_due_today_and_on_demand_occurrences_read_naturally(self):
        _, body = render("due_today", context(days_left=0, occurrence="yc-2024-05-02"))
        assert "Hôm nay, ngày 29/09/2023, là hạn hoàn thành" in body
        assert "(theo yêu cầu ngày 02/05/2024)" in body

    def test_confirmation_receipt(self):
        ctx = {**sample_context("confirmed"), "step_title": "Quán triệt", "occurrence": "once", "done_on": "21/03/2022",
               "late_days": 3, "due": "18/03/2022", "by": "Nguyễn Văn A"}
        subject, body = render("confirmed", ctx)
        assert subject == "[28/KH-KHCN] Đã ghi nhận hoàn thành: Quán triệt"
        assert "hoàn thành ngày 21/03/2022, chậm 3 ngày so với hạn 18/03/2022.\nNgười xác nhận: Nguyễn Văn A." in body

    @pytest.mark.parametrize("env, link", [
        ({"PREFECT_UI_URL": "https://prefect.khcn.vn"}, "https://prefect.khcn.vn/deployments"),
        ({"PREFECT_API_URL": "http://127.0.0.1:4200/api"}, "http://127.0.0.1:4200/deployments"),
        ({"KEHOACH_CONFIRM_URL": "https://x.vn/c", "PREFECT_UI_URL": "https://y.vn"}, "https://x.vn/c"),
        ({}, ""),
    ])
    def test_prefect_link_when_a_server_is_known(self, env, link):
        assert confirm_link(env) == link

    def test_link_is_in_the_message_when_the_environment_names_a_server(self, monkeypatch):
        monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
        _, body = render("reminder", context())
        assert "hoặc trên giao diện Prefect: http://127.0.0.1:4200/deployments\n" in body


class TestChecks:
    @pytest.mark.parametrize("event, text, expected", [
        ("reminder", "{{ plan_number }} {% if %}", "template syntax error (line 1 of the template)"),
        ("reminder", "{{ stp_title }}", "unknown template variable 'stp_title' - did you mean 'step_title'?"),
        ("opened", "{{ by }}", "unknown template variable 'by' (only in: confirmed)"),
        ("opened", "{{ step_title.__class__.__mro__ }}", "SecurityError"),
        ("opened", "{{ step_title | nosuchfilter }}", "No filter named 'nosuchfilter'"),
        ("opened", "\nbody only", "subject and must not render empty"),
        ("nhac-han", "x", "unknown template event 'nhac-han'"),
    ])
    def test_problems_are_found_before_any_send(self, event, text, expected):
        problems = check_template(event, text)
        assert problems and expected in problems[0][0]

    def test_a_good_override_has_no_problem(self):
        assert check_template("confirmed", "[{{ plan_number }}] Xong: {{ step_title }}\n{{ by }} - {{ done_on }}") == []


class TestOverridesInPlans:
    def _plan(self, tmp_path, templates: str):
        shutil.copytree(PLANS / "agencies", tmp_path / "agencies")
        text = SEED.read_text(encoding="utf-8").replace("\nunits:\n", f"\n{templates}\nunits:\n", 1)
        target = tmp_path / SEED.name
        target.write_text(text, encoding="utf-8")
        return target, text

    def test_plan_override_is_used_by_the_tick(self, tmp_path, sessions):
        from engine.tick import tick

        path, _ = self._plan(tmp_path, "templates:\n  opened: |\n    [{{ plan_number }}] Việc mới: {{ step_title }}\n"
                                       "    Hạn {{ due }}, {{ days_text }}.\n")
        plan = load_plan(path)
        assert plan.templates == {"opened": "[{{ plan_number }}] Việc mới: {{ step_title }}\nHạn {{ due }}, {{ days_text }}.\n"}
        tick(plan, sessions, at(date(2022, 3, 16)))
        row = next(r for r in outbox(sessions) if r.reason == "opened" and r.unit_id == "van-phong")
        assert row.subject == f"[28/KH-KHCN] Việc mới: {QUAN_TRIET}"
        assert row.body == "Hạn 18/03/2022, còn 2 ngày.\n"

    def test_agency_template_applies_and_the_plan_overrides_it(self, tmp_path):
        path, _ = self._plan(tmp_path, "templates:\n  reminder: \"Nhắc (kế hoạch): {{ step_title }}\"\n")
        agency = tmp_path / "agencies" / "so-khcn-thai-nguyen.yaml"
        agency.write_text(agency.read_text(encoding="utf-8") + "\ntemplates:\n  reminder: \"Nhắc (Sở)\"\n"
                          "  overdue: \"Quá hạn (Sở): {{ step_title }}\"\n", encoding="utf-8")
        plan = load_plan(path)
        assert plan.templates["reminder"] == "Nhắc (kế hoạch): {{ step_title }}"
        assert plan.templates["overdue"] == "Quá hạn (Sở): {{ step_title }}"

    def test_template_errors_are_validation_errors_with_their_position(self, tmp_path):
        path, text = self._plan(tmp_path, (
            "templates:\n"
            "  reminder: |\n"
            "    [{{ plan_number }}] Nhắc: {{ step_title }}\n"
            "    Hạn {{ due }} {% if %}\n"
            "  overdue: \"[{{ plan_number }}] {{ stp_title }}\"\n"
            "  remindr: \"x\"\n"))
        with pytest.raises(PlanError) as info:
            load_plan(path)
        lines = text.splitlines()
        found = {p.path: p for p in info.value.problems}
        syntax = found["templates.reminder"]
        assert "Hạn {{ due }} {% if %}" in lines[syntax.line - 1] and syntax.column == 5
        assert "syntax error" in syntax.message
        unknown = found["templates.overdue"]
        assert lines[unknown.line - 1].startswith("  overdue:") and unknown.column == 12
        assert "did you mean 'step_title'" in unknown.message
        event = found["templates.remindr"]
        assert lines[event.line - 1].startswith("  remindr:") and "did you mean 'reminder'" in event.message

    def test_errors_in_an_agency_file_point_into_it(self, tmp_path):
        path, _ = self._plan(tmp_path, "")
        agency = tmp_path / "agencies" / "so-khcn-thai-nguyen.yaml"
        before = agency.read_text(encoding="utf-8")
        agency.write_text(before + "\ntemplates:\n  confirmed: \"{{ nguoi_xac_nhan }}\"\n", encoding="utf-8")
        with pytest.raises(PlanError) as info:
            load_plan(path)
        (problem,) = [p for p in info.value.problems if p.path == "templates.confirmed"]
        assert problem.file.endswith("so-khcn-thai-nguyen.yaml")
        assert problem.line == len(before.splitlines()) + 3
