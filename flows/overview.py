"""The agency overview: one Prefect artifact for all the plans served - per plan, its on-time share and overdue
count; per unit, its overdue work across plans - updated daily by a flow of its own (`kehoach serve`)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger

from engine.language.dates import fmt
from engine.language.models.plan import DEFAULT_TZ
from engine.language.plan import PlanLoader, plan_paths
from engine.language.text import shorten
from engine.runtime.overview import UNIT_ITEMS, PlanLine, UnitLate, overview, summary_line
from flows.artifacts import PUBLISHER, artifact, artifact_key

KEY = "kehoach-tong-quan"
PLAN_TITLE = 45  # characters of a plan's title in the overview, cut at a word

__all__ = ["KEY", "markdown", "overview", "overview_flow"]  # overview: engine.runtime.overview, what it shows


def markdown(lines: list[PlanLine], units: list[UnitLate], day: date, ui: str | None) -> str:
    """The overview as a manager reads it: plans most behind first, then who is behind."""
    out = [f"## Tổng quan các kế hoạch - ngày {fmt(day)}", "", summary_line(lines, units), "",
           # The figures and the link first, the title last and short: the UI does not wrap a table's cells.
           "### Theo kế hoạch", "", "| Quá hạn | Đúng hạn | Đến hạn | Xem | Kế hoạch |", "|---:|---:|---:|---|---|"]
    for p in lines:
        title = f"{p.plan.meta.number}: {_cell(shorten(p.plan.meta.title, PLAN_TITLE))}{p.note}"
        link = f"[việc đang mở]({ui}/artifacts/key/{artifact_key(p.plan.id, 'viec-dang-mo')})" if ui else ""
        out.append(f"| {p.overdue} | {p.share} | {p.due} | {link} | {title} |")
    out += ["", "### Đơn vị có việc quá hạn", ""]
    if not units:
        out.append("Không đơn vị nào có việc quá hạn.")
    else:
        # A row per item (the unit's longest overdue first), so that no cell runs off the page.
        out += ["| Đơn vị | Số việc | Quá hạn | Việc quá hạn |", "|---|---:|---:|---|"]
        for u in units:
            for i, item in enumerate(u.items[:UNIT_ITEMS]):
                who = f"{_cell(u.name)} | {len(u.items)}" if i == 0 else " | "
                out.append(f"| {who} | {item.days} ngày | {_cell(item.text)} |")
            if len(u.items) > UNIT_ITEMS:
                out.append(f"|  |  |  | và {len(u.items) - UNIT_ITEMS} việc khác |")
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


@flow(name="kehoach-tong-quan", persist_result=False, log_prints=False,
      on_completion=[PUBLISHER.flush], on_failure=[PUBLISHER.flush])
def overview_flow(plan_dir: str, at: date | None = None) -> dict[str, Any]:
    """Tổng quan các kế hoạch của cơ quan: tỷ lệ đúng hạn, số việc quá hạn của từng kế hoạch; việc quá hạn của
    từng đơn vị qua mọi kế hoạch.

    Args:
        plan_dir: Thư mục kế hoạch (đặt sẵn khi phục vụ bằng `kehoach serve`).
        at: Ngày (mặc định: hôm nay).
    """
    from engine.state.db import open_store, session_factory
    from flows.env import ui_url

    plans = PlanLoader().load_all(plan_paths([Path(plan_dir)]))
    day = at or datetime.now(ZoneInfo(plans[0].meta.timezone if plans else DEFAULT_TZ)).date()
    lines, units = overview(plans, session_factory(open_store()), day)
    text = markdown(lines, units, day, ui_url())
    late = sum(len(u.items) for u in units)  # each late piece of work once, as the summary line counts it
    PUBLISHER.submit([artifact("markdown", KEY, text, f"Tổng quan {len(lines)} kế hoạch ngày {fmt(day)}: "
                                                      f"{late} việc quá hạn")])
    get_run_logger().info("Tổng quan %s kế hoạch: %s việc quá hạn, %s đơn vị chậm.", len(lines), late, len(units))
    return {"plans": len(lines), "overdue": late, "units_late": len(units)}
