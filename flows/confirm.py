"""Confirmations from the Prefect UI: the flow behind each step's confirmation form (see flows.forms).

It records what `kehoach confirm` records (engine.people.confirm, source 'prefect'), and ends in a state the
official can read (flows.outcome): "Đã ghi nhận", "Chưa ghi nhận" with what to fix, or "Không ghi nhận" when
the occurrence was confirmed before.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow
from prefect.runtime import flow_run
from prefect.states import State
from sqlalchemy import select

from engine.dates import fmt
from engine.errors import StateError
from engine.models.timing import After
from engine.people import EVIDENCE_LABELS, confirm
from engine.state.models import DONE, FINISHED, ConfirmationRecord
from engine.state.store import find_occurrence
from flows.answers import Answers, FormError, fixed, load_target, occurrence_of
from flows.forms import CONFIRM_FLOW, occurrence_text
from flows.outcome import already, recorded, refused

RECORDED, NOT_RECORDED, NOT_AGAIN = "Đã ghi nhận", "Chưa ghi nhận", "Không ghi nhận"
STATUS_VI = {"skipped": "đã được đánh dấu không cần làm", "cancelled": "đã bị hủy"}


def _run_name() -> str:
    p = flow_run.parameters
    what = f" ({p['occurrence']})" if p.get("occurrence") else ""
    who = f" - {' '.join(str(p['by']).split())}" if p.get("by") else ""
    return f"xác nhận {p.get('step') or ''}{what}{who}"[:200]


@flow(name=CONFIRM_FLOW, flow_run_name=_run_name, log_prints=False)
def confirm_flow(plan: Any = None, step: Any = None, occurrence: Any = None, by: Any = None,
                 done_on: Any = None, result: Any = None, document_number: Any = None,
                 document_date: Any = None, date: Any = None, attendees: Any = None, link: Any = None,
                 place: Any = None, note: Any = None, unit: Any = None) -> State[Any]:
    """Xác nhận đã hoàn thành một lần thực hiện của một việc, kèm minh chứng việc đó yêu cầu và kết quả.

    Args:
        plan: Tệp kế hoạch (đặt sẵn trong biểu mẫu của từng việc).
        step: Mã việc (đặt sẵn).
        occurrence: Lần thực hiện: nhãn ('năm 2023', 'quý II/2023', 'lần duy nhất') hoặc mã ('2023-Q2').
        by: Họ tên người xác nhận.
        done_on: Ngày hoàn thành.
        result: Kết quả thực hiện.
        document_number: Minh chứng - số văn bản.
        document_date: Minh chứng - ngày văn bản.
        date: Minh chứng - ngày thực hiện.
        attendees: Minh chứng - số người tham dự.
        link: Minh chứng - đường link.
        place: Minh chứng - địa điểm.
        note: Minh chứng - ghi chú.
        unit: Đơn vị chủ trì, khi việc có nhiều đơn vị chủ trì (tên hoặc mã đơn vị).

    Every parameter is loose (`Any`): the values are checked here, and refused in Vietnamese.
    """
    given = dict(document_number=document_number, document_date=document_date, date=date, attendees=attendees,
                 link=link, place=place, note=note)
    try:
        return _confirm(*fixed(plan, step), occurrence, by, done_on, result, given, unit)
    except FormError as exc:
        return refused(NOT_RECORDED, str(exc))


def _evidence(answers: Answers, step: Any, given: dict[str, Any]) -> dict[str, str]:
    """The evidence as `kehoach confirm` records it: text, dates written dd/mm/yyyy. Kinds the step does not
    require are kept when given."""
    out: dict[str, str] = {}
    for kind, value in given.items():
        required = kind in step.confirmation.requires
        if not required and (value is None or (isinstance(value, str) and not value.strip())):
            continue
        label = EVIDENCE_LABELS[kind]
        if kind in ("date", "document_date"):
            checked = answers.day(value, label)
            text = fmt(checked) if checked else None
        elif kind == "attendees":
            number = answers.count(value, label)
            text = None if number is None else str(number)
        elif kind == "link":
            text = answers.link(value, label)
        else:
            text = answers.text(value, label, limit=500)
        if text is not None:
            out[kind] = text
    return out


def _already(label: str, first: ConfirmationRecord) -> State[Any]:
    return already(NOT_AGAIN, f"Đã có xác nhận trước đó cho {label}: {first.by}, hoàn thành "
                              f"ngày {fmt(first.done_on)}; không ghi thêm.")


def _confirm(plan_path: Any, step_id: Any, occurrence: Any, by: Any, done_on: Any, result: Any,
             given: dict[str, Any], unit: Any = None) -> State[Any]:
    from engine.state.db import open_store, session_factory

    plan, step = load_target(plan_path, step_id)
    now = datetime.now(ZoneInfo(plan.meta.timezone))
    answers = Answers(now.date())
    with session_factory(open_store())() as session, session.begin():
        key = occurrence_of(answers, plan, step, occurrence, session, unit)
        label = occurrence_text(plan, key) if key else ""
        row = find_occurrence(session, plan.id, step.id, key) if key else None
        if row is not None and row.status == DONE:
            first = session.scalars(select(ConfirmationRecord).where(
                ConfirmationRecord.occurrence_id == row.id)).first()
            if first is not None:
                return _already(label, first)
        name = answers.name(by, "họ tên người xác nhận")
        day = answers.day(done_on, "ngày hoàn thành", not_before=plan.meta.period.start,
                          before_what="ngày kế hoạch bắt đầu")
        evidence = _evidence(answers, step, given)
        text = answers.text(result, "kết quả thực hiện")
        answers.done()
        assert key is not None and name is not None and day is not None
        if row is not None and row.status in FINISHED:
            raise FormError(f"Lần thực hiện {label} {STATUS_VI.get(row.status, row.status)}"
                            + (f" ({row.reason})" if row.reason else "") + ": không xác nhận được.")
        if row is None and isinstance(step.timing, After):
            raise FormError(f"Việc này chưa có lịch: nó được xếp lịch khi việc '{step.timing.after.step}' "
                            "được xác nhận hoàn thành.")
        try:
            done = confirm(plan, session, step.id, key=key, by=name, at=day, now=now, evidence=evidence,
                           result=text, source="prefect")
        except StateError as exc:  # a case the checks above do not foresee: said as the engine says it
            raise FormError(f"Chưa ghi nhận được: {exc}.") from exc
        rec = done.record
        late = f"chậm {done.late_days} ngày" if done.late_days else "đúng hạn"
        if not done.created:  # recorded meanwhile by someone else
            return _already(label, rec)
    return recorded(RECORDED, f"Đã ghi nhận {label}: hoàn thành ngày {fmt(day)}, {late}; "
                              f"người xác nhận: {name}.")

