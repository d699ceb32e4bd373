"""Extensions from the Prefect UI: the flow behind each step's extension form ('gia hạn', see flows.forms).

It moves one occurrence's deadline as `kehoach extend` does (engine.people.extend: an audited event, the owner
told), and ends in "Đã gia hạn", "Chưa gia hạn" with what to fix, or "Không gia hạn" when the deadline was
already moved to that day.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow
from prefect.runtime import flow_run
from prefect.states import State
from sqlalchemy import select

from engine.dates import fmt
from engine.errors import StateError
from engine.models.timing import After
from engine.people import extend
from engine.state.models import FINISHED, EventRecord
from engine.state.store import find_occurrence
from flows.answers import Answers, FormError, fixed, load_target, occurrence_of
from flows.forms import EXTEND_FLOW, occurrence_text
from flows.outcome import already, recorded, refused

EXTENDED, NOT_EXTENDED, NOT_AGAIN = "Đã gia hạn", "Chưa gia hạn", "Không gia hạn"
STATUS_VI = {"done": "đã hoàn thành", "skipped": "đã được đánh dấu không cần làm", "cancelled": "đã bị hủy"}


def _run_name() -> str:
    p = flow_run.parameters
    what = f" ({p['occurrence']})" if p.get("occurrence") else ""
    return f"gia hạn {p.get('step') or ''}{what}"[:200]


@flow(name=EXTEND_FLOW, flow_run_name=_run_name, log_prints=False)
def extend_flow(plan: Any = None, step: Any = None, occurrence: Any = None, to: Any = None, by: Any = None,
                reason: Any = None, unit: Any = None) -> State[Any]:
    """Gia hạn một lần thực hiện của một việc: hạn mới, người quyết định và lý do.

    Args:
        plan: Tệp kế hoạch (đặt sẵn trong biểu mẫu của từng việc).
        step: Mã việc (đặt sẵn).
        occurrence: Lần thực hiện: nhãn ('năm 2023', 'lần duy nhất') hoặc mã ('2023').
        to: Hạn mới.
        by: Họ tên người quyết định gia hạn.
        reason: Lý do gia hạn.
        unit: Đơn vị chủ trì, khi việc có nhiều đơn vị chủ trì (tên hoặc mã đơn vị).
    """
    try:
        return _extend(*fixed(plan, step), occurrence, to, by, reason, unit)
    except FormError as exc:
        return refused(NOT_EXTENDED, str(exc))


def _extend(plan_path: Any, step_id: Any, occurrence: Any, to: Any, by: Any, reason: Any,
            unit: Any = None) -> State[Any]:
    from engine.state.db import open_store, session_factory

    plan, step = load_target(plan_path, step_id)
    now = datetime.now(ZoneInfo(plan.meta.timezone))
    today = now.date()
    answers = Answers(today)
    with session_factory(open_store())() as session, session.begin():
        key = occurrence_of(answers, plan, step, occurrence, session, unit)
        new_due = answers.day(to, "hạn mới", not_after_today=False, not_before=today, before_what="hôm nay")
        name = answers.name(by, "họ tên người quyết định gia hạn")
        why = answers.text(reason, "lý do gia hạn")
        answers.done()
        assert key is not None and new_due is not None and name is not None and why is not None
        label = occurrence_text(plan, key)
        row = find_occurrence(session, plan.id, step.id, key)
        if row is not None and row.status in FINISHED:
            raise FormError(f"Lần thực hiện {label} {STATUS_VI.get(row.status, row.status)}: chỉ gia hạn "
                            "được việc chưa xong.")
        if row is None and isinstance(step.timing, After):
            raise FormError(f"Việc này chưa có lịch: nó được xếp lịch khi việc '{step.timing.after.step}' "
                            "được xác nhận hoàn thành.")
        current = row.due_on if row is not None else next(
            o.due for o in plan.occurrences(step.id) if o.key == key)
        if new_due <= current:
            if row is not None and new_due == current and _extended_to(session, row, new_due):
                return already(NOT_AGAIN, f"Hạn của {label} đã được gia hạn đến {fmt(new_due)} trước đó; "
                                          "không ghi thêm.")
            raise FormError(f"Hạn mới {fmt(new_due)} phải sau hạn hiện tại của {label} ({fmt(current)}).")
        try:
            moved = extend(plan, session, step.id, to=new_due, by=name, reason=why, key=key, at=today,
                           now=now)
        except StateError as exc:  # a case the checks above do not foresee: said as the engine says it
            raise FormError(f"Chưa gia hạn được: {exc}.") from exc
        first = moved.original_due_on
    return recorded(EXTENDED, f"Đã gia hạn {label} đến ngày {fmt(new_due)} (hạn ban đầu {fmt(first)}); "
                              f"người quyết định: {name}.")


def _extended_to(session: Any, row: Any, day: date) -> bool:
    """Whether the occurrence's deadline was already moved to `day` (an extension sent twice)."""
    events = session.scalars(select(EventRecord).where(
        EventRecord.plan_id == row.plan_id, EventRecord.step_id == row.step_id,
        EventRecord.occurrence_key == row.key, EventRecord.event == "extended"))
    return any((e.detail or {}).get("to") == day.isoformat() for e in events)
