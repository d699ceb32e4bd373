"""One message from a recipient's notices of a day: most urgent first, a subject an inbox shows whole, plain text.

Subject: `[28/KH-KHCN] Quá hạn 5 ngày (hạn 18/03/2022): Quán triệt Đề án 02-ĐA/TU (+2 việc khác)` - the plan
number, then the most urgent item (its deadline and action first, then the step's short title), at most
SUBJECT_MAX characters. Body: the greeting, the items numbered (several occurrences of one step in one entry),
and the issuing body at the end. Items are rendered for the day the message is sent (engine.language.templates).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

from engine.language.keys import split_key
from engine.language.templates import Rendered, item_context, render_item

SUBJECT_MAX = 100
OTHERS_LISTED = 6  # occurrences of one step listed by name in a grouped entry
UNITS_LISTED = 30  # units listed by name in a grouped entry of a step with several owners (who is late)

# Most urgent first: late work and escalations, what is due today, what waits, reminders, new work, information.
URGENCY = {"escalation": 0, "overdue": 0, "closing": 1, "due_today": 2, "blocked": 3, "reminder": 4,
           "report_draft": 5, "review_summary": 5, "opened": 6, "extended": 7, "participant": 8, "coordinate": 8,
           "disseminate": 9, "confirmed": 10}

Link = Callable[..., "str | None"]  # (plan id, step id, occurrence key[, unit name]) -> the form's address


@dataclass
class Item:
    """One notice (outbox row) to put in a message."""

    id: int
    template: str
    context: dict[str, Any]
    step_id: str | None = None
    occurrence_key: str | None = None


@dataclass
class Message:
    """A composed message, and what each of its notices rendered to."""

    subject: str
    body: str
    attachments: list[int] = field(default_factory=list)
    rendered: dict[int, Rendered] = field(default_factory=dict)  # by outbox row id

    @property
    def errors(self) -> dict[int, str]:
        return {i: r.error for i, r in self.rendered.items() if r.error}


def compose(items: list[Item], day: date, overrides: dict[str, str] | None = None,
            link: Link | None = None, extend_link: Link | None = None) -> Message:
    """The message of `items` (one recipient, one plan) sent on `day`; `link` gives the address of an
    occurrence's confirmation form (for its owner), `extend_link` of its extension form (for leadership)."""
    first = items[0].context
    rendered: dict[int, Rendered] = {}
    for item in items:
        ctx = dict(item.context)
        where: tuple[str, ...] = (str(ctx.get("plan_id")), item.step_id or "", item.occurrence_key or "")
        if "@" in where[2]:  # one owner's occurrence: its form is filled with the unit's name
            where = (*where, str(ctx.get("owner_name", "")))
        if link is not None and item.step_id and item.occurrence_key and "confirm_command" in ctx:
            ctx["confirm_url"] = link(*where) or ""
        if extend_link is not None and item.template == "escalation" and item.occurrence_key:
            ctx["extend_url"] = extend_link(*where) or ""
        if ctx.get("summary"):
            ctx["summary"] = plain(str(ctx["summary"]))
        rendered[item.id] = render_item(item.template, ctx, day, overrides)
    entries = _entries(_distinct(items), day)
    head = rendered[entries[0][0].id]
    others = len(entries) - 1
    subject = _subject(str(first.get("plan_number", "")), head.subject, f" (+{others} việc khác)" if others else "")
    lines = [f"Kính gửi: {first.get('unit_name', '')}", ""]
    if len(entries) == 1:  # the subject says what it is; the body starts with the substance
        lines += [_entry_text(entries[0], rendered, day).partition("\n")[2].rstrip("\n")]
    else:
        catch_up = any(i.context.get("catch_up") for i in items)
        intro = (f"{first.get('issuer', '')} thông báo {len(entries)} việc theo Kế hoạch số "
                 f"{first.get('plan_number', '')}, tính đến ngày {day:%d/%m/%Y}")
        lines += [intro + (" (tổng hợp các việc tồn đọng chưa được thông báo):" if catch_up else ", việc gấp trước:"),
                  ""]
        for n, entry in enumerate(entries, 1):
            text = _entry_text(entry, rendered, day)
            title, _, rest = text.partition("\n")
            lines.append(f"{n}. {title}")
            lines += [f"   {ln}" if ln.strip() else "" for ln in rest.rstrip("\n").splitlines()]
            lines.append("")
    if lines[-1]:
        lines.append("")
    lines += ["--", str(first.get("issuer", ""))]
    if first.get("plan_number"):
        lines.append(f"Kế hoạch số {first['plan_number']}: {_short(str(first.get('plan_title', '')), 120)}")
    attachments = list(dict.fromkeys(int(a) for i in items for a in i.context.get("attachments") or []))
    return Message(subject, "\n".join(lines).rstrip() + "\n", attachments, rendered)


# A draft's entry gives the deadline and the work: an opening, a reminder or a due-day notice of the same
# occurrence beside it says nothing more.
SAID_BY_DRAFT = {"opened", "reminder", "due_today"}
DRAFTS = {"report_draft", "review_summary"}


def _distinct(items: list[Item]) -> list[Item]:
    """The notices a message says, each once: of notices of one occurrence with one template (reminders or
    escalations that piled up while the message could not go - a channel down, a day off), the latest, rendered
    for the day it is sent; an occurrence's opening, reminder or due day beside its draft is said by the draft.
    Every notice is still recorded as sent in the message."""
    latest: dict[tuple[Any, ...], Item] = {}
    for item in items:
        key = ((item.template, item.step_id, item.occurrence_key) if item.step_id and item.occurrence_key
               else ("#", item.id))
        if key not in latest or item.id > latest[key].id:
            latest[key] = item
    drafted = {(i.step_id, i.occurrence_key) for i in latest.values() if i.template in DRAFTS}
    return [i for i in latest.values()
            if not (i.template in SAID_BY_DRAFT and (i.step_id, i.occurrence_key) in drafted)]


def _entries(items: list[Item], day: date) -> list[list[Item]]:
    """Items in order of urgency; the occurrences of one step with the same kind of notice make one entry."""
    def key(item: Item) -> tuple[Any, ...]:
        ctx = item_context(item.context, day)
        return (URGENCY.get(item.template, 20), -int(ctx["days_overdue"]), ctx.get("due_iso") or "",
                str(ctx.get("step_short", "")), item.occurrence_key or "")

    groups: dict[tuple[str, str | None], list[Item]] = {}
    for item in sorted(items, key=key):
        groups.setdefault((item.template, item.step_id if item.step_id else f"#{item.id}"), []).append(item)
    return list(groups.values())


def _entry_text(entry: list[Item], rendered: dict[int, Rendered], day: date) -> str:
    """An entry: its first item's subject line and body; other occurrences of the step listed after it."""
    head = rendered[entry[0].id]
    text = f"{head.subject}\n{head.body}"
    if len(entry) > 1:
        # The occurrences of a step with several owners differ by unit: each is named by its unit (and its
        # period when periods differ too), so that leadership reads who is late.
        units = len({str(i.context.get("owner", "")) for i in entry}) > 1
        periods = len({split_key(str(i.context.get("occurrence", "")))[0] for i in entry}) > 1
        listed_n = UNITS_LISTED if units else OTHERS_LISTED
        rest = []
        for item in entry[1:listed_n + 1]:
            ctx = item_context(item.context, day)
            label = ", ".join(filter(None, [ctx.get("owner_name", "") if units else "",
                                            (ctx.get("occurrence_label") or "") if periods or not units else ""]))
            late = f", quá hạn {ctx['days_overdue']} ngày" if ctx["days_overdue"] else ""
            rest.append(f"{label} (hạn {ctx.get('due', '')}{late})".strip())
        what = "đơn vị" if units and not periods else "lần" if units else "kỳ"
        more = len(entry) - 1 - listed_n
        listed = "; ".join(rest) + (f"; và {more} {what} khác" if more > 0 else "")
        text += f"Cùng nhiệm vụ này còn {len(entry) - 1} {what}: {listed}.\n"
    return text


def _subject(number: str, item_subject: str, tail: str) -> str:
    """`[number] item subject tail`, the item subject shortened at a word so the whole fits SUBJECT_MAX."""
    prefix = f"[{number}] " if number and not item_subject.startswith("[") else ""
    room = SUBJECT_MAX - len(prefix) - len(tail)
    return prefix + _short(item_subject, max(room, 10)) + tail


def _short(text: str, limit: int) -> str:
    from engine.language.text import shorten

    return shorten(text, limit)


_MARKS = re.compile(r"(\*\*|__|`|^#+\s*|^>\s*)", re.M)


def plain(text: str) -> str:
    """Text without Markdown marks (a draft's digest line may carry them)."""
    return " ".join(_MARKS.sub("", text).split())
