"""A plan's standing on a day (progress, open work, next deadlines) and the Prefect artifacts that show it."""

from __future__ import annotations

import atexit
import contextvars
import json
import logging
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any

from engine.language.dates import fmt
from engine.language.plan import Plan
from engine.language.text import percent_vi, shorten
from engine.runtime.status import Counts, counts, status_text
from engine.state.models import CANCELLED, DONE, OPEN, OVERDUE, SKIPPED

log = logging.getLogger("kehoach.artifacts")
UPCOMING = 10  # deadlines listed in the markdown artifact and (the first 3) in the CLI
UPCOMING_TITLE = 40  # characters of a title in the one-line standing


@dataclass
class Standing:
    """A plan on one day: its counts (engine.runtime.status, the one definition) and the rows the artifacts list."""

    plan_id: str
    day: date
    counts: Counts = field(default_factory=Counts)
    open_rows: list[dict[str, Any]] = field(default_factory=list)
    upcoming: list[dict[str, Any]] = field(default_factory=list)

    @property
    def due(self) -> int:
        return self.counts.due

    @property
    def done(self) -> int:
        return self.counts.done

    @property
    def overdue(self) -> int:
        return self.counts.overdue

    @property
    def percent(self) -> float:
        return self.counts.percent

    def line(self, plan: Plan) -> str:
        """One Vietnamese line, for the CLI and the run's state: the counts, the next deadlines by short title."""
        text = self.counts.line()
        if self.upcoming:
            soon = [f"{shorten(plan.short_title(plan.step_by_id[r['step']]), UPCOMING_TITLE)} ({_dmy(r['due'])})"
                    for r in self.upcoming[:3]]
            text += "; hạn sắp tới: " + ", ".join(soon)
        return text


def standing(plan_id: str, rows: list[dict[str, Any]], day: date) -> Standing:
    """Summarise status rows (ordered by due date) as of `day`."""
    out = Standing(plan_id, day, counts(rows, day))
    today = day.isoformat()
    for r in rows:
        if r["orphaned"] or r["status"] in (CANCELLED, SKIPPED):
            continue
        if r["status"] in (OPEN, OVERDUE) or r["days_overdue"] or (r["waiting_for"] and r["opens"] <= today):
            out.open_rows.append(r)
        if r["due"] >= today and r["status"] != DONE and len(out.upcoming) < UPCOMING:
            # The owners of one period share its deadline: one row, the units counted on it (`units`).
            same = next((u for u in out.upcoming if (u["step"], u["period"], u["due"]) ==
                         (r["step"], r["period"], r["due"]) and u["unit"] != r["unit"]), None)
            if same is not None:
                same["units"] = [*same.get("units", [same["unit"]]), r["unit"]]
            else:
                out.upcoming.append(dict(r))
    return out


def artifact_key(plan_id: str, what: str) -> str:
    """A stable artifact key: Prefect accepts lowercase letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", f"{plan_id}-{what}".lower()).strip("-")


def progress_description(plan: Plan, s: Standing) -> str:
    head = f"Tiến độ Kế hoạch số {plan.meta.number} ngày {fmt(s.day)}"
    if not s.due:
        return f"{head}: chưa có lần thực hiện nào đến hạn."
    return f"{head}: {s.counts.line()} ({percent_vi(s.percent)} đã hoàn thành)."


def open_table(plan: Plan, s: Standing) -> list[dict[str, Any]]:
    """Rows of the table artifact, in the order a manager scans them: deadline, days overdue, status and owner
    first, then the work (its short title and period); most overdue first."""
    from engine.language.periods import in_brackets

    out = []
    for r in sorted(s.open_rows, key=lambda r: (-r["days_overdue"], r["due"], r["step"])):
        step = plan.step_by_id.get(r["step"])
        out.append({
            "Hạn": _dmy(r["due"]) + (" (gia hạn)" if r.get("original_due") else ""),
            "Quá hạn (ngày)": r["days_overdue"],
            "Trạng thái": _status_named(r),
            "Chủ trì": plan.unit_name(r["unit"]) if r.get("unit") else "",
            "Việc": (plan.short_title(step) if step else r["step"]) + in_brackets(r["occurrence"]),
        })
    return out


def _status_named(r: dict[str, Any]) -> str:
    """A row's status, saying that it waits for earlier work without the steps' ids; short, so that the work's
    title stays in view (the UI does not wrap a table's cells; the work waited for is in the table too)."""
    return status_text(r, " (chờ việc trước)")


def upcoming_markdown(plan: Plan, s: Standing) -> str:
    """The markdown artifact: the next deadlines, in Vietnamese."""
    lines = [f"## Hạn sắp tới - Kế hoạch số {plan.meta.number}", "",
             f"{plan.meta.title}", "", f"Tính đến ngày {fmt(s.day)}. {progress_description(plan, s)}", ""]
    if not s.upcoming:
        lines.append("Không còn hạn nào sắp tới trong kế hoạch.")
        return "\n".join(lines) + "\n"
    from engine.language.periods import in_brackets

    lines += ["| Hạn | Còn (ngày) | Chủ trì | Việc |", "|---|---:|---|---|"]
    for r in s.upcoming:
        step = plan.step_by_id.get(r["step"])
        left = (date.fromisoformat(r["due"]) - s.day).days
        title = (plan.short_title(step) if step else r["step"]) + in_brackets(r["period"])
        projected = " (dự kiến)" if r["projected"] else ""
        units = r.get("units") or [r["unit"]]
        owner = plan.unit_name(units[0]) if len(units) == 1 else f"{len(units)} đơn vị: " + ", ".join(
            plan.unit_name(u) for u in units[:3]) + (", ..." if len(units) > 3 else "")
        cells = [f"{_dmy(r['due'])}{projected}", str(left), _cell(owner), _cell(title)]
        lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def standing_artifacts(plan: Plan, s: Standing) -> list[Any]:
    """The three artifacts of a plan's standing: progress, open work, upcoming deadlines."""
    key = partial(artifact_key, plan.id)
    return [
        artifact("progress", key("tien-do"), s.percent, progress_description(plan, s)),
        artifact("table", key("viec-dang-mo"), json.dumps(open_table(plan, s), ensure_ascii=False),
                 f"Việc đang mở và quá hạn - Kế hoạch số {plan.meta.number}, ngày {fmt(s.day)} "
                 f"({len(s.open_rows)} việc)"),
        artifact("markdown", key("han-sap-toi"), upcoming_markdown(plan, s),
                 f"Hạn sắp tới - Kế hoạch số {plan.meta.number}"),
    ]


def artifact(kind: str, key: str, data: Any, description: str) -> Any:
    """An artifact to create, attached to the flow and task run this is called in (if any)."""
    from prefect.client.schemas.actions import ArtifactCreate
    from prefect.utilities.context import get_task_and_flow_run_ids

    task_run_id, flow_run_id = get_task_and_flow_run_ids()
    return ArtifactCreate(type=kind, key=key, data=data, description=description, flow_run_id=flow_run_id,
                          task_run_id=task_run_id)


class Publisher:
    """Sends artifacts after the run that made them, from one background thread, in the order given.

    An artifact is a view of what a tick stored; creating one is an API call that, right after a run's tasks,
    waits behind the server recording them (20-100 ms each on the embedded server). So each artifact is built -
    and attached to its flow and task run - when it is queued (`submit`), and sent once the run is over: the
    tick flow's state hooks call `flush`, which hands the queue to the thread. `drain()` flushes and waits:
    `kehoach run` calls it before it exits (the embedded server stops with the process), and at interpreter exit
    (a served run's process) whatever is left is sent before Prefect shuts down. A failed artifact is logged and
    reported by `drain()`; it never fails a tick.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="kehoach-artifacts")  # its thread starts on use
        self._queued: list[tuple[Any, list[Any]]] = []
        self._pending: list[Future[list[str]]] = []
        atexit.register(self.drain)

    def submit(self, artifacts: list[Any]) -> None:
        if not artifacts:
            return
        from prefect.context import SettingsContext

        settings = SettingsContext.get()  # the API this run reports to (a test may set it for its thread alone)
        with self._lock:
            self._queued.append((settings, artifacts))

    def flush(self, *_hook_args: Any) -> None:
        """Start sending what is queued (also a Prefect state hook: it takes and ignores flow, run, state)."""
        with self._lock:
            queued, self._queued = self._queued, []
            for settings, artifacts in _batches(queued):
                try:
                    self._pending.append(self._pool.submit(_send, settings, artifacts))
                except RuntimeError:  # the interpreter is shutting down: no new threads, send from here
                    done: Future[list[str]] = Future()
                    done.set_result(_send(settings, artifacts))
                    self._pending.append(done)

    def drain(self, timeout: float = 60.0) -> list[str]:
        """Send everything queued and wait; returns the failures (one line each), empty when all went out."""
        self.flush()
        with self._lock:
            pending, self._pending = self._pending, []
        done, late = wait(pending, timeout)
        failures = [line for f in done for line in f.result()]
        if late:
            failures.append(f"{len(late)} nhóm artifact chưa gửi xong sau {timeout:g} giây")
        return failures


def _batches(queued: list[tuple[Any, list[Any]]]) -> list[tuple[Any, list[Any]]]:
    """Consecutive groups for the same API as one batch, sent with one client (opening one costs ~20 ms)."""
    out: list[tuple[Any, list[Any]]] = []
    for settings, artifacts in queued:
        if out and out[-1][0] is settings:
            out[-1][1].extend(artifacts)
        else:
            out.append((settings, list(artifacts)))
    return out


def _send(settings: Any, artifacts: list[Any]) -> list[str]:
    return contextvars.Context().run(_send_with, settings, artifacts)  # none of the caller's run or client


def _send_with(settings: Any, artifacts: list[Any]) -> list[str]:
    from prefect.context import SettingsContext

    from flows.env import sync_client

    failures = []
    with SettingsContext(profile=settings.profile, settings=settings.settings), sync_client() as client:
        for a in artifacts:
            try:
                client.create_artifact(a)
            except Exception as exc:  # noqa: BLE001 - an artifact is a view; the tick's work is stored
                failures.append(f"{a.key}: {type(exc).__name__}: {exc}")
                log.warning("Không tạo được artifact %s: %s", a.key, exc)
    return failures


PUBLISHER = Publisher()


def _dmy(iso: str) -> str:
    return fmt(date.fromisoformat(iso))


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
