"""Message templates: the Vietnamese defaults, plan overrides, and overrides checked at validation time."""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from engine.errors import PlanError
from engine.language.models.plan import TEMPLATE_EVENTS
from engine.language.plan import load_plan
from engine.language.templates import (
    DEFAULT_TEMPLATES,
    check_template,
    confirm_command,
    render_item,
    sample_context,
)
from tests.conftest import PLANS, SEED
from tests.notifiers.conftest import at, outbox

QUAN_TRIET = "Tổ chức quán triệt, triển khai Đề án tới cán bộ, đảng viên, công chức, viên chức; người lao động"
DUE = date(2023, 9, 29)


def context(**extra):
    ctx = sample_context("opened")
    ctx.update(plan_number="28/KH-KHCN", issuer="Sở Khoa học và Công nghệ", owner_name="Văn phòng Sở",
               unit_name="Văn phòng Sở", step_title="Sơ kết việc triển khai, thực hiện Đề án (năm 2023)",
               step_short="Sơ kết Đề án (năm 2023)", occurrence="once", due="29/09/2023", due_iso="2023-09-29",
               requires=["document_number"], participants="",
               confirm_command="kehoach confirm kh-28-khcn-2022 so-ket --by \"<họ tên>\"", confirm_url="")
    ctx.update(extra)
    return ctx


class TestDefaults:
    def test_every_event_has_a_template_that_renders(self):
        assert set(DEFAULT_TEMPLATES) == set(TEMPLATE_EVENTS)
        for event in DEFAULT_TEMPLATES:
            got = render_item(event, sample_context(event), DUE)
            assert got.subject and got.body.strip() and got.error is None, event

    def test_opened_says_step_owner_due_date_days_left_and_how_to_confirm(self):
        got = render_item("opened", context(), date(2023, 9, 23))
        assert got.subject == "Hạn 29/09/2023, giao việc: Sơ kết Đề án (năm 2023)"
        assert "Văn phòng Sở chủ trì thực hiện nhiệm vụ:\nSơ kết việc triển khai" in got.body
        assert "Hạn hoàn thành: 29/09/2023 (còn 6 ngày)." in got.body
        assert "Khi xác nhận cần ghi: số văn bản." in got.body
        assert "Xác nhận hoàn thành bằng lệnh trên máy chủ:\nkehoach confirm kh-28-khcn-2022 so-ket" in got.body
        assert "http" not in got.body  # no server known: no link

    def test_days_are_counted_on_the_day_the_notice_is_sent(self):
        assert "(còn 6 ngày)" in render_item("opened", context(), date(2023, 9, 23)).body
        assert "(còn 4 ngày)" in render_item("opened", context(), date(2023, 9, 25)).body  # held over a weekend

    def test_overdue_counts_days_and_chasing(self):
        got = render_item("overdue", context(escalation=2, chased=3, occurrence="2023-Q2"), date(2023, 10, 7))
        assert got.subject == "Quá hạn 8 ngày (hạn 29/09/2023): Sơ kết Đề án (năm 2023)"
        assert "(quý II/2023)" in got.body and "đã quá hạn 8 ngày (hạn 29/09/2023); đã nhắc 3 lần." in got.body

    def test_leadership_is_told_who_is_late_with_what(self):
        got = render_item("escalation", context(escalation=2, chased=3), date(2023, 10, 7))
        assert got.subject == "Văn phòng Sở chậm 8 ngày: Sơ kết Đề án (năm 2023)"
        assert "Văn phòng Sở chưa hoàn thành nhiệm vụ \"Sơ kết Đề án (năm 2023)\": hạn 29/09/2023, đã quá 8 ngày, " \
               "đã được nhắc 3 lần" not in got.body  # the wording below is the one used
        assert "hạn 29/09/2023, đã quá 8 ngày; đã nhắc 3 lần." in got.body and "(báo cáo lần 2)" in got.body
        assert "xác nhận" not in got.body.lower() or "kehoach confirm" not in got.body  # not told to confirm

    def test_participants_and_partners_are_asked_to_help_not_to_confirm(self):
        helper = render_item("participant", context(unit_name="Phòng Quản lý khoa học"), date(2023, 9, 23))
        assert helper.subject == "Hạn 29/09/2023, phối hợp: Sơ kết Đề án (năm 2023)"
        assert "Đề nghị Phòng Quản lý khoa học phối hợp với Văn phòng Sở" in helper.body
        assert "kehoach confirm" not in helper.body
        partner = render_item("coordinate", context(unit_name="Ủy ban MTTQ tỉnh", subject="Giám sát"), DUE)
        assert partner.subject.startswith("Hạn 29/09/2023, đề nghị phối hợp:") and "kehoach" not in partner.body

    def test_human_period_labels(self):
        for key, label in (("2022-H1", "6 tháng đầu năm 2022"), ("2023-Q2", "quý II/2023"), ("2023", "năm 2023"),
                           ("2023-05", "tháng 5/2023"), ("yc-2024-05-02", "theo yêu cầu ngày 02/05/2024")):
            assert f"({label})" in render_item("reminder", context(occurrence=key), DUE).body
        assert "()" not in render_item("reminder", context(occurrence="once"), DUE).body

    def test_confirmation_receipt(self):
        ctx = {**context(), "occurrence": "once", "done_on": "21/03/2022", "late_days": 3, "due": "18/03/2022",
               "due_iso": "2022-03-18", "by": "Nguyễn Văn A", "result": "Đã tổ chức hội nghị, 45 người dự."}
        got = render_item("confirmed", ctx, date(2022, 3, 21))
        assert got.subject == "Đã ghi nhận hoàn thành: Sơ kết Đề án (năm 2023)"
        assert "hoàn thành ngày 21/03/2022, chậm 3 ngày so với hạn 18/03/2022.\nNgười xác nhận: Nguyễn Văn A." \
               in got.body
        assert "Kết quả: Đã tổ chức hội nghị, 45 người dự." in got.body

    def test_the_link_to_the_form_when_there_is_one(self):
        got = render_item("reminder", context(confirm_url="http://127.0.0.1:4200/deployments/deployment/x/run"),
                          DUE)
        assert "Xác nhận hoàn thành (mở trên trình duyệt): http://127.0.0.1:4200/deployments/deployment/x/run" \
               in got.body

    def test_leadership_can_extend_from_its_message(self):
        from notifiers.compose import Item, compose

        item = Item(1, "escalation", {**context(), "plan_id": "kh-28-khcn-2022"}, "so-ket", "2023")
        got = compose([item], date(2023, 10, 7), extend_link=lambda p, s, k: f"http://ui/{p}/{s}/{k}")
        assert "Nếu đồng ý gia hạn: http://ui/kh-28-khcn-2022/so-ket/2023\n" in got.body
        assert "gia hạn" not in compose([item], date(2023, 10, 7)).body.split("Kính báo cáo")[1]

    def test_notices_that_piled_up_for_one_occurrence_are_said_once(self):
        """A channel down for a week: the owner's message then holds the first and second escalation of one
        occurrence, and a report's due-day notice beside its draft. Each occurrence is said once (the latest
        notice, counted on the day sent); every notice is still rendered, to be recorded as sent."""
        from notifiers.compose import Item, compose

        def item(n, template, step, key, **extra):
            ctx = {**sample_context(template), **context(), "plan_id": "kh-28-khcn-2022", "occurrence": key, **extra}
            return Item(n, template, ctx, step, key)

        items = [item(1, "overdue", "so-ket", "once", chased=1), item(2, "overdue", "so-ket", "once", chased=2),
                 item(3, "due_today", "bao-cao", "2023", step_short="Báo cáo năm", due="07/10/2023",
                      due_iso="2023-10-07"),
                 item(4, "report_draft", "bao-cao", "2023", step_short="Báo cáo năm", due="07/10/2023",
                      due_iso="2023-10-07")]
        got = compose(items, date(2023, 10, 7))
        assert sorted(got.rendered) == [1, 2, 3, 4]
        assert got.subject.endswith("(+1 việc khác)") and "thông báo 2 việc" in got.body
        assert "Cùng nhiệm vụ này" not in got.body and "đã nhắc 2 lần" in got.body and "đã nhắc 1 lần" not in got.body
        assert got.body.count("Báo cáo năm") == 1 and "dự thảo" in got.body

    def test_the_confirm_command_placeholders_are_refused_as_they_are(self):
        command = confirm_command("kh-28-khcn-2022", "quan-triet", "once", ["date", "attendees"])
        assert command == ("kehoach confirm kh-28-khcn-2022 quan-triet --by \"<họ tên>\" --evidence date=\"<dd/mm/yyyy>\" "
                           "--evidence attendees=\"<số người>\" --result \"<kết quả>\"")
        assert '--occurrence "quý II/2023"' in confirm_command("p", "s", "2023-Q2", [])


class TestChecks:
    @pytest.mark.parametrize("event, text, expected", [
        ("reminder", "{{ plan_number }} {% if %}", "lỗi cú pháp mẫu thông báo (dòng 1 của mẫu): cần một biến, số hoặc "
                                                   "chữ trước '%}'"),
        ("reminder", "{% if due %}x", "lỗi cú pháp mẫu thông báo (dòng 1 của mẫu): mẫu kết thúc mà khối {% if %} chưa "
                                      "đóng: thiếu {% endif %}"),
        ("reminder", "{{ stp_title }}",
         "mẫu của sự kiện 'reminder' không có biến 'stp_title' - ý bạn là 'step_title'?"),
        ("opened", "{{ by }}", "mẫu của sự kiện 'opened' không có biến 'by' - biến này chỉ có ở sự kiện: confirmed, "
                               "extended"),
        ("opened", "{{ step_title.__class__.__mro__ }}", "không được dùng dấu '.' để lấy thuộc tính"),
        ("opened", "{{ step_title | nosuchfilter }}", "không được dùng bộ lọc 'nosuchfilter'"),
        ("opened", "{{ step_title | center(1000000000) }}", "không được dùng bộ lọc 'center'"),
        ("opened", "\nbody only", "dòng đầu của mẫu là tiêu đề, không được để ra trống"),
        ("nhac-han", "x", "không có sự kiện mẫu thông báo 'nhac-han'"),
        # work and size are bounded: no loops, no calls, products capped
        ("opened", "{% for i in range(90000) %}{% for j in range(90000) %}x{% endfor %}{% endfor %}",
         "mẫu thông báo không được dùng {% for %}"),
        ("opened", "{{ plan_number * 1000000000 }}", "phép nhân cho ra đoạn chữ dài quá 20000 ký tự"),
        ("opened", "{{ step_title.ljust(1000000000) }}", "không được dùng lời gọi hàm '(...)'"),
        ("opened", "{{ 10 ** 100000000 }}", "mẫu thông báo không được dùng '**'"),
        ("opened", "{% set x = 1 %}{{ x }}", "mẫu thông báo không được dùng {% set %}"),
        # a failure in a branch only some days take is found before any tick
        ("reminder", "x {% if days_left == 3 %}{{ 1 // 0 }}{% endif %}", "không dựng được nội dung: phép chia cho 0"),
        ("overdue", "x {% if days_overdue > 45 %}{{ 1 // 0 }}{% endif %}", "không dựng được nội dung: phép chia cho 0"),
    ])
    def test_problems_are_found_before_any_send(self, event, text, expected):
        # Bounded by construction (no loops, calls or unbounded products are accepted), never by a clock here.
        problems = check_template(event, text)
        assert problems and expected in problems[0][0], problems

    def test_a_good_override_has_no_problem(self):
        assert check_template("confirmed", "Xong: {{ step_short }}\n{{ by }} - {{ done_on }}"
                                           "{% if late_days > 3 %} (chậm){% endif %}") == []


class TestFallback:
    def test_an_override_that_fails_when_sent_is_replaced_by_the_built_in_template_and_said(self):
        got = render_item("reminder", context(), DUE, {"reminder": "x {{ days_left // (days_left - days_left) }}"})
        assert got.subject == "Hạn 29/09/2023, hạn là hôm nay: Sơ kết Đề án (năm 2023)"
        assert got.error.startswith("mẫu thông báo 'reminder' của kế hoạch lỗi (phép chia cho 0)")
        assert got.error.endswith("đã dùng mẫu mặc định")


class TestOverridesInPlans:
    def _plan(self, tmp_path, templates: str):
        shutil.copytree(PLANS / "agencies", tmp_path / "agencies")
        text = SEED.read_text(encoding="utf-8").replace("\nunits:\n", f"\n{templates}\nunits:\n", 1)
        target = tmp_path / SEED.name
        target.write_text(text, encoding="utf-8")
        return target, text

    def test_plan_override_is_used_when_the_notice_is_sent(self, tmp_path, sessions, http):
        from engine.runtime.tick import tick
        from notifiers.delivery import deliver_outbox
        from tests.notifiers.conftest import write_channels

        path, _ = self._plan(tmp_path, "templates:\n  opened: |\n    Việc mới: {{ step_short }}\n"
                                       "    Hạn {{ due }}, {{ days_text }}.\n")
        plan = load_plan(path)
        assert plan.templates == {"opened": "Việc mới: {{ step_short }}\nHạn {{ due }}, {{ days_text }}.\n"}
        tick(plan, sessions, at(date(2022, 3, 16)))
        deliver_outbox(sessions, at(date(2022, 3, 16)), write_channels(tmp_path / "c.txt", {"van-phong": http.url()}),
                       plans=lambda pid: plan)
        (sent,) = http.payloads
        assert sent["title"] == "[28/KH-KHCN] Việc mới: Quán triệt Đề án 02-ĐA/TU"
        assert sent["message"].startswith("Kính gửi: Văn phòng Sở\n\nHạn 18/03/2022, còn 2 ngày.\n")
        row = next(r for r in outbox(sessions) if r.reason == "opened" and r.unit_id == "van-phong")
        assert (row.subject, row.body) == ("Việc mới: Quán triệt Đề án 02-ĐA/TU", "Hạn 18/03/2022, còn 2 ngày.\n")

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
        assert syntax.message.startswith("lỗi cú pháp mẫu thông báo (dòng 2 của mẫu)")
        unknown = found["templates.overdue"]
        assert lines[unknown.line - 1].startswith("  overdue:") and unknown.column == 12
        assert "ý bạn là 'step_title'?" in unknown.message
        event = found["templates.remindr"]
        assert lines[event.line - 1].startswith("  remindr:") and "ý bạn là 'reminder'?" in event.message

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
