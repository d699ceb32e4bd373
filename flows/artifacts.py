"""A plan's standing on a day (progress, open work, next deadlines) and the Prefect artifacts that show it."""

from __future__ import annotations

import contextvars
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any, Callable

from engine.dates import fmt
from engine.plan import Plan
from engine.state.models import CANCELLED, DONE, OPEN, OVERDUE, SCHEDULED, SKIPPED

UPCOMING = 10  # deadlines listed in the markdown artifact and (the first 3) in the CLI


@dataclass
class Standing:
    """Counts and rows for one plan on one day, from `engine.status.plan_status` rows."""

    plan_id: str
    day: date
    due: int = 0  # occurrences due on or before the day (cancelled, skipped and orphaned ones left out)
    done: int = 0
    overdue: int = 0
    open_rows: list[dict[str, Any]] = field(default_factory=list)
    upcoming: list[dict[str, Any]] = field(default_factory=list)

    @property
    def percent(self) -> float:
        return round(100 * self.done / self.due, 1) if self.due else 0.0

    def line(self) -> str:
        """One Vietnamese line for the CLI."""
        text = f"{self.done}/{self.due} lần đến hạn đã hoàn thành, {self.overdue} quá hạn"
        if self.upcoming:
            soon = [f"{r['step']} ({_dmy(r['due'])})" for r in self.upcoming[:3]]
            text += "; hạn sắp tới: " + ", ".join(soon)
        return text


def standing(plan_id: str, rows: list[dict[str, Any]], day: date) -> Standing:
    """Summarise status rows (ordered by due date) as of `day`."""
    out = Standing(plan_id, day)
    today = day.isoformat()
    for r in rows:
        if r["orphaned"] or r["status"] in (CANCELLED, SKIPPED):
            continue
        if r["due"] <= today:
            out.due += 1
            out.done += r["status"] == DONE
        if r["status"] in (OPEN, OVERDUE) or (r["status"] == SCHEDULED and r["stored"] and r["days_overdue"]):
            out.open_rows.append(r)
            out.overdue += r["status"] == OVERDUE or r["days_overdue"] > 0
        if r["due"] >= today and r["status"] != DONE and len(out.upcoming) < UPCOMING:
            out.upcoming.append(r)
    return out


def artifact_key(plan_id: str, what: str) -> str:
    """A stable artifact key: Prefect accepts lowercase letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", f"{plan_id}-{what}".lower()).strip("-")


def progress_description(plan: Plan, s: Standing) -> str:
    head = f"Tiến độ Kế hoạch số {plan.meta.number} ngày {fmt(s.day)}"
    if not s.due:
        return f"{head}: chưa có lần thực hiện nào đến hạn."
    return (f"{head}: {s.done}/{s.due} lần thực hiện đã đến hạn đã hoàn thành ({s.percent:g}%), "
            f"{s.overdue} quá hạn.")


def open_table(plan: Plan, s: Standing) -> list[dict[str, Any]]:
    """Rows of the table artifact: open and overdue occurrences, most overdue first."""
    out = []
    for r in sorted(s.open_rows, key=lambda r: (-r["days_overdue"], r["due"], r["step"])):
        step = plan.step_by_id.get(r["step"])
        owner = step.owner if step else ""
        out.append({
            "Bước": r["step"],
            "Nội dung": step.title if step else "",
            "Lần": r["occurrence"],
            "Chủ trì": plan.units[owner].name if owner in plan.units else owner,
            "Hạn": _dmy(r["due"]),
            "Trạng thái": r["status_vi"],
            "Quá hạn (ngày)": r["days_overdue"],
        })
    return out


def upcoming_markdown(plan: Plan, s: Standing) -> str:
    """The markdown artifact: the next deadlines, in Vietnamese."""
    lines = [f"## Hạn sắp tới - Kế hoạch số {plan.meta.number}", "",
             f"{plan.meta.title}", "", f"Tính đến ngày {fmt(s.day)}. {progress_description(plan, s)}", ""]
    if not s.upcoming:
        lines.append("Không còn hạn nào sắp tới trong kế hoạch.")
        return "\n".join(lines) + "\n"
    lines += ["| Hạn | Còn (ngày) | Bước | Lần | Chủ trì |", "|---|---:|---|---|---|"]
    for r in s.upcoming:
        step = plan.step_by_id.get(r["step"])
        owner = step.owner if step else ""
        left = (date.fromisoformat(r["due"]) - s.day).days
        title = f"{r['step']}: {step.title}" if step else r["step"]
        owner_name = plan.units[owner].name if owner in plan.units else owner
        projected = " (dự kiến)" if "dự kiến" in r["status_vi"] else ""
        cells = [f"{_dmy(r['due'])}{projected}", str(left), _cell(title), r["occurrence"], _cell(owner_name)]
        lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def publish(plan: Plan, s: Standing) -> dict[str, str]:
    """Create the three artifacts of a plan (progress, open work, upcoming deadlines); returns their keys.

    The three API calls go out together, each from its own thread in the caller's run context (so each is
    linked to the run): ~40% less time than one after the other, more against a distant server.
    """
    from prefect.artifacts import create_markdown_artifact, create_progress_artifact, create_table_artifact

    keys = {w: artifact_key(plan.id, w) for w in ("tien-do", "viec-dang-mo", "han-sap-toi")}
    calls: list[Callable[[], Any]] = [
        partial(create_progress_artifact, s.percent, key=keys["tien-do"],
                description=progress_description(plan, s)),
        partial(create_table_artifact, open_table(plan, s), key=keys["viec-dang-mo"],
                description=f"Việc đang mở và quá hạn - Kế hoạch số {plan.meta.number}, ngày {fmt(s.day)} "
                            f"({len(s.open_rows)} việc)"),
        partial(create_markdown_artifact, upcoming_markdown(plan, s), key=keys["han-sap-toi"],
                description=f"Hạn sắp tới - Kế hoạch số {plan.meta.number}"),
    ]
    with ThreadPoolExecutor(len(calls)) as pool:
        for done in [pool.submit(contextvars.copy_context().run, call) for call in calls]:
            done.result()
    return keys


def _dmy(iso: str) -> str:
    return fmt(date.fromisoformat(iso))


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
