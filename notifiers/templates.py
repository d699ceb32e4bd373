"""Vietnamese message templates, one per event, rendered in a Jinja2 sandbox."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2.sandbox import SandboxedEnvironment
from jinja2 import StrictUndefined

# Each template: a subject line, then the body. Context keys are listed in notice_context (engine/tick.py).
DEFAULT_TEMPLATES: dict[str, str] = {
    "opened": (
        "[{{ plan_number }}] Giao việc: {{ step_title }}\n"
        "Kính gửi: {{ unit_name }}\n\n"
        "Theo Kế hoạch số {{ plan_number }}, đơn vị chủ trì {{ owner_name }} thực hiện:\n"
        "{{ step_title }}\n"
        "{% if occurrence != 'once' %}Kỳ: {{ occurrence }}\n{% endif %}"
        "Hạn hoàn thành: {{ due }} (còn {{ days_left }} ngày).\n"
        "{% if requires %}Khi xác nhận cần ghi: {{ requires }}.\n{% endif %}\n"
        "Xác nhận hoàn thành: {{ confirm_command }}\n"
        "{% if ui_url %}Hoặc trên giao diện Prefect: {{ ui_url }}\n{% endif %}"
    ),
    "disseminate": (
        "[{{ plan_number }}] Quán triệt, triển khai: {{ step_title }}\n"
        "Kính gửi: {{ unit_name }}\n\n"
        "Thực hiện Kế hoạch số {{ plan_number }} của {{ issuer }}, {{ owner_name }} triển khai tới quý đơn vị:\n"
        "{{ step_title }}\n"
        "{% if material %}Tài liệu: {{ material }}\n{% endif %}"
        "{% if method %}Hình thức: {{ method }}\n{% endif %}"
        "Thời hạn: {{ due }}.\n"
    ),
    "coordinate": (
        "[{{ plan_number }}] Đề nghị phối hợp: {{ step_title }}\n"
        "Kính gửi: {{ unit_name }}\n\n"
        "{{ issuer }} đề nghị quý cơ quan phối hợp thực hiện Kế hoạch số {{ plan_number }}:\n"
        "{{ step_title }}\n"
        "{% if subject %}Nội dung phối hợp: {{ subject }}\n{% endif %}"
        "Đầu mối: {{ owner_name }}. Thời hạn: {{ due }}.\n"
    ),
    "reminder": (
        "[{{ plan_number }}] Nhắc hạn: {{ step_title }} - hạn {{ due }}\n"
        "Kính gửi: {{ unit_name }}\n\n"
        "Việc \"{{ step_title }}\" ({{ occurrence }}) đến hạn ngày {{ due }}, còn {{ days_left }} ngày.\n"
        "Xác nhận hoàn thành: {{ confirm_command }}\n"
    ),
    "due_today": (
        "[{{ plan_number }}] Đến hạn hôm nay: {{ step_title }}\n"
        "Kính gửi: {{ unit_name }}\n\n"
        "Hôm nay ({{ due }}) là hạn hoàn thành việc \"{{ step_title }}\" ({{ occurrence }}).\n"
        "Xác nhận hoàn thành: {{ confirm_command }}\n"
    ),
    "overdue": (
        "[{{ plan_number }}] Quá hạn {{ days_overdue }} ngày: {{ step_title }}\n"
        "Kính gửi: {{ unit_name }}\n\n"
        "Việc \"{{ step_title }}\" ({{ occurrence }}) do {{ owner_name }} chủ trì đã quá hạn {{ days_overdue }} ngày "
        "(hạn {{ due }}).{% if escalation %} Báo cáo quá hạn lần {{ escalation }}.{% endif %}\n"
        "Xác nhận hoàn thành: {{ confirm_command }}\n"
    ),
    "review_summary": (
        "[{{ plan_number }}] Dự thảo {{ step_title }}\n"
        "Kính gửi: {{ unit_name }}\n\n"
        "Hệ thống đã tổng hợp tình hình thực hiện các nhiệm vụ để phục vụ {{ step_title }}.\n"
        "{{ summary }}\n"
        "Hạn hoàn thành: {{ due }}. Xác nhận: {{ confirm_command }}\n"
    ),
    "report_draft": (
        "[{{ plan_number }}] Dự thảo báo cáo: {{ step_title }} ({{ occurrence }})\n"
        "Kính gửi: {{ unit_name }}\n\n"
        "Dự thảo báo cáo kỳ {{ occurrence }} gửi {{ recipient }} đã được lập từ số liệu ghi nhận.\n"
        "{{ summary }}\n"
        "Đề nghị hoàn thiện, ký và gửi trước {{ due }}; sau đó xác nhận: {{ confirm_command }}\n"
    ),
    "confirmed": (
        "[{{ plan_number }}] Đã ghi nhận hoàn thành: {{ step_title }}\n"
        "Kính gửi: {{ unit_name }}\n\n"
        "Đã ghi nhận \"{{ step_title }}\" ({{ occurrence }}) hoàn thành ngày {{ done_on }}"
        "{% if late_days %}, chậm {{ late_days }} ngày{% else %}, đúng hạn{% endif %}. Người xác nhận: {{ by }}.\n"
    ),
}


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    """A sandbox: templates cannot reach Python internals; an unknown variable is an error, not blank text."""
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def render(template: str, context: dict[str, Any], overrides: dict[str, str] | None = None) -> tuple[str, str]:
    """Render (subject, body) of a notice from its template name and context."""
    source = (overrides or {}).get(template) or DEFAULT_TEMPLATES[template]
    text = environment().from_string(source).render(**context)
    subject, _, body = text.partition("\n")
    return subject.strip(), body.lstrip("\n")
