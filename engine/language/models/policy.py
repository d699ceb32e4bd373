"""Reminder, escalation and working-day policy: per step, per plan, or shared by an agency file."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator

from engine.language.models.common import (
    NON_WORKING_DAY_HELP,
    Model,
    NonWorkingDayPolicy,
    PlanDate,
    Text,
    UnitId,
    described,
)
from engine.language.models.help import enum_help
from engine.language.phrases import out_of_range

EvidenceKind = Literal["document_number", "document_date", "date", "attendees", "link", "place", "note"]
EVIDENCE_HELP = enum_help(EvidenceKind.__args__, {  # type: ignore[attr-defined]
    "document_number": "số văn bản (document number)", "document_date": "ngày văn bản (document date)",
    "date": "ngày thực hiện (date done)", "attendees": "số người dự (attendees)", "link": "đường dẫn (link)",
    "place": "địa điểm (place)", "note": "ghi chú (note)"})


MAX_DAYS_BEFORE = 366  # as opens_before_days: a reminder before the step opens is never sent


def _not_after_due(n: int) -> int:
    if n < 0:
        raise ValueError(f"{n} làm ngày nhắc rơi sau hạn: nhắc hạn phải trước hạn (báo sau hạn thì dùng 'escalation')")
    if n > MAX_DAYS_BEFORE:
        raise ValueError(out_of_range(n, f"nhắc hạn sớm nhất là {MAX_DAYS_BEFORE} ngày trước hạn"))
    return n


# Checked one by one so that a problem points at the offending number, not at the whole list.
DaysBefore = Annotated[int, AfterValidator(_not_after_due), Field(json_schema_extra={"minimum": 0})]


def _descending(values: list[int]) -> list[int]:
    return sorted(set(values), reverse=True)


class Reminders(Model):
    """Reminders before a due date, in calendar days and/or working days, or on given dates."""

    days_before: list[DaysBefore] = described(
        "Nhắc trước hạn N ngày: danh sách số ngày (days before due).", default=[], examples=[[7, 3]])
    working_days_before: list[DaysBefore] = described(
        "Nhắc trước hạn N ngày làm việc: danh sách số ngày (working days before due).", default=[],
        examples=[[1]])
    on: list[PlanDate] = described(
        "Nhắc vào các ngày cụ thể, dd/mm/yyyy; cho bước làm một lần (on these dates; one-off steps).",
        default=[], examples=[["15/03/2022"]])
    on_due_day: bool = described(
        "Có nhắc vào ngày đến hạn: true (mặc định) hoặc false (a notice on the due day).", default=True,
        examples=[False])

    @field_validator("days_before", "working_days_before")
    @classmethod
    def _sorted(cls, v: list[int]) -> list[int]:
        return _descending(v)


class Escalation(Model):
    """What happens after a due date passes with no confirmation."""

    after_days: int = described(
        "Báo quá hạn lần đầu sau hạn N ngày (first escalation N days after due).", default=1, ge=0, le=365,
        examples=[1])
    every_days: int = described("Nhắc lại mỗi N ngày (repeat every N days).", default=7, ge=1, le=365,
                                examples=[7])
    max_times: int = described("Báo quá hạn tối đa N lần (at most this many escalations).", default=3, ge=0,
                               le=100, examples=[3])
    to: list[UnitId] = described(
        "Báo thêm cho các đơn vị, ví dụ lãnh đạo: danh sách mã đơn vị (also notify these units).", default=[],
        examples=[["lanh-dao-so"]]
    )


class Confirmation(Model):
    """What a person must give when confirming a step is done."""

    requires: list[Annotated[EvidenceKind, Field(json_schema_extra=EVIDENCE_HELP)]] = described(
        "Thông tin bắt buộc khi xác nhận (evidence required): document_number (số văn bản), document_date "
        "(ngày văn bản), date (ngày thực hiện), attendees (số người dự), link (đường dẫn), place (địa điểm), "
        "note.",
        default=[],
        examples=[["document_number", "document_date"]],
    )


REMINDERS_EXAMPLE = {"days_before": [7, 3], "working_days_before": [1]}
ESCALATION_EXAMPLE = {"after_days": 1, "every_days": 7, "max_times": 3, "to": ["lanh-dao-so"]}


class Defaults(Model):
    """Policy every step inherits unless it says otherwise."""

    reminders: Reminders | None = described(
        "Nhắc hạn mặc định của mọi bước (default reminders).", default=None, examples=[REMINDERS_EXAMPLE])
    escalation: Escalation | None = described(
        "Báo quá hạn mặc định của mọi bước (default escalation).", default=None,
        examples=[ESCALATION_EXAMPLE])
    on_non_working_day: NonWorkingDayPolicy | None = described(
        "Hạn rơi vào ngày nghỉ, lễ, Tết (deadline on a non-working day); không ghi: keep.", default=None,
        examples=["previous"], json_schema_extra=NON_WORKING_DAY_HELP)
    opens_before_days: int | None = described(
        "Mở việc trước hạn N ngày (days before due a step opens).", default=None, ge=0, le=366, examples=[14]
    )
    notices: Literal["daily", "separate"] | None = described(
        "Cách gửi thông báo: daily (mặc định - mỗi đơn vị một thư mỗi ngày, liệt kê mọi việc, việc gấp trước) hoặc "
        "separate (mỗi việc một thư) (one message per recipient per day, or one per notice).", default=None,
        examples=["daily"])


class DayEntry(Model):
    date: PlanDate = described("Ngày, dd/mm/yyyy (date).", examples=["02/01/2023"])
    name: Text = described("Tên ngày hoặc lý do (name or reason).", default="",
                           examples=["Nghỉ bù Tết Dương lịch"])


class WorkCalendarSpec(Model):
    """Extra days off and working-day swaps beyond Vietnam's public holidays (from the 'holidays' package)."""

    holidays: list[DayEntry] = described(
        "Ngày nghỉ thêm ngoài lễ, Tết chung: danh sách {date, name} (extra days off).", default=[],
        examples=[[{"date": "02/01/2023", "name": "Nghỉ bù Tết Dương lịch"}]])
    working_days: list[DayEntry] = described(
        "Ngày làm việc bù, ví dụ thứ Bảy làm bù: danh sách {date, name} (extra working days).", default=[],
        examples=[[{"date": "04/05/2024", "name": "Thứ Bảy làm bù"}]]
    )
