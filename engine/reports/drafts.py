"""Drafts of reviews and reports: made by the tick when an occurrence opens, and on request by `kehoach report`."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from engine.errors import ReportError, accepted, did_you_mean
from engine.language.calendar import split_key
from engine.language.models.steps import Report, Review
from engine.language.periods import (
    CUMULATIVE,
    KIND_VI,
    Window,
    occurrence_window,
    parse_period,
    report_window,
    step_period_kind,
)
from engine.language.plan import Plan
from engine.reports import docx, markdown
from engine.reports.content import Draft, build
from engine.reports.results import collect, covered_steps, require_records
from engine.reports.stored import pending_docx
from engine.runtime.family import period_facts
from engine.state.models import OccurrenceRecord
from engine.state.store import occurrences_of

__all__ = ["covered_steps", "draft", "draft_documents", "pick_step", "render", "requested_draft", "requested_window"]
FORMATS = ("docx", "md")


def window_of(plan: Plan, step: Any, key: str, due: date, opened: date) -> Window:
    """The window one occurrence of a report or review step covers: from the occurrence itself (its key, its
    date as the plan writes it), never from its stored dates after a move off a day off or an extension."""
    return occurrence_window(plan, step, key, due, opened)


def draft(plan: Plan, session: Session, step: Any, window: Window, today: date, due: date | None = None,
          unit: str | None = None) -> Draft:
    """The draft for `window`, with facts as of its cut-off day (or today, when that comes first); `due` is the
    deadline of the occurrence it is for, when known; `unit` its owner, for a step of several owners."""
    facts = collect(plan, session, step, window, min(window.end, today), unit, today)
    facts.children = period_facts(plan, session, [r.step.id for r in facts.steps],
                                  None if window.kind == CUMULATIVE else window.key, today)
    return build(plan, step, facts, today, due, unit)


def render(draft_: Draft, fmt: str, today: date | None = None) -> bytes:
    """A draft in one format: 'md' (UTF-8 Markdown) or 'docx'."""
    if fmt == "md":
        return markdown.render(draft_).encode("utf-8")
    if fmt == "docx":
        return docx.render(draft_, today)
    raise ReportError(f"định dạng '{fmt}' không hỗ trợ: {accepted(FORMATS)}")


def draft_documents(plan: Plan, session: Session, step: Any, row: OccurrenceRecord, today: date) -> dict[str, bytes]:
    """The drafts the tick stores when a review or report occurrence opens, by format: the Markdown, and the
    DOCX's content, rendered when first read (engine.reports.stored)."""
    window = window_of(plan, step, row.key, row.due_on, row.opens_on)
    d = draft(plan, session, step, window, today, row.due_on, split_key(row.key)[1])
    return {"md": render(d, "md"), "docx": pending_docx(d, today)}


def pick_step(plan: Plan, step_id: str | None, period: str | None) -> Any:
    """The report or review step a person means: `--step`, else the one report step for that kind of period.

    Raises:
        ReportError: an unknown step, a step that is no report or review, a plan with no report step, or
            several report steps that fit.
    """
    reports = [s for s in plan.steps if isinstance(s, Report)]
    if step_id is not None:
        step = plan.step_by_id.get(step_id)
        drafted = [s.id for s in plan.steps if isinstance(s, (Report, Review))]
        if step is None:
            raise ReportError(f"không có bước '{step_id}'{did_you_mean(step_id, drafted)}; "
                              f"các bước báo cáo, sơ kết/tổng kết: {accepted(drafted) or 'không có'}")
        if not isinstance(step, (Report, Review)):
            raise ReportError(f"bước '{step_id}' không phải bước báo cáo hay sơ kết/tổng kết"
                              f"; chọn một trong: {accepted(drafted) or 'không có'}")
        return step
    if not reports:
        raise ReportError(f"kế hoạch {plan.id} không có bước báo cáo; "
                          "dùng --step cho bước sơ kết/tổng kết")
    if period is None:
        if len(reports) == 1:
            return reports[0]
        raise ReportError(f"kế hoạch có {len(reports)} bước báo cáo: chọn bằng --step ({accepted(s.id for s in reports)})"
                          " hoặc nêu --period")
    kind = parse_period(period)[0]
    fits = [s for s in reports if step_period_kind(s) == kind] or [s for s in reports if step_period_kind(s) is None]
    if len(fits) == 1:
        return fits[0]
    if not fits:
        kinds = ", ".join(f"{s.id} ({'kỳ ' + KIND_VI[k] if (k := step_period_kind(s)) else 'không theo kỳ'})"
                          for s in reports)
        raise ReportError(f"không có bước báo cáo theo kỳ '{period}'; "
                          f"các bước báo cáo: {kinds}")
    raise ReportError(f"nhiều bước báo cáo hợp với kỳ '{period}': chọn bằng --step ({accepted(s.id for s in fits)})")


def requested_window(plan: Plan, session: Session, step: Any, period: str | None) -> tuple[Window, date | None]:
    """The window of `kehoach report` (the period for a report step, the occurrence for a review step) and the
    deadline of the occurrence it is for, when there is one.

    Raises:
        ReportError: an unknown or unfitting period, or none given where one is needed.
    """
    stored = {r.key: r for r in occurrences_of(session, plan.id, [step.id])}
    dated = {o.key: (o.due, o.opens) for o in plan.occurrences(step.id)}
    dated.update({k: (r.due_on, r.opens_on) for k, r in stored.items()})
    if isinstance(step, Report) and period not in dated and (period is not None or len(dated) != 1):
        if period is None:
            raise ReportError(f"cần --period cho bước '{step.id}', ví dụ "
                              f"{accepted(dated, 6) if dated else '2023, 2023-H1, 2023-Q2, 2023-05'}")
        window = report_window(plan, step, period)
        return window, dated.get(window.key, (None,))[0]
    if period is None:
        if len(dated) != 1:
            raise ReportError(f"bước '{step.id}' có {len(dated)} lần thực hiện: chọn bằng --period "
                              f"({accepted(dated) or 'chưa có lần nào'})")
        period = next(iter(dated))
    if period not in dated:
        raise ReportError(f"bước '{step.id}' không có lần '{period}'{did_you_mean(period, dated)}"
                          f"; có: {accepted(dated) or 'không có'}")
    due, opens = dated[period]
    return window_of(plan, step, period, due, opens), due


def requested_draft(plan: Plan, session: Session, step_id: str | None, period: str | None, today: date) -> Draft:
    """What `kehoach report` drafts (see pick_step and requested_window).

    Raises:
        ReportError: as those, and when the store has no records of the plan.
    """
    step = pick_step(plan, step_id, period)
    window, due = requested_window(plan, session, step, period)
    require_records(plan, session)
    return draft(plan, session, step, window, today, due)
