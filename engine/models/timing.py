"""When a step happens: deadlines, windows, milestones, recurrences, ongoing duties, on demand, after a step."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from engine.models.common import DayMonth, Model, PlanDate, StepId, described

Period = Literal["monthly", "quarterly", "half_yearly", "yearly"]

_OPENS = described(
    "Số ngày mở việc trước hạn (days before the due date the step opens); mặc định theo 'defaults'.",
    default=None,
    ge=0,
    le=366,
    examples=[14],
)


class _Bounded(Model):
    """Fields shared by recurring timings: their own bounds inside the plan period."""

    from_: PlanDate | None = Field(
        default=None,
        alias="from",
        description="Bắt đầu lặp từ ngày (first day of the recurrence); mặc định: đầu kỳ kế hoạch.",
    )
    until: PlanDate | None = described(
        "Lặp đến ngày (last day of the recurrence); mặc định: cuối kỳ kế hoạch.", default=None
    )
    opens_before_days: int | None = _OPENS


class Deadline(Model):
    """A one-off deadline ('trước ngày 20/3/2022'), optionally a window with a start."""

    due: PlanDate | None = described("Hạn hoàn thành (due date), dd/mm/yyyy.", default=None, examples=["19/03/2022"])
    before: PlanDate | None = described(
        "Hoàn thành trước ngày (done before this day: the due date is the day before).",
        default=None,
        examples=["20/03/2022"],
    )
    start: PlanDate | None = described(
        "Ngày bắt đầu của khoảng thời gian thực hiện (window start); không có: mở trước hạn 'opens_before_days'.",
        default=None,
    )
    opens_before_days: int | None = _OPENS

    @model_validator(mode="after")
    def _one_due(self) -> Deadline:
        if (self.due is None) == (self.before is None):
            raise ValueError("a deadline needs exactly one of 'due' or 'before'")
        return self


class Milestone(Model):
    """A milestone in a year ('năm 2023 tổ chức sơ kết')."""

    in_year: int = described("Năm thực hiện (the year the step happens in).", ge=1900, le=2200, examples=[2023])
    due: DayMonth = described("Hạn trong năm đó, dd/mm (due day in that year).", default="31/12", examples=["15/12"])
    opens_before_days: int | None = _OPENS


class Monthly(_Bounded):
    """Every month on day N (a day past the month's end means its last day)."""

    monthly: int = described("Ngày trong tháng (day of the month), 1-31.", ge=1, le=31, examples=[25])


class QuarterDay(Model):
    month: int = described("Tháng thứ mấy của quý (month of the quarter), 1-3.", ge=1, le=3, examples=[3])
    day: int = described("Ngày trong tháng đó (day of that month), 1-31.", ge=1, le=31, examples=[15])


class Quarterly(_Bounded):
    """Every quarter on day N of month M of the quarter."""

    quarterly: QuarterDay = described("Ngày N của tháng M trong quý (day N of month M of each quarter).")


class HalfDay(Model):
    month: int = described("Tháng thứ mấy của 6 tháng (month of the half year), 1-6.", ge=1, le=6, examples=[6])
    day: int = described("Ngày trong tháng đó (day of that month), 1-31.", ge=1, le=31, examples=[15])


class HalfYearly(_Bounded):
    """Every six months on day N of month M of the half year."""

    half_yearly: HalfDay = described("Ngày N của tháng M trong mỗi 6 tháng (day N of month M of each half).")


class Yearly(_Bounded):
    """Every year on a day dd/mm."""

    yearly: DayMonth = described("Hạn hằng năm, dd/mm (due day every year).", examples=["31/10"])


class CheckIn(Model):
    check_in: Period = described(
        "Tần suất báo cáo tiến độ (how often the owner checks in): monthly, quarterly, half_yearly, yearly.",
        examples=["quarterly"],
    )
    day: int | None = described(
        "Ngày trong tháng cuối của kỳ (day of the period's last month); mặc định: ngày cuối tháng.",
        default=None,
        ge=1,
        le=31,
    )


class Ongoing(_Bounded):
    """An ongoing duty ('thường xuyên') with a periodic check-in."""

    ongoing: CheckIn = described("Nhiệm vụ thường xuyên, có kỳ báo cáo tiến độ (ongoing duty with check-ins).")


class Within(Model):
    days: int | None = described("Trong N ngày (within N calendar days).", default=None, ge=0, le=3660)
    working_days: int | None = described("Trong N ngày làm việc (within N working days).", default=None, ge=0, le=2600)

    @model_validator(mode="after")
    def _one(self) -> Within:
        if (self.days is None) == (self.working_days is None):
            raise ValueError("give exactly one of 'days' or 'working_days'")
        return self


class OnDemand(Model):
    """Started by a person or an event ('khi có yêu cầu'), due some days after the request."""

    on_demand: Within = described("Khi có yêu cầu: hạn tính từ ngày yêu cầu (due within N days of a request).")


class AfterStep(Within):
    step: StepId = described("Bước phải xong trước (the step whose completion starts the clock).")


class After(Model):
    """N days after another step is done."""

    after: AfterStep = described("N ngày sau khi bước khác hoàn thành (N days after a step is done).")
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
