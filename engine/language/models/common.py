"""Base model and the small value types shared by every part of a plan file."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    WithJsonSchema,
)
from pydantic import Tag as UnionTag

from engine.language.dates import DATE_PATTERN, DAY_MONTH_PATTERN, parse_date, parse_day_month
from engine.language.models.help import enum_help


class Model(BaseModel):
    """Strict base: unknown keys are errors, values are not coerced between types."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


def _plan_date(value: Any) -> date:
    return parse_date(value)


PlanDate = Annotated[
    date,
    BeforeValidator(_plan_date),
    WithJsonSchema(
        {"type": "string", "pattern": DATE_PATTERN, "examples": ["20/03/2022"],
         "patternErrorMessage": "Ngày không có thật hoặc sai dạng: viết dd/mm/yyyy (20/03/2022) hoặc "
                                "yyyy-mm-dd (not a real date: write dd/mm/yyyy or yyyy-mm-dd)"},
        mode="validation",
    ),
]
"""A date written dd/mm/yyyy (as officials write it) or ISO yyyy-mm-dd."""


def _day_month(value: str) -> str:
    parse_day_month(value)
    return value


DayMonth = Annotated[
    str,
    AfterValidator(_day_month),
    WithJsonSchema(
        {"type": "string", "pattern": DAY_MONTH_PATTERN, "examples": ["31/10"],
         "patternErrorMessage": "Ngày trong năm viết dd/mm (31/10), là ngày có ở mọi năm - không có 29/02 "
                                "(a day of every year, dd/mm)"},
        mode="validation",
    ),
]
"""A day of every year, dd/mm."""

ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
_ID_MESSAGE = Field(json_schema_extra={
    "patternErrorMessage": "Mã chỉ gồm chữ thường a-z, chữ số và '-', ví dụ van-phong "
                           "(an id: lowercase letters a-z, digits and '-')"})
StepId = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=64), _ID_MESSAGE]
UnitId = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=64), _ID_MESSAGE]
PlanId = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=128), _ID_MESSAGE]
"""A plan's id: keys its state in the store (a column of 128 characters), names its deployments."""
Tag = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64),
    Field(json_schema_extra={"patternErrorMessage": "Nhãn gồm chữ, chữ số, '-', '_' và '.', không có dấu "
                                                    "cách, ví dụ van-phong (a tag: letters, digits, '-', '_', '.')"}),
]
GROUPS_DESCRIPTION = (
    "Nhóm đơn vị: tên nhóm -> danh sách mã đơn vị; dùng tên nhóm ở mọi chỗ nhận danh sách đơn vị (owner, "
    "participants, audience, partners, escalation.to). Một bước có 'owner' là nhóm hoặc danh sách thì mỗi đơn vị "
    "có lần thực hiện riêng (unit groups: a name for a list of units).")
GROUPS_EXAMPLE = {"cac-huyen": ["ubnd-nho-quan", "ubnd-gia-vien"]}
def _some_units(units: list[str]) -> list[str]:
    if not units:
        raise ValueError("nhóm đơn vị cần ít nhất một đơn vị")
    return units


GroupMembers = Annotated[list[UnitId], AfterValidator(_some_units), Field(
    description="Các đơn vị của nhóm: danh sách mã đơn vị, ít nhất một (the group's units).",
    examples=[["ubnd-nho-quan", "ubnd-gia-vien"]], json_schema_extra={"uniqueItems": True, "minItems": 1})]
OWNER_DESCRIPTION = (
    "Đơn vị chủ trì (owner): mã một đơn vị; hoặc danh sách đơn vị, hoặc tên một nhóm trong 'groups' - khi đó "
    "mỗi đơn vị có lần thực hiện riêng (hạn, nhắc hạn, đôn đốc, xác nhận riêng; mã lần thực hiện "
    "'2023-H1@ubnd-nho-quan').")
def either(test: type | tuple[type, ...], yes: str, no: str) -> Discriminator:
    """A discriminator picking a union's member by the written value's type: only that member's problems are
    reported (its tag starts with '@': problem paths leave it out)."""
    return Discriminator(lambda value: yes if isinstance(value, test) else no)


Owner = Annotated[
    Annotated[UnitId, UnionTag("@unit")]
    | Annotated[list[UnitId], Field(min_length=1, json_schema_extra={"uniqueItems": True}), UnionTag("@units")],
    either(list, "@units", "@unit"),
]
"""A step's owner: one unit (or a group's name), or a list of units and groups."""
Text = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=60)]
PlanNumber = Annotated[str, StringConstraints(min_length=1, max_length=128)]
"""A plan's number or symbol: the state store keeps it in a column of 128 characters."""

NonWorkingDayPolicy = Literal["keep", "previous", "next"]
NON_WORKING_DAY_HELP = enum_help(NonWorkingDayPolicy.__args__, {  # type: ignore[attr-defined]
    "keep": "giữ nguyên hạn (keep the date)",
    "previous": "lùi về ngày làm việc liền trước (the previous working day)",
    "next": "dời sang ngày làm việc liền sau (the next working day)"})


def exactly_one(a: str, b: str, message: str) -> dict[str, Any]:
    """JSON Schema for "exactly one of the keys a and b", with `message` where the YAML language server
    reports it: at the mapping when both are missing, at `b` when both are there.

    `if`/`then` rather than `anyOf`: the server's hover joins the titles of `anyOf` branches that all match.
    """
    return {"if": {"properties": {b: False}}, "then": {"required": [a], "errorMessage": message},
            "dependentSchemas": {a: {"properties": {b: False}, "errorMessage": message}}}


def described(description: str, **kwargs: Any) -> Any:
    """A Field with a (Vietnamese first) description, the hover text an editor shows."""
    return Field(description=description, **kwargs)
