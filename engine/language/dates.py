"""Dates as officials write them (dd/mm/yyyy, dd/mm) and as ISO, and their display."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from engine.language.phrases import fmt, shown  # noqa: F401 - a date as officials read it, imported from here too

_DMY = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")
_ISO = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")
_DM = re.compile(r"^\s*(\d{1,2})/(\d{1,2})\s*$")
# The years a plan, a command or a simulation may name. Dates are moved by at most ten years (an `after:` of 3,660
# days) and a plan lasts at most 50 years, so nothing computed from them comes near Python's years 1 and 9999.
MIN_YEAR, MAX_YEAR = 1900, 2200


def _real_day_month(leap_day: bool, day_first: bool) -> str:
    """A regular expression admitting exactly the real (day, month) pairs, written `d/m` or `m-d`.

    29/02 is admitted only with `leap_day` (the year then decides, which a pattern cannot).
    """
    pairs = [
        (r"0?[1-9]|1\d|2\d" if leap_day else r"0?[1-9]|1\d|2[0-8]", "0?[1-9]|1[0-2]"),  # every month
        ("30" if leap_day else "29|30", "0?[13-9]|1[0-2]"),  # every month but February
        ("31", "0?[13578]|1[02]"),  # the long months
    ]
    return "(?:" + "|".join(f"(?:{d})/(?:{m})" if day_first else f"(?:{m})-(?:{d})" for d, m in pairs) + ")"


# What an editor can check before the CLI does (engine/language/schema.py): real day and month numbers.
DATE_PATTERN = rf"^(?:{_real_day_month(True, True)}/\d{{4}}|\d{{4}}-{_real_day_month(True, False)})$"
"""A date dd/mm/yyyy or yyyy-mm-dd with a real day and month (29/02 always: parse_date judges the year)."""
DAY_MONTH_PATTERN = rf"^{_real_day_month(False, True)}$"
"""A day of every year, dd/mm (never 29/02)."""


def parse_date(value: Any) -> date:
    """Parse a plan date: a YAML date, 'dd/mm/yyyy' or ISO 'yyyy-mm-dd'.

    Raises:
        ValueError: with a message naming the value and the accepted forms.
    """
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return _in_range(value, value.isoformat())
    if not isinstance(value, str):
        raise ValueError(f"cần một ngày, ví dụ '20/03/2022' hoặc '2022-03-20', không phải {shown(value)}")
    if m := _DMY.match(value):
        day, month, year = (int(g) for g in m.groups())
    elif m := _ISO.match(value):
        year, month, day = (int(g) for g in m.groups())
    else:
        raise DateError(value, "form")
    try:
        parsed = date(year, month, day)
    except ValueError:
        raise DateError(value, "real") from None
    return _in_range(parsed, value.strip())


class DateError(ValueError):
    """A written date refused: not in a date's form, no such day, or a year out of range - said in Vietnamese,
    in a plan file's problems as to a person typing a command."""

    def __init__(self, written: str, problem: str) -> None:
        self.written, self.problem = written, problem
        super().__init__({
            "form": f"'{written}' không phải là ngày: viết ngày/tháng/năm (20/03/2022) hoặc năm-tháng-ngày "
                    "(2022-03-20)",
            "real": f"'{written}' không phải là ngày có thật",
            "range": f"'{written}' có năm ngoài khoảng {MIN_YEAR}-{MAX_YEAR}: xem lại năm",
        }[problem])

    def __reduce__(self) -> tuple[Any, ...]:
        return DateError, (self.written, self.problem)


def _in_range(day: date, written: str) -> date:
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise DateError(written, "range")
    return day


def parse_day_month(value: Any) -> tuple[int, int]:
    """Parse 'dd/mm' (a day in every year) into (day, month); 29/02 is refused."""
    if not isinstance(value, str) or not (m := _DM.match(value)):
        raise ValueError(f"cần một ngày trong năm dạng ngày/tháng, ví dụ '01/11', không phải {shown(value)}")
    day, month = int(m.group(1)), int(m.group(2))
    try:
        date(2023, month, day)  # a non-leap year: 29/02 would vanish in three years of four
    except ValueError:
        leap = " (ngày 29/02 chỉ có trong năm nhuận)" if (day, month) == (29, 2) else ""
        raise ValueError(f"'{value}' không phải ngày có ở mọi năm{leap}") from None
    return day, month


