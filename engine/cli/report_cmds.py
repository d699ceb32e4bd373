"""Commands that draft from a plan and its records: report (DOCX/Markdown) and calendar (iCalendar feed)."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from engine.cli.app import app, err
from engine.cli.common import AtOpt, DbOpt, PlanArg, load, now_for, sessions
from engine.dates import fmt


class DocFormat(str, Enum):
    docx = "docx"
    md = "md"


_MD_SUFFIXES = (".md", ".markdown")


@app.command()
def report(
    plan_path: PlanArg,
    period: Annotated[str | None, typer.Option(
        "--period", help="Kỳ báo cáo: 2023 (năm), 2023-H1 (6 tháng), 2023-Q2 (quý), 2023-05 (tháng); với bước "
                         "sơ kết/tổng kết: lần thực hiện (vd. 2023).")] = None,
    format: Annotated[DocFormat | None, typer.Option(
        "--format", "-f", help="docx (văn bản theo Nghị định 30/2020) hoặc md; mặc định theo đuôi tệp -o, "
                               "không có thì docx.")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Tệp ghi ra; md không có -o thì in ra màn hình, docx thì ghi vào thư mục hiện tại.")] = None,
    step: Annotated[str | None, typer.Option(
        "--step", help="Bước báo cáo hoặc sơ kết/tổng kết; mặc định: bước báo cáo hợp với kỳ.")] = None,
    at: AtOpt = None,
    db: DbOpt = None,
) -> None:
    """Lập dự thảo báo cáo (hoặc sơ kết, tổng kết) của một kỳ từ số liệu đã ghi nhận."""
    from engine.reports.drafts import pick_step, render, requested_draft
    from engine.reports.files import write_atomic

    plan = load(plan_path)
    day, _ = now_for(plan, at)
    fmt_name = format.value if format else ("md" if output and output.suffix.lower() in _MD_SUFFIXES else "docx")
    pick_step(plan, step, period)  # a wrong step or period is said before the store is looked for
    with sessions(db, create=False, plans=[plan])() as session:
        draft = requested_draft(plan, session, step, period, day)
    data = render(draft, fmt_name, day)
    if output is None and fmt_name == "md":
        sys.stdout.write(data.decode("utf-8"))
        return
    if output is None:
        output = Path(f"bao-cao-{plan.id}-{draft.meta['step']}-{draft.meta['period']}.{fmt_name}")
    write_atomic(output, data)
    err(f"Đã ghi {output} ({draft.summary}; số liệu đến ngày {fmt(draft.meta['as_of'])}).")


@app.command()
def calendar(
    plan_path: PlanArg,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Tệp .ics ghi ra; không có thì in ra màn hình.")] = None,
    db: Annotated[str | None, typer.Option(
        "--db", help="Thêm các lần 'khi có yêu cầu' đã tạo và ngày thật của bước 'sau bước khác' từ kho dữ liệu này.")] = None,
    at: AtOpt = None,
) -> None:
    """Xuất lịch iCalendar (.ics): mỗi lần thực hiện là một sự kiện cả ngày vào ngày hạn, nhắc hạn là lời nhắc."""
    from engine.reports.files import write_atomic
    from engine.reports.ical import feed

    plan = load(plan_path)
    _, now = now_for(plan, at)
    rows = []
    if db is not None:
        from engine.state.store import occurrences_of

        with sessions(db, create=False, plans=[plan])() as session:
            rows = occurrences_of(session, plan.id)
    data = feed(plan, now, rows)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    write_atomic(output, data)
    err(f"Đã ghi {output} ({data.count(b'BEGIN:VEVENT')} sự kiện).")
