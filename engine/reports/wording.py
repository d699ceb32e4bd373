"""How the facts read in a Vietnamese official text: dates, documents, evidence, deadlines, outcomes, figures."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.language.calendar import periods_left_out, recurrence_rule
from engine.language.dates import fmt, parse_date
from engine.language.models.plan import Basis
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
)
from engine.reports.results import DROPPED, IN_PROGRESS, LATE, NOT_DUE, NOT_OPENED, ON_TIME, OVERDUE, Item

WEEKDAYS = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")
# Document type codes of Decree 30/2020 (Phụ lục III) and of party documents, to name a document by its number.
DOC_TYPES = {"NQ": "Nghị quyết", "QĐ": "Quyết định", "CT": "Chỉ thị", "QC": "Quy chế", "QyĐ": "Quy định",
             "TC": "Thông cáo", "TB": "Thông báo", "HD": "Hướng dẫn", "CTr": "Chương trình", "KH": "Kế hoạch",
             "PA": "Phương án", "ĐA": "Đề án", "DA": "Dự án", "BC": "Báo cáo", "BB": "Biên bản",
             "TTr": "Tờ trình", "HĐ": "Hợp đồng", "CĐ": "Công điện", "GM": "Giấy mời", "NĐ": "Nghị định",
             "TT": "Thông tư", "KL": "Kết luận", "CV": "Công văn"}
_TYPE_CODE = re.compile(r"^\s*\d+(?:/\d{4})?[-/]([A-Za-zĐđ]+)")
_LOOSE_DATE = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})/(\d{4})(?![\d/])")
_MONTH_DAY = {1: "đầu", 2: "giữa", 3: "cuối"}


def dmy(text: str) -> str:
    """Text from a plan with its dates written one way, dd/mm/yyyy ('26/3/2021' -> '26/03/2021'), and its
    spaces and line breaks made single spaces."""
    return _LOOSE_DATE.sub(lambda m: f"{int(m[1]):02d}/{int(m[2]):02d}/{m[3]}", " ".join(text.split()))


def sentence(text: str) -> str:
    """A capitalised sentence ending with a full stop."""
    text = text.strip()
    if not text:
        return ""
    text = text[:1].upper() + text[1:]
    return text if text[-1] in ".!?…" else text + "."


def lower_first(text: str) -> str:
    text = dmy(text)
    return text[:1].lower() + text[1:]


def written_date(place: str | None, day: date | None, year: int | None = None) -> str:
    """'Thái Nguyên, ngày 05 tháng 3 năm 2023' (days below 10 and months 1-2 take a leading zero, Decree 30), or
    with the day left for the signer: 'Thái Nguyên, ngày ... tháng ... năm 2023'."""
    where = place or "......"
    if day is None:
        return f"{where}, ngày ... tháng ... năm {year or '....'}"
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{where}, ngày {day.day:02d} tháng {month} năm {day.year}"


def doc_kind(number: str) -> str:
    """The kind of document a number names: '01/BB-KHCN' -> 'Biên bản'; 'Văn bản' when it does not say."""
    m = _TYPE_CODE.match(number)
    return DOC_TYPES.get(m.group(1), "Văn bản") if m else "Văn bản"


def doc_ref(b: Basis) -> str:
    """'Đề án số 02-ĐA/TU ngày 26/03/2021 của Ban Chấp hành Đảng bộ tỉnh Thái Nguyên'."""
    text = f"{doc_kind(b.number)} số {b.number}"
    if b.date:
        text += f" ngày {fmt(b.date)}"
    if b.issuer:
        text += f" của {b.issuer}"
    return text


def _as_date(value: str) -> str:
    try:
        return fmt(parse_date(value))
    except ValueError:
        return dmy(value)


def evidence_text(evidence: dict[str, str]) -> str:
    """What a confirmation's evidence shows, as a sentence: 'Biên bản số 01/BB-KHCN ngày 18/03/2022; thực hiện
    ngày 18/03/2022 tại Hội trường Sở, có 45 người tham dự.' Links stay in the store: they are working
    records, not something a recipient can open."""
    parts = []
    number, on = evidence.get("document_number"), evidence.get("document_date")
    if number:
        parts.append(f"{doc_kind(number)} số {number}" + (f" ngày {_as_date(on)}" if on else ""))
    elif on:
        parts.append(f"văn bản ngày {_as_date(on)}")
    when = f"thực hiện ngày {_as_date(evidence['date'])}" if evidence.get("date") else ""
    where = f"tại {dmy(evidence['place'])}" if evidence.get("place") else ""
    held = " ".join(x for x in (when, where) if x)
    if attendees := evidence.get("attendees"):
        who = f"có {attendees} người tham dự" if attendees.isdigit() else f"thành phần: {dmy(attendees)}"
        held = f"{held}, {who}" if held else who
    if held:
        parts.append(held)
    if evidence.get("note"):
        parts.append(dmy(evidence["note"]))
    return sentence("; ".join(parts)) if parts else ""


def what_was_done(item: Item) -> str:
    """The result the confirmer wrote and the evidence, as one or two sentences ('' when neither was given)."""
    return " ".join(t for t in (sentence(dmy(item.result or "")), evidence_text(item.evidence)) if t)


def day_off(plan: Any, day: date) -> str:
    """Why `day` is not a working day: 'thứ Bảy', 'Chủ nhật', 'ngày nghỉ Mùng bốn Tết Nguyên Đán'."""
    if day.weekday() >= 5 and not plan.workdays.holiday_name(day):
        return WEEKDAYS[day.weekday()]
    name = plan.workdays.holiday_name(day) or next(
        (d.name for cal in [*(a.calendar for a in plan.agencies), plan.file.calendar] for d in cal.holidays
         if d.date == day and d.name), None)
    if not name:
        return "ngày nghỉ"
    if name.split(" ", 1)[0].lower() == "nghỉ":  # 'Nghỉ bù Tết Dương lịch'
        return f"ngày {lower_first(name)}"
    return f"ngày nghỉ {lower_first(name) if name.startswith('Mùng') else dmy(name)}"


def moved(plan: Any, item: Item) -> str:
    """Why the deadline in force is not the plan's date ('' when it is): an extension, with who asked why, or a
    date that fell on a day off."""
    if item.extensions:
        return "; ".join(f"gia hạn từ {fmt(a)} đến {fmt(b)}: {dmy(why)}" for a, b, why in item.extensions)
    if item.nominal_due is not None:
        way = "trước" if item.due < item.nominal_due else "sau"
        return (f"ngày {fmt(item.nominal_due)} là {day_off(plan, item.nominal_due)} nên hạn chuyển về ngày làm "
                f"việc liền {way}")
    return ""


def _every(period: str, day: int | None, month: int = 0, before: bool = False) -> str:
    """'hằng tháng, ngày 25', 'hằng quý, ngày 20 tháng cuối quý', '6 tháng một lần, ngày 15/06 và 15/12';
    'hằng năm, trước ngày 01/11' for a deadline written 'before' that day."""
    word = "trước ngày" if before else "ngày"
    last = "ngày cuối tháng" if not before and (day is None or day >= 31) else f"{word} {day}"
    if period == "monthly":
        return f"hằng tháng, {last}"
    if period == "quarterly":
        return f"hằng quý, {last} tháng {_MONTH_DAY[month or 3]} quý"
    if period == "half_yearly":
        m = month or 6
        if not before and (day is None or day >= 29):
            return f"6 tháng một lần, ngày cuối tháng {m} và tháng {m + 6}"
        return f"6 tháng một lần, {word} {day:02d}/{m:02d} và {day:02d}/{m + 6:02d}"
    return f"hằng năm, {word} {day:02d}/{month or 12:02d}" if day else f"hằng năm, ngày cuối tháng {month or 12}"


def recurrence(step: Any) -> str:
    """A recurring or on-demand step's rhythm in words: 'hằng tháng, ngày 25', 'thường xuyên; báo cáo tiến độ
    hằng quý, ngày 20 tháng cuối quý', 'khi có yêu cầu, trong 5 ngày làm việc kể từ ngày nhận yêu cầu'."""
    t = step.timing
    for cls, period in ((Monthly, "monthly"), (Quarterly, "quarterly"), (HalfYearly, "half_yearly"),
                        (Yearly, "yearly")):
        if isinstance(t, cls):
            month, day, before = recurrence_rule(t)
            return _every(period, day, month if period != "monthly" else 0, before) + periods_left_out(t)
    if isinstance(t, Ongoing):
        return f"thường xuyên; báo cáo tiến độ {_every(t.ongoing.check_in, t.ongoing.day)}{periods_left_out(t)}"
    if isinstance(t, OnDemand):
        n = f"{t.on_demand.days} ngày" if t.on_demand.days is not None else f"{t.on_demand.working_days} ngày làm việc"
        return f"khi có yêu cầu, trong {n} kể từ ngày nhận yêu cầu"
    return ""


def is_one_off(step: Any) -> bool:
    return isinstance(step.timing, (Deadline, Milestone, After))


def one_off_deadline(plan: Any, step: Any, item: Item | None, numbers: dict[str, str]) -> str:
    """A one-off step's deadline in force, once, with the reason when it moved: '18/03/2022 (ngày 19/03/2022 là
    thứ Bảy nên hạn chuyển về ngày làm việc liền trước)'; a step after another says which."""
    t = step.timing
    notes = []
    if isinstance(t, After):
        n = f"{t.after.days} ngày" if t.after.days is not None else f"{t.after.working_days} ngày làm việc"
        pred = plan.step_by_id[t.after.step]
        which = (f"nhiệm vụ tại mục {numbers[pred.id]}" if pred.id in numbers
                 else f"nhiệm vụ “{lower_first(pred.title)}”")
        notes.append(f"{n} sau khi hoàn thành {which}")
    if item is None:
        return notes[0] if notes else ""
    if item.projected:
        notes.append("dự kiến")
    if why := moved(plan, item):
        notes.append(why)
    start = f"từ ngày {fmt(t.start)} đến ngày " if isinstance(t, Deadline) and t.start else ""
    return f"{start}{fmt(item.due)}" + (f" ({'; '.join(notes)})" if notes else "")


def outcome_sentence(item: Item) -> str:
    """A one-off step's outcome: 'Hoàn thành ngày 18/03/2022, đúng hạn.'"""
    if item.outcome == ON_TIME:
        return f"Hoàn thành ngày {fmt(item.done_on)}, đúng hạn."
    if item.outcome == LATE:
        return f"Hoàn thành ngày {fmt(item.done_on)}, chậm {item.days} ngày so với hạn."
    if item.outcome == OVERDUE:
        return f"Chưa hoàn thành, quá hạn {item.days} ngày."
    if item.outcome == IN_PROGRESS:
        return "Đang thực hiện."
    if item.outcome == NOT_OPENED:
        return "Chưa triển khai (chờ hoàn thành nhiệm vụ trước)."
    if item.outcome == NOT_DUE:
        return "Chưa đến hạn."
    return sentence("Không thực hiện" + (f": {dmy(item.reason)}" if item.reason else ""))


def outcome_cell(item: Item) -> str:
    """An outcome in a table's 'Hoàn thành' column: the date (and how late), or where the work stands."""
    if item.outcome == ON_TIME:
        return fmt(item.done_on)
    if item.outcome == LATE:
        return f"{fmt(item.done_on)} (chậm {item.days} ngày)"
    if item.outcome == OVERDUE:
        return f"Chưa hoàn thành (quá hạn {item.days} ngày)"
    return {IN_PROGRESS: "Đang thực hiện", NOT_OPENED: "Chưa triển khai", NOT_DUE: "Chưa đến hạn",
            DROPPED: "Không thực hiện"}[item.outcome]


@dataclass(frozen=True)
class Tally:
    """Counts of occurrences as of a day: due (on or before it, or finished ahead), done (of which on time),
    overdue, and still ahead."""

    due: int
    done: int
    on_time: int
    overdue: int
    ahead: int


def tally(items: Iterable[Item], as_of: date) -> Tally:
    live = [i for i in items if i.outcome != DROPPED]
    return Tally(due=sum(i.due <= as_of or i.finished or i.outcome == OVERDUE for i in live), done=sum(i.finished for i in live),
                 on_time=sum(i.outcome == ON_TIME for i in live), overdue=sum(i.outcome == OVERDUE for i in live),
                 ahead=sum(not i.finished and i.outcome != OVERDUE and i.due > as_of for i in live))


def figures(items: Iterable[Item], as_of: date, noun: str = "nhiệm vụ") -> str:
    """The figures as an official writes them: '21/21 nhiệm vụ đến hạn đã hoàn thành, trong đó 18 đúng hạn, 3
    chậm hạn; 2 nhiệm vụ quá hạn chưa hoàn thành' (each occurrence of a recurring task counts as one)."""
    t = tally(items, as_of)
    if not t.due:
        text = f"chưa có {noun} đến hạn"
    else:
        text = f"{t.done}/{t.due} {noun} đến hạn đã hoàn thành"
        if t.done and t.on_time == t.done:
            text += ", tất cả đúng hạn" if t.done > 1 else ", đúng hạn"
        elif t.done and not t.on_time:
            text += ", tất cả chậm hạn" if t.done > 1 else ", chậm hạn"
        elif t.done:
            text += f", trong đó {t.on_time} đúng hạn, {t.done - t.on_time} chậm hạn"
    if t.overdue:
        text += f"; {t.overdue} {noun} quá hạn chưa hoàn thành"
    if t.ahead:
        text += f"; {t.ahead} {noun} đang thực hiện, chưa đến hạn"
    return text
