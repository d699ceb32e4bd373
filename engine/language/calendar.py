"""Expand every step's timing into dated occurrences: opens, due (moved off non-working days), reminders."""

from __future__ import annotations

import calendar as _cal
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from engine.language.dates import fmt, parse_day_month
from engine.language.keys import UNIT_SEP, split_key, unit_key  # noqa: F401 - the calendar's keys, imported from here too
from engine.language.models.timing import (
    After,
    Deadline,
    HalfYearly,
    Milestone,
    Monthly,
    OnDemand,
    Ongoing,
    Quarterly,
    Yearly,
    for_previous,
    period_item,
)
from engine.language.phrases import either_of, shown

if TYPE_CHECKING:
    from engine.language.plan import Plan, Policy

Finding = tuple[tuple[Any, ...], str]

_PERIOD_MONTHS = {"monthly": 1, "quarterly": 3, "half_yearly": 6, "yearly": 12}
CYCLE_VI = {"monthly": "hằng tháng", "quarterly": "hằng quý", "half_yearly": "6 tháng một lần", "yearly": "hằng năm"}
# A plan's calendar is built whole at every check: a small file of monthly steps over a long period must not
# take minutes and gigabytes. The largest generated benchmark plan (5,000 steps) has ~46,000.
MAX_OCCURRENCES = 100_000


@dataclass(frozen=True)
class Occurrence:
    """One dated instance of a step: the unit of opening, reminding, confirming."""

    step_id: str
    key: str
    opens: date
    due: date
    nominal_due: date
    reminders: tuple[date, ...] = ()
    projected: bool = False  # dates estimated from a dependency's due date ("after" timing)
    owner: str = ""  # the unit that owes it
    period: str = ""  # the key without its unit: the period of a step with several owners ('2023-H1')

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "period": self.period,
            "owner": self.owner,
            "opens": self.opens.isoformat(),
            "due": self.due.isoformat(),
            "nominal_due": self.nominal_due.isoformat(),
            "reminders": [d.isoformat() for d in self.reminders],
            "projected": self.projected,
        }


@dataclass
class StepCalendar:
    """A step's occurrences, plus a plain-language description of its timing."""

    step_id: str
    describe: str
    occurrences: list[Occurrence] = field(default_factory=list)
    on_demand: bool = False


@lru_cache(maxsize=4096)
def _clamp_day(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, _cal.monthrange(year, month)[1]))


@lru_cache(maxsize=256)
def _months(lo: date, hi: date) -> tuple[tuple[int, int], ...]:
    out = []
    y, m = lo.year, lo.month
    while (y, m) <= (hi.year, hi.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return tuple(out)


def period_key(period: str, year: int, month: int) -> str:
    """The occurrence key of the period ending in (year, month): 2023, 2023-H1, 2023-Q2, 2023-05."""
    if period == "yearly":
        return f"{year}"
    if period == "half_yearly":
        return f"{year}-H{(month - 1) // 6 + 1}"
    if period == "quarterly":
        return f"{year}-Q{(month - 1) // 3 + 1}"
    return f"{year}-{month:02d}"


def _rule(timing: Any) -> tuple[str, int, int, int, bool]:
    """A recurring timing as (period of its keys, months per period, month of the period, day of that month,
    whether the deadline is the day before that day)."""
    if isinstance(timing, Monthly):
        m = timing.monthly
        return ("monthly", 1, 1, m, False) if isinstance(m, int) else ("monthly", 1, 1, m.before, True)
    if isinstance(timing, (Quarterly, HalfYearly)):
        name, months, spec = (("quarterly", 3, timing.quarterly) if isinstance(timing, Quarterly)
                              else ("half_yearly", 6, timing.half_yearly))
        return (name, months, spec.month, spec.day, False) if spec.day else (name, months, spec.month, spec.before, True)
    if isinstance(timing, Yearly):
        text = timing.yearly if isinstance(timing.yearly, str) else timing.yearly.before
        day, month = parse_day_month(text)
        return "yearly", 12, month, day, not isinstance(timing.yearly, str)
    months = _PERIOD_MONTHS[timing.ongoing.check_in]  # Ongoing: check in on the period's last month
    return timing.ongoing.check_in, months, months, timing.ongoing.day or 31, False


def _day_before(year: int, month: int, day: int) -> date:
    """The deadline of 'before day N of this month': day N-1 (N past the month's end: its last day); before
    day 1, the last day of the month before."""
    return _clamp_day(year, month, day - 1) if day > 1 else date(year, month, 1) - timedelta(days=1)


@lru_cache(maxsize=1024)
def _series(period: str, months: int, month: int, day: int, before: bool, lo: date,
            hi: date, previous: bool = False) -> tuple[tuple[str, date], ...]:
    # Cached: the steps of a plan share a handful of rules and bounds (a large plan repeats them thousands of times).
    # The key names the period the deadline falls in: 'before day 1' of a month is due, and keyed, in the month
    # before (so the months scanned reach one past `hi`). `previous`: the key names the period before that one
    # (a report on last month, due on the 5th), and a period ended before `lo` has no occurrence.
    out = []
    for y, m in _months(lo, hi + timedelta(days=31) if before else hi):
        if (m - 1) % months + 1 == month:
            d = _day_before(y, m, day) if before else _clamp_day(y, m, day)
            if not lo <= d <= hi:
                continue
            if not previous:
                out.append((period_key(period, d.year, d.month), d))
                continue
            first = (d.month - 1) // months * months  # months since January to the period of the deadline
            if date(d.year, first + 1, 1) > lo:  # the period before it ends on or after lo
                y0, m0 = divmod(d.year * 12 + first - months, 12)
                out.append((period_key(period, y0, m0 + 1), d))
    return tuple(out)


_GRAIN = {"month": 1, "quarter": 3, "half": 6, "year": 12}


def _key_parts(key: str) -> tuple[int, int]:
    """(year, first month) of the period an occurrence key names: '2023-Q2' -> (2023, 4)."""
    year, _, rest = key.partition("-")
    if not rest:
        return int(year), 1
    if rest[0] in "QH":
        return int(year), (int(rest[1:]) - 1) * (3 if rest[0] == "Q" else 6) + 1
    return int(year), int(rest)


def _period_end(key: str, months: int) -> date:
    """The last day of the period of `months` months an occurrence key names: '2023-Q2', 3 -> 30/06/2023."""
    year, month = _key_parts(key)
    after = year * 12 + month - 1 + months
    return date(after // 12, after % 12 + 1, 1) - timedelta(days=1)


def _matches(item: tuple[str, Any], key: str) -> bool:
    """Whether an `except`/`only` item names the period of this occurrence key."""
    what, value = item
    if what == "key":
        return key == value
    year, month = _key_parts(key)
    if what == "year":
        return year == value
    return (month - 1) // _GRAIN[what] + 1 == value


def _items(timing: Any) -> tuple[str, list[Any]] | None:
    if timing.except_ is not None:
        return "except", timing.except_
    return ("only", timing.only) if timing.only is not None else None


def _nominal_dates(timing: Any, lo: date, hi: date) -> list[tuple[str, date]]:
    """(key, nominal due) of each recurrence inside [lo, hi], less the periods `except` leaves out (or only
    those `only` names); a day past a month's end means its last day."""
    dates = _series(*_rule(timing), lo, hi, for_previous(timing))
    chosen = _items(timing)
    if chosen is None:
        return list(dates)
    name, raw = chosen
    items = [i for i in map(period_item, raw) if i is not None]
    keep = name == "only"
    return [(k, d) for k, d in dates if any(_matches(i, k) for i in items) is keep]


def rule_findings(timing: Any, lo: date, hi: date) -> list[Finding]:
    """Problems of a recurrence's `except`/`only`: both given; a period finer than the recurrence (a quarter
    of a half-yearly step); a period that names no occurrence between lo and hi (a mistyped year)."""
    if timing.except_ is not None and timing.only is not None:
        return [(("timing", "only"), "chỉ ghi 'except' (các kỳ bỏ ra) hoặc 'only' (các kỳ giữ lại), không ghi cả hai")]
    chosen = _items(timing)
    if chosen is None:
        return []
    name, raw = chosen
    period = _rule(timing)[0]
    dates = _series(*_rule(timing), lo, hi, for_previous(timing))
    out: list[Finding] = []
    between = f"từ ngày {fmt(lo)} đến ngày {fmt(hi)}"
    for i, value in enumerate(raw):
        item = period_item(value)
        if item is None:
            continue
        what, _ = item
        written = shown(value) if what == "year" else f"{shown(value)} ({_item_label(value)})"
        if what == "key":
            if not any(k == item[1] for k, _ in dates):
                example = dates[0][0] if dates else period_key(period, lo.year, lo.month)
                out.append(((("timing", name, i)), f"{written} không phải một lần của lịch {CYCLE_VI[period]} "
                            f"{between} - ghi một kỳ trong khoảng đó, dạng '{example}' ({_item_label(example)})"))
            continue
        if _GRAIN[what] < _PERIOD_MONTHS[period]:
            words = {"month": "1-12", "quarter": "Q1-Q4", "half": "H1-H2", "year": "một năm như 2023"}
            fit = [words[w] for w, g in _GRAIN.items() if g >= _PERIOD_MONTHS[period]]
            out.append(((("timing", name, i)), f"{written} ngắn hơn chu kỳ lặp của bước ({CYCLE_VI[period]}): "
                        f"ghi {either_of(fit)}"))
        elif not any(_matches(item, k) for k, _ in dates):
            out.append(((("timing", name, i)), f"{written} không ứng với lần nào {between}"))
    if not out and dates and not _nominal_dates(timing, lo, hi):
        out.append((("timing", name), f"'{name}' không để lại lần nào của lịch '{_describe(timing)}' {between} "
                    f"(bỏ cả {len(dates)} lần)"))
    return out


_ROMAN = ("I", "II", "III", "IV")


def _item_label(value: Any) -> str:
    """An `except`/`only` item in Vietnamese: quý II, 6 tháng cuối năm, tháng 12, năm 2023, quý IV/2024."""
    item = period_item(value)
    if item is None:
        return str(value)
    what, n = item
    if what == "quarter":
        return f"quý {_ROMAN[n - 1]}"
    if what == "half":
        return f"6 tháng {'đầu' if n == 1 else 'cuối'} năm"
    if what == "month":
        return f"tháng {n}"
    if what == "year":
        return f"năm {n}"
    year, _, rest = str(n).partition("-")
    if rest[0] == "Q":
        return f"quý {_ROMAN[int(rest[1]) - 1]}/{year}"
    if rest[0] == "H":
        return f"6 tháng {'đầu' if rest[1] == '1' else 'cuối'} năm {year}"
    return f"tháng {int(rest)}/{year}"


def _day_text(day: int, before: bool) -> str:
    return f"trước ngày {day}" if before else f"ngày {day}"


def describe_timing(timing: Any) -> str:
    """The timing in Vietnamese, as a table cell."""
    previous = _FOR_PREVIOUS[_rule(timing)[0]] if for_previous(timing) else ""
    return _describe(timing) + previous + periods_left_out(timing)


_FOR_PREVIOUS = {"monthly": ", cho tháng trước", "quarterly": ", cho quý trước", "half_yearly": ", cho 6 tháng trước",
                 "yearly": ", cho năm trước"}


def periods_left_out(timing: Any) -> str:
    """', trừ quý II, quý IV' or ', chỉ 6 tháng cuối năm' after a recurrence's rhythm; '' when it has neither."""
    chosen = _items(timing) if isinstance(timing, (Monthly, Quarterly, HalfYearly, Yearly, Ongoing)) else None
    if not chosen:
        return ""
    name, raw = chosen
    return f", {'trừ' if name == 'except' else 'chỉ'} {', '.join(_item_label(v) for v in raw)}"


def recurrence_rule(timing: Any) -> tuple[int, int, bool]:
    """A monthly, quarterly, half-yearly or yearly timing's (month of the period, day, whether 'before' that day)."""
    _, _, month, day, before = _rule(timing)
    return month, day, before


def _describe(timing: Any) -> str:
    if isinstance(timing, Deadline):
        if timing.before:
            text = f"trước ngày {fmt(timing.before)}"
        else:
            text = f"hạn {fmt(timing.due)}"
        return f"từ {fmt(timing.start)}, {text}" if timing.start else text
    if isinstance(timing, Milestone):
        return f"trong năm {timing.in_year} (hạn {timing.due}/{timing.in_year})"
    if isinstance(timing, (Monthly, Quarterly, HalfYearly, Yearly)):
        _, _, month, day, before = _rule(timing)
        if isinstance(timing, Monthly):
            return f"hằng tháng, {_day_text(day, before)}"
        if isinstance(timing, Quarterly):
            return f"hằng quý, {_day_text(day, before)} tháng thứ {month} của quý"
        if isinstance(timing, HalfYearly):
            return f"6 tháng một lần, {_day_text(day, before)} tháng thứ {month}"
        return f"hằng năm, {'trước ngày' if before else 'hạn'} {day:02d}/{month:02d}"
    if isinstance(timing, Ongoing):
        names = {"monthly": "tháng", "quarterly": "quý", "half_yearly": "6 tháng", "yearly": "năm"}
        return f"thường xuyên, báo cáo tiến độ mỗi {names[timing.ongoing.check_in]}"
    if isinstance(timing, OnDemand):
        w = timing.on_demand
        return f"khi có yêu cầu, trong {w.days} ngày" if w.days is not None else f"khi có yêu cầu, trong {w.working_days} ngày làm việc"
    if isinstance(timing, After):
        a = timing.after
        n = f"{a.days} ngày" if a.days is not None else f"{a.working_days} ngày làm việc"
        return f"{n} sau khi '{a.step}' hoàn thành"
    return "?"


RECURRING = (Monthly, Quarterly, HalfYearly, Yearly, Ongoing)


def cycle(timing: Any) -> str | None:
    """The cycle a recurring timing repeats on (monthly, quarterly, half_yearly, yearly: its keys' period), None
    for a one-off or on-demand one."""
    return _rule(timing)[0] if isinstance(timing, RECURRING) else None


def per_owner(occurrences: list[Occurrence], owners: tuple[str, ...]) -> list[Occurrence]:
    """Each occurrence once per owner, keyed '<period>@<unit>', dates shared (they are the step's)."""
    return [Occurrence(o.step_id, unit_key(o.key, u), o.opens, o.due, o.nominal_due, o.reminders, o.projected, u,
                       o.key) for o in occurrences for u in owners]


class CalendarBuilder:
    """Expands a plan's steps into occurrences and collects timing problems on the way."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.period = plan.meta.period
        self.findings: list[Finding] = []
        self.result: dict[str, StepCalendar] = {}
        self._dates: dict[tuple[Any, ...], tuple[Any, date, date, tuple[date, ...]]] = {}

    def build(self, order: list[str]) -> dict[str, StepCalendar]:
        """Expand steps in dependency order (so 'after' steps can project from their predecessor)."""
        by_id = self.plan.step_by_id
        total = 0
        for step_id in order:
            if step_id in by_id and step_id not in self.result:
                index = self.plan.step_index[step_id]
                self.result[step_id] = cal = self._expand(index, by_id[step_id])
                if step_id in self.plan.per_unit:
                    cal.occurrences = per_owner(cal.occurrences, self.plan.step_owners[step_id])
                total += len(cal.occurrences)
                if total > MAX_OCCURRENCES:
                    many = f"{MAX_OCCURRENCES:,}".replace(",", ".")  # 100.000, as Vietnamese writes it
                    self._find(index, ("timing",), f"đến bước này kế hoạch đã có hơn {many} lần thực hiện (mỗi lần "
                               "kiểm tra đều tính ngày cho từng lần): rút ngắn thời gian kế hoạch, giãn chu kỳ lặp, "
                               "hoặc tách kế hoạch")
                    break
        return self.result

    def finish(self, step: Any, policy: Policy, key: str, nominal: date, opens: date | None, projected: bool = False,
               owner: str | None = None) -> Occurrence:
        """Move the due date off non-working days, compute the opening and the reminder dates. The occurrence is
        the step's first owner's unless `owner` is given (see `per_owner` for a step with several)."""
        rem = policy.reminders
        # Memoised: the recurring steps of a plan meet the same dates under the same policy again and again.
        memo_key = (nominal, opens, policy.on_non_working_day, policy.opens_before_days, id(rem))
        hit = self._dates.get(memo_key)
        if hit is None or hit[0] is not rem:
            hit = (rem, *self._dates_for(policy, nominal, opens))  # holding `rem` keeps its id from being reused
            self._dates[memo_key] = hit
        if owner is None:
            owner = self.plan.step_owners.get(step.id, ("",))[0]
        return Occurrence(step.id, key, hit[1], hit[2], nominal, hit[3], projected, owner, split_key(key)[0])

    def _dates_for(self, policy: Policy, nominal: date, opens: date | None) -> tuple[date, date, tuple[date, ...]]:
        """(opens, due, reminders) of an occurrence due on `nominal`."""
        work = self.plan.workdays
        due = work.shift(nominal, policy.on_non_working_day)
        if opens is None:
            opens = due - timedelta(days=policy.opens_before_days)
        opens = max(min(opens, due), self.period.start) if due >= self.period.start else due
        rem = policy.reminders
        # A reminder that would fall on a day off comes on the working day before: nothing is sent on quiet days.
        days = {work.shift(due - timedelta(days=n), "previous") for n in rem.days_before}
        days |= {work.add_working_days(due, -n) for n in rem.working_days_before}
        days |= {d for d in rem.on if opens <= d <= due}
        return opens, due, tuple(sorted(d for d in days if opens <= d < due))

    def _bounds(self, index: int, timing: Any) -> tuple[date, date] | None:
        lo, hi = self.period.start, self.period.end
        if timing.from_ is not None:
            if not (lo <= timing.from_ <= hi):
                self._find(index, ("timing", "from"), self._outside(f"ngày {fmt(timing.from_)}"))
                return None
            lo = timing.from_
        if timing.until is not None:
            if timing.until < lo and timing.from_ is not None:
                self._find(index, ("timing", "until"), f"ngày 'until' {fmt(timing.until)} trước ngày 'from' "
                           f"{fmt(lo)}: lịch lặp kết thúc trước khi bắt đầu")
                return None
            if not (lo <= timing.until <= hi):
                self._find(index, ("timing", "until"), self._outside(f"ngày {fmt(timing.until)}"))
                return None
            hi = timing.until
        return lo, hi

    def _outside(self, what: str) -> str:
        """'hạn 19/03/2024 nằm ngoài thời gian thực hiện kế hoạch (01/01/2023 - 31/12/2023)'."""
        return f"{what} nằm ngoài thời gian thực hiện kế hoạch ({fmt(self.period.start)} - {fmt(self.period.end)})"

    def _find(self, index: int, loc: tuple[Any, ...], message: str) -> None:
        self.findings.append((("steps", index, *loc), message))

    def _in_period(self, index: int, loc: tuple[Any, ...], day: date, note: str = "") -> bool:
        if self.period.start <= day <= self.period.end:
            return True
        self._find(index, loc, self._outside(f"hạn {fmt(day)}{note}"))
        return False

    def _expand(self, index: int, step: Any) -> StepCalendar:
        timing = step.timing
        policy = self.plan.policy(step)
        cal = StepCalendar(step.id, describe_timing(timing))
        occ = cal.occurrences
        if isinstance(timing, Deadline):
            nominal = timing.due or (timing.before - timedelta(days=1))
            field = "due" if timing.due else "before"
            note = f" (xong trước ngày {fmt(timing.before)})" if timing.before else ""
            if not self._in_period(index, ("timing", field), nominal, note):
                return cal
            if timing.start and timing.start > nominal:
                self._find(index, ("timing", "start"), f"ngày bắt đầu {fmt(timing.start)} sau hạn {fmt(nominal)}: "
                           "'start' phải trước hạn")
                return cal
            o = self.finish(step, self._with_open(policy, timing), "once", nominal, timing.start)
            # Only dates written on the step itself: a plan-wide list of dates cannot suit every deadline.
            for i, d in enumerate(step.reminders.on if step.reminders else ()):
                if d > o.due:
                    self._find(index, ("reminders", "on", i), f"ngày nhắc {fmt(d)} sau hạn {fmt(o.due)}: nhắc hạn "
                               "phải trước hạn")
            occ.append(o)
        elif isinstance(timing, Milestone):
            day, month = parse_day_month(timing.due)
            nominal = date(timing.in_year, month, day)
            if timing.in_year < self.period.start.year or timing.in_year > self.period.end.year:
                self._find(index, ("timing", "in_year"), self._outside(f"năm {timing.in_year}"))
                return cal
            nominal = min(max(nominal, self.period.start), self.period.end)
            occ.append(self.finish(step, self._with_open(policy, timing), str(timing.in_year), nominal, None))
        elif isinstance(timing, (Monthly, Quarterly, HalfYearly, Yearly, Ongoing)):
            bounds = self._bounds(index, timing)
            if bounds is None:
                return cal
            dates = _nominal_dates(timing, *bounds)
            problems = rule_findings(timing, *bounds)
            self.findings += [(("steps", index, *loc), msg) for loc, msg in problems]
            if not dates and not problems:
                self._find(index, ("timing",), f"lịch '{describe_timing(timing)}' không có lần nào từ ngày "
                           f"{fmt(bounds[0])} đến ngày {fmt(bounds[1])}")
            p = self._with_open(policy, timing)
            if for_previous(timing):  # a report on a period opens once that period is over, when its figures are in
                months = _rule(timing)[1]
                occ.extend(self.finish(step, p, key, nominal, max(
                    nominal - timedelta(days=p.opens_before_days), _period_end(key, months) + timedelta(days=1)))
                    for key, nominal in dates)
            else:
                occ.extend(self.finish(step, p, key, nominal, None) for key, nominal in dates)
        elif isinstance(timing, OnDemand):
            cal.on_demand = True
        elif isinstance(timing, After):
            before = self.result.get(timing.after.step)
            if before and before.occurrences:
                base = before.occurrences[-1].due
                nominal = self.due_after(base, timing.after)
                if nominal <= self.period.end:
                    occ.append(self.finish(step, self._with_open(policy, timing), "once", nominal, None, projected=True))
        return cal

    def due_after(self, done: date, spec: Any) -> date:
        """The due date N (working) days after a date."""
        if spec.days is not None:
            return done + timedelta(days=spec.days)
        return self.plan.workdays.add_working_days(done, spec.working_days)

    @staticmethod
    def _with_open(policy: Policy, timing: Any) -> Policy:
        n = getattr(timing, "opens_before_days", None)
        return policy if n is None else policy.with_opens(n)
