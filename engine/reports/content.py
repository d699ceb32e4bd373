"""The text of a review or report, built once from the facts and rendered as Markdown and as DOCX."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine.dates import fmt
from engine.models.plan import Basis
from engine.models.steps import Report, Review
from engine.models.timing import OnDemand
from engine.plan import Plan
from engine.reports.periods import CUMULATIVE, in_brackets, key_label
from engine.reports.results import (
    DROPPED,
    IN_PROGRESS,
    LATE,
    NOT_DUE,
    NOT_OPENED,
    ON_TIME,
    OVERDUE,
    Facts,
    Item,
    StepResult,
)

FILL = "Cần bổ sung"  # marks a place the official writes in; renderers highlight it
SIGN_HERE = "(Ký, ghi rõ họ tên)"
ITEM_HEADERS = ("Kỳ", "Hạn", "Kết quả", "Ngày hoàn thành", "Người xác nhận", "Minh chứng")
SUMMARY_HEADERS = ("TT", "Nhiệm vụ", "Đơn vị chủ trì", "Đến hạn", "Đúng hạn", "Chậm", "Quá hạn", "Đang thực hiện")

# Document type codes of Decree 30/2020 (and of party documents), to name a basis document by its number.
DOC_TYPES = {"ĐA": "Đề án", "KH": "Kế hoạch", "QĐ": "Quyết định", "CT": "Chỉ thị", "NQ": "Nghị quyết",
             "TB": "Thông báo", "BC": "Báo cáo", "HD": "Hướng dẫn", "CTr": "Chương trình", "NĐ": "Nghị định",
             "TT": "Thông tư", "KL": "Kết luận", "QC": "Quy chế", "CV": "Công văn"}
# How a confirmation's evidence fields read in a document (the kinds of engine.models.policy.EvidenceKind).
EVIDENCE_LABELS = {"document_number": "số văn bản", "document_date": "ngày văn bản", "date": "ngày thực hiện",
                   "attendees": "số người tham dự", "link": "đường link", "place": "địa điểm", "note": "ghi chú"}
_TYPE_CODE = re.compile(r"^\s*\d+(?:/\d{4})?[-/]([A-Za-zĐđ]+)")


@dataclass(frozen=True)
class Para:
    """A paragraph; `style` is body, heading (I.), subheading (1.), minor (2.1.), item (a dash line), fill."""

    text: str
    style: str = "body"


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass
class Draft:
    """A document in the Decree 30/2020 layout, ready to render."""

    parent: str | None
    issuer: str
    number: str
    place_date: str
    doc_type: str
    summary: str
    addressee: str | None
    blocks: list[Para | Table]
    signer_title: str
    signer_name: str | None
    receivers: list[str]
    digest: str
    meta: dict[str, Any] = field(default_factory=dict)


def outcome_text(item: Item) -> str:
    """An outcome as the report words it."""
    if item.outcome == ON_TIME:
        return "Hoàn thành đúng hạn"
    if item.outcome == LATE:
        return f"Hoàn thành chậm {item.days} ngày"
    if item.outcome == OVERDUE:
        return f"Quá hạn {item.days} ngày, chưa hoàn thành"
    if item.outcome == IN_PROGRESS:
        return "Đang thực hiện"
    if item.outcome == NOT_OPENED:
        return "Chưa triển khai (chờ bước trước)"
    if item.outcome == NOT_DUE:
        return "Chưa đến hạn"
    return "Đã hủy" + (f": {item.reason}" if item.reason else "")


def written_date(place: str | None, day: date) -> str:
    """'Thái Nguyên, ngày 05 tháng 3 năm 2023': days below 10 and months 1-2 take a leading zero (Decree 30)."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{place or '......'}, ngày {day.day:02d} tháng {month} năm {day.year}"


def doc_ref(b: Basis) -> str:
    """'Đề án số 02-ĐA/TU ngày 26/03/2021 của Ban Chấp hành Đảng bộ tỉnh Thái Nguyên'."""
    m = _TYPE_CODE.match(b.number)
    kind = DOC_TYPES.get(m.group(1), "Văn bản") if m else "Văn bản"
    text = f"{kind} số {b.number}"
    if b.date:
        text += f" ngày {fmt(b.date)}"
    if b.issuer:
        text += f" của {b.issuer}"
    return text


def short(text: str, limit: int = 110) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _lower_first(text: str) -> str:
    text = " ".join(text.split())
    return text[:1].lower() + text[1:]


def _abbreviation(plan: Plan) -> str:
    if plan.issuer.abbreviation:
        return plan.issuer.abbreviation
    m = re.search(r"-([^-/\s]+)\s*$", plan.meta.number)
    return m.group(1) if m else "..."


def _unit(plan: Plan, unit_id: str) -> str:
    unit = plan.units.get(unit_id)
    return unit.name if unit else unit_id


def _evidence(item: Item) -> str:
    parts = [f"{EVIDENCE_LABELS.get(k, k)}: {v}" for k, v in item.evidence.items()]
    if item.note:
        parts.append(f"ghi chú: {item.note}")
    return "; ".join(parts)


def _item_row(item: Item) -> tuple[str, ...]:
    due = fmt(item.due) + (" (dự kiến)" if item.projected else "")
    return (key_label(item.key), due, outcome_text(item), fmt(item.done_on), item.by or "", _evidence(item))


def _counts(items: list[Item], as_of: date) -> dict[str, int]:
    live = [i for i in items if i.outcome != DROPPED]
    return {
        "due": sum(i.due <= as_of or i.finished for i in live),
        ON_TIME: sum(i.outcome == ON_TIME for i in live),
        LATE: sum(i.outcome == LATE for i in live),
        OVERDUE: sum(i.outcome == OVERDUE for i in live),
        IN_PROGRESS: sum(i.outcome in (IN_PROGRESS, NOT_OPENED, NOT_DUE) for i in live),
    }


def counts_sentence(facts: Facts) -> str:
    """'Trong kỳ có 30 lần thực hiện đến hạn: hoàn thành đúng hạn 29, hoàn thành chậm 1; ...'."""
    c = _counts(facts.items, facts.as_of)
    if not facts.items:
        return "Trong kỳ không có nhiệm vụ nào đến hạn."
    text = (f"Trong kỳ có {c['due']} lần thực hiện nhiệm vụ đã đến hạn: hoàn thành đúng hạn {c[ON_TIME]}, "
            f"hoàn thành chậm {c[LATE]}, quá hạn chưa hoàn thành {c[OVERDUE]}")
    if c[IN_PROGRESS]:
        text += f"; {c[IN_PROGRESS]} lần đang thực hiện hoặc chưa đến hạn"
    return text + "."


def _step_header(plan: Plan, result: StepResult) -> str:
    step = result.step
    text = f"Đơn vị chủ trì: {_unit(plan, step.owner)}"
    if step.participants:
        text += "; phối hợp: " + ", ".join(_unit(plan, u) for u in step.participants)
    return text + f". Thời gian thực hiện: {plan.calendar[step.id].describe}."


def _no_items_text(result: StepResult) -> str:
    step = result.step
    if result.done_before is not None:
        d = result.done_before
        text = f"Đã hoàn thành ngày {fmt(d.done_on)} (trước kỳ này)"
        if d.by:
            text += f"; người xác nhận: {d.by}"
        if ev := _evidence(d):
            text += f"; minh chứng: {ev}"
        return text + "."
    if isinstance(step.timing, OnDemand):
        return "Trong kỳ không có yêu cầu thực hiện."
    if result.next_item is not None:
        return f"Trong kỳ chưa đến hạn; hạn tiếp theo: {fmt(result.next_item.due)}."
    return "Trong kỳ không có lần thực hiện nào."


def _results_blocks(plan: Plan, facts: Facts) -> list[Para | Table]:
    blocks: list[Para | Table] = [
        Para("I. KẾT QUẢ THỰC HIỆN", "heading"),
        Para("1. Kết quả chung", "subheading"),
        Para(counts_sentence(facts)),
    ]
    rows = []
    for n, r in enumerate(facts.steps, 1):
        c = _counts(r.items, facts.as_of)
        rows.append((str(n), short(r.step.title, 90), _unit(plan, r.step.owner), str(c["due"]), str(c[ON_TIME]),
                     str(c[LATE]), str(c[OVERDUE]), str(c[IN_PROGRESS])))
    blocks.append(Table(SUMMARY_HEADERS, tuple(rows)))
    blocks.append(Para("2. Kết quả thực hiện từng nhiệm vụ", "subheading"))
    for n, r in enumerate(facts.steps, 1):
        blocks.append(Para(f"2.{n}. {' '.join(r.step.title.split())}", "minor"))
        blocks.append(Para(_step_header(plan, r)))
        if r.items:
            blocks.append(Table(ITEM_HEADERS, tuple(_item_row(i) for i in r.items)))
        else:
            blocks.append(Para(_no_items_text(r)))
    return blocks


def _remaining_blocks(plan: Plan, facts: Facts, recipient: str | None) -> list[Para | Table]:
    blocks: list[Para | Table] = [Para("II. NHỮNG VIỆC CÒN LẠI", "heading"),
                                  Para("1. Việc quá hạn, chưa hoàn thành", "subheading")]
    overdue = facts.overdue
    for i in overdue:
        step = plan.step_by_id[i.step_id]
        blocks.append(Para(f"- {short(step.title)}{in_brackets(i.key)}: hạn {fmt(i.due)}, quá hạn {i.days} ngày; "
                           f"đơn vị chủ trì: {_unit(plan, step.owner)}.", "item"))
    if not overdue:
        blocks.append(Para("Không có việc quá hạn."))
    blocks.append(Para("2. Việc đang thực hiện và nhiệm vụ thời gian tới", "subheading"))
    ahead = 0
    for r in facts.steps:
        title = short(r.step.title)
        if r.next_item is not None:
            i = r.next_item
            state = "đang thực hiện, " if i.outcome == IN_PROGRESS else ""
            when = f"hạn {fmt(i.due)}" + (" (dự kiến)" if i.projected else "")
            blocks.append(Para(f"- {title}{in_brackets(i.key)}: {state}{when}.", "item"))
            ahead += 1
        elif isinstance(r.step.timing, OnDemand):
            blocks.append(Para(f"- {title}: thực hiện khi có yêu cầu.", "item"))
            ahead += 1
    if not ahead:
        blocks.append(Para("Các nhiệm vụ của kế hoạch đã hết hạn thực hiện."))
    blocks.append(Para("3. Tồn tại, hạn chế và nguyên nhân", "subheading"))
    why = " (nhất là các việc quá hạn, chậm hạn nêu trên)" if overdue or facts.count(LATE) else ""
    blocks.append(Para(f"[{FILL}: tồn tại, hạn chế và nguyên nhân{why}.]", "fill"))
    blocks.append(Para("III. ĐỀ XUẤT, KIẾN NGHỊ", "heading"))
    to = f" với {recipient}" if recipient else ""
    blocks.append(Para(f"[{FILL}: đề xuất, kiến nghị{to}; nhiệm vụ, giải pháp thời gian tới.]", "fill"))
    return blocks


def build(plan: Plan, step: Any, facts: Facts, drafted_on: date) -> Draft:
    """The whole document for a report or review step and its facts."""
    meta = plan.meta
    issuer = plan.issuer
    is_review = isinstance(step, Review)
    verb = ("sơ kết" if step.level == "interim" else "tổng kết") if is_review else "báo cáo kết quả"
    window = facts.window
    period = "" if window.kind == CUMULATIVE else f" {window.label}"
    recipient = _unit(plan, step.recipient) if isinstance(step, Report) else None
    if is_review:
        summary = f"{verb.capitalize()} việc thực hiện Kế hoạch số {meta.number}"
    else:
        summary = f"Kết quả thực hiện Kế hoạch số {meta.number}{period}"

    blocks: list[Para | Table] = []
    for b in meta.basis:
        blocks.append(Para(f"Căn cứ {doc_ref(b)}" + (f" về {' '.join(b.title.split())}" if b.title else "") + ";"))
    if meta.parent_plan:
        p = meta.parent_plan
        blocks.append(Para(f"Thực hiện {doc_ref(p)}" + (f" về {_lower_first(p.title)}" if p.title else "") + ";"))
    blocks.append(Para(
        f"Thực hiện Kế hoạch số {meta.number} ngày {fmt(meta.issued_on)} của {issuer.name} về "
        f"{_lower_first(meta.title)}, {issuer.name} {verb} thực hiện Kế hoạch{period} "
        f"(số liệu tính {window.describe()}) như sau:"))
    if facts.as_of < window.end:
        blocks.append(Para(f"Số liệu ghi nhận đến ngày {fmt(facts.as_of)}; các việc đến hạn sau ngày này ghi theo "
                           "tình hình đang thực hiện (ước thực hiện)."))
    if is_review and meta.purposes:
        blocks.append(Para("Mục đích, yêu cầu của Kế hoạch:"))
        blocks += [Para(f"- {' '.join(p.split())}", "item") for p in meta.purposes]
    blocks += _results_blocks(plan, facts)
    blocks += _remaining_blocks(plan, facts, recipient)
    what = f"báo cáo {verb} thực hiện" if is_review else "báo cáo kết quả thực hiện"
    blocks.append(Para(f"Trên đây là {what} Kế hoạch số {meta.number}{period} của {issuer.name}./."))

    owner = _unit(plan, step.owner)
    receivers = [f"{recipient};"] if recipient else []
    if is_review and meta.parent_plan and meta.parent_plan.issuer:
        receivers.append(f"{meta.parent_plan.issuer} (b/c);")
    receivers += [f"{_unit(plan, u)};" for u in step.participants]
    receivers = list(dict.fromkeys(receivers))  # a recipient may also take part
    receivers.append(f"Lưu: VT, {owner}.")
    c = _counts(facts.items, facts.as_of)
    digest = (f"Dự thảo {what} Kế hoạch số {meta.number}{period} (số liệu {window.describe()}, ghi nhận đến ngày "
              f"{fmt(facts.as_of)}): {c['due']} lần đến hạn - đúng hạn {c[ON_TIME]}, chậm {c[LATE]}, quá hạn "
              f"{c[OVERDUE]}; đang thực hiện hoặc chưa đến hạn {c[IN_PROGRESS]}.")
    return Draft(
        parent=issuer.parent,
        issuer=issuer.name,
        number=f"Số: .../BC-{_abbreviation(plan)}",
        place_date=written_date(issuer.place, drafted_on),
        doc_type="BÁO CÁO",
        summary=summary,
        addressee=f"Kính gửi: {recipient}" if recipient else None,
        blocks=blocks,
        signer_title=(issuer.signer_title or "THỦ TRƯỞNG CƠ QUAN").upper(),
        signer_name=issuer.signer_name,
        receivers=receivers,
        digest=digest,
        meta={"plan": plan.id, "step": step.id, "period": window.key, "as_of": facts.as_of},
    )
