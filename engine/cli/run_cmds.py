"""Stateful commands: run, status, confirm, request, simulate."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from engine.cli.app import app, err
from engine.cli.common import AtOpt, DbOpt, PlanArg, day_arg, load, now_for, sessions
from engine.dates import fmt
from engine.errors import StateError


class Format(str, Enum):
    table = "table"
    json = "json"


@app.command()
def run(
    plans: Annotated[list[Path], typer.Argument(help="Tệp hoặc thư mục kế hoạch.")],
    at: AtOpt = None,
    db: DbOpt = None,
) -> None:
    """Chạy một lượt (tick) cho mỗi kế hoạch dưới dạng Prefect flow run: mở việc, nhắc hạn, báo quá hạn."""
    from engine.plan import plan_paths
    from flows.tick import run_tick

    loaded = [load(p) for p in plan_paths(plans)]
    for plan in loaded:
        day, now = now_for(plan, at)
        summary = run_tick(plan, now, db)
        print(f"Kế hoạch {plan.meta.number} ({plan.id}) - lượt chạy ngày {fmt(day)}:")
        for line in summary["lines"] or ["  (không có việc gì đến hạn)"]:
            print(line)
        print(f"  Trạng thái: {summary['status_line']}")


@app.command()
def status(
    plan_path: PlanArg,
    at: AtOpt = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="table hoặc json.")] = Format.table,
    db: DbOpt = None,
) -> None:
    """Xem từng lần thực hiện: trạng thái, hạn, số ngày quá hạn, xác nhận."""
    from engine.status import plan_status

    plan = load(plan_path)
    day, _ = now_for(plan, at)
    with sessions(db)() as session:
        rows = plan_status(plan, session, day)
    if format is Format.json:
        print(json.dumps({"plan": plan.id, "date": day.isoformat(), "occurrences": rows}, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Kế hoạch số {plan.meta.number} - tình hình ngày {fmt(day)}")
    for col in ("Bước", "Lần", "Trạng thái", "Hạn", "Quá hạn", "Xác nhận", "Thông báo"):
        table.add_column(col, overflow="fold")
    for r in rows:
        conf = ""
        if r["confirmation"]:
            c = r["confirmation"]
            conf = f"{c['by']} {_dmy(c['done_on'])}" + "".join(f"; {k}: {v}" for k, v in c["evidence"].items())
        table.add_row(r["step"] + (" (mồ côi)" if r["orphaned"] else ""), r["occurrence"], r["status_vi"],
                      _dmy(r["due"]), str(r["days_overdue"] or ""), conf, r["notices"])
    Console(width=160).print(table)


def _dmy(iso: str | None) -> str:
    if not iso:
        return ""
    y, m, d = iso.split("-")
    return f"{d}/{m}/{y}"


@app.command()
def confirm(
    plan_path: PlanArg,
    step: Annotated[str, typer.Argument(help="Mã bước (step id).")],
    by: Annotated[str, typer.Option("--by", help="Họ tên người xác nhận.")],
    occurrence: Annotated[str | None, typer.Option("--occurrence", help="Lần thực hiện (vd. 2023, 2023-Q2).")] = None,
    evidence: Annotated[list[str] | None, typer.Option("--evidence", help="Minh chứng: ten=giá trị (vd. document_number=12/BC-KHCN).")] = None,
    note: Annotated[str | None, typer.Option("--note", help="Ghi chú.")] = None,
    at: AtOpt = None,
    db: DbOpt = None,
) -> None:
    """Xác nhận đã hoàn thành một lần thực hiện, kèm minh chứng theo yêu cầu của bước."""
    from engine.people import confirm as do_confirm
    from engine.people import parse_evidence, step_of

    plan = load(plan_path)
    day, now = now_for(plan, at)
    items = parse_evidence(evidence or [], list(step_of(plan, step).confirmation.requires))
    with sessions(db)() as session, session.begin():
        result = do_confirm(plan, session, step, key=occurrence, by=by, at=day, now=now, evidence=items, note=note)
        rec = result.record
        if result.created:
            late = f"chậm {result.late_days} ngày" if result.late_days else "đúng hạn"
            print(f"Đã ghi nhận: {step} ({rec.occurrence_key}) hoàn thành ngày {fmt(rec.done_on)}, {late}; "
                  f"người xác nhận: {rec.by}.")
        else:
            print(f"Đã có xác nhận trước đó: {step} ({rec.occurrence_key}) - {rec.by}, ngày {fmt(rec.done_on)}"
                  + "".join(f"; {k}: {v}" for k, v in rec.evidence.items()) + ". Không ghi thêm.")


@app.command()
def request(
    plan_path: PlanArg,
    step: Annotated[str, typer.Argument(help="Mã bước theo yêu cầu (on-demand step id).")],
    by: Annotated[str, typer.Option("--by", help="Người/cơ quan yêu cầu.")] = "",
    note: Annotated[str | None, typer.Option("--note", help="Nội dung yêu cầu.")] = None,
    at: AtOpt = None,
    db: DbOpt = None,
) -> None:
    """Bắt đầu một lần thực hiện của bước 'khi có yêu cầu' (vd. báo cáo theo yêu cầu)."""
    from engine.people import request as do_request

    plan = load(plan_path)
    day, now = now_for(plan, at)
    with sessions(db)() as session, session.begin():
        row = do_request(plan, session, step, at=day, now=now, by=by, note=note)
        print(f"Đã tạo yêu cầu {step} ({row.key}), hạn {fmt(row.due_on)}. Lượt chạy tiếp theo sẽ mở việc và thông báo.")


@app.command()
def simulate(
    plan_path: PlanArg,
    from_: Annotated[str, typer.Option("--from", help="Từ ngày (dd/mm/yyyy).")],
    to: Annotated[str, typer.Option("--to", help="Đến ngày (dd/mm/yyyy).")],
    confirm_policy: Annotated[str, typer.Option("--confirm", help="on-time, late:N hoặc never.")] = "on-time",
    format: Annotated[Format, typer.Option("--format", "-f", help="table hoặc json.")] = Format.table,
    db: DbOpt = None,
) -> None:
    """Mô phỏng từng ngày của một khoảng thời gian (không cần Prefect server) và in dòng thời gian sự kiện."""
    from engine.simulate import ConfirmPolicy, simulate as run_sim, timeline

    plan = load(plan_path)
    start, end = day_arg(from_, "--from"), day_arg(to, "--to")
    assert start is not None and end is not None
    policy = ConfirmPolicy.parse(confirm_policy)
    factory = sessions(db or "sqlite://")
    with factory() as session:
        from engine.state.models import EventRecord
        from sqlalchemy import func, select

        if session.scalar(select(func.count()).select_from(EventRecord).where(
                EventRecord.plan_id == plan.id, EventRecord.on_date >= start)):
            raise StateError(f"the store already has events of {plan.id} on or after {fmt(start)}: "
                             "simulate into an empty --db or start after them")
    run_sim(plan, factory, start, end, policy)
    with factory() as session:
        events = timeline(plan, session, start, end)
    if format is Format.json:
        print(json.dumps({"plan": plan.id, "from": start.isoformat(), "to": end.isoformat(),
                          "confirm": confirm_policy, "events": events}, ensure_ascii=False, indent=2))
        return
    for e in events:
        rec = ", ".join(e["recipients"])
        print(f"{_dmy(e['date'])}  {e['step']:<28} {e['occurrence'] or '':<14} {e['event']:<11} {rec}")
    err(f"{len(events)} sự kiện.")
