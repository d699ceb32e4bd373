"""Steps: a tagged union on `kind` (disseminate, coordinate, review, report) over common fields."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field

from engine.language.models.common import (
    NON_WORKING_DAY_HELP,
    OWNER_DESCRIPTION,
    Model,
    NonWorkingDayPolicy,
    Owner,
    PlanDate,
    ShortText,
    StepId,
    Text,
    UnionTag,
    UnitId,
    described,
    either,
)
from engine.language.models.help import Form, enum_help
from engine.language.models.policy import (
    ESCALATION_EXAMPLE,
    REMINDERS_EXAMPLE,
    Confirmation,
    Escalation,
    Reminders,
)
from engine.language.models.timing import TIMING_DESCRIPTION, TIMING_SCHEMA, Timing
from engine.language.phrases import out_of_range

# Each kind of step: its help in the editor (a new step's skeleton, the hover on `kind`) and README's table.
STEP_KINDS: dict[str, Form] = {
    "disseminate": Form(
        "quán triệt, triển khai", "disseminate",
        "Đưa văn bản, nội dung đến các đơn vị 'audience' qua hội nghị, đăng website, gửi văn bản... "
        "(bring a document to an audience).",
        {"id": "quan-triet", "kind": "disseminate", "title": "Quán triệt kế hoạch tới cán bộ",
         "owner": "van-phong", "audience": ["toan-the-cbccvc"], "timing": {"before": "20/03/2022"}},
        fixed=("kind",)),
    "coordinate": Form(
        "phối hợp", "coordinate", "Phối hợp với các cơ quan, tổ chức 'partners' về nội dung 'subject' "
        "(work with partner organisations).",
        {"id": "phoi-hop", "kind": "coordinate", "title": "Phối hợp với Mặt trận Tổ quốc",
         "owner": "lanh-dao-so", "partners": ["mttq-tinh"],
         "timing": {"ongoing": {"check_in": "quarterly", "day": 20}}},
        fixed=("kind",)),
    "review": Form(
        "sơ kết, tổng kết", "review",
        "Sơ kết ('level: interim') hoặc tổng kết ('level: final') việc thực hiện; bản dự thảo lấy từ kết quả "
        "đã ghi nhận (an interim or final review, drafted from the records).",
        {"id": "so-ket", "kind": "review", "level": "interim", "title": "Sơ kết việc thực hiện kế hoạch",
         "owner": "van-phong", "timing": {"in_year": 2023, "due": "30/09"}}, fixed=("kind",)),
    "report": Form(
        "báo cáo", "report",
        "Báo cáo gửi 'recipient' theo kỳ; bản dự thảo lấy từ kết quả đã ghi nhận, chốt số liệu theo Nghị "
        "định 09/2019/NĐ-CP (a report drafted from the records of its period).",
        {"id": "bao-cao-nam", "kind": "report", "title": "Báo cáo kết quả thực hiện hằng năm",
         "owner": "van-phong", "recipient": "so-noi-vu", "timing": {"yearly": "31/10"}},
        fixed=("kind",)),
}


SHARE_WORDS = "'all' (mọi đơn vị, mặc định), một tỷ lệ từ 1% đến 100% ('80%') hoặc một số đơn vị (6)"
SHARE_HELP = f"{SHARE_WORDS} (a share: 'all', a percentage or a number of units)"


def _share(value: int | str) -> int | str:
    """'all', 'N%' (1-100) or a number of units (at least 1)."""
    if isinstance(value, int):
        if value < 1:
            raise ValueError(out_of_range(value, "số đơn vị tối thiểu là 1 (hoặc viết 'all', '80%')"))
        return value
    text = value.replace(" ", "")
    if text == "all":
        return text
    number = text[:-1]
    if not text.endswith("%") or not number.isdigit():
        raise ValueError(f"'{value}' không phải cách ghi share: viết {SHARE_WORDS}")
    if not 1 <= int(number) <= 100:
        raise ValueError(out_of_range(f"'{value}'", "tỷ lệ từ 1% đến 100%"))
    return f"{int(number)}%"


Share = Annotated[Annotated[int, UnionTag("@count")] | Annotated[str, UnionTag("@text")],
                  either(int, "@count", "@text"), AfterValidator(_share), Field(
    json_schema_extra={"anyOf": [{"const": "all"}, {"type": "string", "pattern": r"^([1-9][0-9]?|100)%$",
                                  "patternErrorMessage": "Tỷ lệ từ 1% đến 100%, ví dụ '80%' (a percentage)"},
                                 {"type": "integer", "minimum": 1}],
                       "errorMessage": "share: " + SHARE_HELP})]


class Dependency(Model):
    """A step waited for, written as a mapping: per period, a share of its owners, or opening anyway."""

    step: StepId = described("Mã bước phải xong trước (the step waited for).", examples=["bao-cao-huyen"])
    same_period: bool | None = described(
        "Chờ đúng kỳ tương ứng của bước kia: kỳ 2023-H1 chờ kỳ 2023-H1 (wait for the same period); cả hai bước "
        "phải lặp cùng chu kỳ. Không ghi: true khi hai bước lặp cùng chu kỳ, nếu không thì chờ lần gần nhất của "
        "bước kia có hạn không sau hạn của lần này.", default=None, examples=[True])
    share: Share = described(
        "Bao nhiêu đơn vị chủ trì của bước kia phải xong: " + SHARE_HELP + ".", default="all",
        examples=["80%"])
    opens_anyway: bool = described(
        "Đến ngày mở thì vẫn mở dù bước kia chưa đủ; thông báo mở việc nêu các đơn vị còn thiếu (open on its own "
        "date anyway, listing who is missing): true hoặc false (mặc định).", default=False, examples=[True])


DEPENDS_ON_EXAMPLE = ["quan-triet", {"step": "bao-cao-huyen", "same_period": True, "share": "80%"}]


def _kind(kind: str) -> ConfigDict:
    """The JSON Schema of a kind of step: its title (type errors name it) and the skeleton of a new step."""
    form = STEP_KINDS[kind]
    return ConfigDict(json_schema_extra={"title": form.label, "defaultSnippets": [form.snippet()]})


def _kind_field(kind: str) -> Any:
    form = STEP_KINDS[kind]
    return described(f"Loại bước (step kind): {form.label} - {form.meaning}", examples=[kind])


class StepBase(Model):
    """Fields every step has."""

    id: StepId = described(
        "Mã bước, duy nhất trong kế hoạch: chữ thường a-z, chữ số, '-' (step id); các bước khác gọi bước này "
        "bằng mã (depends_on, after, covers).", examples=["quan-triet"])
    title: Text = described("Tên công việc, như văn bản kế hoạch ghi (title, as the plan words it).",
                            examples=["Tổ chức quán triệt, triển khai kế hoạch"])
    short_title: ShortText | None = described(
        "Tên ngắn, tối đa 60 ký tự, dùng ở tiêu đề thư và trong bảng; không ghi: rút gọn từ 'title' "
        "(short title for message subjects and tables).", default=None, examples=["Quán triệt Đề án 02-ĐA/TU"])
    description: Text | None = described("Mô tả chi tiết, đưa vào thông báo và báo cáo (details).",
                                         default=None, examples=["Quán triệt tại hội nghị giao ban tháng 3"])
    owner: Owner = described(OWNER_DESCRIPTION, examples=["van-phong", "cac-huyen", ["ubnd-nho-quan", "ubnd-gia-vien"]])
    participants: list[UnitId] = described(
        "Đơn vị phối hợp, tham gia: danh sách mã đơn vị hoặc tên nhóm, được báo khi bước mở (participating "
        "units).",
        default=[], examples=[["cac-phong-don-vi"]])
    depends_on: list[Annotated[Annotated[StepId, UnionTag("@id")] | Annotated[Dependency, UnionTag("@entry")],
                               either((dict, Dependency), "@entry", "@id")]] = described(
        "Chỉ mở khi các bước này đã xong (steps that must be done first): danh sách mã bước, hoặc "
        "{step, same_period, share, opens_anyway} để chờ đúng kỳ, một phần các đơn vị chủ trì, hoặc vẫn mở đúng "
        "ngày. Hai bước lặp cùng chu kỳ: chờ cùng kỳ.", default=[],
        examples=[["quan-triet"], DEPENDS_ON_EXAMPLE], json_schema_extra={"uniqueItems": True})
    timing: Timing = described(TIMING_DESCRIPTION, json_schema_extra=TIMING_SCHEMA)
    reminders: Reminders | None = described(
        "Nhắc hạn riêng của bước (reminders); không ghi: theo 'defaults'.", default=None,
        examples=[REMINDERS_EXAMPLE])
    escalation: Escalation | None = described(
        "Báo quá hạn khi hết hạn mà chưa xác nhận (escalation); không ghi: theo 'defaults'.", default=None,
        examples=[ESCALATION_EXAMPLE])
    on_non_working_day: NonWorkingDayPolicy | None = described(
        "Hạn rơi vào ngày nghỉ, lễ, Tết (deadline on a non-working day); không ghi: theo 'defaults'.",
        default=None, examples=["previous"], json_schema_extra=NON_WORKING_DAY_HELP)
    confirmation: Confirmation = described(
        "Xác nhận hoàn thành phải kèm những gì (what a confirmation must carry).", default=Confirmation(),
        examples=[{"requires": ["document_number", "document_date"]}])
    carries_out: StepId | None = described(
        "Bước của kế hoạch cấp trên mà bước này thực hiện (mã bước trong kế hoạch 'parent_plan.id'): khi bước này "
        "xong một kỳ, lần cùng kỳ của đơn vị này ở kế hoạch cấp trên được ghi nhận hoàn thành (the parent "
        "plan's step this one carries out).", default=None, examples=["bao-cao-huyen"])


class Disseminate(StepBase):
    """Quán triệt, triển khai: bring a document to an audience."""

    model_config = _kind("disseminate")

    kind: Literal["disseminate"] = _kind_field("disseminate")
    audience: list[UnitId] = described(
        "Đối tượng được quán triệt, triển khai: danh sách mã đơn vị hoặc tên nhóm, được báo khi bước mở "
        "(audience units).",
        min_length=1, examples=[["toan-the-cbccvc"]])
    material: Text | None = described("Tài liệu, nội dung: số văn bản hoặc đường dẫn (material).",
                                      default=None, examples=["Kế hoạch số 28/KH-KHCN"])
    method: Text | None = described("Hình thức: hội nghị, đăng website, gửi văn bản... (method).",
                                    default=None, examples=["Hội nghị quán triệt"])


class Coordinate(StepBase):
    """Phối hợp: work with partner organisations."""

    model_config = _kind("coordinate")

    kind: Literal["coordinate"] = _kind_field("coordinate")
    partners: list[UnitId] = described(
        "Cơ quan, tổ chức phối hợp: danh sách mã đơn vị hoặc tên nhóm (partner organisations).", min_length=1,
        examples=[["mttq-tinh"]])
    subject: Text | None = described("Nội dung phối hợp (subject of the coordination).", default=None,
                                     examples=["Giám sát, phản biện xã hội"])


ReviewLevel = Literal["interim", "final"]
ReportPeriod = Literal["year", "half_year", "quarter", "month", "plan"]
PERIOD_KINDS = ("year", "half_year", "quarter", "month")
"""The periods whose windows follow Decree 09/2019's cut-off (the others are the plan, or a span)."""


class Span(Model):
    """A span of time a report or review covers, written out."""

    from_: PlanDate = Field(alias="from", description="Từ ngày (first day covered), dd/mm/yyyy.",
                            examples=["01/01/2021"])
    to: PlanDate = described("Đến ngày (last day covered), dd/mm/yyyy; không sau hạn của bước.",
                             examples=["30/06/2023"])


_PERIOD_HELP = enum_help(ReportPeriod.__args__, {  # type: ignore[attr-defined]
    "year": "năm (yearly)", "half_year": "6 tháng (half-yearly)", "quarter": "quý (quarterly)",
    "month": "tháng (monthly)", "plan": "cả thời gian kế hoạch đến ngày chốt số liệu (the whole plan so far)"})
PeriodSpec = Annotated[
    Annotated[Annotated[ReportPeriod, Field(json_schema_extra=_PERIOD_HELP)], UnionTag("@named")]
    | Annotated[Span, UnionTag("@span")],
    either((dict, Span), "@span", "@named"),
]
PERIOD_EXAMPLES = ["year", "plan", {"from": "01/01/2021", "to": "30/06/2023"}]


class Review(StepBase):
    """Sơ kết / tổng kết: review what the plan achieved."""

    model_config = _kind("review")

    kind: Literal["review"] = _kind_field("review")
    level: ReviewLevel = described(
        "Mức đánh giá: interim (sơ kết) hoặc final (tổng kết) (review level).", examples=["interim"],
        json_schema_extra=enum_help(ReviewLevel.__args__,  # type: ignore[attr-defined]
                                    {"interim": "sơ kết (interim review)",
                                     "final": "tổng kết (final review)"}))
    covers: list[StepId] = described(
        "Các bước được đánh giá: danh sách mã bước (steps reviewed); không ghi: mọi bước không phải sơ kết "
        "hay báo cáo.", default=[], examples=[["quan-triet", "phoi-hop-mttq"]])
    period: PeriodSpec | None = described(
        "Khoảng thời gian được đánh giá (what the review looks back on): year, half_year, quarter, month (kỳ "
        "của lần đánh giá, như sơ kết hằng năm đánh giá năm đó), plan (từ đầu kế hoạch đến hạn của lần đánh "
        "giá) hoặc {from: dd/mm/yyyy, to: dd/mm/yyyy}; không ghi: bước lặp theo kỳ lặp, bước một lần: plan.",
        default=None, examples=PERIOD_EXAMPLES)


class Report(StepBase):
    """Báo cáo: a report to a recipient, drafted from the records of a reporting period."""

    model_config = _kind("report")

    kind: Literal["report"] = _kind_field("report")
    recipient: UnitId = described("Nơi nhận báo cáo: mã đơn vị (recipient unit).", examples=["so-noi-vu"])
    period: PeriodSpec | None = described(
        "Kỳ báo cáo (reporting period): year, half_year, quarter, month (số liệu theo kỳ, chốt theo Nghị định "
        "09/2019/NĐ-CP), plan (từ đầu kế hoạch đến ngày chốt số liệu trước hạn, như báo cáo sơ kết giữa kỳ, "
        "tổng kết giai đoạn) hoặc {from: dd/mm/yyyy, to: dd/mm/yyyy}; không ghi: bước lặp theo kỳ lặp, bước "
        "một lần: plan.", default=None, examples=PERIOD_EXAMPLES)
    cutoff_day: int | None = described(
        "Ngày chốt số liệu, 1-31 (data cut-off day, Nghị định 09/2019/NĐ-CP), trong tháng chốt ('cutoff_month'): "
        "14 - kỳ năm từ 15/12 năm trước đến 14/12; ngày quá cuối tháng là ngày cuối tháng; báo cáo cho kỳ "
        "trước (timing có for_period: previous) mặc định chốt ngày cuối kỳ. Phải trước hạn báo cáo của kỳ.",
        default=None, ge=1, le=31, examples=[15])
    cutoff_month: int | None = described(
        "Tháng chốt số liệu, tính trong kỳ (month of the period the window ends in): 1-12 với kỳ năm, 1-6 với "
        "kỳ 6 tháng, 1-3 với kỳ quý; không ghi: tháng cuối kỳ. Ví dụ báo cáo quý lấy số liệu đến hết tháng thứ "
        "hai: cutoff_month: 2, cutoff_day: 31.", default=None, ge=1, le=12, examples=[10])
    covers: list[StepId] = described(
        "Các bước được báo cáo: danh sách mã bước (steps reported on); không ghi: mọi bước khác.", default=[],
        examples=[["quan-triet", "phoi-hop-mttq"]])


def waits_for(step: Any) -> list[str]:
    """The ids of the steps in a step's `depends_on`, in order."""
    return [d if isinstance(d, str) else d.step for d in step.depends_on]


Step = Annotated[Disseminate | Coordinate | Review | Report, Field(discriminator="kind")]
KINDS = tuple(STEP_KINDS)
