"""Vietnamese message templates, one per event, rendered in a Jinja2 sandbox; and the checks plans' overrides get."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from engine.errors import did_you_mean
from engine.models.plan import TEMPLATE_EVENTS

_CONFIRM = (
    "Xác nhận hoàn thành bằng lệnh:\n"
    "  {{ confirm_command }}\n"
    "{% if ui_url %}hoặc trên giao diện Prefect: {{ ui_url }}\n{% endif %}"
)
_OCC = "{% if occurrence_label %} ({{ occurrence_label }}){% endif %}"

# Each template: the first line is the subject, the rest the body. Variables: VARIABLES below.
DEFAULT_TEMPLATES: dict[str, str] = {
    "opened": (
        "[{{ plan_number }}] Giao nhiệm vụ: {{ step_title }}\n"
        "Kính gửi: {{ unit_name }}\n\n"
        "Thực hiện Kế hoạch số {{ plan_number }} của {{ issuer }}, {{ owner_name }} chủ trì thực hiện nhiệm vụ:\n"
        "{{ step_title }}" + _OCC + "\n\n"
        "Hạn hoàn thành: {{ due }} ({{ days_text }}).\n"
        "{% if requires %}Khi xác nhận cần ghi: {{ requires }}.\n{% endif %}\n" + _CONFIRM
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
        "Nhiệm vụ \"{{ step_title }}\"" + _OCC + " do {{ owner_name }} chủ trì "
        "đến hạn ngày {{ due }} ({{ days_text }}).\n"
        "{% if requires %}Khi xác nhận cần ghi: {{ requires }}.\n{% endif %}\n" + _CONFIRM
    ),
    "due_today": (
        "[{{ plan_number }}] Đến hạn hôm nay: {{ step_title }}\n"
        "Kính gửi: {{ unit_name }}\n\n"
        "Hôm nay, ngày {{ due }}, là hạn hoàn thành nhiệm vụ \"{{ step_title }}\"" + _OCC + " do {{ owner_name }} "
        "chủ trì.\n"
        "{% if requires %}Khi xác nhận cần ghi: {{ requires }}.\n{% endif %}\n" + _CONFIRM
    ),
    "overdue": (
        "[{{ plan_number }}] Quá hạn {{ days_overdue }} ngày: {{ step_title }}\n"
        "Kính gửi: {{ unit_name }}\n\n"
        "Nhiệm vụ \"{{ step_title }}\"" + _OCC + " do {{ owner_name }} chủ trì đã quá hạn {{ days_overdue }} ngày "
        "(hạn {{ due }}).{% if escalation %} Báo cáo quá hạn lần {{ escalation }}.{% endif %}\n"
        "Đề nghị khẩn trương hoàn thành và xác nhận.\n\n" + _CONFIRM
    ),
    "review_summary": (
        "[{{ plan_number }}] Dự thảo {{ step_title }}\n"
        "Kính gửi: {{ unit_name }}\n\n"
        "Hệ thống đã tổng hợp tình hình thực hiện các nhiệm vụ của Kế hoạch số {{ plan_number }} để phục vụ "
        "{{ step_title }}{% if attachments %} (dự thảo đính kèm){% endif %}.\n\n"
        "{{ summary }}\n"
        "Hạn hoàn thành: {{ due }} ({{ days_text }}).\n\n" + _CONFIRM
    ),
    "report_draft": (
        "[{{ plan_number }}] Dự thảo báo cáo: {{ step_title }}" + _OCC + "\n"
        "Kính gửi: {{ unit_name }}\n\n"
        "Dự thảo báo cáo{% if occurrence_label %} {{ occurrence_label }}{% endif %}"
        "{% if recipient %} gửi {{ recipient }}{% endif %} đã được lập từ số liệu ghi nhận"
        "{% if attachments %} (đính kèm){% endif %}.\n\n"
        "{{ summary }}\n"
        "Đề nghị hoàn thiện, ký và gửi trước ngày {{ due }} ({{ days_text }}); sau đó xác nhận.\n\n" + _CONFIRM
    ),
    "confirmed": (
        "[{{ plan_number }}] Đã ghi nhận hoàn thành: {{ step_title }}\n"
        "Kính gửi: {{ unit_name }}\n\n"
        "Đã ghi nhận nhiệm vụ \"{{ step_title }}\"" + _OCC + " hoàn thành ngày {{ done_on }}"
        "{% if late_days %}, chậm {{ late_days }} ngày so với hạn {{ due }}{% else %}, đúng hạn{% endif %}.\n"
        "Người xác nhận: {{ by }}.\n"
    ),
}

# What a template may use. Every notice has the common ones (engine/tick.py notice_context, plus the derived
# ones render() adds); some events have more.
COMMON_VARIABLES: dict[str, str] = {
    "plan_id": "mã kế hoạch (tên tệp)", "plan_number": "số kế hoạch, vd. 28/KH-KHCN", "plan_title": "tên kế hoạch",
    "issuer": "cơ quan ban hành", "step_id": "mã bước", "step_title": "tên nhiệm vụ", "kind": "loại bước",
    "occurrence": "khóa lần thực hiện (once, 2023, 2023-Q1...)", "occurrence_label": "lần thực hiện, dạng đọc được",
    "owner": "mã đơn vị chủ trì", "owner_name": "tên đơn vị chủ trì", "unit_name": "tên đơn vị nhận thông báo",
    "due": "hạn (dd/mm/yyyy)", "due_iso": "hạn (yyyy-mm-dd)", "today": "ngày gửi (dd/mm/yyyy)",
    "days_left": "số ngày còn lại", "days_overdue": "số ngày quá hạn", "days_text": "còn/quá hạn N ngày, bằng chữ",
    "requires": "minh chứng cần khi xác nhận", "material": "tài liệu quán triệt", "method": "hình thức",
    "subject": "nội dung phối hợp", "recipient": "nơi nhận báo cáo", "confirm_command": "lệnh xác nhận",
    "ui_url": "đường dẫn Prefect UI (trống nếu chưa có máy chủ)", "summary": "tóm tắt (sơ kết, báo cáo)",
    "escalation": "lần báo quá hạn (0 nếu không)",
}
EVENT_VARIABLES: dict[str, dict[str, str]] = {
    "review_summary": {"attachments": "mã các tệp dự thảo đính kèm"},
    "report_draft": {"attachments": "mã các tệp dự thảo đính kèm"},
    "confirmed": {"done_on": "ngày hoàn thành (dd/mm/yyyy)", "late_days": "số ngày chậm", "by": "người xác nhận"},
}
DERIVED = ("occurrence_label", "days_text")  # computed by full_context from the stored context
assert set(DEFAULT_TEMPLATES) == set(TEMPLATE_EVENTS), "every template event needs a default template"

ENV_UI_URL, ENV_API_URL, ENV_CONFIRM_URL = "PREFECT_UI_URL", "PREFECT_API_URL", "KEHOACH_CONFIRM_URL"
EVIDENCE_VI = {"document_number": "số văn bản", "document_date": "ngày văn bản", "date": "ngày thực hiện",
               "attendees": "số người tham dự", "link": "đường link", "place": "địa điểm", "note": "ghi chú"}


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    """A sandbox: templates cannot reach Python internals; an unknown variable is an error, not blank text."""
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


@lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    return environment().from_string(source)


def variables(event: str) -> dict[str, str]:
    """The variables a template for `event` may use, with their (Vietnamese) meaning."""
    return {**COMMON_VARIABLES, **EVENT_VARIABLES.get(event, {})}


def confirm_link(env: dict[str, str] | None = None) -> str:
    """Where a person confirms in the Prefect UI: KEHOACH_CONFIRM_URL, else the UI of PREFECT_UI_URL or of
    PREFECT_API_URL (without '/api'); empty when no server is known."""
    env = os.environ if env is None else env
    if env.get(ENV_CONFIRM_URL):
        return env[ENV_CONFIRM_URL]
    base = env.get(ENV_UI_URL) or re.sub(r"/api/?$", "", env.get(ENV_API_URL, "") or "")
    return f"{base.rstrip('/')}/deployments" if base else ""


def occurrence_label(key: str) -> str:
    """'once' -> '', 'yc-2024-05-02' -> 'theo yêu cầu ngày 02/05/2024', '2023-Q1' -> 'kỳ 2023-Q1'."""
    if not key or key == "once":
        return ""
    if m := re.fullmatch(r"yc-(\d{4})-(\d{2})-(\d{2})(?:-\d+)?", key):
        return f"theo yêu cầu ngày {m[3]}/{m[2]}/{m[1]}"
    return f"kỳ {key}"


def days_text(days_left: int, days_overdue: int) -> str:
    if days_overdue:
        return f"đã quá hạn {days_overdue} ngày"
    return f"còn {days_left} ngày" if days_left else "hạn là hôm nay"


def full_context(context: dict[str, Any]) -> dict[str, Any]:
    """The stored context plus the derived variables (readable occurrence and days, evidence labels, UI link)."""
    ctx = dict(context)
    ctx.setdefault("occurrence_label", occurrence_label(str(ctx.get("occurrence", ""))))
    ctx.setdefault("days_text", days_text(int(ctx.get("days_left") or 0), int(ctx.get("days_overdue") or 0)))
    if ctx.get("requires"):
        ctx["requires"] = ", ".join(EVIDENCE_VI.get(r.strip(), r.strip()) for r in str(ctx["requires"]).split(","))
    if not ctx.get("ui_url"):
        ctx["ui_url"] = confirm_link()
    return ctx


def render(template: str, context: dict[str, Any], overrides: dict[str, str] | None = None) -> tuple[str, str]:
    """Render (subject, body) of a notice from its template name and context."""
    source = (overrides or {}).get(template) or DEFAULT_TEMPLATES[template]
    text = _compiled(source).render(**full_context(context))
    subject, _, body = text.partition("\n")
    return subject.strip(), body.lstrip("\n")


# ---------------------------------------------------------------------------------------------------------------
# Checking a plan's overrides (at validation, so that a bad template never reaches a tick)


def sample_context(event: str) -> dict[str, Any]:
    """Plausible values for every variable of `event`, to try a template on."""
    ctx: dict[str, Any] = {name: "x" for name in variables(event) if name not in DERIVED}
    ctx.update(plan_number="28/KH-KHCN", occurrence="2023", due="30/09/2023", due_iso="2023-09-30",
               today="23/09/2023", days_left=7, days_overdue=0, escalation=0, requires="document_number",
               ui_url="", summary="", attachments=[1, 2], late_days=0, done_on="30/09/2023")
    return {k: v for k, v in ctx.items() if k in variables(event)}


def check_template(event: str, text: str) -> list[tuple[str, int | None]]:
    """Every problem of one override as (message, line inside the template or None); empty when it renders.

    Checks the syntax, that it uses only the event's variables, and that a trial render in the sandbox gives a
    non-empty subject line.
    """
    if event not in DEFAULT_TEMPLATES:
        return [(f"unknown template event '{event}'{did_you_mean(event, DEFAULT_TEMPLATES)} "
                 f"(events: {', '.join(DEFAULT_TEMPLATES)})", None)]
    env = environment()
    try:
        tree = env.parse(text)
        compiled = env.from_string(text)
    except TemplateSyntaxError as exc:
        return [(f"template syntax error (line {exc.lineno} of the template): {exc.message}", exc.lineno)]
    allowed = variables(event)
    problems: list[tuple[str, int | None]] = []
    for name in sorted(meta.find_undeclared_variables(tree) - set(allowed)):
        where = [e for e, extra in EVENT_VARIABLES.items() if name in extra]
        hint = f" (only in: {', '.join(where)})" if where else did_you_mean(name, allowed)
        line = next((i for i, ln in enumerate(text.splitlines(), 1) if re.search(rf"\b{re.escape(name)}\b", ln)), None)
        problems.append((f"unknown template variable '{name}'{hint}; available: {', '.join(sorted(allowed))}", line))
    if problems:
        return problems
    try:
        rendered = compiled.render(**full_context(sample_context(event)))
    except Exception as exc:  # noqa: BLE001 - any failure of a trial render is the author's to fix
        return [(f"template cannot be rendered: {type(exc).__name__}: {exc}", None)]
    if not rendered.partition("\n")[0].strip():
        return [("the first line of a template is the subject and must not render empty", 1)]
    return []


def template_problems(source: Any) -> list[Any]:
    """The problems of a plan or agency file's `templates:` (a loading.Source), each at the template's value.

    For a block scalar (`|`) the line is the offending line of the template itself. Unknown events and values
    that are not text are left to the model's own errors.
    """
    from engine.errors import Problem
    from engine.validation import render_path

    raw = source.data.get("templates")
    out = []
    for event, text in raw.items() if isinstance(raw, dict) else ():
        if event not in DEFAULT_TEMPLATES or not isinstance(text, str):
            continue
        loc = ("templates", event)
        for message, lineno in check_template(event, text):
            line, column = source.position(loc)
            value_text = source.text.splitlines()[line - 1][column - 1:] if line > 0 else ""
            if lineno and value_text[:1] in ("|", ">"):  # block scalar: its text starts on the next line
                body_line = source.text.splitlines()[line - 1 + lineno] if line - 1 + lineno < len(
                    source.text.splitlines()) else ""
                line, column = line + lineno, len(body_line) - len(body_line.lstrip()) + 1
            out.append(Problem(source.name, line, column, render_path(source.data, loc), message))
    return out
