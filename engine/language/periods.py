"""Reporting periods and their data cut-off windows (Decree 09/2019/NĐ-CP, Article 12).

A period's window ends on the cut-off day of its last month and starts the day after the previous period's
window ends: with the decree's default (day 14) a yearly report covers 15/12 of the previous year to 14/12, a
first-half report 15/12 to 14/06, a quarter 15 of the month before it to 14 of its last month, a month 15 to 14.
A report step moves the cut-off with `cutoff_day` and `cutoff_month` (a month of the period: 2 on a quarterly
report ends each window in the quarter's second month).

Which period an occurrence covers comes from the occurrence itself, never from its dates after a move off a day
off or an extension: the period its key names (a recurring step whose recurrence is of the reported kind), else
the latest period whose window ends by the occurrence's nominal due date. A step may instead cover the whole plan
(`period: plan`, the default of one-off steps: from the plan's start to the cut-off before the deadline) or a
span written out (`period: {from, to}`).
"""

from __future__ import annotations

import calendar as _cal
import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from engine.errors import ReportError
from engine.language.dates import fmt
from engine.language.keys import split_key
from engine.language.models.steps import Report, Review, Span
from engine.language.models.timing import HalfYearly, Monthly, OnDemand, Ongoing, Quarterly, Yearly, for_previous

YEAR, HALF_YEAR, QUARTER, MONTH, CUMULATIVE = "year", "half_year", "quarter", "month", "cumulative"
SPAN = "span"
_MONTHS = {YEAR: 12, HALF_YEAR: 6, QUARTER: 3, MONTH: 1}
_RECURRING = (Yearly, HalfYearly, Quarterly, Monthly, Ongoing)
PERIOD_FORMS = "2023 (năm), 2023-H1 (6 tháng), 2023-Q2 (quý), 2023-05 (tháng)"
_EXAMPLE = {YEAR: "2023", HALF_YEAR: "2023-H1", QUARTER: "2023-Q2", MONTH: "2023-05"}
KIND_VI = {YEAR: "năm", HALF_YEAR: "6 tháng", QUARTER: "quý", MONTH: "tháng"}
_TIMING_KIND = {"yearly": YEAR, "half_yearly": HALF_YEAR, "quarterly": QUARTER, "monthly": MONTH}
_ROMAN = ("I", "II", "III", "IV")
_PATTERNS = (
    (re.compile(r"^(\d{4})$"), YEAR),
    (re.compile(r"^(\d{4})-[Hh](\d)$"), HALF_YEAR),
    (re.compile(r"^(\d{4})-[Qq](\d)$"), QUARTER),
    (re.compile(r"^(\d{4})-(\d{2})$"), MONTH),
)
_LIMITS = {HALF_YEAR: 2, QUARTER: 4, MONTH: 12}


@dataclass(frozen=True)
class Window:
    """A reporting period: its key (2023, 2023-H1, ...), the data window [start, end] and a Vietnamese label."""

    kind: str
    key: str
    start: date
    end: date
    label: str

    def describe(self) -> str:
        return f"từ ngày {fmt(self.start)} đến ngày {fmt(self.end)}"


def step_period_kind(step: Any) -> str | None:
    """The period a report step reports on: its `period`, else its recurrence; None when neither says, or when
    it covers the plan or a span."""
    period = getattr(step, "period", None)
    if period is not None:
        return period if period in _MONTHS else None
    return recurrence_kind(step.timing)


def recurrence_kind(timing: Any) -> str | None:
    """The period of a recurring timing (year, half_year, quarter, month); None for a one-off or on-demand one."""
    if isinstance(timing, Ongoing):
        return _TIMING_KIND[timing.ongoing.check_in]
    for cls, name in ((Yearly, "yearly"), (HalfYearly, "half_yearly"), (Quarterly, "quarterly"), (Monthly, "monthly")):
        if isinstance(timing, cls):
            return _TIMING_KIND[name]
    return None


def parse_period(text: str) -> tuple[str, int, int]:
    """Parse '2023', '2023-H1', '2023-Q2' or '2023-05' into (kind, year, index).

    Raises:
        ReportError: any other text, or an index out of range (2023-Q5, 2023-13).
    """
    value = (text or "").strip()
    for pattern, kind in _PATTERNS:
        if m := pattern.match(value):
            year = int(m.group(1))
            index = int(m.group(2)) if kind != YEAR else 1
            if kind != YEAR and not 1 <= index <= _LIMITS[kind]:
                break
            return kind, year, index
    raise ReportError(f"kỳ báo cáo '{text}' không hợp lệ: viết {PERIOD_FORMS}")


def _clamp(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, _cal.monthrange(year, month)[1]))


def _last_month(kind: str, index: int, cutoff_month: int | None) -> int:
    """The month of the year a period's window ends in: the period's last, or its `cutoff_month`-th."""
    months = _MONTHS[kind]
    return (index - 1) * months + (cutoff_month or months)


def _previous(kind: str, year: int, index: int) -> tuple[int, int]:
    if kind == YEAR:
        return year - 1, 1
    return (year, index - 1) if index > 1 else (year - 1, _LIMITS[kind])


def _end(kind: str, year: int, index: int, cutoff_day: int, cutoff_month: int | None) -> date:
    return _clamp(year, _last_month(kind, index, cutoff_month), cutoff_day)


def period_label(kind: str, year: int, index: int) -> str:
    """'năm 2023', '6 tháng đầu năm 2023', 'quý II năm 2023', 'tháng 5 năm 2023'."""
    if kind == YEAR:
        return f"năm {year}"
    if kind == HALF_YEAR:
        return f"6 tháng {'đầu' if index == 1 else 'cuối'} năm {year}"
    if kind == QUARTER:
        return f"quý {_ROMAN[index - 1]} năm {year}"
    return f"tháng {index} năm {year}"


_CALENDAR_PERIOD = {YEAR: ("yearly", 12), HALF_YEAR: ("half_yearly", 6), QUARTER: ("quarterly", 3), MONTH: ("monthly", 1)}


def period_key(kind: str, year: int, index: int) -> str:
    """The occurrence key of a reporting period, made by the calendar so the two can never disagree."""
    from engine.language.calendar import period_key as occurrence_key

    name, months = _CALENDAR_PERIOD[kind]
    return occurrence_key(name, year, index * months)


def make_window(kind: str, year: int, index: int, cutoff_day: int = 14, cutoff_month: int | None = None) -> Window:
    """The data window of one period."""
    end = _end(kind, year, index, cutoff_day, cutoff_month)
    start = _end(kind, *_previous(kind, year, index), cutoff_day, cutoff_month) + timedelta(days=1)
    return Window(kind, period_key(kind, year, index), start, end, period_label(kind, year, index))


def _cutoffs(step: Any) -> tuple[int, int | None]:
    """A report step's cut-off (day, month of the period): day 14 of the period's last month by default (Decree
    09/2019), its last day for a report on the period before its deadline (`for_period: previous`)."""
    day = getattr(step, "cutoff_day", None)
    if day is None:
        day = 31 if for_previous(step.timing) else 14
    return day, getattr(step, "cutoff_month", None)


def report_window(plan: Any, step: Any, text: str) -> Window:
    """The window of the period a person asks for (`--period`), checked against the step and the plan.

    Raises:
        ReportError: unknown period syntax, a period of another kind than the step reports on, a period outside
            the plan.
    """
    kind, year, index = parse_period(text)
    expected = step_period_kind(step)
    if expected is not None and kind != expected:
        raise ReportError(f"bước '{step.id}' báo cáo theo kỳ {KIND_VI[expected]}: viết --period như "
                          f"'{_EXAMPLE[expected]}', không phải '{text}'")
    window = make_window(kind, year, index, *_cutoffs(step))
    period = plan.meta.period
    if window.end < period.start or window.start > period.end:
        raise ReportError(f"kỳ {window.label} ({window.describe()}) nằm ngoài thời gian thực hiện kế hoạch "
                          f"{fmt(period.start)} - {fmt(period.end)}")
    return within_plan(plan, window)


def within_plan(plan: Any, window: Window) -> Window:
    """The window cut to the plan's period: the first report of a plan counts from the day the plan starts."""
    period = plan.meta.period
    start, end = max(window.start, period.start), min(window.end, period.end)
    return replace(window, start=start, end=max(end, start))


def cutoff_before(day: date, cutoff_day: int) -> date:
    """The last cut-off day (day `cutoff_day` of a month, or its last day) on or before `day`."""
    end = _clamp(day.year, day.month, cutoff_day)
    if end <= day:
        return end
    first = date(day.year, day.month, 1) - timedelta(days=1)
    return _clamp(first.year, first.month, cutoff_day)


def nominal_due(plan: Any, step: Any, key: str, due: date) -> date:
    """The occurrence's due date as the plan writes it, before any move off a day off or extension (the
    calendar's, when the occurrence is in it; else `due`)."""
    occ = plan.dated.get((step.id, key))
    return occ.nominal_due if occ is not None else due


def occurrence_window(plan: Any, step: Any, key: str, due: date, opened: date) -> Window:
    """The window a report or review occurrence covers (see the module's note); `due` and `opened` are the
    occurrence's stored dates, used only when the plan's calendar does not date it (on demand, after a step).

    An on-demand report with no `period` covers the plan from its start to the day it was requested; a review
    never looks past the day it is due (its stored deadline: it looks back from the day it is held).
    """
    period, timing = getattr(step, "period", None), step.timing
    held, due = due, nominal_due(plan, step, key, due)
    start = plan.meta.period.start
    if isinstance(period, Span):
        return Window(SPAN, key, period.from_, period.to, f"từ ngày {fmt(period.from_)} đến ngày {fmt(period.to)}")
    kind = step_period_kind(step)
    if kind is None and period is None and isinstance(timing, OnDemand):
        return Window(CUMULATIVE, key, start, max(opened, start),
                      f"từ khi triển khai kế hoạch đến ngày {fmt(max(opened, start))}")
    if kind is None:  # the plan so far: to the cut-off before a report's deadline, to the day a review is due
        end = held if isinstance(step, Review) else cutoff_before(due, _cutoffs(step)[0])
        end = min(max(end, start), plan.meta.period.end)
        return Window(CUMULATIVE, key, start, end, f"từ khi triển khai kế hoạch đến ngày {fmt(end)}")
    window = keyed_window(step, key, kind) or latest_window_by(kind, due, step)
    window = within_plan(plan, window)
    if isinstance(step, Review) and window.end > held:
        window = replace(window, end=max(held, window.start))
    return window


def keyed_window(step: Any, key: str, kind: str) -> Window | None:
    """The window of the period a recurring step's occurrence key names, when the step reports on periods of
    its recurrence's kind ('2025-H1' of a half-yearly report); None otherwise."""
    if not isinstance(step.timing, _RECURRING) or recurrence_kind(step.timing) != kind:
        return None
    try:
        k, year, index = parse_period(split_key(key)[0])  # one owner's occurrence: its period
    except ReportError:
        return None
    return make_window(kind, year, index, *_cutoffs(step)) if k == kind else None


def latest_window_by(kind: str, day: date, step: Any) -> Window:
    """The latest period of this kind whose window ends on or before `day`."""
    count = _LIMITS.get(kind, 1)
    year, index = day.year + 1, count
    while True:
        w = make_window(kind, year, index, *_cutoffs(step))
        if w.end <= day:
            return w
        year, index = _previous(kind, year, index)


def _covers(step: Any) -> str:
    period = getattr(step, "period", None)
    if isinstance(period, Span):
        return "của khoảng thời gian ghi ở 'period'"
    if period is None and isinstance(step.timing, OnDemand):
        return "từ đầu kế hoạch đến mỗi lần yêu cầu"
    return "của cả thời gian kế hoạch"


def window_findings(plan: Any) -> list[tuple[tuple[Any, ...], str]]:
    """Problems of the report and review windows, as (loc, message): a cut-off month past the period's months,
    or given where no period has months; a report whose data would be cut off after it is due; a span that
    ends after the step's deadline or starts after it ends."""
    out: list[tuple[tuple[Any, ...], str]] = []
    for index, step in enumerate(plan.steps):
        if not isinstance(step, (Report, Review)):
            continue
        at = ("steps", index)
        period, kind = getattr(step, "period", None), step_period_kind(step)
        if isinstance(step, Report) and step.cutoff_month is not None:
            if kind is None:
                out.append(((*at, "cutoff_month"), "cutoff_month là một tháng trong kỳ báo cáo (year, half_year, "
                            f"quarter), mà báo cáo này lấy số liệu {_covers(step)}: bỏ cutoff_month, số liệu chốt theo "
                            "cutoff_day"))
                continue
            if step.cutoff_month > _MONTHS[kind]:
                n = _MONTHS[kind]
                out.append(((*at, "cutoff_month"), f"cutoff_month {step.cutoff_month} vượt quá {n} tháng của kỳ "
                            f"{KIND_VI[kind]}: ghi từ 1 đến {n} (số liệu chốt vào tháng thứ mấy của kỳ)"))
                continue
        occurrences = plan.occurrences(step.id)
        if isinstance(period, Span):
            if period.to < period.from_:
                out.append(((*at, "period", "to"), f"khoảng thời gian kết thúc ngày {fmt(period.to)}, trước ngày bắt "
                            f"đầu {fmt(period.from_)}"))
            elif occurrences and period.to > occurrences[0].nominal_due:
                what = "báo cáo" if isinstance(step, Report) else "sơ kết, tổng kết"
                out.append(((*at, "period", "to"), f"khoảng thời gian kết thúc ngày {fmt(period.to)}, sau hạn của "
                            f"bước ({fmt(occurrences[0].nominal_due)}): bước {what} không thể tính những ngày sau "
                            "hạn của nó"))
            continue
        if not isinstance(step, Report) or kind is None:
            continue
        seen: set[tuple[str, date]] = set()
        for occ in occurrences:
            if (occ.period, occ.nominal_due) in seen:  # the same period of another owner: the same window
                continue
            seen.add((occ.period, occ.nominal_due))
            window = keyed_window(step, occ.key, kind)
            if window is not None and window.end > occ.nominal_due:
                where = "cutoff_month" if step.cutoff_month else "cutoff_day"
                written = where in step.model_fields_set
                knobs = "cutoff_day" if kind == MONTH else "cutoff_day, cutoff_month"
                out.append(((*at, where) if written else (*at, "timing"),
                            f"số liệu {window.label} sẽ chốt ngày {fmt(window.end)}, sau hạn báo cáo "
                            f"{fmt(occ.nominal_due)}: đặt ngày chốt trước hạn ({knobs}), lùi hạn, hoặc thêm "
                            "'for_period: previous' vào timing nếu đây là báo cáo cho kỳ liền trước hạn"))
                break
    return out


ONLY_ONE_KEY, ONLY_ONE = "once", "lần duy nhất"  # a one-off occurrence, which has no period to name


@lru_cache(maxsize=4096)  # every notice names its occurrence: a long simulation asks for the same keys often
def key_label(key: str) -> str:
    """An occurrence key as a person reads it: 'năm 2023', '6 tháng đầu năm 2023', 'quý II/2023', 'tháng 5/2023',
    'theo yêu cầu ngày 10/05/2023'; empty for a one-off occurrence ('once'), which needs no label. The key of
    one owner's occurrence ('2023-H1@ubnd-nho-quan') is labelled by its period."""
    key = split_key(key)[0]
    if key == ONLY_ONE_KEY:
        return ""
    if m := re.match(r"^yc-(\d{4})-(\d{2})-(\d{2})(?:-(\d+))?$", key):
        n = f" (lần {m.group(4)})" if m.group(4) else ""
        return f"theo yêu cầu ngày {m.group(3)}/{m.group(2)}/{m.group(1)}{n}"
    try:
        kind, year, index = parse_period(key)
    except ReportError:
        return key
    if kind == YEAR:
        return f"năm {year}"
    if kind == HALF_YEAR:
        return f"6 tháng {'đầu' if index == 1 else 'cuối'} năm {year}"
    if kind == QUARTER:
        return f"quý {_ROMAN[index - 1]}/{year}"
    return f"tháng {index}/{year}"


def occurrence_label(key: str) -> str:
    """An occurrence as people name it in a list or a form: 'năm 2023', 'quý II/2023', 'theo yêu cầu ngày
    02/05/2024', 'lần duy nhất'."""
    return key_label(key) or ONLY_ONE


def in_brackets(key: str) -> str:
    """' (quý II/2023)' after a title, or nothing for a one-off occurrence."""
    label = key_label(key)
    return f" ({label})" if label else ""


def titled(title: str, key: str) -> str:
    """A step's title followed by its occurrence's label, unless the title already names it: 'Tổng kết việc
    triển khai, thực hiện Đề án (năm 2025)' stays as it is for the occurrence '2025'."""
    text = " ".join(title.split())
    label = key_label(key)
    return text if not label or label.casefold() in text.casefold() else f"{text} ({label})"
