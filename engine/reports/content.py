"""The text of a review or report, built once from the facts and rendered as Markdown and as DOCX: the Decree
30/2020 frame (issuing body, number, place and date, signer, recipients) around the body (engine.reports.sections).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine.language.dates import fmt
from engine.language.models.plan import Issuer
from engine.language.models.steps import Report, Review
from engine.language.periods import CUMULATIVE
from engine.language.plan import Plan
from engine.reports.results import Facts
from engine.reports.sections import Para, Table, body, unit_name
from engine.reports.wording import figures, written_date

__all__ = ["Draft", "Para", "Table", "build", "signer_lines"]
NAME_HERE = "[Họ và tên người ký]"  # the name line when the agency file does not give one
NATIONAL_TITLE = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"


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
    signer: tuple[str, ...]  # authority and title lines, as printed (TM./KT. ..., the title)
    signer_name: str | None
    receivers: list[str]
    digest: str
    meta: dict[str, Any] = field(default_factory=dict)


def signer_lines(issuer: Issuer) -> tuple[str, ...]:
    """The signer's authority and title as Decree 30/2020 prints them: 'GIÁM ĐỐC'; 'KT. GIÁM ĐỐC', 'PHÓ GIÁM
    ĐỐC'; 'TM. ỦY BAN NHÂN DÂN', 'KT. CHỦ TỊCH', 'PHÓ CHỦ TỊCH'; 'Q. GIÁM ĐỐC'."""
    a = issuer.signer_authority
    lines = [f"TM. {issuer.collective}"] if issuer.collective else []
    if a == "Q.":
        lines.append(f"Q. {issuer.head_title}")
    elif a in ("KT.", "TL.", "TUQ."):
        lines += [f"{a} {issuer.head_title}", issuer.signer_title or ""]
    else:
        lines.append(issuer.signer_title or issuer.head_title or "THỦ TRƯỞNG CƠ QUAN")
    return tuple(line.upper() for line in lines)


def _date_line(issuer: Issuer, due: date | None, drafted_on: date, year: int) -> str:
    """The place and date as the agency wants a draft dated: blank for the signer, the due date, or the day the
    draft was made."""
    if issuer.date_line == "drafted":
        return written_date(issuer.place, drafted_on)
    if issuer.date_line == "due" and due is not None:
        return written_date(issuer.place, due)
    return written_date(issuer.place, None, due.year if due else year)


def _kept(plan: Plan, unit_id: str) -> str:
    """The drafting unit in the 'Lưu' line: its abbreviation (VP), else its name."""
    unit = plan.units.get(unit_id)
    return (unit.abbreviation or unit.name) if unit else unit_id


def own_issuer(plan: Plan, unit_id: str) -> Issuer | None:
    """The body a unit is, when it issues documents in its own name (its `issuer:`): a department reporting to
    the plan's issuer in a reporting regime. None for a unit of the plan's issuer."""
    unit = plan.units.get(unit_id)
    return unit.issuer if unit else None


def _receivers(plan: Plan, step: Any, recipient: str | None, own: bool, owner: str) -> list[str]:
    out = ["Như trên;"] if recipient else []
    parent = plan.meta.parent_plan
    if isinstance(step, Review) and parent and parent.issuer and not own:
        out.append(f"{parent.issuer} (b/c);")
    out += [f"{unit_name(plan, u)};" for u in plan.members(step.participants) if u != getattr(step, "recipient", None)]
    # A body of its own files its copy with its clerical office; which of its sections drafted it is its own.
    out.append("Lưu: VT." if own else f"Lưu: VT, {_kept(plan, owner)}.")
    return list(dict.fromkeys(out))


def _abbreviation(plan: Plan, issuer: Issuer, unit_id: str | None) -> str:
    """The issuing body's abbreviation in the number: its own; a unit's; else the symbol's tail of the plan
    number (for the plan's issuer)."""
    if issuer.abbreviation:
        return issuer.abbreviation
    if unit_id is not None:
        unit = plan.units.get(unit_id)
        return unit.abbreviation if unit and unit.abbreviation else "..."
    number = plan.meta.number
    return number.rsplit("-", 1)[-1].strip() if "-" in number else "..."


def build(plan: Plan, step: Any, facts: Facts, drafted_on: date, due: date | None = None,
          unit: str | None = None) -> Draft:
    """The whole document for a report or review step and its facts, under the header of the body that issues it
    (the owner's own, see `own_issuer`, else the plan's issuer); `due` is the occurrence's deadline (the date
    line may show it); `unit` the owner whose occurrence it is, for a step of several owners."""
    meta, window = plan.meta, facts.window
    owner = unit or plan.step_owners[step.id][0]
    # A unit that is a body of its own drafts under its own header, to the step's recipient (a review: to the
    # plan's issuer); any other unit drafts for the plan's issuer.
    own = own_issuer(plan, owner)
    issuer = own or plan.issuer
    is_review = isinstance(step, Review)
    period = "" if window.kind == CUMULATIVE else f" {window.label}"
    recipient = unit_name(plan, step.recipient) if isinstance(step, Report) else plan.issuer.name if own else None
    if is_review:
        summary = f"{'Sơ kết' if step.level == 'interim' else 'Tổng kết'} việc thực hiện Kế hoạch số {meta.number}"
        what = f"báo cáo {'sơ kết' if step.level == 'interim' else 'tổng kết'}"
    else:
        summary = f"Kết quả thực hiện Kế hoạch số {meta.number}{period}"
        what = "báo cáo kết quả"
    digest = (f"Dự thảo {what} thực hiện Kế hoạch số {meta.number}{period} (số liệu {window.describe()}, ghi nhận "
              f"đến ngày {fmt(facts.as_of)}): {figures(facts.items, facts.as_of)}.")
    return Draft(
        parent=issuer.parent,
        issuer=issuer.name,
        number=f"Số: .../BC-{_abbreviation(plan, issuer, owner if own else None)}",
        place_date=_date_line(issuer, due, drafted_on, window.end.year),
        doc_type="BÁO CÁO",
        summary=summary,
        addressee=f"Kính gửi: {recipient}" if recipient else None,
        blocks=body(plan, step, facts, recipient, issuer.name),
        signer=signer_lines(issuer),
        signer_name=issuer.signer_name,
        receivers=_receivers(plan, step, recipient, own is not None, owner),
        digest=digest,
        meta={"plan": plan.id, "step": step.id, "period": window.key, "as_of": facts.as_of},
    )
