"""The confirmation and extension forms of the Prefect UI, one per step, built from what the step requires.

Prefect 3.9's UI draws a deployment's run form from its parameter schema: a field per property, ordered by
`position`, titled by `title`, with `description` rendered as Markdown under it; `format: date` is a date
picker, `integer` a number box, `enum` a drop-down, any other string a text box; a property left out of
`required` gets "(Optional)" after its title, and a nullable one (`anyOf` with null) a type toggle starting at
"None". So every field here is required, typed and never nullable, and titled in Vietnamese. Required only
shapes what the form shows: the deployments do not enforce the schema (see flows.deployments), and the flows
check every value themselves, answering in Vietnamese.
"""

from __future__ import annotations

from typing import Any

from engine.language.calendar import split_key
from engine.language.models.policy import EvidenceKind
from engine.language.periods import occurrence_label
from engine.language.plan import Plan
from engine.runtime.people import EVIDENCE_KINDS

CONFIRM_FLOW = "kehoach-confirm"  # flow names, as `kehoach confirm` and `kehoach extend`
EXTEND_FLOW = "kehoach-extend"

DATE = {"type": "string", "format": "date"}
TEXT = {"type": "string"}

# Each kind of evidence: its field (the right input), title and help line.
EVIDENCE_FIELDS: dict[str, dict[str, Any]] = {
    "document_number": {**TEXT, "title": "Số văn bản",
                        "description": "Số, ký hiệu văn bản (vd. 12/BC-KHCN)."},
    "document_date": {**DATE, "title": "Ngày văn bản", "description": "Ngày ban hành văn bản."},
    "date": {**DATE, "title": "Ngày thực hiện", "description": "Ngày tổ chức thực hiện (vd. ngày hội nghị)."},
    "attendees": {"type": "integer", "title": "Số người tham dự",
                  "description": "Số người dự, từ 1 trở lên."},
    "link": {**TEXT, "title": "Đường link", "description": "Địa chỉ trang đã đăng, bắt đầu bằng https://"},
    "place": {**TEXT, "title": "Địa điểm", "description": "Nơi tổ chức."},
    "note": {**TEXT, "title": "Ghi chú", "description": "Ghi chú làm minh chứng."},
}
assert set(EVIDENCE_FIELDS) == set(EVIDENCE_KINDS)

CONFIRM_FIELDS: dict[str, dict[str, Any]] = {
    "by": {**TEXT, "title": "Người xác nhận", "description": "Họ và tên người xác nhận."},
    "done_on": {**DATE, "title": "Ngày hoàn thành",
                "description": "Ngày việc được hoàn thành (không sau hôm nay)."},
    "result": {**TEXT, "title": "Kết quả thực hiện",
               "description": "Việc đã làm và kết quả chính, vài câu (báo cáo sẽ trích dẫn)."},
}
EXTEND_FIELDS: dict[str, dict[str, Any]] = {
    "to": {**DATE, "title": "Hạn mới", "description": "Sau hạn hiện tại, và không trước hôm nay."},
    "by": {**TEXT, "title": "Người quyết định gia hạn", "description": "Họ và tên người quyết định gia hạn."},
    "reason": {**TEXT, "title": "Lý do gia hạn", "description": "Vì sao cần thêm thời gian."},
}


def form_name(plan_id: str, step_id: str) -> str:
    """A form's deployment name, e.g. 'kh-28-khcn-2022:quan-triet' (Prefect forbids '/' in names)."""
    return f"{plan_id}:{step_id}"


def occurrence_text(plan: Plan, key: str) -> str:
    """An occurrence as a sentence names it: 'quý II/2023', or 'quý II/2023 của UBND huyện Nho Quan' for one
    owner's occurrence of a step with several owners."""
    period, unit = split_key(key)
    return occurrence_label(period) + (f" của {plan.unit_name(unit)}" if unit else "")


def occurrence_choices(plan: Plan, step_id: str) -> dict[str, str]:
    """The step's calendar periods, label -> key (the period's key for a step with several owners), in date
    order (none for an on-demand step)."""
    return {occurrence_label(o.key): split_key(o.key)[0] for o in plan.occurrences(step_id)}


def unit_choices(plan: Plan, step_id: str) -> dict[str, str]:
    """The owners of a step with several owners, name -> unit id (none for a step with one owner)."""
    if step_id not in plan.per_unit:
        return {}
    return {plan.unit_name(u): u for u in plan.step_owners[step_id]}


def context(plan: Plan, step: Any) -> str:
    """What the form is about, in Markdown: the plan, the step and its timing."""
    title = " ".join(step.title.split())
    return f"**Kế hoạch số {plan.meta.number}**: {title} ({plan.calendar[step.id].describe})."


def _occurrence_field(plan: Plan, step: Any) -> dict[str, Any]:
    choices = list(occurrence_choices(plan, step.id))
    field: dict[str, Any] = {**TEXT, "title": "Lần thực hiện"}
    if choices:
        field["enum"] = choices
        hint = "Điền sẵn theo thông báo; chọn lần khác nếu cần."
    else:  # on demand: occurrences are made by requests, after the form was registered
        hint = "Điền sẵn theo thông báo (vd. 'theo yêu cầu ngày 02/05/2024')."
    field["description"] = f"{context(plan, step)} {hint}"
    return field


def _unit_fields(plan: Plan, step: Any) -> dict[str, dict[str, Any]]:
    """The unit field of a step with several owners (each confirms and is extended on its own), else none."""
    choices = list(unit_choices(plan, step.id))
    if not choices:
        return {}
    return {"unit": {**TEXT, "title": "Đơn vị chủ trì", "enum": choices,
                     "description": "Đơn vị có lần thực hiện này (điền sẵn theo thông báo)."}}


def _schema(fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    properties = {name: {**spec, "position": i} for i, (name, spec) in enumerate(fields.items())}
    return {"title": "Parameters", "type": "object", "properties": properties, "required": list(properties),
            "definitions": {}}


def confirm_schema(plan: Plan, step: Any) -> dict[str, Any]:
    """A step's confirmation form: occurrence, who, when, exactly the evidence it requires, the result."""
    requires: list[EvidenceKind] = list(step.confirmation.requires)
    fields = {"occurrence": _occurrence_field(plan, step), **_unit_fields(plan, step),
              "by": CONFIRM_FIELDS["by"], "done_on": CONFIRM_FIELDS["done_on"],
              **{kind: EVIDENCE_FIELDS[kind] for kind in requires}, "result": CONFIRM_FIELDS["result"]}
    return _schema(fields)


def extend_schema(plan: Plan, step: Any) -> dict[str, Any]:
    """The extension form of a step: occurrence, new deadline, who decided, why."""
    return _schema({"occurrence": _occurrence_field(plan, step), **_unit_fields(plan, step), **EXTEND_FIELDS})
