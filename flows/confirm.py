"""Confirmations from the Prefect UI: a flow whose parameter form is the confirmation form.

The flow calls `engine.people.confirm`, as `kehoach confirm` does, so a wrong step or missing evidence fails
the run with the same message, and nothing is written.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from pydantic import BaseModel, ConfigDict, Field

from engine.dates import fmt
from engine.errors import StateError, accepted, did_you_mean
from engine.people import EVIDENCE_LABELS
from engine.plan import PLAN_SUFFIXES, Plan, PlanLoader


def _label(kind: str) -> str:
    return EVIDENCE_LABELS[kind][:1].upper() + EVIDENCE_LABELS[kind][1:]


class Evidence(BaseModel):
    """Minh chứng hoàn thành (evidence): điền các mục mà bước yêu cầu."""

    model_config = ConfigDict(extra="forbid")

    document_number: str | None = Field(None, title=_label("document_number"), examples=["12/BC-KHCN"])
    document_date: dt.date | None = Field(None, title=_label("document_date"))
    date: dt.date | None = Field(None, title=_label("date"))
    attendees: int | None = Field(None, title=_label("attendees"), ge=0)
    link: str | None = Field(None, title=_label("link"), examples=["https://sokhcn.thainguyen.gov.vn/..."])
    place: str | None = Field(None, title=_label("place"))
    note: str | None = Field(None, title=_label("note"))

    def as_strings(self) -> dict[str, str]:
        """The evidence as the CLI records it: text, dates written dd/mm/yyyy."""
        out = {}
        for name, value in self.model_dump(exclude_none=True).items():
            out[name] = fmt(value) if isinstance(value, dt.date) else str(value).strip()
        return {k: v for k, v in out.items() if v}


def find_plan(plan: str, plan_dir: str | None = None) -> Path:
    """A plan given as a file path, or as a plan id (the file's name) in `plan_dir`.

    Raises:
        StateError: neither names an existing plan file (with the closest id).
    """
    path = Path(plan)
    if path.is_file():
        return path
    if plan_dir:
        for suffix in PLAN_SUFFIXES:
            candidate = Path(plan_dir) / f"{plan}{suffix}"
            if candidate.is_file():
                return candidate
        ids = [p.stem for p in Path(plan_dir).iterdir() if p.suffix in PLAN_SUFFIXES]
        raise StateError(f"no plan '{plan}' in {plan_dir}{did_you_mean(plan, ids)} (plans: {accepted(ids)})")
    raise StateError(f"plan file not found: {plan}")


def _run_name() -> str:
    p = flow_run.parameters
    occurrence = f" ({p['occurrence']})" if p.get("occurrence") else ""
    return f"xác nhận {p['step']} - {Path(p['plan']).stem}{occurrence}"


@flow(name="kehoach-confirm", flow_run_name=_run_name, log_prints=False)
def confirm_flow(
    plan: str,
    step: str,
    by: str,
    occurrence: str | None = None,
    evidence: Evidence = Evidence(),
    note: str | None = None,
    done_on: dt.date | None = None,
    plan_dir: str | None = None,
) -> dict[str, Any]:
    """Xác nhận đã hoàn thành một lần thực hiện của một bước, kèm minh chứng theo yêu cầu của bước.

    Args:
        plan: Kế hoạch (mã kế hoạch, vd. kh-28-khcn-2022, hoặc đường dẫn tệp).
        step: Mã bước (step id), vd. quan-triet.
        by: Họ tên người xác nhận.
        occurrence: Lần thực hiện (vd. 2023, 2023-Q2); để trống nếu bước chỉ có một lần đang mở.
        evidence: Minh chứng (số văn bản, ngày, đường link...) - bắt buộc các mục bước yêu cầu.
        note: Ghi chú.
        done_on: Ngày hoàn thành (mặc định: hôm nay).
        plan_dir: Thư mục kế hoạch (đặt sẵn khi phục vụ bằng `kehoach serve`).
    """
    from engine.people import confirm
    from engine.state.db import open_store, session_factory

    loaded: Plan = PlanLoader().load(find_plan(plan, plan_dir))
    now = dt.datetime.now(ZoneInfo(loaded.meta.timezone))
    day = done_on or now.date()
    with session_factory(open_store())() as session, session.begin():
        result = confirm(loaded, session, step, key=occurrence, by=by, at=day, now=now,
                         evidence=evidence.as_strings(), note=note, source="prefect")
        rec = result.record
        out = {"plan": loaded.id, "step": rec.step_id, "occurrence": rec.occurrence_key, "by": rec.by,
               "done_on": rec.done_on.isoformat(), "late_days": result.late_days, "evidence": rec.evidence,
               "created": result.created}
    logger = get_run_logger()
    if result.created:
        late = f"chậm {result.late_days} ngày" if result.late_days else "đúng hạn"
        logger.info("Đã ghi nhận: %s (%s) hoàn thành ngày %s, %s; người xác nhận: %s.",
                    out["step"], out["occurrence"], fmt(rec.done_on), late, out["by"])
    else:
        logger.info("Đã có xác nhận trước đó: %s (%s) - %s, ngày %s. Không ghi thêm.",
                    out["step"], out["occurrence"], out["by"], fmt(rec.done_on))
    return out
