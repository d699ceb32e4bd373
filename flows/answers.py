"""What an official typed into a form, checked field by field and refused in one Vietnamese sentence.

The forms' flows take loose parameters (Prefect would refuse a wrong type in English, with a traceback), so
the values arrive as the UI or an API caller sent them: text, numbers, dates as 'yyyy-mm-dd' (or
'dd/mm/yyyy'), or nothing at all for a field left empty. Every problem is collected, then said at once.
"""

from __future__ import annotations

from datetime import date
from difflib import get_close_matches
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import KehoachError, PlanError
from engine.language.dates import fmt, parse_date
from engine.language.periods import ONLY_ONE, ONLY_ONE_KEY, occurrence_label
from engine.language.plan import Plan, PlanLoader
from engine.runtime.people import MAX_TEXT, occurrence_key
from engine.state.models import OccurrenceRecord
from flows.forms import unit_choices

MAX_NAME = 200
MAX_ATTENDEES = 1_000_000
SHOWN = 40  # characters of a refused value quoted back


class FormError(KehoachError, ValueError):
    """Raised when a form's values cannot be recorded; the message is one Vietnamese sentence."""


def joined(items: list[str]) -> str:
    """'a', 'a và b', 'a, b và c'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} và {items[-1]}"


def sentence(text: str) -> str:
    """Capitalised, with a full stop."""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _shown(value: Any) -> str:
    text = str(value)
    text = text if len(text) <= SHOWN else text[:SHOWN] + "..."
    return f"'{text}'" if isinstance(value, str) else text


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class Answers:
    """Checks one form's values; `done()` raises FormError naming everything missing or wrong.

    Args:
        today: the day the form is sent, in the plan's time zone: no date of what was done may be after it.
    """

    def __init__(self, today: date):
        self.today = today
        self.missing: list[str] = []
        self.wrong: list[str] = []

    def _absent(self, value: Any, label: str, required: bool) -> bool:
        if _blank(value):
            if required:
                self.missing.append(label)
            return True
        return False

    def text(self, value: Any, label: str, required: bool = True, limit: int = MAX_TEXT) -> str | None:
        """Free text (a result, a reason), trimmed; line breaks kept."""
        if self._absent(value, label, required):
            return None
        if not isinstance(value, str):
            value = str(value)
        value = value.strip()
        if len(value) > limit:
            self.wrong.append(f"{label} dài {len(value)} ký tự, quá {limit} ký tự cho phép")
            return None
        if any(ord(c) < 32 and c not in "\n\t" or ord(c) == 127 for c in value):
            self.wrong.append(f"{label} có ký tự điều khiển: hãy nhập chữ thường")
            return None
        return value

    def name(self, value: Any, label: str) -> str | None:
        """A person's name, on one line."""
        text = self.text(value, label, limit=MAX_NAME * 4)
        if text is None:
            return None
        text = " ".join(text.split())
        if len(text) > MAX_NAME:
            self.wrong.append(f"{label} dài {len(text)} ký tự, quá {MAX_NAME} ký tự cho phép")
            return None
        return text

    def day(self, value: Any, label: str, *, not_after_today: bool = True, not_before: date | None = None,
            before_what: str = "") -> date | None:
        """A date from the date picker ('yyyy-mm-dd') or written 'dd/mm/yyyy'."""
        if self._absent(value, label, True):
            return None
        try:
            day = parse_date(value.strip() if isinstance(value, str) else value)
        except ValueError:
            self.wrong.append(f"{label} không phải là một ngày (đã nhập: {_shown(value)}); "
                              "hãy chọn trên lịch")
            return None
        if not_after_today and day > self.today:
            self.wrong.append(f"{label} {fmt(day)} là ngày sau hôm nay ({fmt(self.today)})")
            return None
        if not_before is not None and day < not_before:
            self.wrong.append(f"{label} {fmt(day)} trước {before_what} ({fmt(not_before)})")
            return None
        return day

    def count(self, value: Any, label: str) -> int | None:
        """A whole number of people, at least one."""
        if self._absent(value, label, True):
            return None
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str) and value.strip().isdigit():
            number = int(value.strip())
        if number is None or not 1 <= number <= MAX_ATTENDEES:
            self.wrong.append(f"{label} phải là số nguyên từ 1 trở lên (đã nhập: {_shown(value)})")
            return None
        return number

    def link(self, value: Any, label: str) -> str | None:
        """A web address."""
        text = self.text(value, label)
        if text is None:
            return None
        if not text.startswith(("http://", "https://")) or any(c.isspace() for c in text) or len(text) < 12:
            self.wrong.append(f"{label} phải là địa chỉ bắt đầu bằng https:// hoặc http:// "
                              f"(đã nhập: {_shown(text)})")
            return None
        return text

    def done(self) -> None:
        """Raises FormError with every problem found, in one sentence.

        Raises:
            FormError: a field is missing or wrong.
        """
        parts = ([f"còn thiếu {joined(self.missing)}"] if self.missing else []) + self.wrong
        if parts:
            raise FormError(sentence("; ".join(parts)))


def fixed(plan: Any, step: Any) -> tuple[Any, Any]:
    """The plan file and step a form's run is about: its deployment's own when it has one - a link or a
    hand-made request may send other values, which the UI would pass on - else the run's parameters."""
    from prefect.runtime import deployment

    own = deployment.parameters if deployment.id else {}
    return own.get("plan", plan), own.get("step", step)


def load_target(plan: Any, step: Any) -> tuple[Plan, Any]:
    """The plan and the step of a form.

    Raises:
        FormError: no plan named, a plan that cannot be read now, a step it no longer has.
    """
    if _blank(plan) or not isinstance(plan, str):
        raise FormError("Biểu mẫu không gắn với kế hoạch nào: hãy mở biểu mẫu từ đường link trong thông báo.")
    try:
        loaded = PlanLoader().load(plan)
    except (PlanError, OSError) as exc:
        raise FormError(f"Kế hoạch {plan} hiện không đọc được nên chưa ghi nhận được; hãy báo người quản trị "
                        "kiểm tra (kehoach validate).") from exc
    found = loaded.step_by_id.get(step) if isinstance(step, str) else None
    if found is None:
        raise FormError(f"Kế hoạch số {loaded.meta.number} không còn việc '{step}': biểu mẫu đã cũ, hãy báo "
                        "người quản trị chạy lại kehoach serve.")
    return loaded, found


def unit_of_form(answers: Answers, plan: Plan, step: Any, value: Any) -> str | None:
    """The owner unit a form names (by name or id) for a step with several owners; None for a step with one
    owner, or when the unit is missing or unknown (noted in `answers`)."""
    choices = unit_choices(plan, step.id)
    if not choices:
        return None
    if _blank(value):
        answers.missing.append("đơn vị chủ trì")
        return None
    given = " ".join(str(value).split())
    unit = choices.get(given) or next((u for u in choices.values() if u == given), None)
    if unit is None:
        close = get_close_matches(given, [*choices, *choices.values()], n=1, cutoff=0.6)
        hint = f" (có phải '{close[0]}' không)" if close else f" (các đơn vị: {joined(list(choices))})"
        answers.wrong.append(f"'{given}' không phải đơn vị chủ trì của việc này{hint}")
    return unit


def occurrence_of(answers: Answers, plan: Plan, step: Any, value: Any, session: Session,
                  unit: Any = None) -> str | None:
    """The key of the occurrence a form names (its label or key, and its unit for a step with several owners),
    among the calendar's and the stored ones; a missing or unknown one is noted in `answers`."""
    owner = unit_of_form(answers, plan, step, unit)
    if value is None or (isinstance(value, str) and not value.strip()):
        answers.missing.append("lần thực hiện")
        return None
    if step.id in plan.per_unit and owner is None:
        return None
    given = " ".join(str(value).split())
    key = occurrence_key(plan, session, step, ONLY_ONE_KEY if given.casefold() == ONLY_ONE else given, owner)
    stored = session.scalars(select(OccurrenceRecord.key).where(
        OccurrenceRecord.plan_id == plan.id, OccurrenceRecord.step_id == step.id)).all()
    keys = list(dict.fromkeys([*(o.key for o in plan.occurrences(step.id)), *stored]))
    if key not in keys:
        known = ", ".join(occurrence_label(k) for k in keys[:6]) + (", ..." if len(keys) > 6 else "")
        listed = f" (các lần: {known})" if keys else ""
        answers.wrong.append(f"việc này không có lần thực hiện '{value}'{listed}")
        return None
    return key
