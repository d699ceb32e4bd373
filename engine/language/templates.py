"""Vietnamese message templates, one per kind of notice, rendered in a bounded Jinja2 sandbox; and the checks a plan's
own templates get.

A template renders one *item*: its first line is the item's subject (the message adds the plan number in front),
the rest its body, plain text. `notifiers.compose` puts a recipient's items of a day into one message, with the
greeting and the issuing body. Items are rendered when they are sent, so "còn 3 ngày" is true on the day the
recipient reads it.

A plan's or agency's own templates may use the variables below, filters from a short list and if/else - no loops,
assignments, calls or macros - so the work a template does is bounded by its length; its output is bounded too.
At validation every template is tried on many contexts (each branch a number in it selects); at send time a
template that still fails is replaced by the built-in one for that notice, and the failure is recorded.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from engine.errors import did_you_mean
from engine.language.dates import fmt
from engine.language.models.plan import TEMPLATE_EVENTS
from engine.language.parser_words import template_said

MAX_OUTPUT = 20_000  # characters one item may render to

_OCC = "{% if occurrence_label %} ({{ occurrence_label }}){% endif %}"
_REQUIRES = "{% if requires %}Khi xác nhận cần ghi: {{ requires }}.\n{% endif %}"
_CONFIRM = (
    "{% if confirm_url %}Xác nhận hoàn thành (mở trên trình duyệt): {{ confirm_url }}\n"
    "Hoặc bằng lệnh trên máy chủ: {{ confirm_command }}\n"
    "{% else %}Xác nhận hoàn thành bằng lệnh trên máy chủ:\n{{ confirm_command }}\n{% endif %}"
)
_CHASED = "{% if chased %}; đã nhắc {{ chased }} lần{% endif %}"
_MISSING = "{% if missing %}Mở đúng ngày dù việc trước chưa đủ - {{ missing }}.\n{% endif %}"

# Each template: the first line is the item's subject, the rest its body. Variables: VARIABLES below.
DEFAULT_TEMPLATES: dict[str, str] = {
    "opened": (
        "Hạn {{ due }}, giao việc: {{ step_short }}\n"
        "{{ owner_name }} chủ trì thực hiện nhiệm vụ" + _OCC + ":\n"
        "{{ step_title }}\n"
        "Hạn hoàn thành: {{ due }} ({{ days_text }}).\n"
        "{% if participants %}Đơn vị phối hợp: {{ participants }}.\n{% endif %}"
        + _MISSING + _REQUIRES + _CONFIRM
    ),
    "participant": (
        "Hạn {{ due }}, phối hợp: {{ step_short }}\n"
        "Đề nghị {{ unit_name }} phối hợp với {{ owner_name }} thực hiện nhiệm vụ" + _OCC + ":\n"
        "{{ step_title }}\n"
        "Hạn hoàn thành: {{ due }}. {{ owner_name }} là đơn vị chủ trì và xác nhận khi hoàn thành.\n"
    ),
    "disseminate": (
        "Để biết và thực hiện: {{ step_short }}\n"
        "{{ owner_name }} triển khai tới {{ unit_name }}: {{ step_title }}.\n"
        "{% if material %}Tài liệu: {{ material }}.\n{% endif %}"
        "{% if method %}Hình thức: {{ method }}.\n{% endif %}"
        "Thời gian: đến ngày {{ due }}.\n"
    ),
    "coordinate": (
        "Hạn {{ due }}, đề nghị phối hợp: {{ step_short }}\n"
        "{{ issuer }} trân trọng đề nghị {{ unit_name }} phối hợp thực hiện: {{ step_title }}.\n"
        "{% if subject %}Nội dung phối hợp: {{ subject }}.\n{% endif %}"
        "Đầu mối: {{ owner_name }}. Thời hạn: {{ due }}.\n"
    ),
    "reminder": (
        "Hạn {{ due }}, {{ days_text }}: {{ step_short }}\n"
        "Nhiệm vụ \"{{ step_title }}\"" + _OCC + " do {{ owner_name }} chủ trì đến hạn ngày {{ due }} "
        "({{ days_text }}).\n" + _REQUIRES + _CONFIRM
    ),
    "due_today": (
        "Hạn hôm nay {{ due }}: {{ step_short }}\n"
        "Hôm nay là hạn hoàn thành nhiệm vụ \"{{ step_title }}\"" + _OCC + " do {{ owner_name }} chủ trì.\n"
        + _REQUIRES + _CONFIRM
    ),
    "overdue": (
        "Quá hạn {{ days_overdue }} ngày (hạn {{ due }}): {{ step_short }}\n"
        "Nhiệm vụ \"{{ step_title }}\"" + _OCC + " do {{ owner_name }} chủ trì đã quá hạn {{ days_overdue }} ngày "
        "(hạn {{ due }})" + _CHASED + ".\n"
        "{% if waiting_for %}Nhiệm vụ chưa thể bắt đầu vì còn chờ: {{ waiting_for }}.\n{% endif %}"
        "Đề nghị khẩn trương hoàn thành và xác nhận; nếu cần thêm thời gian, đề nghị lãnh đạo gia hạn.\n"
        + _CONFIRM
    ),
    "escalation": (
        "{{ owner_name }} chậm {{ days_overdue }} ngày: {{ step_short }}\n"
        "{{ owner_name }} chưa hoàn thành nhiệm vụ \"{{ step_short }}\"" + _OCC + ": hạn {{ due }}, "
        "đã quá {{ days_overdue }} ngày" + _CHASED + ".\n"
        "{% if waiting_for %}Nhiệm vụ chưa thể bắt đầu vì còn chờ: {{ waiting_for }}.\n{% endif %}"
        "Kính báo cáo để chỉ đạo{% if escalation > 1 %} (báo cáo lần {{ escalation }}){% endif %}.\n"
        "{% if extend_url %}Nếu đồng ý gia hạn: {{ extend_url }}\n{% endif %}"
    ),
    "blocked": (
        "Chờ việc trước, hạn {{ due }}: {{ step_short }}\n"
        "Nhiệm vụ \"{{ step_short }}\"" + _OCC + " ({{ owner_name }} chủ trì, hạn {{ due }}) đã đến ngày bắt đầu "
        "nhưng chưa thể triển khai vì còn chờ: {{ waiting_for }}.\n"
        "Đề nghị {{ waiting_owners }} hoàn thành và xác nhận việc đó để nhiệm vụ này được triển khai.\n"
    ),
    "review_summary": (
        "Hạn {{ due }}, dự thảo {{ step_short }}\n"
        "Dự thảo {{ step_title }}" + _OCC + " đã được lập từ số liệu theo dõi"
        "{% if attachments %} (đính kèm tệp Word .docx để hoàn thiện, tệp .md cùng nội dung){% endif %}.\n"
        "{% if summary %}Tóm tắt: {{ summary }}\n{% endif %}" + _MISSING +
        "Đề nghị {{ owner_name }} hoàn thiện, trình lãnh đạo và tổ chức trước ngày {{ due }} ({{ days_text }}); "
        "sau đó xác nhận.\n" + _CONFIRM
    ),
    "report_draft": (
        "Hạn {{ due }}, dự thảo báo cáo: {{ step_short }}\n"
        "Dự thảo báo cáo" + _OCC + "{% if recipient %} gửi {{ recipient }}{% endif %} đã được lập từ số liệu "
        "theo dõi{% if attachments %} (đính kèm tệp Word .docx để hoàn thiện, tệp .md cùng nội dung){% endif %}.\n"
        "{% if summary %}Tóm tắt: {{ summary }}\n{% endif %}" + _MISSING +
        "Đề nghị {{ owner_name }} hoàn thiện, trình ký và gửi trước ngày {{ due }} ({{ days_text }}); "
        "sau đó xác nhận.\n" + _CONFIRM
    ),
    "confirmed": (
        "Đã ghi nhận hoàn thành: {{ step_short }}\n"
        "Đã ghi nhận nhiệm vụ \"{{ step_title }}\"" + _OCC + " hoàn thành ngày {{ done_on }}"
        "{% if late_days %}, chậm {{ late_days }} ngày so với hạn {{ due }}{% else %}, đúng hạn{% endif %}.\n"
        "Người xác nhận: {{ by }}.\n"
        "{% if result %}Kết quả: {{ result }}\n{% endif %}"
    ),
    "extended": (
        "Gia hạn đến {{ due }}: {{ step_short }}\n"
        "Nhiệm vụ \"{{ step_title }}\"" + _OCC + " được gia hạn từ ngày {{ previous_due }} đến ngày {{ due }}.\n"
        "Người quyết định: {{ by }}. Lý do: {{ reason }}\n"
        "Nhắc hạn và đôn đốc theo hạn mới.\n"
    ),
    "closing": (
        "Kết thúc kế hoạch: tình hình thực hiện đến {{ plan_end }}\n"
        "Kế hoạch số {{ plan_number }} đã hết thời gian thực hiện ngày {{ plan_end }}.\n"
        "{{ standing }}.\n"
        "{% if unfinished %}Việc chưa hoàn thành:\n{{ unfinished }}\n{% endif %}"
        "Hệ thống dừng nhắc hạn, đôn đốc đối với kế hoạch này.\n"
    ),
}
assert set(DEFAULT_TEMPLATES) == set(TEMPLATE_EVENTS), "every template event needs a default template"

# What a template may use. Every notice has the common ones (engine/runtime/notices.py notice_context, plus the day's
# values `item_context` adds when it is sent); some events have more.
COMMON_VARIABLES: dict[str, str] = {
    "plan_id": "mã kế hoạch", "plan_number": "số kế hoạch, vd. 28/KH-KHCN", "plan_title": "tên kế hoạch",
    "issuer": "cơ quan ban hành", "step_id": "mã bước", "step_title": "tên nhiệm vụ",
    "step_short": "tên ngắn của nhiệm vụ", "kind": "loại bước",
    "occurrence": "khóa lần thực hiện (2023, 2023-Q1...)", "occurrence_label": "lần thực hiện: quý II/2023...",
    "owner": "mã đơn vị chủ trì", "owner_name": "tên đơn vị chủ trì", "unit_name": "tên đơn vị nhận thông báo",
    "participants": "các đơn vị phối hợp", "due": "hạn (dd/mm/yyyy)", "due_iso": "hạn (yyyy-mm-dd)",
    "original_due": "hạn ban đầu khi đã gia hạn (dd/mm/yyyy), trống nếu chưa", "today": "ngày gửi (dd/mm/yyyy)",
    "days_left": "số ngày còn lại", "days_overdue": "số ngày quá hạn", "days_text": "còn/quá hạn N ngày, bằng chữ",
    "requires": "minh chứng cần khi xác nhận", "material": "tài liệu quán triệt", "method": "hình thức",
    "subject": "nội dung phối hợp", "recipient": "nơi nhận báo cáo", "confirm_command": "lệnh xác nhận",
    "confirm_url": "đường dẫn biểu mẫu xác nhận trên Prefect UI (trống nếu chưa có máy chủ)",
    "escalation": "lần báo cáo quá hạn (0 nếu không)", "chased": "số lần đã nhắc, đôn đốc",
    "catch_up": "đúng khi là tổng hợp việc tồn đọng", "waiting_for": "việc đang chờ (tên)",
    "extend_url": "đường dẫn biểu mẫu gia hạn trên Prefect UI (thông báo cho lãnh đạo; trống nếu chưa có)",
    "waiting_owners": "đơn vị chủ trì việc đang chờ",
    "missing": "việc trước còn thiếu khi việc vẫn mở đúng ngày (opens_anyway): việc, kỳ, đơn vị chưa có",
}
EVENT_VARIABLES: dict[str, dict[str, str]] = {
    "review_summary": {"attachments": "mã các tệp dự thảo đính kèm", "summary": "tóm tắt dự thảo"},
    "report_draft": {"attachments": "mã các tệp dự thảo đính kèm", "summary": "tóm tắt dự thảo"},
    "confirmed": {"done_on": "ngày hoàn thành (dd/mm/yyyy)", "late_days": "số ngày chậm", "by": "người xác nhận",
                  "result": "kết quả thực hiện"},
    "extended": {"by": "người quyết định gia hạn", "reason": "lý do", "previous_due": "hạn trước khi gia hạn"},
    "closing": {"plan_end": "ngày kết thúc kế hoạch", "standing": "tình hình chung, một câu",
                "unfinished": "danh sách việc chưa hoàn thành"},
}
DAY_VARIABLES = ("today", "days_left", "days_overdue", "days_text", "occurrence_label")  # set when sent

EVIDENCE_VI = {"document_number": "số văn bản", "document_date": "ngày văn bản", "date": "ngày thực hiện",
               "attendees": "số người tham dự", "link": "đường link", "place": "địa điểm", "note": "ghi chú"}


def variables(event: str) -> dict[str, str]:
    """The variables a template for `event` may use, with their (Vietnamese) meaning."""
    return {**COMMON_VARIABLES, **EVENT_VARIABLES.get(event, {})}


# ---------------------------------------------------------------------------------------------------------------
# The sandbox

_FILTERS = ("default", "d", "upper", "lower", "title", "capitalize", "trim", "length", "count", "first", "last",
            "join", "truncate", "round", "int", "string", "abs")
_TESTS = ("defined", "undefined", "none", "number", "string", "eq", "ne", "lt", "le", "gt", "ge", "in",
          "divisibleby", "odd", "even", "true", "false")
_NODES = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.If, nodes.CondExpr,
          nodes.And, nodes.Or, nodes.Not, nodes.Compare, nodes.Operand, nodes.Add, nodes.Sub, nodes.Mul, nodes.Div,
          nodes.FloorDiv, nodes.Mod, nodes.Neg, nodes.Pos, nodes.Concat, nodes.Getitem, nodes.Filter, nodes.Test,
          nodes.Tuple, nodes.List, nodes.Keyword)


class _Bounded(SandboxedEnvironment):
    """Jinja's sandbox (no reach into Python internals) with products bounded in size."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        if op == "**":
            raise SecurityError("mẫu không được dùng '**'")
        sized = [v for v in (left, right) if isinstance(v, (str, list, tuple))]
        counts = [v for v in (left, right) if isinstance(v, int) and not isinstance(v, bool)]
        if sized and counts and len(sized[0]) * max(counts[0], 0) > MAX_OUTPUT:
            raise SecurityError(f"phép nhân cho ra đoạn chữ dài quá {MAX_OUTPUT} ký tự")
        return operator.mul(left, right)


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    """The sandbox: an unknown variable is an error (not blank text); only the filters and tests listed."""
    env = _Bounded(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters = {k: v for k, v in env.filters.items() if k in _FILTERS}
    env.tests = {k: v for k, v in env.tests.items() if k in _TESTS}
    env.globals = {}
    return env


@lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    return environment().from_string(source)


def _render(source: str, ctx: dict[str, Any]) -> str:
    """Render with bounded output."""
    out, size = [], 0
    for chunk in _compiled(source).generate(**ctx):
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise SecurityError(f"nội dung dài quá {MAX_OUTPUT} ký tự")
        out.append(chunk)
    return "".join(out)


# ---------------------------------------------------------------------------------------------------------------
# Rendering an item


def occurrence_label(key: str) -> str:
    """'2023-Q2' -> 'quý II/2023', 'yc-2024-05-02' -> 'theo yêu cầu ngày 02/05/2024', 'once' -> ''."""
    from engine.language.periods import key_label

    return key_label(key) if key else ""


def days_text(days_left: int, days_overdue: int) -> str:
    if days_overdue:
        return f"đã quá hạn {days_overdue} ngày"
    return f"còn {days_left} ngày" if days_left else "hạn là hôm nay"


def item_context(context: dict[str, Any], day: date) -> dict[str, Any]:
    """A stored notice context with the values of the day it is sent: days left or overdue, readable labels."""
    ctx = dict(context)
    due = date.fromisoformat(ctx["due_iso"]) if ctx.get("due_iso") else day
    ctx["today"] = fmt(day)
    ctx["days_left"] = max((due - day).days, 0)
    ctx["days_overdue"] = max((day - due).days, 0)
    ctx["days_text"] = days_text(ctx["days_left"], ctx["days_overdue"])
    label = occurrence_label(str(ctx.get("occurrence", "")))
    # A title that names its period already ('Sơ kết Đề án (năm 2023)') is not followed by it again.
    ctx["occurrence_label"] = "" if label and label in f"{ctx.get('step_short', '')} {ctx.get('step_title', '')}" \
        else label
    requires = ctx.get("requires") or []
    if isinstance(requires, str):  # notices queued before requirements were stored as a list
        requires = [r.strip() for r in requires.split(",") if r.strip()]
    ctx["requires"] = ", ".join(EVIDENCE_VI.get(r, r) for r in requires)
    for name in COMMON_VARIABLES:
        ctx.setdefault(name, "" if name not in ("escalation", "chased", "days_left", "days_overdue") else 0)
    ctx.setdefault("catch_up", False)
    return ctx


@dataclass(frozen=True)
class Rendered:
    """One item's subject and body; `error` says why the plan's own template could not be used."""

    subject: str
    body: str
    error: str | None = None


def render_item(template: str, context: dict[str, Any], day: date,
                overrides: dict[str, str] | None = None) -> Rendered:
    """Render one notice as it is sent on `day`: the plan's template for its event if any, else the built-in one.

    A plan's template that fails (an error the trial renders did not meet) is replaced by the built-in template
    for this notice; the failure is returned as `error`, never raised.
    """
    ctx = item_context(context, day)
    for name in EVENT_VARIABLES.get(template, {}):  # notices queued before a variable existed
        ctx.setdefault(name, 0 if name == "late_days" else [] if name == "attachments" else "")
    source = (overrides or {}).get(template)
    error = None
    if source:
        try:
            return _split(_render(source, ctx))
        except Exception as exc:  # noqa: BLE001 - any failure of a plan's template falls back to ours
            error = f"mẫu thông báo '{template}' của kế hoạch lỗi ({failure(exc)}); đã dùng mẫu mặc định"
    built_in = _split(_render(DEFAULT_TEMPLATES[template], ctx))
    return Rendered(built_in.subject, built_in.body, error)


def _split(text: str) -> Rendered:
    subject, _, body = text.partition("\n")
    return Rendered(" ".join(subject.split()), body.strip("\n") + "\n" if body.strip() else "")


# ---------------------------------------------------------------------------------------------------------------
# Checking a plan's overrides (at validation, so that a bad template never reaches a notice)


def sample_context(event: str) -> dict[str, Any]:
    """Plausible values for every variable of `event`, to try a template on."""
    ctx: dict[str, Any] = {name: "x" for name in variables(event) if name not in DAY_VARIABLES}
    ctx.update(plan_number="28/KH-KHCN", occurrence="2023", due="30/09/2023", due_iso="2023-09-30",
               original_due="", extend_url="", escalation=0, chased=0, catch_up=False, requires=["document_number"],
               confirm_url="", summary="", attachments=[1, 2], late_days=0, done_on="30/09/2023")
    return {k: v for k, v in ctx.items() if k in variables(event)}


_NUMBERS = ("days_left", "days_overdue", "escalation", "chased", "late_days")


def _trials(event: str, tree: nodes.Template) -> list[tuple[dict[str, Any], date]]:
    """Contexts that take a template down each branch a number, a flag or an empty text selects."""
    base = sample_context(event)
    due = date(2023, 9, 30)
    constants = {n.value for n in tree.find_all(nodes.Const) if isinstance(n.value, int) and not isinstance(
        n.value, bool) and -1 <= n.value <= 400}
    values = sorted(set(range(0, 8)) | {14, 30} | constants | {c + 1 for c in constants} | {max(c - 1, 0) for c in
                                                                                            constants})
    out = []
    for v in values:
        for day in (date.fromordinal(due.toordinal() - v), date.fromordinal(due.toordinal() + v)):
            out.append(({**base, "escalation": v, "chased": v, "late_days": v}, day))
    text_vars = [k for k, val in base.items() if isinstance(val, str) and k not in ("due", "due_iso")]
    out.append(({**base, **{k: "" for k in text_vars}, "catch_up": True, "attachments": []}, due))
    return out


def check_template(event: str, text: str) -> list[tuple[str, int | None]]:
    """Every problem of one override as (message, line inside the template or None); empty when it renders.

    Checks the syntax, that it uses only what a message template may (variables, listed filters, if/else) and
    only the event's variables, and that trial renders - down each branch numbers in it select - give a
    non-empty subject line within the size bound.
    """
    if event not in DEFAULT_TEMPLATES:
        return [(f"không có sự kiện mẫu thông báo '{event}'{did_you_mean(event, DEFAULT_TEMPLATES)} "
                 f"(các sự kiện: {', '.join(DEFAULT_TEMPLATES)})", None)]
    env = environment()
    try:
        tree = env.parse(text)
    except TemplateSyntaxError as exc:
        return [(f"lỗi cú pháp mẫu thông báo (dòng {exc.lineno} của mẫu): {template_said(exc.message or '')}",
                 exc.lineno)]
    problems: list[tuple[str, int | None]] = []
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, _NODES):
            what = type(node).__name__.lower()
            problems.append((f"mẫu thông báo không được dùng {_WRITTEN.get(what, repr(what))}: chỉ dùng biến, bộ lọc "
                             "và {% if %}...{% endif %}", getattr(node, "lineno", None)))
        elif isinstance(node, nodes.Filter) and node.name not in _FILTERS:
            problems.append((f"không được dùng bộ lọc '{node.name}'{did_you_mean(node.name, _FILTERS)} "
                             f"(các bộ lọc: {', '.join(_FILTERS)})", node.lineno))
        elif isinstance(node, nodes.Test) and node.name not in _TESTS:
            problems.append((f"không được dùng phép thử '{node.name}' (các phép thử: {', '.join(_TESTS)})",
                             node.lineno))
    allowed = variables(event)
    for node in tree.find_all(nodes.Name):
        if node.name not in allowed:
            where = [e for e, extra in EVENT_VARIABLES.items() if node.name in extra]
            hint = (f" - biến này chỉ có ở sự kiện: {', '.join(where)}" if where
                    else did_you_mean(node.name, allowed))
            problems.append((f"mẫu của sự kiện '{event}' không có biến '{node.name}'{hint} (các biến dùng được: "
                             f"{', '.join(sorted(allowed))})", node.lineno))
    if problems:
        return list(dict.fromkeys(problems))
    for ctx, day in _trials(event, tree):
        try:
            rendered = _render(text, item_context(ctx, day))
        except Exception as exc:  # noqa: BLE001 - any failure of a trial render is the author's to fix
            return [(f"mẫu thông báo không dựng được nội dung: {failure(exc)}", None)]
        if not rendered.partition("\n")[0].strip():
            return [("dòng đầu của mẫu là tiêu đề, không được để ra trống", 1)]
    return []


# What the sandbox refuses, as a template writes it (Jinja names its nodes: For, Assign, Getattr...).
_WRITTEN = {"for": "{% for %}", "assign": "{% set %}", "assignblock": "{% set %}", "macro": "{% macro %}",
            "callblock": "{% call %}", "filterblock": "{% filter %}", "with": "{% with %}", "block": "{% block %}",
            "extends": "{% extends %}", "include": "{% include %}", "import": "{% import %}",
            "fromimport": "{% from ... import %}", "call": "lời gọi hàm '(...)'",
            "getattr": "dấu '.' để lấy thuộc tính", "pow": "'**'", "slice": "phép cắt '[a:b]'", "dict": "bảng '{...}'"}
_FAILURES = ((ZeroDivisionError, "phép chia cho 0"), (OverflowError, "số quá lớn"),
             (TypeError, "phép tính trên hai loại giá trị không hợp nhau, như cộng chữ với số"),
             (UndefinedError, "lấy một phần tử hoặc thuộc tính không có"))


def failure(exc: Exception) -> str:
    """Why a template failed to render, in Vietnamese: the sandbox's own refusals (ours already), what a template
    meets most; Python's words otherwise."""
    if isinstance(exc, SecurityError):
        return str(exc)
    return next((words for kind, words in _FAILURES if isinstance(exc, kind)), f"{type(exc).__name__}: {exc}")


def template_problems(source: Any) -> list[Any]:
    """The problems of a plan or agency file's `templates:` (a loading.Source), each at the template's value.

    For a block scalar (`|`) the line is the offending line of the template itself. Unknown events and values
    that are not text are left to the model's own errors.
    """
    from engine.errors import Problem
    from engine.language.validation import render_path

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


def confirm_command(plan_id: str, step_id: str, key: str, requires: Sequence[str]) -> str:
    """The CLI command that confirms an occurrence, to paste on the machine that serves the plan; the occurrence
    named as people name it. Its placeholders are refused as they are, so a command pasted unedited records
    nothing."""
    return _confirm_command(plan_id, step_id, key, tuple(requires))


@lru_cache(maxsize=4096)  # every notice of an occurrence carries it: its opening, reminders, deadline, escalations
def _confirm_command(plan_id: str, step_id: str, key: str, requires: tuple[str, ...]) -> str:
    from engine.language.calendar import split_key

    period, unit = split_key(key)
    label = occurrence_label(period)
    occ = (f' --occurrence "{label}"' if label else "") + (f" --unit {unit}" if unit else "")
    # Each placeholder in quotes: a shell would read a bare <...> as a redirection, and refuse before kehoach does.
    evidence = "".join(f' --evidence {r}="{_PLACEHOLDER.get(r, "<...>")}"' for r in requires)
    return f"kehoach confirm {plan_id} {step_id}{occ} --by \"<họ tên>\"{evidence} --result \"<kết quả>\""


_PLACEHOLDER = {"date": "<dd/mm/yyyy>", "document_date": "<dd/mm/yyyy>", "attendees": "<số người>",
                "document_number": "<số/ký hiệu>", "link": "<https://...>", "place": "<địa điểm>",
                "note": "<ghi chú>"}
PLACEHOLDER = re.compile(r"^<[^<>]*>$")
