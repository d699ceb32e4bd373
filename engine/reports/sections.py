"""The body of a review or report: the opening, what was achieved (overall and task by task), shortcomings,
the work ahead, proposals - the sections such a document has, with marked places for what only people write."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.language.calendar import split_key
from engine.language.dates import fmt
from engine.language.models.steps import Coordinate, Disseminate, Review
from engine.language.models.timing import OnDemand
from engine.language.periods import CUMULATIVE, key_label, titled
from engine.language.plan import Plan
from engine.reports.results import IN_PROGRESS, LATE, NOT_OPENED, OVERDUE, Facts, Item, StepResult
from engine.reports.wording import (
    day_off,
    dmy,
    doc_ref,
    figures,
    is_one_off,
    lower_first,
    moved,
    one_off_deadline,
    outcome_cell,
    outcome_sentence,
    recurrence,
    tally,
    what_was_done,
)

FILL = "Cần bổ sung"  # marks a place the official writes in; renderers highlight it
ITEM_HEADERS = ("Kỳ", "Hạn", "Hoàn thành", "Kết quả thực hiện")
# 'chủ trì' joined by a no-break space: the heading breaks as 'Đơn vị / chủ trì', never leaving 'trì' alone.
SUMMARY_HEADERS = ("TT", "Nhiệm vụ", "Đơn vị chủ\u00a0trì", "Đến hạn", "Hoàn thành", "Đúng hạn", "Quá hạn")


@dataclass(frozen=True)
class Para:
    """A paragraph; `style` is body, lead (body kept on the page of what follows), heading (I.), subheading
    (1.), minor (2.1.), item (a dash line) or fill (a place to write in)."""

    text: str
    style: str = "body"


@dataclass(frozen=True)
class Table:
    """A table: its heading row, its rows, and the columns whose cells are never broken across lines."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    nowrap: tuple[int, ...] = ()


_COMMON_START = {"Các", "Cán", "Người", "Toàn", "Những", "Lãnh", "Mọi"}


def unit_name(plan: Plan, unit_id: str) -> str:
    unit = plan.units.get(unit_id)
    return unit.name if unit else unit_id


def unit_in_text(plan: Plan, unit_id: str) -> str:
    """A unit's name inside a sentence: a name that starts with a common word is not capitalised there ('các
    phòng, đơn vị thuộc Sở'); a proper name keeps its capital ('Văn phòng Sở', 'Cổng Thông tin điện tử')."""
    name = unit_name(plan, unit_id)
    return name[:1].lower() + name[1:] if name.split(" ", 1)[0] in _COMMON_START else name


def fill(what: str) -> Para:
    return Para(f"[{FILL}: {what}.]", "fill")


def headings(is_review: bool) -> list[str]:
    """The section headings of a report, or of a review (sơ kết, tổng kết), in order."""
    if is_review:
        return ["I. KẾT QUẢ ĐẠT ĐƯỢC", "II. ĐÁNH GIÁ CHUNG", "III. PHƯƠNG HƯỚNG, NHIỆM VỤ THỜI GIAN TỚI",
                "IV. ĐỀ XUẤT, KIẾN NGHỊ"]
    return ["I. KẾT QUẢ ĐẠT ĐƯỢC", "II. TỒN TẠI, HẠN CHẾ VÀ NGUYÊN NHÂN", "III. PHƯƠNG HƯỚNG, NHIỆM VỤ KỲ TỚI",
            "IV. ĐỀ XUẤT, KIẾN NGHỊ"]


def _opening(plan: Plan, step: Any, facts: Facts, by: str) -> list[Para]:
    meta, issuer, window = plan.meta, plan.issuer.name, facts.window
    out = [Para(f"Căn cứ {doc_ref(b)}" + (f" về {dmy(b.title)}" if b.title else "") + ";") for b in meta.basis]
    if p := meta.parent_plan:
        out.append(Para(f"Thực hiện {doc_ref(p)}" + (f" về {lower_first(p.title)}" if p.title else "") + ";"))
    if isinstance(step, Review):
        verb = "sơ kết việc thực hiện Kế hoạch" if step.level == "interim" else "tổng kết việc thực hiện Kế hoạch"
    else:
        verb = "báo cáo kết quả thực hiện Kế hoạch" + ("" if window.kind == CUMULATIVE else f" {window.label}")
    out.append(Para(f"Thực hiện Kế hoạch số {meta.number} ngày {fmt(meta.issued_on)} của {issuer} về "
                    f"{lower_first(meta.title)}, {by} {verb} (số liệu tính {window.describe()}) như sau:"))
    if facts.as_of < window.end:
        out.append(Para(f"Số liệu ghi nhận đến ngày {fmt(facts.as_of)}; các việc đến hạn sau ngày này ghi theo "
                        "tình hình đang thực hiện (ước thực hiện)."))
    return out


def _who(plan: Plan, step: Any, unit: str | None = None) -> str:
    """Who carries the step out ('Đơn vị chủ trì: ...; phối hợp: ...'); `unit`: the one owner a unit's own report
    shows of a step of several owners."""
    owners = (unit,) if unit else plan.step_owners[step.id]
    text = f"Đơn vị chủ trì: {', '.join(unit_in_text(plan, u) for u in owners)}"
    if step.id in plan.per_unit and len(owners) > 1:
        text += " (mỗi đơn vị thực hiện riêng)"
    helpers = plan.members([*step.participants, *(step.partners if isinstance(step, Coordinate) else [])])
    if helpers:
        text += "; phối hợp: " + ", ".join(unit_in_text(plan, u) for u in helpers)
    if isinstance(step, Disseminate):
        text += "; đối tượng: " + ", ".join(unit_in_text(plan, u) for u in plan.members(step.audience))
    return text


def item_label(plan: Plan, key: str, with_period: bool = True) -> str:
    """An occurrence in a table or a sentence: its period ('quý II/2023'), and the unit of one owner's occurrence
    ('UBND huyện Nho Quan', or 'quý II/2023, UBND huyện Nho Quan' when periods differ too)."""
    period, unit = split_key(key)
    parts = [key_label(period) if with_period or unit is None else "", unit_name(plan, unit) if unit else ""]
    return ", ".join(p for p in parts if p)


def _owner_cell(plan: Plan, step: Any) -> str:
    """The owner column of the summary: the unit, or how many units own the step."""
    owners = plan.step_owners[step.id]
    return unit_name(plan, owners[0]) if len(owners) == 1 else f"{len(owners)} đơn vị"


def _one_off(plan: Plan, r: StepResult, numbers: dict[str, str], whole: bool) -> list[Para | Table]:
    item = r.items[0] if r.items else r.done_before or r.next_item
    deadline = one_off_deadline(plan, r.step, item, numbers) or "chưa xác định"  # no date: waits for another
    out: list[Para | Table] = [Para(f"{_who(plan, r.step, r.unit)}. Thời hạn: {deadline}.", "lead")]
    if r.items:
        done = what_was_done(item) if item.finished else ""
        out.append(Para(" ".join(t for t in (outcome_sentence(item), done) if t)))
        if item.finished and not item.result:
            out.append(fill("nội dung, kết quả thực hiện"))
    elif r.done_before is not None:
        out.append(Para(" ".join(t for t in (f"Đã hoàn thành ngày {fmt(item.done_on)}, trước kỳ báo cáo.",
                                             what_was_done(item)) if t)))
    elif item is not None and item.outcome in (IN_PROGRESS, NOT_OPENED):
        out.append(Para(outcome_sentence(item)))  # opened, due after the period (an extension may have moved it)
    else:
        out.append(Para(("Chưa đến hạn." if whole else "Trong kỳ chưa đến hạn.") if item is not None
                        else "Không có lần thực hiện nào."))
    return out


def _item_row(plan: Plan, item: Item, with_result: bool, with_period: bool) -> tuple[str, ...]:
    due = fmt(item.due) + (" (gia hạn)" if item.extensions else "") + (" (dự kiến)" if item.projected else "")
    row = (item_label(plan, item.key, with_period), due, outcome_cell(item))
    return (*row, what_was_done(item)) if with_result else row


def _moves(plan: Plan, items: list[Item]) -> list[Para]:
    """Why deadlines in the table are not the plan's dates: extensions, days off."""
    out = [Para(f"Kỳ {item_label(plan, i.key)} được {moved(plan, i)}.") for i in items if i.extensions]
    # The owners of one period share its dates: a period moved off a day off is said once.
    shifted = list({split_key(i.key)[0]: i for i in items
                    if i.nominal_due is not None and not i.extensions}.values())
    for way, earlier in (("trước", True), ("sau", False)):
        these = [i for i in shifted if (i.due < i.nominal_due) == earlier]  # type: ignore[operator]
        if len(these) == 1:
            i = these[0]
            out.append(Para(f"Hạn kỳ {key_label(i.key)} (ngày {fmt(i.nominal_due)}, {day_off(plan, i.nominal_due)}) "
                            f"được chuyển về ngày làm việc liền {way}."))
        elif these:
            why = ", ".join(dict.fromkeys(day_off(plan, i.nominal_due) for i in these))  # type: ignore[arg-type]
            out.append(Para(f"Hạn các kỳ {', '.join(key_label(i.key) for i in these)} rơi vào ngày nghỉ ({why}) nên "
                            f"được chuyển về ngày làm việc liền {way}."))
    return out


def _recurring(plan: Plan, r: StepResult, as_of: date, whole: bool) -> list[Para | Table]:
    out: list[Para | Table] = [Para(f"{_who(plan, r.step, r.unit)}. Thời hạn: {recurrence(r.step)}.", "lead")]
    during = f"Đến ngày {fmt(as_of)}" if whole else "Trong kỳ"
    if not r.items:
        if isinstance(r.step.timing, OnDemand):
            out.append(Para(f"{during} chưa có yêu cầu." if whole else "Trong kỳ không có yêu cầu."))
        elif r.next_item is not None:
            out.append(Para(f"{during} chưa có lần thực hiện đến hạn; lần tiếp theo: hạn {fmt(r.next_item.due)}."))
        else:
            out.append(Para(f"{during} không có lần thực hiện nào."))
        return out
    out.append(Para(f"{during}, {figures(r.items, as_of, noun='lần')}.", "lead"))
    with_result = any(what_was_done(i) for i in r.items)
    headers = ITEM_HEADERS if with_result else ITEM_HEADERS[:3]
    # A step with several owners: a row per unit under each period (who is done, who is late).
    with_period = len({split_key(i.key)[0] for i in r.items}) > 1 or r.step.id not in plan.per_unit
    if r.step.id in plan.per_unit:
        headers = ("Kỳ, đơn vị" if with_period else "Đơn vị", *headers[1:])
    rows = tuple(_item_row(plan, i, with_result, with_period) for i in r.items)
    out.append(Table(headers, rows, nowrap=(1,) if r.step.id in plan.per_unit else (0, 1)))
    out += _moves(plan, r.items)
    if any(i.finished and not i.result for i in r.items):
        out.append(fill("nội dung, kết quả thực hiện của từng kỳ"))
    return out


def _counted(plan: Plan, r: StepResult, as_of: date) -> tuple[Any, tuple[str, ...]]:
    """A step's tally as of a day, and its row of the summary table without its number: the same for every
    draft of a tick that covers the step (kept with its shared facts)."""
    key = ("counted", as_of)
    if key not in r.written:
        t = tally(r.items, as_of)
        r.written[key] = (t, (dmy(r.step.title), _owner_cell(plan, r.step),
                              *map(str, (t.due, t.done, t.on_time, t.overdue))))
    return r.written[key]


def _summary(plan: Plan, facts: Facts) -> Table:
    rows = []
    total = [0, 0, 0, 0]
    for r in facts.steps:
        t, row = _counted(plan, r, facts.as_of)
        if not (t.due or t.overdue):
            continue
        total = [a + b for a, b in zip(total, (t.due, t.done, t.on_time, t.overdue))]
        rows.append((str(len(rows) + 1), *row))
    rows.append(("", "Tổng cộng", "", *map(str, total)))
    return Table(SUMMARY_HEADERS, tuple(rows), nowrap=(0, 3, 4, 5, 6))


def _achieved(plan: Plan, facts: Facts) -> list[Para | Table]:
    since = (f"Từ khi triển khai Kế hoạch đến ngày {fmt(facts.as_of)}" if facts.window.kind == CUMULATIVE
             else "Trong kỳ báo cáo")
    out: list[Para | Table] = [Para("1. Kết quả chung", "subheading"),
                               Para(f"{since}, {figures(facts.items, facts.as_of)}.", "lead")]
    if any(_counted(plan, r, facts.as_of)[0].due for r in facts.steps):
        out.append(_summary(plan, facts))
    out.append(Para("2. Kết quả thực hiện từng nhiệm vụ", "subheading"))
    numbers = {r.step.id: f"2.{n}" for n, r in enumerate(facts.steps, 1)}
    for r in facts.steps:
        out.append(Para(f"{numbers[r.step.id]}. {_counted(plan, r, facts.as_of)[1][0]}", "minor"))
        whole = facts.window.kind == CUMULATIVE
        one_off = is_one_off(r.step) and r.step.id not in plan.per_unit  # several owners: a row each
        if one_off:
            out += _one_off(plan, r, numbers, whole)
        else:  # the same for every draft of a tick that covers the step (their facts are shared: see collect)
            key = ("recurring", facts.as_of, whole)
            if key not in r.written:
                r.written[key] = _recurring(plan, r, facts.as_of, whole)
            out += r.written[key]
    if facts.children:
        out += _children(facts)
    return out


def _children(facts: Facts) -> list[Para]:
    """What the plans carrying this one out had done, one line per plan (the child plans' own records)."""
    whole = facts.window.kind == CUMULATIVE
    label = "" if whole else facts.window.label
    out = [Para("3. Tình hình thực hiện của các đơn vị (theo kế hoạch của từng đơn vị)", "subheading")]
    reported = sum(bool(done) for _, done in facts.children)
    out.append(Para(f"Đến nay, {reported}/{len(facts.children)} đơn vị đã thực hiện"
                    + (f" kỳ {label}" if label else "") + ":", "lead"))
    for kid, done in facts.children:
        who = f"{kid.issuer} (Kế hoạch số {kid.number})" if kid.issuer else f"Kế hoạch số {kid.number}"
        if not done:
            out.append(Para(f"- {who}: chưa thực hiện.", "item"))
            continue
        if whole:
            late = sum(d.late_days > 0 for d in done)
            text = f"đã thực hiện {len(done)} kỳ" + (f", trong đó {late} kỳ chậm" if late else ", đúng hạn")
        else:
            last = max(done, key=lambda d: d.done_on)
            # Late or on time by the unit's own plan, whose deadline may come before this plan's: said with it.
            text = f"đã thực hiện ngày {fmt(last.done_on)}" + (
                f", chậm {last.late_days} ngày so với hạn {fmt(last.due_on)} trong kế hoạch của đơn vị"
                if last.late_days else ", đúng hạn")
            if last.result:
                text += f"; kết quả: {dmy(last.result)}"
        out.append(Para(f"- {who}: {text}.", "item"))
    return out


def _late_work(plan: Plan, r: StepResult) -> str:
    """A task's overdue and late occurrences in one phrase ('' when there are none)."""
    over = [i for i in r.items if i.outcome == OVERDUE]
    late = [i for i in r.items if i.outcome == LATE]
    if is_one_off(r.step) and r.step.id not in plan.per_unit:
        return "".join(f"hạn {fmt(i.due)}, quá hạn {i.days} ngày, chưa hoàn thành" for i in over) + "".join(
            f"hạn {fmt(i.due)}, hoàn thành ngày {fmt(i.done_on)}, chậm {i.days} ngày" for i in late)
    parts = []
    if over:
        parts.append("chưa hoàn thành " + _listed(plan, over, lambda i: f"hạn {fmt(i.due)}, quá hạn {i.days} ngày"))
    if late:
        parts.append("hoàn thành chậm " + _listed(plan, late, lambda i: f"{i.days} ngày"))
    return "; ".join(parts)


def _listed(plan: Plan, items: list[Item], detail: Any) -> str:
    """Occurrences with a detail each: 'quý II/2023 (3 ngày), quý III/2023 (5 ngày)'; the units of one period
    after it, said once: 'kỳ 6 tháng đầu năm 2025: UBND huyện A (3 ngày), UBND huyện B (2 ngày)'."""
    periods = {split_key(i.key)[0] for i in items}
    if len(periods) == 1 and all(split_key(i.key)[1] for i in items):
        return f"kỳ {key_label(periods.pop())}: " + ", ".join(
            f"{item_label(plan, i.key, with_period=False)} ({detail(i)})" for i in items)
    return ", ".join(f"{item_label(plan, i.key)} ({detail(i)})" for i in items)


def _shortcomings(plan: Plan, facts: Facts) -> list[Para]:
    out = [Para(f"- {dmy(r.step.title)}: {text}.", "item") for r in facts.steps if (text := _late_work(plan, r))]
    if out:
        out.insert(0, Para("Nhiệm vụ chưa hoàn thành hoặc hoàn thành chậm so với thời hạn:", "lead"))
        out.append(fill("nguyên nhân của các trường hợp trên; tồn tại, hạn chế khác (nếu có)"))
    else:
        out += [Para("Các nhiệm vụ đến hạn đều hoàn thành đúng hạn."),
                fill("tồn tại, hạn chế (nếu có) và nguyên nhân")]
    return out


def _next_work(r: StepResult) -> Para | None:
    """A covered step's line of the work ahead: its next occurrence, or that it is done on request."""
    if (i := r.next_item) is not None:
        state = "đang thực hiện, " if i.outcome == IN_PROGRESS else ""
        when = f"hạn {fmt(i.due)}" + (" (dự kiến)" if i.projected else "")
        return Para(f"- {titled(dmy(r.step.title), i.key)}: {state}{when}.", "item")
    if isinstance(r.step.timing, OnDemand):
        return Para(f"- {dmy(r.step.title)}: thực hiện khi có yêu cầu.", "item")
    return None


def _ahead(plan: Plan, facts: Facts) -> list[Para]:
    out = []
    if facts.overdue:
        out.append(Para("- Khẩn trương hoàn thành các nhiệm vụ còn quá hạn nêu trên.", "item"))
    for r in facts.steps:
        if "ahead" not in r.written:  # the same for every draft of a tick that covers the step
            r.written["ahead"] = _next_work(r)
        if r.written["ahead"] is not None:
            out.append(r.written["ahead"])
    if not out:
        out.append(Para("Các nhiệm vụ của Kế hoạch đã hết thời hạn thực hiện."))
    return out + [fill("nhiệm vụ, giải pháp trọng tâm thời gian tới")]


def body(plan: Plan, step: Any, facts: Facts, recipient: str | None, by: str) -> list[Para | Table]:
    """The blocks of the document between the addressee and the signature; `by` is the body that issues it
    (the plan's issuer, or the owner when it is a body of its own)."""
    is_review = isinstance(step, Review)
    first, second, third, fourth = headings(is_review)
    blocks: list[Para | Table] = _opening(plan, step, facts, by)
    if is_review and plan.meta.purposes:
        blocks.append(Para("Mục đích, yêu cầu của Kế hoạch:", "lead"))
        blocks += [Para(f"- {dmy(p)}", "item") for p in plan.meta.purposes]
    blocks += [Para(first, "heading"), *_achieved(plan, facts), Para(second, "heading")]
    if is_review:
        blocks += [Para("1. Ưu điểm", "subheading"),
                   fill("ưu điểm, kết quả nổi bật, chuyển biến trong nhận thức và hành động"),
                   Para("2. Tồn tại, hạn chế và nguyên nhân", "subheading"), *_shortcomings(plan, facts),
                   Para("3. Bài học kinh nghiệm", "subheading"), fill("bài học kinh nghiệm rút ra")]
    else:
        blocks += _shortcomings(plan, facts)
    above = recipient or (plan.meta.parent_plan.issuer if plan.meta.parent_plan else None)
    to = f" với {above}" if above else ""
    blocks += [Para(third, "heading"), *_ahead(plan, facts),
               Para(fourth, "heading"), fill(f"đề xuất, kiến nghị{to} (nếu có)")]
    window = facts.window
    period = "" if window.kind == CUMULATIVE else f" {window.label}"
    if is_review:
        what = f"báo cáo {'sơ kết' if step.level == 'interim' else 'tổng kết'} việc thực hiện"
    else:
        what = "báo cáo kết quả thực hiện"
    blocks.append(Para(f"Trên đây là {what} Kế hoạch số {plan.meta.number}{period} của {by}./.", "lead"))
    return blocks
