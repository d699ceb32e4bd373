"""The Vietnamese words several of the plan language's problems share: a missing field, a value out of range, a
value as written (a date as officials read it), the kind of a value, a list of choices."""

from __future__ import annotations

from datetime import date
from typing import Any


def missing_field(name: str) -> str:
    """A required field left out: "thiếu trường bắt buộc 'kind'"."""
    return f"thiếu trường bắt buộc '{name}'"


def out_of_range(value: Any, rule: str) -> str:
    """A value past its bounds, `value` as written and `rule` what is allowed: "400 nằm ngoài giới hạn: tối đa là
    366"."""
    return f"{value} nằm ngoài giới hạn: {rule}"


def kind_of(value: Any) -> str:
    """What kind of value was written, never the value itself: 'một danh sách', "một bảng 'khóa: giá trị'"..."""
    if isinstance(value, dict):
        return "một bảng 'khóa: giá trị'"
    if isinstance(value, list):
        return "một danh sách"
    if value is None:
        return "giá trị trống (null)"
    if isinstance(value, bool):
        return "true hoặc false"
    if isinstance(value, (int, float)):
        return "một số"
    if isinstance(value, date):
        return "một ngày"
    return "chữ"


def shown(value: Any) -> str:
    """A written value in a message: text quoted (shortened), a number or date as written, a mapping or a list by
    its kind."""
    if isinstance(value, str):
        return f"'{value}'" if len(value) <= 60 else f"'{value[:57]}...'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return fmt(value)
    if isinstance(value, (dict, list)) or value is None:
        return kind_of(value)
    return repr(value)


def fmt(d: date | None) -> str:
    """Format a date as officials read it: dd/mm/yyyy (engine.language.dates.fmt)."""
    return f"{d.day:02d}/{d.month:02d}/{d.year}" if d else ""  # as strftime("%d/%m/%Y"), at less than half the cost


def either_of(choices: list[str]) -> str:
    """Choices as a sentence says them: "'a', 'b' hoặc 'c'"."""
    if len(choices) < 2:
        return "".join(choices)
    return f"{', '.join(choices[:-1])} hoặc {choices[-1]}"
