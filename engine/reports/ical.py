"""The plan as an iCalendar feed: one all-day event per occurrence on its due date, reminders as alarms.

An office subscribes to the file in the calendar it already uses. UIDs are stable (plan/step/key@kehoach), so
re-publishing after a plan edit moves events instead of duplicating them. Events are all-day on the due date (a
deadline is a day, not an hour); each reminder day becomes an alarm at 08:00 in the plan's time zone, written in
UTC as RFC 5545 requires of absolute triggers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, Timezone

from engine.calendar import CalendarBuilder
from engine.dates import fmt
from engine.models.timing import After, OnDemand
from engine.people import EVIDENCE_LABELS
from engine.plan import Plan
from engine.reports.periods import key_label, titled
from engine.reports.wording import dmy
from engine.state.models import CANCELLED, DONE, SKIPPED, OccurrenceRecord

REMIND_AT = time(8, 0)
KIND_VI = {"disseminate": "Quán triệt, triển khai", "coordinate": "Phối hợp", "review": "Sơ kết, tổng kết",
           "report": "Báo cáo"}
PRODID = "-//Kehoach//Kế hoạch//VI"


@dataclass(frozen=True)
class Entry:
    """One occurrence as the feed shows it."""

    step_id: str
    key: str
    opens: date
    due: date
    reminders: tuple[date, ...]
    projected: bool = False
    requested_by: str | None = None
    done_on: date | None = None  # finished: no alarm, marked done
    dropped: str | None = None  # skipped or cancelled, with the reason
    first_due: date | None = None  # the deadline before an extension


def uid(plan_id: str, step_id: str, key: str) -> str:
    return f"{plan_id}/{step_id}/{key}@kehoach"


def entries(plan: Plan, rows: Iterable[OccurrenceRecord] = ()) -> list[Entry]:
    """Every dated occurrence of the calendar; with stored rows, also the requested ones (on-demand steps) and
    'after' steps dated for real, which replace their projection, each as it stands: done, not needed, or due
    on the deadline in force (after an extension)."""
    out: dict[tuple[str, str], Entry] = {}
    for cal in plan.calendar.values():
        for o in cal.occurrences:
            out[(o.step_id, o.key)] = Entry(o.step_id, o.key, o.opens, o.due, o.reminders, o.projected)
    builder = CalendarBuilder(plan)
    for row in rows:
        step = plan.step_by_id.get(row.step_id)
        if step is None or row.orphaned:
            continue
        dated = isinstance(step.timing, (OnDemand, After))
        if not dated and (row.step_id, row.key) not in out:
            continue
        if isinstance(step.timing, After):
            for k in [k for k in out if k[0] == step.id and out[k].projected]:
                del out[k]
        if dated and row.status in (CANCELLED, SKIPPED):
            continue
        if dated or row.original_due_on:
            reminders = builder.finish(step, plan.policy(step), row.key, row.due_on, row.opens_on).reminders
        else:
            reminders = out[(row.step_id, row.key)].reminders
        out[(row.step_id, row.key)] = Entry(
            row.step_id, row.key, row.opens_on, row.due_on, reminders, requested_by=row.requested_by,
            done_on=row.done_on if row.status == DONE else None,
            dropped=(row.reason or "") if row.status in (CANCELLED, SKIPPED) else None,
            first_due=row.original_due_on)
    return sorted(out.values(), key=lambda e: (e.due, plan.step_index.get(e.step_id, 0), e.key))


def _describe(plan: Plan, step: Any, e: Entry) -> str:
    units = plan.units
    name = lambda u: units[u].name if u in units else u  # noqa: E731
    lines = [
        dmy(step.title),
        "",
        f"Kế hoạch số {plan.meta.number} của {plan.issuer.name}.",
        f"Loại việc: {KIND_VI.get(step.kind, step.kind)}." + (f" Lần thực hiện: {key_label(e.key)}." if key_label(e.key)
                                                              else ""),
        f"Đơn vị chủ trì: {name(plan.owner_of(step.id, e.key))}.",
    ]
    if step.participants:
        lines.append("Phối hợp: " + ", ".join(name(u) for u in plan.members(step.participants)) + ".")
    if e.requested_by:
        lines.append(f"Yêu cầu của: {e.requested_by}.")
    lines.append(f"Mở việc: {fmt(e.opens)}. Hạn: {fmt(e.due)}" + (" (dự kiến)." if e.projected else "."))
    if e.first_due:
        lines.append(f"Đã gia hạn (hạn ban đầu {fmt(e.first_due)}).")
    if e.done_on:
        lines.append(f"Đã hoàn thành ngày {fmt(e.done_on)}.")
    elif e.dropped is not None:
        lines.append("Không thực hiện" + (f": {dmy(e.dropped)}." if e.dropped else "."))
    else:
        if e.reminders:
            lines.append("Nhắc hạn: " + ", ".join(fmt(d) for d in e.reminders) + ".")
        if step.confirmation.requires:
            lines.append("Khi xác nhận cần ghi: " + ", ".join(EVIDENCE_LABELS[r] for r in step.confirmation.requires)
                         + ".")
    return "\n".join(lines)


def _event(plan: Plan, e: Entry, tz: ZoneInfo, stamp: datetime) -> Event:
    step = plan.step_by_id[e.step_id]
    title = titled(dmy(step.title), e.key)
    state = "Đã hoàn thành" if e.done_on else "Không thực hiện" if e.dropped is not None else "Hạn"
    event = Event()
    event.add("uid", uid(plan.id, e.step_id, e.key))
    event.add("dtstamp", stamp)
    event.add("dtstart", e.due)
    event.add("dtend", e.due + timedelta(days=1))
    event.add("summary", f"[{plan.meta.number}] {state}: {title}")
    event.add("description", _describe(plan, step, e))
    event.add("categories", [KIND_VI.get(step.kind, step.kind)])
    event.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy
    event.add("status", "CANCELLED" if e.dropped is not None else "TENTATIVE" if e.projected else "CONFIRMED")
    if e.done_on or e.dropped is not None:
        return event  # nothing left to remind anyone of
    for day in e.reminders:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"Nhắc hạn {fmt(e.due)}: {title}")
        alarm.add("trigger", datetime.combine(day, REMIND_AT, tzinfo=tz).astimezone(timezone.utc),
                  parameters={"VALUE": "DATE-TIME"})
        event.add_component(alarm)
    return event


def feed(plan: Plan, now: datetime, rows: Iterable[OccurrenceRecord] = ()) -> bytes:
    """The iCalendar text of the plan (see `entries`); `now` stamps the events (DTSTAMP)."""
    tzid = plan.meta.timezone
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"Kế hoạch số {plan.meta.number} - {plan.issuer.name}")
    cal.add("x-wr-caldesc", " ".join(plan.meta.title.split()))
    cal.add("x-wr-timezone", tzid)
    start, end = plan.meta.period.start, plan.meta.period.end
    cal.add_component(Timezone.from_tzid(tzid, first_date=start - timedelta(days=366),
                                         last_date=end + timedelta(days=366)))
    stamp = now.astimezone(timezone.utc).replace(microsecond=0)
    tz = ZoneInfo(tzid)
    for e in entries(plan, rows):
        cal.add_component(_event(plan, e, tz, stamp))
    return cal.to_ical()
