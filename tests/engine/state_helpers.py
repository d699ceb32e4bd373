"""Helpers for the state, tick, people, status and simulation tests: small plan files, moments, table snapshots."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.plan import Plan, load_plan
from engine.state.db import open_store, session_factory
from engine.state.models import (
    ConfirmationRecord,
    DocumentRecord,
    EventRecord,
    OccurrenceRecord,
    OutboxRecord,
    PlanRecord,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")

HEADER = """\
plan:
  id: thu
  number: 1/KH-THU
  title: Kế hoạch thử nghiệm
  issuer: {name: Sở Thử nghiệm}
  issued_on: 01/01/2024
  period: {start: 01/01/2024, end: 31/12/2024}
units:
  vp: {name: Văn phòng, notify: [vp, vp-chat]}
  ld: {name: Lãnh đạo, notify: [ld]}
  ngoai: {name: Đơn vị ngoài, external: true}
defaults:
  reminders: {days_before: [7, 3], working_days_before: []}
  escalation: {after_days: 1, every_days: 7, max_times: 2, to: [ld]}
  on_non_working_day: keep
steps:
"""

# A provincial regime: three districts (a group) reporting to a department, leadership above.
REGIME_UNITS = """\
units:
  nho-quan: {name: UBND huyện Nho Quan, notify: [nho-quan]}
  gia-vien: {name: UBND huyện Gia Viễn, notify: [gia-vien]}
  hoa-lu: {name: UBND huyện Hoa Lư, notify: [hoa-lu]}
  so: {name: Sở Lao động - Thương binh và Xã hội, notify: [so]}
  ld: {name: Lãnh đạo UBND tỉnh, notify: [lanh-dao]}
  bo: {name: Bộ Lao động - Thương binh và Xã hội, external: true}
groups:
  cac-huyen: [nho-quan, gia-vien, hoa-lu]
"""

# A: a window in February; B: monthly on the 25th, after A; C: on demand; D: 5 days after A is done.
STEPS = """\
  - id: a
    kind: disseminate
    title: Việc A
    owner: vp
    audience: [ngoai]
    timing: {start: 01/02/2024, due: 20/02/2024}
    confirmation: {requires: [document_number]}
  - id: b
    kind: coordinate
    title: Việc B
    owner: vp
    partners: [ld]
    depends_on: [a]
    timing: {monthly: 25, from: 01/03/2024, until: 31/05/2024}
  - id: c
    kind: report
    title: Báo cáo khi có yêu cầu
    owner: vp
    recipient: ld
    timing: {on_demand: {days: 5}}
  - id: d
    kind: disseminate
    title: Việc D sau A
    owner: vp
    audience: [ld]
    timing: {after: {step: a, days: 5}}
"""


def write_plan(path: Path, steps: str = STEPS, header: str = HEADER) -> Path:
    """Write a small plan file (units and policy inline) and return its path."""
    path.write_text(header + steps, encoding="utf-8")
    return path


def plan_at(path: Path, steps: str = STEPS) -> Plan:
    """Write and load a plan (its id is 'thu', written in it: rewriting the file is an edit of the same plan)."""
    return load_plan(write_plan(path, steps))


def at(day: date, hour: int = 7, minute: int = 30) -> datetime:
    """A moment on a day in the plans' time zone (the daily tick runs at 07:30)."""
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


def sessions_for(url: str) -> Callable[[], Session]:
    return session_factory(open_store(url))


def no_documents(plan: Any, session: Any, step: Any, row: Any, today: date) -> dict[str, bytes]:
    """A cheap stand-in for the report drafts where a test is about something else."""
    return {"md": f"# {step.id} {row.key}\n".encode()}


_VOLATILE = {"id", "occurrence_id"}


def snapshot(sessions: Callable[[], Session]) -> dict[str, list[tuple]]:
    """Every row of every table (ids left out), sorted: two snapshots are equal when nothing changed."""
    out: dict[str, list[tuple]] = {}
    with sessions() as s:
        for model in (PlanRecord, OccurrenceRecord, ConfirmationRecord, EventRecord, OutboxRecord, DocumentRecord):
            cols = [c.name for c in model.__table__.columns if c.name not in _VOLATILE]
            rows = s.execute(select(*[model.__table__.c[c] for c in cols])).all()
            out[model.__tablename__] = sorted((tuple(repr(v) for v in r) for r in rows))
    return out


def effects(sessions: Callable[[], Session], plan_id: str | None = None) -> list[tuple[str, str | None, str | None, str]]:
    """The audit log as (date dd/mm/yyyy, step, occurrence, event), in order."""
    with sessions() as s:
        stmt = select(EventRecord).order_by(EventRecord.on_date, EventRecord.id)
        if plan_id:
            stmt = stmt.where(EventRecord.plan_id == plan_id)
        return [(e.on_date.strftime("%d/%m/%Y"), e.step_id, e.occurrence_key, e.event) for e in s.scalars(stmt)]


def outbox_keys(sessions: Callable[[], Session]) -> list[str]:
    with sessions() as s:
        return sorted(s.scalars(select(OutboxRecord.idempotency_key)))


def row(sessions: Callable[[], Session], plan_id: str, step_id: str, key: str) -> OccurrenceRecord | None:
    with sessions() as s:
        return s.scalars(select(OccurrenceRecord).where(
            OccurrenceRecord.plan_id == plan_id, OccurrenceRecord.step_id == step_id,
            OccurrenceRecord.key == key)).first()


def count(sessions: Callable[[], Session], model: type) -> int:
    from sqlalchemy import func

    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0
