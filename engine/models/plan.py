"""Top-level documents: a plan file and the agency file many plans include."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from engine.models.common import Model, PlanDate, ShortText, Tag, Text, UnitId, described
from engine.models.policy import Defaults, WorkCalendarSpec
from engine.models.steps import Step

# Notice events a plan or agency may give its own message template for (defaults: notifiers/templates.py).
TemplateEvent = Literal["opened", "disseminate", "coordinate", "reminder", "due_today", "overdue", "review_summary",
                        "report_draft", "confirmed"]
TEMPLATE_EVENTS: tuple[str, ...] = TemplateEvent.__args__  # type: ignore[attr-defined]
TEMPLATES_DESCRIPTION = (
    "Mẫu thông báo riêng theo sự kiện (message templates by event, Jinja2): dòng đầu là tiêu đề, phần còn lại là "
    "nội dung; biến như {{ plan_number }}, {{ step_title }}, {{ due }}, {{ days_text }}, {{ confirm_command }}."
)
TEMPLATES_EXAMPLE = {"reminder": "[{{ plan_number }}] Nhắc hạn: {{ step_title }}\nKính gửi: {{ unit_name }}\n\n"
                                 "Hạn {{ due }} ({{ days_text }}).\n"}


class Issuer(Model):
    """The issuing body as Decree 30/2020 prints it."""

    name: Text = described("Cơ quan ban hành (issuing body).", examples=["Sở Khoa học và Công nghệ"])
    parent: Text | None = described("Cơ quan chủ quản (parent body).", default=None, examples=["UBND tỉnh Thái Nguyên"])
    abbreviation: Text | None = described("Viết tắt dùng trong số hiệu (e.g. KHCN).", default=None, examples=["KHCN"])
    place: Text | None = described("Địa danh ghi ngày tháng (place).", default=None, examples=["Thái Nguyên"])
    signer_title: Text | None = described("Chức danh người ký (signer's title).", default=None, examples=["GIÁM ĐỐC"])
    signer_name: Text | None = described("Họ tên người ký (signer's name).", default=None)


class Unit(Model):
    """A unit (đơn vị) - internal or external - and the notification tags it is reached by."""

    name: Text = described("Tên đơn vị (unit name).", examples=["Văn phòng Sở"])
    external: bool = described("Đơn vị ngoài cơ quan (external organisation).", default=False)
    notify: list[Tag] = described(
        "Nhãn kênh thông báo (notification tags, mapped to addresses in the channels file - never addresses here).",
        default=[],
        examples=[["vp-email"]],
    )


class Basis(Model):
    """A document the plan implements (căn cứ)."""

    number: Text = described("Số, ký hiệu (number/symbol).", examples=["02-ĐA/TU"])
    date: PlanDate | None = described("Ngày ban hành (date).", default=None)
    issuer: Text | None = described("Cơ quan ban hành (issuer).", default=None)
    title: Text | None = described("Trích yếu (summary).", default=None)


MAX_PERIOD_YEARS = 50  # a plan's calendar is expanded whole: its length bounds the work and memory of a check


class Period(Model):
    start: PlanDate = described("Ngày bắt đầu (start).", examples=["16/03/2022"])
    end: PlanDate = described("Ngày kết thúc (end).", examples=["31/12/2025"])

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError(f"the period ends ({self.end:%d/%m/%Y}) before it starts ({self.start:%d/%m/%Y})")
        if self.end.year - self.start.year > MAX_PERIOD_YEARS:
            raise ValueError(f"the period {self.start:%d/%m/%Y} - {self.end:%d/%m/%Y} lasts over {MAX_PERIOD_YEARS} "
                             "years: a plan runs for a few years - check the years")
        return self


class PlanMeta(Model):
    """The plan's header: number, title, issuer, date, basis, period, purposes."""

    number: ShortText = described("Số kế hoạch (plan number).", examples=["28/KH-KHCN"])
    title: Text = described("Tên/trích yếu kế hoạch (title).")
    issuer: Issuer | None = described("Cơ quan ban hành; mặc định lấy từ tệp cơ quan (agency file).", default=None)
    issued_on: PlanDate = described("Ngày ban hành (issue date).", examples=["16/03/2022"])
    basis: list[Basis] = described("Căn cứ (documents implemented).", default=[])
    parent_plan: Basis | None = described("Kế hoạch cấp trên (parent plan this one follows).", default=None)
    period: Period = described("Thời gian thực hiện kế hoạch (plan period).")
    timezone: Text = described("Múi giờ (time zone).", default="Asia/Ho_Chi_Minh")
    purposes: list[Text] = described("Mục đích, yêu cầu (purposes and requirements).", default=[])

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{v}' (e.g. 'Asia/Ho_Chi_Minh')") from None
        return v


class AgencyFile(Model):
    """Shared defaults of one agency: its units, notification tags, calendar and policy."""

    schema_: str | None = Field(default=None, alias="$schema", description="JSON Schema (for editors).")
    agency: Issuer = described("Cơ quan (the agency) as printed on its documents.")
    units: dict[UnitId, Unit] = described("Các đơn vị dùng chung (units shared by the agency's plans).", default={})
    calendar: WorkCalendarSpec = described("Ngày nghỉ/làm bù riêng (extra holidays, swaps).", default=WorkCalendarSpec())
    defaults: Defaults = described("Chính sách nhắc hạn mặc định (default policy).", default=Defaults())
    templates: dict[TemplateEvent, Text] = described(TEMPLATES_DESCRIPTION, default={}, examples=[TEMPLATES_EXAMPLE])


class PlanFile(Model):
    """A Kế hoạch: header, units, policy and steps."""

    schema_: str | None = Field(default=None, alias="$schema", description="JSON Schema (for editors).")
    version: Literal[1] = described("Phiên bản ngôn ngữ kế hoạch (language version).", default=1)
    include: list[str] = described(
        "Tệp cơ quan dùng chung, đường dẫn tương đối (agency files to include).",
        default=[],
        examples=[["agencies/so-khcn-thai-nguyen.yaml"]],
    )
    plan: PlanMeta = described("Thông tin kế hoạch (plan header).")
    units: dict[UnitId, Unit] = described("Đơn vị (units); thêm vào/ghi đè tệp cơ quan.", default={})
    calendar: WorkCalendarSpec = described("Ngày nghỉ/làm bù riêng (extra holidays, swaps).", default=WorkCalendarSpec())
    defaults: Defaults = described("Chính sách mặc định (default policy for steps).", default=Defaults())
    templates: dict[TemplateEvent, Text] = described(
        TEMPLATES_DESCRIPTION + " Ghi đè mẫu của tệp cơ quan (overrides the agency's).", default={},
        examples=[TEMPLATES_EXAMPLE])
    steps: list[Step] = described("Các bước công việc (steps).", min_length=1)
