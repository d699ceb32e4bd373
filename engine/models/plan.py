"""Top-level documents: a plan file and the agency file many plans include."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from engine.models.common import Model, PlanDate, Tag, Text, UnitId, described
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


SignerAuthority = Literal["TM.", "KT.", "TL.", "TUQ.", "Q."]
DateLine = Literal["blank", "due", "drafted"]


def check_signer(issuer: Issuer) -> None:
    """Raises ValueError when the signer block cannot be printed as Decree 30/2020 shows it: TM. needs the
    collective's name, KT./TL./TUQ./Q. the head's title, KT./TL./TUQ. the signer's own title."""
    authority = issuer.signer_authority
    if authority == "TM." and not issuer.collective:
        raise ValueError("signer_authority 'TM.' needs 'collective' (e.g. 'ỦY BAN NHÂN DÂN')")
    if authority not in (None, "TM.") and not issuer.head_title:
        raise ValueError(f"signer_authority '{authority}' needs 'head_title' (e.g. 'GIÁM ĐỐC')")
    if authority in ("KT.", "TL.", "TUQ.") and not issuer.signer_title:
        raise ValueError(f"signer_authority '{authority}' needs 'signer_title' (e.g. 'PHÓ GIÁM ĐỐC')")
    if issuer.collective and authority not in ("TM.", "KT."):
        raise ValueError("'collective' is printed after TM.: set signer_authority to 'TM.' (or 'KT.' when a deputy "
                         "signs for the head on behalf of the collective)")


class Issuer(Model):
    """The issuing body as Decree 30/2020 prints it."""

    name: Text = described("Cơ quan ban hành (issuing body).", examples=["Sở Khoa học và Công nghệ"])
    parent: Text | None = described("Cơ quan chủ quản (parent body).", default=None, examples=["UBND tỉnh Thái Nguyên"])
    abbreviation: Text | None = described("Viết tắt dùng trong số hiệu (e.g. KHCN).", default=None, examples=["KHCN"])
    place: Text | None = described("Địa danh ghi ngày tháng (place).", default=None, examples=["Thái Nguyên"])
    signer_title: Text | None = described("Chức danh người ký (signer's title).", default=None, examples=["GIÁM ĐỐC"])
    signer_name: Text | None = described("Họ tên người ký (signer's name).", default=None)
    signer_authority: SignerAuthority | None = described(
        "Quyền hạn của người ký (Nghị định 30/2020): TM. (thay mặt tập thể), KT. (ký thay người đứng đầu), TL. "
        "(thừa lệnh), TUQ. (thừa ủy quyền), Q. (quyền); để trống khi người đứng đầu ký.",
        default=None, examples=["KT."])
    head_title: Text | None = described(
        "Chức vụ người đứng đầu, in sau KT., TL., TUQ., Q. (head's title).", default=None, examples=["GIÁM ĐỐC"])
    collective: Text | None = described(
        "Tên tập thể lãnh đạo hoặc cơ quan, in sau TM. (với KT.: TM. ỦY BAN NHÂN DÂN / KT. CHỦ TỊCH / PHÓ CHỦ TỊCH).",
        default=None, examples=["ỦY BAN NHÂN DÂN"])
    date_line: DateLine = described(
        "Ngày tháng trên dự thảo: blank (để trống ngày, tháng cho người ký: ngày ... tháng ... năm 2023), due (ngày "
        "hạn của kỳ báo cáo), drafted (ngày lập dự thảo).", default="blank", examples=["blank"])

    @model_validator(mode="after")
    def _signer(self) -> Issuer:
        check_signer(self)
        return self


class Unit(Model):
    """A unit (đơn vị) - internal or external - and the notification tags it is reached by."""

    name: Text = described("Tên đơn vị (unit name).", examples=["Văn phòng Sở"])
    abbreviation: Text | None = described(
        "Tên viết tắt, dùng ở nơi nhận và dòng lưu văn bản (Lưu: VT, VP.).", default=None, examples=["VP"])
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


class Period(Model):
    start: PlanDate = described("Ngày bắt đầu (start).", examples=["16/03/2022"])
    end: PlanDate = described("Ngày kết thúc (end).", examples=["31/12/2025"])

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError(f"the period ends ({self.end:%d/%m/%Y}) before it starts ({self.start:%d/%m/%Y})")
        return self


class PlanMeta(Model):
    """The plan's header: number, title, issuer, date, basis, period, purposes."""

    number: Text = described("Số kế hoạch (plan number).", examples=["28/KH-KHCN"])
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
