"""The tables the CLI prints (show, status, outbox), laid out for the terminal they are printed on.

They are designed for 80 columns and take whatever width the terminal has (rich reads it; a pipe gets 80, or
COLUMNS): short columns first, short titles, no vertical rules. An id (step, occurrence, unit, tag) is never
split over two lines: its column does not wrap, and the long texts beside it (reminders, confirmations, errors)
wrap between words instead.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any, Iterable

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from engine.language.keys import split_key
from engine.language.periods import occurrence_label


def console() -> Console:
    """A console as wide as the terminal (80 columns when the output is not a terminal and COLUMNS is unset);
    it wraps text between words and reads no markup in it."""
    return Console(highlight=False, emoji=False, markup=False)


def table(title: str | None = None) -> Table:
    """A table with a rule under its header and none between its columns."""
    return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1),
                 show_edge=False, collapse_padding=True)


def wrapped(line: str, width: int) -> str:
    """A line of text for a terminal `width` columns wide: broken between words only - never inside an id or a
    date, nor between a word and the number after it ('lần 1', 'tháng 3/2022') - and continued indented by four
    spaces."""
    kept = re.sub(r" (?=[^\s(]*\d)", "\xa0", line)
    return textwrap.fill(kept, width, subsequent_indent="    ", break_long_words=False,
                         break_on_hyphens=False).replace("\xa0", " ")


def dmy(iso: str | None) -> str:
    """'2023-10-25' as officials write it: 25/10/2023."""
    if not iso:
        return ""
    y, m, d = iso.split("-")
    return f"{d}/{m}/{y}"


def _dm(iso: str, year: str) -> str:
    """A reminder day: dd/mm in the due date's year, dd/mm/yyyy otherwise."""
    y, m, d = iso.split("-")
    return f"{d}/{m}" if y == year else f"{d}/{m}/{y}"


def show_table(steps: Iterable[dict[str, Any]]) -> Table:
    """`kehoach show`: one row per occurrence; a step's id on its first row, its owner on the next."""
    out = table()
    out.add_column("Bước / chủ trì", no_wrap=True)
    out.add_column("Lần", max_width=13)  # as people name it: 'tháng 10/2023' whole, longer names between words
    out.add_column("Mở", no_wrap=True)
    out.add_column("Hạn", no_wrap=True)
    out.add_column("Nhắc hạn")  # dates without the due date's year; wraps between dates
    for step in steps:
        owners = step.get("owners") or [step["owner"]]
        written = step["owner"] if isinstance(step["owner"], str) else owners[0] if len(owners) == 1 else ""
        if len(owners) > 1:  # a group's name and its size; a list by its size (each unit is on its rows)
            written = f"{written} ({len(owners)} đơn vị)" if written else f"{len(owners)} đơn vị"
        first, owner = Text(step["id"], style="bold"), Text(written, style="dim")
        occurrences = step["occurrences"]
        if len(owners) > 1:  # the owners share each period's dates: a row per period, the units said once
            occurrences = list({o["period"]: {**o, "key": o["period"]} for o in occurrences}.values())
        if not occurrences:
            out.add_row(first, "-", "", "", step["timing"])
        for i, o in enumerate(occurrences):
            due = dmy(o["due"]) + ("\n(dự kiến)" if o["projected"] else "")
            reminders = ", ".join(_dm(r, o["due"][:4]) for r in o["reminders"])
            out.add_row(first if i == 0 else owner if i == 1 else "", occurrence_label(o["key"]),
                        dmy(o["opens"]), due, reminders)
        if len(occurrences) < 2:
            out.add_row(owner, "", "", "", "")
        if len(owners) > 1:
            out.add_row("", "", "", "", f"Mỗi kỳ, từng đơn vị: {', '.join(owners)}.")
    return out


NARROW = 100  # below this width, status words wrap so that the text columns keep room


def status_table(rows: Iterable[dict[str, Any]], title: str, width: int) -> Table:
    """`kehoach status`: one row per occurrence, by due date; who confirmed, the evidence, then the notices. The
    occurrence is named as people name it ('quý II/2023', as `confirm --occurrence` takes it); the occurrence of
    one owner of a step with several shows its period, and its unit under the step."""
    from engine.language.templates import EVIDENCE_VI

    out = table(title)
    out.add_column("Hạn, lần", max_width=13)  # 'tháng 10/2023' whole; longer names wrap between words
    out.add_column("Bước", no_wrap=True)
    out.add_column("Trạng thái", min_width=10, max_width=17 if width < NARROW else None)
    out.add_column("Xác nhận; thông báo", overflow="fold")  # a link in the evidence may be longer than the column
    for r in rows:
        # The days beside 'quá hạn', before what the state waits for or says of it ('quá hạn 579 ngày (chờ
        # quan-triet)', 'hoàn thành (chậm 2 ngày)'): at 80 columns the parenthesis goes on a line of its own.
        head, paren, rest = r["status_vi"].partition(" (")
        head += f" {r['days_overdue']} ngày" if r["days_overdue"] else ""
        status = head + (("\n(" if width < NARROW else " (") + rest if paren else "")
        about = Text()
        if r.get("original_due"):  # an extended deadline: the first one stays in view
            about.append(f"gia hạn, hạn đầu {dmy(r['original_due'])}", style="dim")
        if r["confirmation"]:
            c = r["confirmation"]
            about.append(("\n" if about else "") + f"{c['by']}, {dmy(c['done_on'])}"
                         + "".join(f"; {EVIDENCE_VI.get(k, k)}: {v}" for k, v in c["evidence"].items()))
        if r["notices"]:
            about.append(("\n" if about else "") + r["notices"], style="dim")
        step = Text(r["step"])
        period, unit = split_key(r["occurrence"])
        if unit:  # one owner's occurrence: the unit under the step, the period alone in its column
            step.append(f"\n{unit}", style="dim")
        if r["orphaned"]:
            step.append("\n(mồ côi)")
        due = Text(dmy(r["due"]) + ("\n(gia hạn)" if r.get("original_due") else ""))
        due.append("\n" + occurrence_label(period), style="dim")
        out.add_row(due, step, status, about)
    return out


def timeline_table(events: Iterable[dict[str, Any]], width: int) -> Table:
    """`kehoach simulate`: one row per event, in order - the day; the step, and under it the occurrence as people
    name it (and the unit, for one owner of a step with several); what happened; the units told (the JSON output
    has each unit's tags)."""
    from engine.runtime.tick import EVENT_VI

    out = table()
    out.add_column("Ngày", no_wrap=True)
    out.add_column("Bước, lần", no_wrap=True)
    out.add_column("Sự kiện", min_width=8, max_width=15 if width < NARROW else None)
    out.add_column("Báo cho")  # units, one or more a line: an id is not split
    for e in events:
        step = Text(e["step"] or "(cả kế hoạch)")
        if e["occurrence"]:
            period, unit = split_key(e["occurrence"])
            step.append("\n" + occurrence_label(period) + (f"\n{unit}" if unit else ""), style="dim")
        what = EVENT_VI.get(e["event"], e["event"])
        if e["event"] == "escalation" and e["detail"].get("escalation"):
            what += f" lần {e['detail']['escalation']}"
        told = dict.fromkeys(r.partition(":")[0] + (" (chưa có kênh)" if r.endswith(":(không có kênh)") else "")
                             for r in e["recipients"])  # a unit once, whatever its channels' tags
        out.add_row(dmy(e["date"]), step, what, ", ".join(told))
    return out


def plans_table(lines: Iterable[Any], title: str) -> Table:
    """`kehoach status DIR`: one row per plan, most overdue first - its figures, then its title (which wraps)."""
    from engine.language.text import shorten

    out = table(title)
    out.add_column("Kế hoạch", no_wrap=True)
    out.add_column("Quá hạn", no_wrap=True, justify="right")
    out.add_column("Đúng hạn", no_wrap=True, justify="right")
    out.add_column("Đến hạn", no_wrap=True, justify="right")
    out.add_column("Tên kế hoạch", min_width=20)
    for p in lines:
        name = shorten(p.plan.meta.title, 80) + p.note  # two or three lines at most
        out.add_row(p.plan.meta.number, str(p.overdue), p.share, str(p.due), name)
    return out


def units_table(units: Iterable[Any], title: str, listed: int) -> Table:
    """`kehoach status DIR`: each unit's overdue work across the plans - a row per item, the longest overdue
    first, `listed` of them, then how many more."""
    out = table(title)
    out.add_column("Đơn vị", min_width=12, max_width=20)  # wraps between words; the work gets the room
    out.add_column("Số việc", no_wrap=True, justify="right")
    out.add_column("Quá hạn", no_wrap=True, justify="right")
    out.add_column("Việc quá hạn", min_width=20)
    for u in units:
        for i, item in enumerate(u.items[:listed]):
            out.add_row(u.name if i == 0 else "", str(len(u.items)) if i == 0 else "", f"{item.days} ngày", item.text)
        if len(u.items) > listed:
            out.add_row("", "", "", f"và {len(u.items) - listed} việc khác")
    return out


def children_table(standings: Iterable[Any], title: str, width: int) -> Table:
    """`kehoach status PARENT`: one row per child plan - who carries it out, its counts on the day, and what it has
    done of the parent's steps: how many times, how many of them late (by its own deadlines), and the latest."""
    out = table(title)
    out.add_column("Kế hoạch", no_wrap=True)
    out.add_column("Đơn vị", min_width=12, max_width=20)  # wraps between words; the work gets the room
    out.add_column("Xong/đến hạn", no_wrap=True, justify="right")
    out.add_column("Quá hạn", no_wrap=True, justify="right")
    out.add_column("Đã thực hiện", min_width=12)
    for st in standings:
        c = st.counts
        done = "-"
        if st.done:  # a few lines whatever the plan's length; the latest period on a line of its own, never split
            late = sum(d.late_days > 0 for d in st.done)
            latest = max(st.done, key=lambda d: d.done_on)
            done = (f"{len(st.done)} lần" + (f", {late} chậm" if late else ", đúng hạn")
                    + f"\ngần nhất:\n{occurrence_label(latest.period)}")
        out.add_row(st.child.number, st.child.issuer, f"{c.done}/{c.due}" if c else "?",
                    str(c.overdue) if c else "?", st.problem or done)
    return out


def notice_words(reason: str, template: str) -> str:
    """What a notice is, in words: 'nhắc hạn 21/12/2023', 'báo lãnh đạo việc chậm, lần 2' (of its template and
    reason, engine.runtime.tick)."""
    from engine.language.models.plan import TEMPLATE_EVENT_VI

    words = TEMPLATE_EVENT_VI.get(template, reason)
    kind, _, rest = reason.partition("-")
    if kind == "reminder" and rest:
        return f"{words} {dmy(rest)}"
    if kind == "escalation" and rest.isdigit():
        return f"{words}, lần {rest}"
    return words


def outbox_table(items: Iterable[dict[str, Any]], title: str, with_plan: bool, width: int) -> Table:
    """`kehoach outbox`: one row per notice - its status and tries, then what it is (in words), where it goes, its
    error.

    The last column wraps between words: plan, step, occurrence, reason, unit and tag are words of their own.
    """
    out = table(title)
    out.add_column("#", no_wrap=True, justify="right")
    out.add_column("Ngày", no_wrap=True)
    out.add_column("Trạng thái", min_width=9, max_width=13 if width < NARROW else None)
    out.add_column("Thử", no_wrap=True, justify="right")
    out.add_column("Bước (lần) lý do -> đơn vị / nhãn; lỗi", overflow="fold")  # an error may quote a long URL
    for item in items:
        what = Text(f"{item['plan']}: " if with_plan else "")
        occurrence = f" ({occurrence_label(item['occurrence'])})" if item["occurrence"] else ""
        what.append(f"{item['step'] or ''}{occurrence} {notice_words(item['reason'], item['template'])} -> "
                    f"{item['unit']} / {item['tag'] or '-'}")
        if item["note"]:
            what.append(f"\n{item['note']}", style="dim")
        out.add_row(str(item["id"]), item["day"], item["status_shown"], str(item["attempts"]), what)
    return out
