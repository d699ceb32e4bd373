"""When a step happens: deadlines, windows, milestones, recurrences, ongoing duties, on demand, after a step."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Discriminator, Field, Tag, WithJsonSchema, model_validator

from engine.language.models.common import DayMonth, Model, PlanDate, StepId, described, either, exactly_one
from engine.language.models.help import Form, enum_help
from engine.language.phrases import shown

Period = Literal["monthly", "quarterly", "half_yearly", "yearly"]
PERIOD_HELP = enum_help(Period.__args__, {  # type: ignore[attr-defined]
    "monthly": "hằng tháng (monthly)", "quarterly": "hằng quý (quarterly)",
    "half_yearly": "6 tháng một lần (half-yearly)", "yearly": "hằng năm (yearly)"})

# Each form of `timing`, named by the key that marks it: its help in the editor (hover, completion skeletons)
# and in README's table. `note` is README's column on the occurrences the form makes.
FORMS: dict[str, Form] = {
    "due": Form(
        "hạn hoàn thành", "deadline", "Làm một lần, xong chậm nhất vào ngày này (done once, by this day).",
        {"due": "30/06/2022"}, note="one, key `once`"),
    "before": Form(
        "xong trước ngày", "deadline before a day",
        "Làm một lần, xong trước ngày này (\"trước ngày 20/3/2022\"): hạn là ngày hôm trước (done before "
        "this day: due the day before).",
        {"before": "20/03/2022"}, note="one, key `once`, due the day before"),
    "start": Form(
        "khoảng thời gian", "window",
        "Làm trong khoảng từ ngày 'start' (việc mở từ ngày đó) đến hạn 'due' (hoặc 'before') (a window: "
        "opens on 'start').",
        {"start": "01/04/2022", "due": "30/06/2022"}, note="one, opens on `start`"),
    "in_year": Form(
        "mốc trong năm", "milestone",
        "Làm một lần trong năm đó; 'due' (dd/mm) là hạn trong năm, mặc định 31/12 (once in that year).",
        {"in_year": 2023, "due": "30/09"}, note="one, key `2023`"),
    "monthly": Form(
        "hằng tháng", "monthly",
        "Hạn ngày N mỗi tháng; ngày quá cuối tháng là ngày cuối tháng (day N of every month).",
        {"monthly": 25}, note="key `2023-05`"),
    "quarterly": Form(
        "hằng quý", "quarterly",
        "Hạn ngày 'day' của tháng thứ 'month' (1-3) trong mỗi quý (day N of month M of each quarter).",
        {"quarterly": {"month": 3, "day": 15}}, note="key `2023-Q1`"),
    "half_yearly": Form(
        "6 tháng một lần", "half-yearly",
        "Hạn ngày 'day' của tháng thứ 'month' (1-6) trong mỗi 6 tháng (day N of month M of each half year).",
        {"half_yearly": {"month": 6, "day": 15}}, note="key `2023-H1`"),
    "yearly": Form(
        "hằng năm", "yearly", "Hạn ngày dd/mm mỗi năm (every year on that day).",
        {"yearly": "31/10"}, note="key `2023`"),
    "ongoing": Form(
        "thường xuyên", "ongoing",
        "Nhiệm vụ thường xuyên, không có hạn cuối: báo cáo tiến độ mỗi kỳ 'check_in' (monthly, quarterly, "
        "half_yearly, yearly), ngày 'day' của tháng cuối kỳ (a duty with periodic check-ins).",
        {"ongoing": {"check_in": "quarterly", "day": 20}}, note="as its check-in period"),
    "on_demand": Form(
        "khi có yêu cầu", "on demand",
        "Bắt đầu khi có yêu cầu (kehoach request); hạn 'days' ngày hoặc 'working_days' ngày làm việc kể từ "
        "ngày yêu cầu (due N days after a request).",
        {"on_demand": {"working_days": 5}}, note="created by a request"),
    "after": Form(
        "sau một bước", "after a step",
        "Hạn 'days' ngày hoặc 'working_days' ngày làm việc sau khi bước 'step' hoàn thành (due N days after "
        "that step is done).",
        {"after": {"step": "so-ket", "days": 30}}, note="one, dated when that step is done"),
}
RECURRING_NOTE = ("Các dạng lặp (monthly, quarterly, half_yearly, yearly, ongoing) nhận thêm 'from'/'until' "
                  "trong kỳ kế hoạch, 'except' (trừ các kỳ: [Q2, Q4], [H2], tháng [12], năm [2023]) hoặc "
                  "'only' (chỉ các kỳ đó); hạn 'trước ngày N' viết {before: N} thay cho ngày (monthly: {before: "
                  "20}, yearly: {before: 20/11}); báo cáo cho kỳ liền trước hạn (báo cáo tháng nộp ngày 05 tháng sau) "
                  "thêm 'for_period: previous'; mọi dạng nhận 'opens_before_days'. Ngày viết dd/mm/yyyy.")
TIMING_HELP = "Thời gian thực hiện: đúng một trong các dạng sau (timing: exactly one of these forms)."
TIMING_SCHEMA = {
    "markdownDescription": "\n".join([TIMING_HELP, "", *(f.line() for f in FORMS.values()), "",
                                       RECURRING_NOTE]),
    "errorMessage": f"timing là một bảng (mapping) có đúng một dạng: {', '.join(FORMS)} (timing is a mapping "
                    "holding exactly one form)",
}
"""What the `timing` key of a step carries in the JSON Schema besides its description."""
TIMING_DESCRIPTION = "\n".join([TIMING_HELP, *(f"- {f.label}: {f.example_yaml}" for f in FORMS.values()),
                                 RECURRING_NOTE])


def _form(*keys: str, title: str | None = None, **extra: Any) -> ConfigDict:
    """The JSON Schema of a timing form: its title (type errors name it) and its skeletons in the editor."""
    label = title or FORMS[keys[0]].label
    snippets = [FORMS[k].snippet() for k in keys]
    return ConfigDict(json_schema_extra={"title": label, "defaultSnippets": snippets, **extra})


_OPENS = described(
    "Mở việc trước hạn N ngày (days before the due date the step opens); mặc định theo 'defaults'.",
    default=None,
    ge=0,
    le=366,
    examples=[14],
)


def form_key(key: str, extra: str = "", also: Any = None, **kwargs: Any) -> Any:
    """The Field of the key that marks a timing form: the form's help, with its example value (and `extra`
    help with `also` a second example)."""
    form = FORMS[key]
    text = f"{form.label[0].upper()}{form.label[1:]}: {form.meaning}" + (f" {extra}" if extra else "")
    examples = [form.example[key]] + ([also] if also is not None else [])
    return described(text, examples=examples, **kwargs)


_PERIOD_ITEMS = "quý Q1-Q4, 6 tháng H1-H2, tháng 1-12, năm (2023) hoặc một kỳ cụ thể (2024-Q4, 2024-H2, 2024-12)"
_PERIOD_WORDS = f"Kỳ viết: {_PERIOD_ITEMS}"


def _period_item(value: Any) -> Any:
    if period_item(value) is None:
        raise ValueError(f"{shown(value)} không phải một kỳ: viết {_PERIOD_ITEMS}")
    return value


PeriodItem = Annotated[
    int | str,
    AfterValidator(_period_item),
    WithJsonSchema({"anyOf": [
        {"type": "integer", "minimum": 1, "maximum": 12, "description": "tháng 1-12 (a month)"},
        {"type": "integer", "minimum": 1900, "maximum": 2200, "description": "năm (a year)"},
        {"type": "string", "pattern": r"^([QqHh][0-9]|[0-9]{4}(-[QqHh][0-9]|-[0-9]{2})?)$",
         "description": "Q1-Q4, H1-H2, 2023, 2024-Q4, 2024-H2, 2024-12",
         "patternErrorMessage": _PERIOD_WORDS + " (a period)"}]}, mode="validation"),
]
"""One period an `except` or `only` names: Q2, H1, a month 12, a year 2023, or one key 2024-Q4."""

_QUARTER = re.compile(r"^[Qq]([1-4])$")
_HALF = re.compile(r"^[Hh]([12])$")
_KEY = re.compile(r"^(\d{4})(?:-([QqHh])(\d)|-(\d{2}))?$")


def period_item(value: Any) -> tuple[str, int] | None:
    """What an `except`/`only` item names: ('month', 12), ('quarter', 2), ('half', 1), ('year', 2023) or
    ('key', '2024-Q4' normalised); None when it is none of them."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if 1 <= value <= 12:
            return "month", value
        return ("year", value) if 1900 <= value <= 2200 else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if m := _QUARTER.match(text):
        return "quarter", int(m.group(1))
    if m := _HALF.match(text):
        return "half", int(m.group(1))
    if m := _KEY.match(text):
        year = int(m.group(1))
        if m.group(2):
            letter, n = m.group(2).upper(), int(m.group(3))
            if not 1 <= n <= (4 if letter == "Q" else 2):
                return None
            return "key", f"{year}-{letter}{n}"  # type: ignore[return-value]
        if m.group(4):
            return ("key", f"{year}-{m.group(4)}") if 1 <= int(m.group(4)) <= 12 else None  # type: ignore[return-value]
        return "year", year
    return None


class _Bounded(Model):
    """Fields shared by recurring timings: their own bounds inside the plan period, the periods left out."""

    from_: PlanDate | None = Field(
        default=None,
        alias="from",
        description="Lặp từ ngày (first day of the recurrence), dd/mm/yyyy; mặc định: ngày đầu kỳ kế hoạch.",
        examples=["01/04/2022"],
    )
    until: PlanDate | None = described(
        "Lặp đến ngày (last day of the recurrence), dd/mm/yyyy; mặc định: ngày cuối kỳ kế hoạch.",
        default=None, examples=["31/12/2024"],
    )
    except_: list[PeriodItem] | None = Field(
        default=None,
        alias="except",
        description="Trừ các kỳ này (periods left out), ví dụ báo cáo quý trừ quý II và quý IV vì đã có báo cáo "
                    f"6 tháng và báo cáo năm: [Q2, Q4]. {_PERIOD_WORDS}; kỳ không nhỏ hơn kỳ lặp.",
        examples=[["Q2", "Q4"]], min_length=1, max_length=200,
    )
    only: list[PeriodItem] | None = described(
        f"Chỉ các kỳ này (only these periods), ví dụ [H2] hoặc [2023, 2025]. {_PERIOD_WORDS}; không dùng "
        "cùng 'except'.", default=None, examples=[["H2"]], min_length=1, max_length=200,
    )
    for_period: Literal["current", "previous"] = described(
        "Kỳ của mỗi lần (the period each occurrence is for): 'current' (mặc định) - kỳ có hạn đó, như chế độ "
        "báo cáo theo Nghị định 09/2019 (chốt số liệu ngày 14, nộp trong kỳ); 'previous' - kỳ liền trước hạn: "
        "báo cáo tháng nộp trước ngày 05 tháng sau, báo cáo năm nộp ngày 15/01 năm sau (the period before "
        "the one the deadline falls in).", default="current", examples=["previous"])
    opens_before_days: int | None = _OPENS


def for_previous(timing: Any) -> bool:
    """Whether a timing's occurrences are for the period before the one their deadline falls in
    (`for_period: previous`); False for a timing that has no periods."""
    return getattr(timing, "for_period", "current") == "previous"


def _one_of(a: str, meaning_a: str, b: str, meaning_b: str) -> str:
    """What a model says when both or neither of two keys are written: "cần đúng một trong 'day' (hạn là ngày đó)
    hoặc 'before' (xong trước ngày đó)"."""
    return f"cần đúng một trong '{a}' ({meaning_a}) hoặc '{b}' ({meaning_b})"


_OTHER_FORMS = ", ".join(key for key in FORMS if key not in ("due", "before", "start"))
DEADLINE_ONE = ("Cần đúng một hạn: 'due' (hạn hoàn thành) hoặc 'before' (xong trước ngày), thêm 'start' "
                f"nếu là khoảng thời gian; hoặc một dạng khác: {_OTHER_FORMS} (a deadline needs exactly one of "
                "'due' or 'before')")


class Deadline(Model):
    """A one-off deadline ('trước ngày 20/3/2022'), optionally a window with a start."""

    model_config = _form("due", "before", "start", title="hạn hoặc khoảng thời gian (deadline or window)",
                         **exactly_one("due", "before", DEADLINE_ONE))

    due: PlanDate | None = form_key("due", default=None)
    before: PlanDate | None = form_key("before", default=None)
    start: PlanDate | None = form_key("start", default=None)
    opens_before_days: int | None = _OPENS

    @model_validator(mode="after")
    def _one_due(self) -> Deadline:
        if (self.due is None) == (self.before is None):
            raise ValueError(_one_of("due", "hạn hoàn thành", "before", "xong trước ngày"))
        return self


class Milestone(Model):
    """A milestone in a year ('năm 2023 tổ chức sơ kết')."""

    model_config = _form("in_year")

    in_year: int = form_key("in_year", ge=1900, le=2200)
    due: DayMonth = described("Hạn trong năm đó, dd/mm (due day in that year); mặc định 31/12.",
                              default="31/12", examples=["30/09"])
    opens_before_days: int | None = _OPENS


_BEFORE_DAY = ("Xong trước ngày N của tháng, 1-31 ('trước ngày 20 hằng tháng'): hạn là ngày hôm trước; trước "
               "ngày 1 là ngày cuối tháng trước (done before day N: due the day before).")


class MonthBefore(Model):
    """'Trước ngày N hằng tháng'."""

    before: int = described(_BEFORE_DAY, ge=1, le=31, examples=[20])


class Monthly(_Bounded):
    """Every month on day N (a day past the month's end means its last day), or before day N."""

    model_config = _form("monthly")

    monthly: Annotated[
        Annotated[int, Field(ge=1, le=31), Tag("@day")] | Annotated[MonthBefore, Tag("@before")],
        either((dict, Model), "@before", "@day"),
    ] = form_key(
        "monthly", extra="Hoặc {before: N}: xong trước ngày N (due the day before).", also={"before": 20})


_DAY_ONE = _one_of("day", "hạn là ngày đó", "before", "xong trước ngày đó")
DAY_ONE = f"C{_DAY_ONE[1:]} (give exactly one of 'day' or 'before')"


class _DayOrBefore(Model):
    model_config = ConfigDict(json_schema_extra=exactly_one("day", "before", DAY_ONE))

    day: int | None = described("Ngày trong tháng đó, 1-31 (day of that month).", default=None, ge=1, le=31,
                                examples=[15])
    before: int | None = described(_BEFORE_DAY.replace("hằng tháng", "của tháng đó"), default=None, ge=1,
                                   le=31, examples=[20])

    @model_validator(mode="after")
    def _one(self) -> _DayOrBefore:
        if (self.day is None) == (self.before is None):
            raise ValueError(_DAY_ONE)
        return self


class QuarterDay(_DayOrBefore):
    month: int = described("Tháng thứ mấy trong quý, 1-3 (month of the quarter).", ge=1, le=3, examples=[3])


class Quarterly(_Bounded):
    """Every quarter on day N of month M of the quarter."""

    model_config = _form("quarterly")

    quarterly: QuarterDay = form_key("quarterly")


class HalfDay(_DayOrBefore):
    month: int = described("Tháng thứ mấy trong 6 tháng, 1-6 (month of the half year).", ge=1, le=6,
                           examples=[6])


class HalfYearly(_Bounded):
    """Every six months on day N of month M of the half year."""

    model_config = _form("half_yearly")

    half_yearly: HalfDay = form_key("half_yearly")


class YearBefore(Model):
    """'Trước ngày 20/11 hằng năm'."""

    before: DayMonth = described(
        "Xong trước ngày dd/mm hằng năm ('trước ngày 20/11 hằng năm'): hạn là ngày hôm trước, 19/11 (done "
        "before that day every year: due the day before).", examples=["20/11"])


class Yearly(_Bounded):
    """Every year on a day dd/mm, or before it."""

    model_config = _form("yearly")

    yearly: Annotated[
        Annotated[DayMonth, Tag("@day")] | Annotated[YearBefore, Tag("@before")],
        either((dict, Model), "@before", "@day"),
    ] = form_key(
        "yearly", extra="Hoặc {before: dd/mm}: xong trước ngày đó (due the day before).", also={"before": "20/11"})


class CheckIn(Model):
    check_in: Period = described(
        "Kỳ báo cáo tiến độ (how often the owner checks in): monthly, quarterly, half_yearly, yearly.",
        examples=["quarterly"], json_schema_extra=PERIOD_HELP,
    )
    day: int | None = described(
        "Ngày báo cáo trong tháng cuối kỳ, 1-31 (day of the period's last month); mặc định: ngày cuối tháng.",
        default=None, ge=1, le=31, examples=[20],
    )


class Ongoing(_Bounded):
    """An ongoing duty ('thường xuyên') with a periodic check-in."""

    model_config = _form("ongoing")

    ongoing: CheckIn = form_key("ongoing")


_WITHIN_ONE = _one_of("days", "số ngày", "working_days", "số ngày làm việc")
WITHIN_ONE = f"C{_WITHIN_ONE[1:]} (give exactly one of 'days' or 'working_days')"


class Within(Model):
    model_config = ConfigDict(json_schema_extra=exactly_one("days", "working_days", WITHIN_ONE))

    days: int | None = described("Số ngày (N calendar days).", default=None, ge=0, le=3660, examples=[30])
    working_days: int | None = described(
        "Số ngày làm việc, không tính ngày nghỉ, lễ, Tết (N working days).", default=None, ge=0, le=2600,
        examples=[5])

    @model_validator(mode="after")
    def _one(self) -> Within:
        if (self.days is None) == (self.working_days is None):
            raise ValueError(_WITHIN_ONE)
        return self


class OnDemand(Model):
    """Started by a person or an event ('khi có yêu cầu'), due some days after the request."""

    model_config = _form("on_demand")

    on_demand: Within = form_key("on_demand")


class AfterStep(Within):
    step: StepId = described("Mã bước phải xong trước (the step whose completion starts the clock).",
                             examples=["so-ket"])


class After(Model):
    """N days after another step is done."""

    model_config = _form("after")

    after: AfterStep = form_key("after")
    opens_before_days: int | None = _OPENS


TIMING_FORMS: dict[str, tuple[str, ...]] = {
    "@deadline": ("due", "before"),
    "@milestone": ("in_year",),
    "@monthly": ("monthly",),
    "@quarterly": ("quarterly",),
    "@half_yearly": ("half_yearly",),
    "@yearly": ("yearly",),
    "@ongoing": ("ongoing",),
    "@on_demand": ("on_demand",),
    "@after": ("after",),
}
TIMING_KEYS = tuple(k for keys in TIMING_FORMS.values() for k in keys)


def timing_tag(value: Any) -> str | None:
    """Pick the timing form from the one key that names it; None when zero or several are present.

    A milestone may carry its own `due` (dd/mm), so `due`/`before` mean a deadline only when no other form
    key is there.
    """
    if isinstance(value, Model):
        value = value.model_dump(by_alias=True, exclude_none=True)
    if not isinstance(value, dict):
        return None
    tags = {tag for tag, keys in TIMING_FORMS.items() if tag != "@deadline" and any(k in value for k in keys)}
    if not tags and any(k in value for k in TIMING_FORMS["@deadline"]):
        return "@deadline"
    return tags.pop() if len(tags) == 1 else None


Timing = Annotated[
    Annotated[Deadline, Tag("@deadline")]
    | Annotated[Milestone, Tag("@milestone")]
    | Annotated[Monthly, Tag("@monthly")]
    | Annotated[Quarterly, Tag("@quarterly")]
    | Annotated[HalfYearly, Tag("@half_yearly")]
    | Annotated[Yearly, Tag("@yearly")]
    | Annotated[Ongoing, Tag("@ongoing")]
    | Annotated[OnDemand, Tag("@on_demand")]
    | Annotated[After, Tag("@after")],
    Discriminator(timing_tag),
]
"""Exactly one timing form, chosen by its key (due/before, in_year, monthly, ...)."""
