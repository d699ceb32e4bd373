"""Steps: a tagged union on `kind` (disseminate, coordinate, review, report) over common fields."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from engine.models.common import Model, NonWorkingDayPolicy, ShortText, StepId, Text, UnitId, described
from engine.models.policy import Confirmation, Escalation, Reminders
from engine.models.timing import Timing


class StepBase(Model):
    """Fields every step has."""

    id: StepId = described("Mã bước, duy nhất trong kế hoạch (step id: a-z, 0-9, '-').", examples=["quan-triet"])
    title: Text = described("Tên công việc như kế hoạch ghi (title as the plan words it).")
    short_title: ShortText | None = described(
        "Tên ngắn (tối đa 60 ký tự) dùng trong tiêu đề thư và bảng; mặc định rút từ 'title' (short title for "
        "subjects and tables).", default=None, examples=["Quán triệt Đề án 02-ĐA/TU"])
    description: Text | None = described("Mô tả chi tiết (details).", default=None)
    owner: UnitId = described("Đơn vị chủ trì (owner unit id).", examples=["van-phong"])
    participants: list[UnitId] = described("Đơn vị phối hợp/tham gia (participating units).", default=[])
    depends_on: list[StepId] = described("Chỉ mở khi các bước này đã xong (steps that must be done first).", default=[])
    timing: Timing = described(
        "Thời gian thực hiện: due/before (hạn), start+due (khoảng), in_year (mốc trong năm), monthly, quarterly, "
        "half_yearly, yearly, ongoing (thường xuyên), on_demand (khi có yêu cầu), after (sau bước khác)."
    )
    reminders: Reminders | None = described("Nhắc hạn (reminders); mặc định theo 'defaults'.", default=None)
    escalation: Escalation | None = described("Báo quá hạn (escalation); mặc định theo 'defaults'.", default=None)
    on_non_working_day: NonWorkingDayPolicy | None = described(
        "Hạn rơi vào ngày nghỉ: keep (giữ), previous (ngày làm việc trước), next (ngày làm việc sau).", default=None
    )
    confirmation: Confirmation = described("Xác nhận hoàn thành cần gì (what a confirmation carries).", default=Confirmation())


class Disseminate(StepBase):
    """Quán triệt, triển khai: bring a document to an audience."""

    kind: Literal["disseminate"] = described("Loại bước: quán triệt/triển khai (disseminate).")
    audience: list[UnitId] = described("Đối tượng được quán triệt (audience units).", min_length=1)
    material: Text | None = described("Tài liệu/nội dung quán triệt (material, e.g. a link).", default=None)
    method: Text | None = described("Hình thức (method: hội nghị, website, văn bản...).", default=None)


class Coordinate(StepBase):
    """Phối hợp: work with partner organisations."""

    kind: Literal["coordinate"] = described("Loại bước: phối hợp (coordinate).")
    partners: list[UnitId] = described("Cơ quan phối hợp (partner organisations).", min_length=1)
    subject: Text | None = described("Nội dung phối hợp (subject of the coordination).", default=None)


class Review(StepBase):
    """Sơ kết / tổng kết: review what the plan achieved."""

    kind: Literal["review"] = described("Loại bước: sơ kết/tổng kết (review).")
    level: Literal["interim", "final"] = described("interim (sơ kết) hoặc final (tổng kết).", examples=["interim"])
    covers: list[StepId] = described(
        "Các bước được đánh giá (steps reviewed); để trống: mọi bước không phải review/report.", default=[]
    )


class Report(StepBase):
    """Báo cáo: a report to a recipient, drafted from the records of a reporting period."""

    kind: Literal["report"] = described("Loại bước: báo cáo (report).")
    recipient: UnitId = described("Nơi nhận báo cáo (recipient unit).", examples=["so-noi-vu"])
    period: Literal["year", "half_year", "quarter", "month"] | None = described(
        "Kỳ báo cáo (reporting period); mặc định theo lịch lặp của bước.", default=None
    )
    cutoff_day: int = described(
        "Ngày chốt số liệu trong tháng cuối kỳ (data cut-off day, Nghị định 09/2019: 14 - kỳ năm từ 15/12 "
        "năm trước đến 14/12).",
        default=14,
        ge=1,
        le=31,
    )
    cutoff_month: int | None = described(
        "Tháng chốt số liệu của kỳ năm (month the yearly window ends in); mặc định 12.", default=None, ge=1, le=12
    )
    covers: list[StepId] = described("Các bước báo cáo (steps reported on); để trống: mọi bước khác.", default=[])


Step = Annotated[Disseminate | Coordinate | Review | Report, Field(discriminator="kind")]
KINDS = ("disseminate", "coordinate", "review", "report")
