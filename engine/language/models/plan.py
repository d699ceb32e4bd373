"""Top-level documents: a plan file and the agency file many plans include."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from engine.language.dates import fmt
from engine.language.models.common import (
    GROUPS_DESCRIPTION,
    GROUPS_EXAMPLE,
    GroupMembers,
    Model,
    PlanDate,
    PlanId,
    PlanNumber,
    Tag,
    Text,
    UnitId,
    described,
)
from engine.language.models.help import enum_help
from engine.language.models.policy import Defaults, WorkCalendarSpec
from engine.language.models.steps import STEP_KINDS, Step

# Notice events a plan or agency may give its own message template for (defaults: engine/language/templates.py).
TemplateEvent = Literal["opened", "participant", "disseminate", "coordinate", "reminder", "due_today", "overdue",
                        "escalation", "blocked", "review_summary", "report_draft", "confirmed", "extended", "closing"]
TEMPLATE_EVENTS: tuple[str, ...] = TemplateEvent.__args__  # type: ignore[attr-defined]
# What each kind of notice is, for people (the schema's help, `kehoach outbox`).
TEMPLATE_EVENT_VI = {
    "opened": "giao việc cho đơn vị chủ trì", "participant": "đề nghị đơn vị phối hợp",
    "disseminate": "thông báo tới đối tượng quán triệt", "coordinate": "đề nghị cơ quan phối hợp",
    "reminder": "nhắc hạn", "due_today": "đến hạn hôm nay", "overdue": "quá hạn (báo đơn vị chủ trì)",
    "escalation": "báo lãnh đạo việc chậm", "blocked": "việc chờ việc trước", "review_summary": "dự thảo sơ kết",
    "report_draft": "dự thảo báo cáo", "confirmed": "đã ghi nhận hoàn thành", "extended": "gia hạn",
    "closing": "tổng kết khi kế hoạch kết thúc"}
TEMPLATE_EVENT_HELP = enum_help(TEMPLATE_EVENTS, TEMPLATE_EVENT_VI)["enumDescriptions"]
TEMPLATES_DESCRIPTION = (
    "Mẫu thông báo riêng theo sự kiện (message templates by event, Jinja2): dòng đầu là tiêu đề của việc (số kế "
    "hoạch được thêm phía trước), phần còn lại là nội dung; chỉ dùng biến, bộ lọc và {% if %}; biến như "
    "{{ step_short }}, {{ step_title }}, {{ due }}, {{ days_text }}, {{ confirm_url }}, {{ confirm_command }}."
)
TemplateText = Annotated[Text, Field(description=(
    "Mẫu thông báo của sự kiện này, Jinja2: dòng đầu là tiêu đề; sự kiện: "
    + ", ".join(f"{e} ({h})" for e, h in zip(TEMPLATE_EVENTS, TEMPLATE_EVENT_HELP))
    + " (the template of this event)."
))]
SCHEMA_DESCRIPTION = "Lược đồ JSON cho trình soạn thảo (JSON Schema, for editors)."
UNITS_EXAMPLE = {"van-phong": {"name": "Văn phòng Sở", "notify": ["van-phong"]}}
CALENDAR_EXAMPLE = {"holidays": [{"date": "02/01/2023", "name": "Nghỉ bù Tết Dương lịch"}]}
DEFAULTS_DESCRIPTION = "Chính sách mặc định cho các bước: nhắc hạn, báo quá hạn... (default policy)."
DEFAULTS_EXAMPLE = {"reminders": {"days_before": [7, 3]}, "on_non_working_day": "previous",
                    "opens_before_days": 14}
TEMPLATES_EXAMPLE = {"reminder": "Hạn {{ due }}, {{ days_text }}: {{ step_short }}\n"
                                 "Nhiệm vụ \"{{ step_title }}\" đến hạn ngày {{ due }}.\n"}
# The example is shown in the hover only: as a JSON Schema example, the server would also insert it, unquoted.
TEMPLATES_HOVER = TEMPLATES_DESCRIPTION + "\n\n```yaml\nreminder: |\n" + "".join(
    f"  {line}\n" if line else "\n" for line in TEMPLATES_EXAMPLE["reminder"].splitlines()) + "```"


SignerAuthority = Literal["TM.", "KT.", "TL.", "TUQ.", "Q."]
DateLine = Literal["blank", "due", "drafted"]


def check_signer(issuer: Issuer) -> None:
    """Raises ValueError when the signer block cannot be printed as Decree 30/2020 shows it: TM. needs the
    collective's name, KT./TL./TUQ./Q. the head's title, KT./TL./TUQ. the signer's own title."""
    authority = issuer.signer_authority
    if authority == "TM." and not issuer.collective:
        raise ValueError("signer_authority 'TM.' cần trường 'collective' (ví dụ 'ỦY BAN NHÂN DÂN')")
    if authority not in (None, "TM.") and not issuer.head_title:
        raise ValueError(f"signer_authority '{authority}' cần trường 'head_title' (ví dụ 'GIÁM ĐỐC')")
    if authority in ("KT.", "TL.", "TUQ.") and not issuer.signer_title:
        raise ValueError(f"signer_authority '{authority}' cần trường 'signer_title' (ví dụ 'PHÓ GIÁM ĐỐC')")
    if issuer.collective and authority not in ("TM.", "KT."):
        raise ValueError("'collective' được in sau TM.: đặt signer_authority là 'TM.' (hoặc 'KT.' khi cấp phó ký thay "
                         "người đứng đầu, thay mặt tập thể)")


DEFAULT_TZ = "Asia/Ho_Chi_Minh"  # a plan's time zone unless it says otherwise (and of what has no plan)


class Issuer(Model):
    """The issuing body as Decree 30/2020 prints it."""

    name: Text = described("Tên cơ quan ban hành (issuing body).", examples=["Sở Khoa học và Công nghệ"])
    parent: Text | None = described("Cơ quan chủ quản, in phía trên tên cơ quan (parent body).", default=None,
                                    examples=["UBND tỉnh Thái Nguyên"])
    abbreviation: Text | None = described("Tên viết tắt dùng trong số, ký hiệu văn bản (abbreviation).",
                                          default=None, examples=["KHCN"])
    place: Text | None = described("Địa danh ghi trước ngày tháng văn bản (place).", default=None,
                                   examples=["Thái Nguyên"])
    signer_title: Text | None = described("Chức danh người ký (signer's title).", default=None,
                                          examples=["GIÁM ĐỐC"])
    signer_name: Text | None = described("Họ tên người ký (signer's name).", default=None,
                                         examples=["Nguyễn Văn A"])
    signer_authority: SignerAuthority | None = described(
        "Quyền hạn của người ký (Nghị định 30/2020/NĐ-CP): TM., KT., TL., TUQ. hoặc Q.; không ghi: người đứng "
        "đầu ký (signer's authority).", default=None, examples=["KT."],
        json_schema_extra=enum_help(SignerAuthority.__args__,  # type: ignore[attr-defined]
                                    {"TM.": "thay mặt tập thể, in trước 'collective' (on behalf of)",
                                     "KT.": "ký thay người đứng đầu (signing for the head)",
                                     "TL.": "thừa lệnh (by order)", "TUQ.": "thừa ủy quyền (by authorisation)",
                                     "Q.": "quyền người đứng đầu (acting head)"}))
    head_title: Text | None = described(
        "Chức vụ người đứng đầu, in sau KT., TL., TUQ., Q. (head's title).", default=None, examples=["GIÁM ĐỐC"])
    collective: Text | None = described(
        "Tên tập thể lãnh đạo hoặc cơ quan, in sau TM.; với KT.: TM. ỦY BAN NHÂN DÂN / KT. CHỦ TỊCH / PHÓ CHỦ "
        "TỊCH (collective).", default=None, examples=["ỦY BAN NHÂN DÂN"])
    date_line: DateLine = described(
        "Ngày tháng trên dự thảo: blank, due hoặc drafted (date line of drafts).", default="blank",
        examples=["blank"],
        json_schema_extra=enum_help(DateLine.__args__,  # type: ignore[attr-defined]
                                    {"blank": "để trống ngày, tháng cho người ký: ngày ... tháng ... năm 2023",
                                     "due": "ngày hạn của kỳ báo cáo (the deadline)",
                                     "drafted": "ngày lập dự thảo (the day drafted)"}))

    @model_validator(mode="after")
    def _signer(self) -> Issuer:
        check_signer(self)
        return self


class Unit(Model):
    """A unit (đơn vị) - internal or external - and the notification tags it is reached by."""

    model_config = ConfigDict(json_schema_extra={
        "description": "Đơn vị: khóa là mã đơn vị (a-z, 0-9, '-') mà các bước dùng trong owner, "
                       "participants, audience...; giá trị là tên, đơn vị ngoài, nhãn thông báo (a unit, "
                       "keyed by its id)."})

    name: Text = described("Tên đơn vị (unit name).", examples=["Văn phòng Sở"])
    abbreviation: Text | None = described(
        "Tên viết tắt của đơn vị, dùng ở dòng lưu văn bản: Lưu: VT, VP. (abbreviation).", default=None,
        examples=["VP"])
    external: bool = described("Đơn vị ngoài cơ quan: true hoặc false (mặc định) (external organisation).",
                               default=False, examples=[True])
    notify: list[Tag] = described(
        "Nhãn kênh thông báo; tệp kênh (channels) gắn nhãn với địa chỉ - không ghi địa chỉ ở đây "
        "(notification tags).",
        default=[],
        examples=[["van-phong"]],
    )
    issuer: Issuer | None = described(
        "Đơn vị là một cơ quan, ban hành văn bản của mình: tên, cơ quan chủ quản, viết tắt, địa danh, người ký. "
        "Báo cáo, sơ kết do đơn vị này chủ trì được soạn dưới tiêu đề của đơn vị và gửi đơn vị nhận báo cáo "
        "(Kính gửi, Nơi nhận), không dưới tiêu đề của cơ quan ban hành kế hoạch (the unit's own letterhead).",
        default=None, examples=[{"name": "Sở Tư pháp", "parent": "UBND tỉnh Thái Nguyên", "abbreviation": "STP",
                                 "place": "Thái Nguyên", "signer_authority": "KT.", "head_title": "GIÁM ĐỐC",
                                 "signer_title": "PHÓ GIÁM ĐỐC"}])


class Basis(Model):
    """A document the plan implements (căn cứ)."""

    number: Text = described("Số, ký hiệu văn bản (number/symbol).", examples=["02-ĐA/TU"])
    date: PlanDate | None = described("Ngày ban hành, dd/mm/yyyy (date).", default=None,
                                      examples=["26/03/2021"])
    issuer: Text | None = described("Cơ quan ban hành (issuer).", default=None,
                                    examples=["Ban Chấp hành Đảng bộ tỉnh Thái Nguyên"])
    title: Text | None = described("Trích yếu nội dung (summary).", default=None,
                                   examples=["Phát huy vai trò giám sát, phản biện xã hội"])


class ParentPlan(Basis):
    """The plan this one carries out (kế hoạch cấp trên); with `id`, a plan Kehoach runs in the same store, whose
    reports draw on this plan's records."""

    id: PlanId | None = described(
        "Mã kế hoạch cấp trên khi kế hoạch đó cũng chạy trên Kehoach, cùng kho trạng thái: báo cáo của kế hoạch "
        "cấp trên tổng hợp từ kế hoạch này (the parent plan's id in the same store).", default=None,
        examples=["kh-42-ubnd-2022"])
    unit: UnitId | None = described(
        "Đơn vị của kế hoạch cấp trên thực hiện kế hoạch này (mã đơn vị trong kế hoạch cấp trên), vd. huyện ban "
        "hành kế hoạch này; không ghi: mã cơ quan ban hành kế hoạch này (the parent's unit carrying this plan out).",
        default=None, examples=["ubnd-nho-quan"])


MAX_PERIOD_YEARS = 50  # a plan's calendar is expanded whole: its length bounds the work and memory of a check


class Period(Model):
    start: PlanDate = described("Ngày bắt đầu thực hiện, dd/mm/yyyy (start).", examples=["16/03/2022"])
    end: PlanDate = described("Ngày kết thúc, dd/mm/yyyy (end).", examples=["31/12/2025"])

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError(f"ngày kết thúc {fmt(self.end)} trước ngày bắt đầu {fmt(self.start)}: xem lại 'start' "
                             "và 'end'")
        if self.end.year - self.start.year > MAX_PERIOD_YEARS:
            raise ValueError(f"thời gian thực hiện {fmt(self.start)} - {fmt(self.end)} dài quá {MAX_PERIOD_YEARS} năm: "
                             "một kế hoạch thường kéo dài vài năm - xem lại năm")
        return self


class PlanMeta(Model):
    """The plan's header: id, number, title, issuer, date, basis, period, purposes."""

    id: PlanId | None = described(
        "Mã kế hoạch: chữ thường a-z, chữ số và '-', tối đa 128 ký tự; khóa mọi dữ liệu của kế hoạch trong kho "
        "trạng thái và dùng trong lệnh (kehoach confirm MÃ ...). Không ghi: lấy từ số kế hoạch, năm ban hành và "
        "địa danh (hoặc tên) cơ quan ban hành, ví dụ 28-kh-khcn-2022-thai-nguyen - không bao giờ lấy tên tệp, nên "
        "đổi tên hay chuyển tệp vẫn giữ lịch sử (plan id; default: derived from number, year and issuer).",
        default=None, examples=["kh-28-khcn-2022"])
    number: PlanNumber = described("Số, ký hiệu kế hoạch (plan number).", examples=["28/KH-KHCN"])
    title: Text = described("Trích yếu kế hoạch (title).",
                            examples=["Triển khai thực hiện Đề án số 02-ĐA/TU"])
    issuer: Issuer | None = described(
        "Cơ quan ban hành; không ghi: lấy 'agency' của tệp cơ quan (issuer; default: the agency file's).",
        default=None, examples=[{"name": "Sở Khoa học và Công nghệ", "abbreviation": "KHCN"}])
    issued_on: PlanDate = described("Ngày ban hành, dd/mm/yyyy (issue date).", examples=["16/03/2022"])
    basis: list[Basis] = described(
        "Căn cứ: các văn bản kế hoạch thực hiện (documents implemented).", default=[],
        examples=[[{"number": "02-ĐA/TU", "date": "26/03/2021", "issuer": "Ban Chấp hành Đảng bộ tỉnh"}]])
    parent_plan: ParentPlan | None = described(
        "Kế hoạch cấp trên mà kế hoạch này triển khai (parent plan); có 'id': kế hoạch cấp trên chạy trên Kehoach "
        "và tổng hợp từ kế hoạch này.", default=None,
        examples=[{"number": "42/KH-UBND", "date": "15/03/2022", "issuer": "UBND tỉnh Thái Nguyên"}])
    period: Period = described("Thời gian thực hiện kế hoạch (plan period).",
                               examples=[{"start": "16/03/2022", "end": "31/12/2025"}])
    timezone: Text = described(f"Múi giờ (time zone); mặc định {DEFAULT_TZ}.", default=DEFAULT_TZ,
                               examples=[DEFAULT_TZ])
    purposes: list[Text] = described(
        "Mục đích, yêu cầu của kế hoạch (purposes and requirements).", default=[],
        examples=[["Quán triệt Đề án đến cán bộ, công chức, viên chức"]])

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"không có múi giờ '{v}' (ví dụ 'Asia/Ho_Chi_Minh')") from None
        return v


class AgencyFile(Model):
    """Shared defaults of one agency: its units, notification tags, calendar and policy."""

    schema_: str | None = Field(default=None, alias="$schema", description=SCHEMA_DESCRIPTION,
                                examples=["../agency.schema.json"])
    agency: Issuer = described(
        "Cơ quan, như in trên văn bản: tên, cơ quan chủ quản, viết tắt, địa danh, người ký (the agency).",
        examples=[{"name": "Sở Khoa học và Công nghệ", "parent": "UBND tỉnh Thái Nguyên",
                   "abbreviation": "KHCN"}])
    units: dict[UnitId, Unit] = described(
        "Các đơn vị dùng chung cho mọi kế hoạch của cơ quan: mã đơn vị -> tên, nhãn thông báo "
        "(shared units).",
        default={}, examples=[UNITS_EXAMPLE])
    groups: dict[UnitId, GroupMembers] = described(
        GROUPS_DESCRIPTION, default={}, examples=[GROUPS_EXAMPLE])
    calendar: WorkCalendarSpec = described(
        "Ngày nghỉ thêm và ngày làm bù riêng của cơ quan (extra days off, swapped working days).",
        default=WorkCalendarSpec(), examples=[CALENDAR_EXAMPLE])
    defaults: Defaults = described(DEFAULTS_DESCRIPTION, default=Defaults(), examples=[DEFAULTS_EXAMPLE])
    templates: dict[TemplateEvent, TemplateText] = described(
        TEMPLATES_DESCRIPTION, default={}, json_schema_extra={"markdownDescription": TEMPLATES_HOVER})


class PlanFile(Model):
    """A Kế hoạch: header, units, policy and steps."""

    schema_: str | None = Field(default=None, alias="$schema", description=SCHEMA_DESCRIPTION,
                                examples=["plan.schema.json"])
    version: Literal[1] = described("Phiên bản ngôn ngữ kế hoạch: 1 (language version).", default=1)
    include: list[str] = described(
        "Tệp cơ quan dùng chung: đường dẫn tương đối từ tệp này (agency files to include).",
        default=[],
        examples=[["agencies/so-khcn-thai-nguyen.yaml"]],
    )
    plan: PlanMeta = described(
        "Thông tin kế hoạch: số, trích yếu, ngày ban hành, căn cứ, thời gian thực hiện (plan header).",
        examples=[{"number": "28/KH-KHCN", "title": "Triển khai thực hiện Đề án số 02-ĐA/TU",
                   "issued_on": "16/03/2022", "period": {"start": "16/03/2022", "end": "31/12/2025"}}])
    units: dict[UnitId, Unit] = described(
        "Đơn vị riêng của kế hoạch: mã đơn vị -> tên, nhãn thông báo; thêm vào hoặc ghi đè tệp cơ quan "
        "(units).",
        default={}, examples=[UNITS_EXAMPLE])
    groups: dict[UnitId, GroupMembers] = described(
        GROUPS_DESCRIPTION + " Thêm vào hoặc ghi đè nhóm của tệp cơ quan.", default={}, examples=[GROUPS_EXAMPLE])
    calendar: WorkCalendarSpec = described(
        "Ngày nghỉ thêm và ngày làm bù riêng của kế hoạch (extra days off, swapped working days).",
        default=WorkCalendarSpec(), examples=[CALENDAR_EXAMPLE])
    defaults: Defaults = described(DEFAULTS_DESCRIPTION, default=Defaults(), examples=[DEFAULTS_EXAMPLE])
    templates: dict[TemplateEvent, TemplateText] = described(
        TEMPLATES_DESCRIPTION + " Ghi đè mẫu của tệp cơ quan (overrides the agency's).", default={},
        json_schema_extra={"markdownDescription": TEMPLATES_HOVER})
    steps: list[Step] = described(
        "Các bước công việc: mỗi bước có id, kind (disseminate, coordinate, review, report), title, owner, "
        "timing (steps).", min_length=1, examples=[[STEP_KINDS["disseminate"].example]])
