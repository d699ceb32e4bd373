"""Reminder, escalation and working-day policy: per step, per plan, or shared by an agency file."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, field_validator

from engine.models.common import Model, NonWorkingDayPolicy, PlanDate, Text, UnitId, described

EvidenceKind = Literal["document_number", "document_date", "date", "attendees", "link", "place", "note"]


MAX_DAYS_BEFORE = 366  # as opens_before_days: a reminder before the step opens is never sent


def _not_after_due(n: int) -> int:
    if n < 0:
        raise ValueError(
            f"{n} would put the reminder after the due date - reminders come before it "
            "(use 'escalation' for after the due date)"
        )
    if n > MAX_DAYS_BEFORE:
        raise ValueError(f"{n} is out of range: a reminder comes at most {MAX_DAYS_BEFORE} days before the due date")
    return n


# Checked one by one so that a problem points at the offending number, not at the whole list.
DaysBefore = Annotated[int, AfterValidator(_not_after_due)]


def _descending(values: list[int]) -> list[int]:
    return sorted(set(values), reverse=True)


class Reminders(Model):
    """Reminders before a due date, in calendar days and/or working days, or on given dates."""

    days_before: list[DaysBefore] = described("Nhắc trước hạn N ngày (days before due).", default=[], examples=[[7, 3]])
    working_days_before: list[DaysBefore] = described(
        "Nhắc trước hạn N ngày làm việc (working days before due).", default=[], examples=[[1]]
    )
    on: list[PlanDate] = described("Nhắc vào các ngày cụ thể (on these dates; one-off steps).", default=[])
    on_due_day: bool = described("Nhắc vào ngày đến hạn (a notice on the due day).", default=True)

    @field_validator("days_before", "working_days_before")
    @classmethod
    def _sorted(cls, v: list[int]) -> list[int]:
        return _descending(v)


class Escalation(Model):
    """What happens after a due date passes with no confirmation."""

    after_days: int = described("Báo quá hạn sau N ngày kể từ hạn (first escalation N days after due).", default=1, ge=0, le=365)
    every_days: int = described("Nhắc lại mỗi N ngày (repeat every N days).", default=7, ge=1, le=365)
    max_times: int = described("Tối đa bao nhiêu lần (at most this many escalations).", default=3, ge=0, le=100)
    to: list[UnitId] = described(
        "Báo thêm cho các đơn vị (also notify these units, e.g. the leadership).", default=[], examples=[["lanh-dao"]]
    )


class Confirmation(Model):
    """What a person must give when confirming a step is done."""

    requires: list[EvidenceKind] = described(
        "Thông tin bắt buộc khi xác nhận (evidence required): document_number (số văn bản), document_date, "
        "date (ngày thực hiện), attendees (số người dự), link, place, note.",
        default=[],
        examples=[["document_number"]],
    )


class Defaults(Model):
    """Policy every step inherits unless it says otherwise."""

    reminders: Reminders | None = described("Nhắc hạn mặc định (default reminders).", default=None)
    escalation: Escalation | None = described("Báo quá hạn mặc định (default escalation).", default=None)
    on_non_working_day: NonWorkingDayPolicy | None = described(
        "Hạn rơi vào ngày nghỉ (deadline on a non-working day): keep, previous (ngày làm việc trước), next.",
        default=None,
    )
    opens_before_days: int | None = described(
        "Mở việc trước hạn N ngày (days before due a step opens).", default=None, ge=0, le=366
    )


class DayEntry(Model):
    date: PlanDate = described("Ngày (date), dd/mm/yyyy.")
    name: Text = described("Tên/lý do (name or reason).", default="")


class WorkCalendarSpec(Model):
    """Extra days off and working-day swaps beyond Vietnam's public holidays (from the 'holidays' package)."""

    holidays: list[DayEntry] = described("Ngày nghỉ thêm (extra days off).", default=[])
    working_days: list[DayEntry] = described(
        "Ngày làm việc bù, ví dụ thứ Bảy làm bù (extra working days, e.g. a swapped Saturday).", default=[]
    )
