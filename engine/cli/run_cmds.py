"""Stateful commands: run, status, confirm, request, simulate."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Iterator

import typer

from engine.cli.app import app, err
from engine.cli.common import AtOpt, DbOpt, PlanArg, day_arg, find_plan, load, now_for, remember, sessions
from engine.cli.tables import dmy
from engine.errors import StateError
from engine.language.dates import fmt
from engine.language.keys import split_key


class Format(str, Enum):
    table = "table"
    json = "json"


MAX_REQUESTER = 128
UnitOpt = Annotated[str | None, typer.Option(
    "--unit", help="Đơn vị chủ trì (mã đơn vị), bắt buộc khi bước có nhiều đơn vị chủ trì.")]


@app.command()
def run(
    plans: Annotated[list[Path], typer.Argument(metavar="KẾ_HOẠCH", help="Tệp hoặc thư mục kế hoạch.")],
    at: AtOpt = None,
    db: DbOpt = None,
    channels: Annotated[Path | None, typer.Option(
        "--channels", envvar="KEHOACH_CHANNELS", show_envvar=True,
        help="Tệp kênh (Apprise) để gửi thông báo; không có thì thông báo chờ trong hộp thư đi.")] = None,
) -> None:
    """Chạy một lượt (tick) cho mỗi kế hoạch dưới dạng Prefect flow run: mở việc, nhắc hạn, báo quá hạn.

    Không cần Prefect server: không có cấu hình Prefect thì chạy ở chế độ nhúng (lịch sử trong .kehoach/prefect).
    """
    from engine.language.plan import PlanLoader, plan_paths
    from engine.state.db import ENV_URL

    day = day_arg(at)
    loaded = PlanLoader().load_all(plan_paths([find_plan(p) for p in plans]))  # PlanError: none is run
    from engine.state.checks import shown
    from engine.state.db import DEFAULT_SQLITE, absolute_url, database_url, served_store

    served = served_store(db)  # the registry is read once: its store is then the store named
    url = absolute_url(database_url(db or served))
    if served is not None:
        from engine.cli.tables import console, wrapped

        err(wrapped(f"Kho dữ liệu: {shown(url)} - kho của các kế hoạch máy này đang chạy (thư mục này không có "
                    f"{DEFAULT_SQLITE}); chỉ kho khác bằng --db", console().width))
    sessions(url, plans=loaded)  # a bad URL fails here, before Prefect starts
    remember(loaded, url, db is None and bool(os.environ.get(ENV_URL)))
    from flows.env import use_embedded_defaults

    use_embedded_defaults()
    from flows.artifacts import PUBLISHER
    from flows.env import client_context, short_runs, ui_url, wait_recorded
    from flows.tick import run_tags, run_tick

    ui = ui_url()
    runs: dict[str, int] = {}
    with _env(ENV_URL, url), short_runs(), client_context():
        for plan in loaded:
            summary = run_tick(plan, day, str(channels) if channels else None, run_tags(plan))
            _print_tick(plan, summary)
            runs[summary["flow_run_id"]] = summary["tasks"]
            if ui:
                err(f"  Prefect UI: {ui}/runs/flow-run/{summary['flow_run_id']}")
    for failure in PUBLISHER.drain():  # artifacts are sent in the background; a failure is not the tick's
        err(f"Cảnh báo: không tạo được artifact trên Prefect - {failure}")
    if not ui:  # the embedded server stops with this process: let it store the runs' task runs first
        wait_recorded(runs)


def _print_tick(plan: Any, summary: dict[str, Any]) -> None:
    """What the tick did, a line per step (its periods acted on, named as people do, and how many units), then
    the standing; each line wrapped between words to the terminal's width."""
    from engine.cli.tables import console, wrapped
    from engine.language.periods import key_label
    from engine.runtime.tick import EVENT_VI

    lines = [f"Kế hoạch số {plan.meta.number} ({plan.id}) - lượt chạy ngày {dmy(summary['date'])}:"]
    by_step: dict[str, tuple[list[str], dict[str, None], dict[str, tuple[dict[str, None], dict[str, None]]]]] = {}
    for a in summary["applied"]:
        keys, events, told = by_step.setdefault(a["step"] or "", ([], {}, {}))
        keys += [a["occurrence"]] if a["occurrence"] not in keys else []
        what = EVENT_VI.get(a["event"], a["event"])
        if a["event"] == "escalation":  # the units told of each escalation, once each however many occurrences:
            what += f" lần {a['escalation']}"  # the owners first, then leadership
            owners, above = told.setdefault(what, ({}, {}))
            owners.update(dict.fromkeys(a["to"][:1]))  # a child plan tells its owner itself (engine.runtime.family)
            above.update(dict.fromkeys(a["to"][1:]))
        events[what] = None
    for step, (keys, events, told) in by_step.items():
        periods = list(dict.fromkeys(split_key(k)[0] for k in keys if k))
        labels = [label for p in periods if (label := key_label(p))]
        units = len({unit for k in keys if k and (unit := split_key(k)[1])})
        when = [labels[0]] if len(labels) == 1 else [f"{len(labels)} kỳ, {labels[0]} - {labels[-1]}"] if labels \
            else []
        when += [f"{units} đơn vị"] if units > 1 else []
        did = ", ".join(f"{e} ({', '.join({**told[e][0], **told[e][1]})})" if e in told and any(told[e]) else e
                        for e in events)
        within = " (" + ", ".join(when) + ")" if when else ""
        lines.append(f"  {step}{within}: {did}" if step else f"  {did}")
    if not by_step:
        lines.append("  (không có việc gì mới)")
    if summary.get("caught_up_days"):
        lines.append(f"  Bắt kịp {summary['caught_up_days']} ngày chưa chạy: việc đã quá hạn được báo một lần "
                     "(mỗi đơn vị một thư), không gửi lại các lần nhắc đã lỡ.")
    if summary.get("ended_on"):
        lines.append(f"  Kế hoạch đã kết thúc ngày {dmy(summary['ended_on'])}: không còn nhắc hạn, đôn đốc.")
    if summary["skipped"]:
        lines.append(f"  ({summary['skipped']} việc đã làm ở lượt chạy trước, không làm lại)")
    if summary.get("notices"):
        notices = summary["notices"]
        lines.append(f"  {notices['line'] if isinstance(notices, dict) else notices}")
    lines.append(f"  Tình hình: {summary['line']}")
    width = console().width
    for line in lines:
        print(wrapped(line, width))


@contextmanager
def _env(name: str, value: str | None) -> Iterator[None]:
    """Set an environment variable for a block: flows read the store URL from it, never from a parameter
    (a flow's parameters are stored and shown by Prefect, and a database URL may carry a password)."""
    old = os.environ.get(name)
    if value is not None:
        os.environ[name] = value
    try:
        yield
    finally:
        if value is not None:
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


@app.command()
def status(
    plan_path: Annotated[Path, typer.Argument(
        metavar="KẾ_HOẠCH", help="Tệp kế hoạch YAML, mã kế hoạch đang được phục vụ, hoặc thư mục kế hoạch (tổng quan).")],
    at: AtOpt = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="table hoặc json.")] = Format.table,
    db: DbOpt = None,
    late: Annotated[bool, typer.Option("--late", help="Chỉ các lần thực hiện đang quá hạn (việc ai đang chậm).")]
    = False,
) -> None:
    """Xem từng lần thực hiện: trạng thái, hạn, số ngày quá hạn, xác nhận. KẾ_HOẠCH là một thư mục: tổng quan các kế
    hoạch trong đó - kế hoạch nào chậm nhất, đơn vị nào có việc quá hạn."""
    from engine.runtime.family import standing
    from engine.runtime.status import counts as count_rows
    from engine.runtime.status import plan_status
    from engine.state.models import PlanRecord

    if plan_path.is_dir():
        _agency_status(plan_path, at, format, db)  # its units' table is the folder's overdue work
        return
    plan = load(plan_path)
    day, _ = now_for(plan, at)
    with sessions(db, create=False, plans=[plan])() as session:
        rows = plan_status(plan, session, day)
        kids = standing(plan, session, day)
        never_run = session.get(PlanRecord, plan.id) is None
    counts = count_rows(rows, day)
    if late:  # the counts stay the plan's; the rows are those overdue, the longest overdue first
        rows = sorted((r for r in rows if r["days_overdue"]), key=lambda r: (-r["days_overdue"], r["step"]))
    if format is Format.json:
        print(json.dumps({"plan": plan.id, "version": plan.version, "date": day.isoformat(), "never_run": never_run,
                          "counts": counts.as_dict(), "occurrences": rows,
                          "children": [_child_json(k) for k in kids]}, ensure_ascii=False, indent=2))
        return
    from engine.cli.tables import children_table, console, status_table

    out = console()
    title = f"Kế hoạch số {plan.meta.number} - " + ("việc quá hạn" if late else "tình hình") + f" ngày {fmt(day)}"
    out.print(status_table(rows, title, out.width))
    if never_run:  # its figures are the calendar's: nothing of what was done has been recorded here
        out.print("Kho dữ liệu này chưa có lượt chạy nào của kế hoạch: các lần thực hiện theo lịch, chưa có xác nhận.")
    out.print(counts.line() + ".")
    if kids:
        out.print(children_table(kids, f"Các kế hoạch cấp dưới ({len(kids)}) - ngày {fmt(day)}", out.width))


def _agency_status(folder: Path, at: str | None, format: Format, db: str | None) -> None:
    """`kehoach status DIR`: the overview of the folder's plans on the day (engine.runtime.overview)."""
    from engine.language.plan import PlanLoader, plan_paths
    from engine.runtime.overview import UNIT_ITEMS, overview, summary_line

    plans = PlanLoader().load_all(plan_paths([folder]))
    day, _ = now_for(plans[0], at)
    lines, units = overview(plans, sessions(db, create=False, plans=plans), day)
    if format is Format.json:
        print(json.dumps({"date": day.isoformat(), "plans": [
            {"plan": p.plan.id, "number": p.plan.meta.number, "title": " ".join(p.plan.meta.title.split()),
             "due": p.due, "on_time": p.on_time, "overdue": p.overdue, "ended": p.ended,
             "never_run": p.never_run} for p in lines],
            "units": [{"unit": u.name, "overdue": [{"plan": i.plan, "period": i.period, "title": i.title,
                                                    "days_overdue": i.days} for i in u.items]} for u in units]},
            ensure_ascii=False, indent=2))
        return
    from engine.cli.tables import console, plans_table, units_table

    out = console()
    out.print(f"Tổng quan các kế hoạch - ngày {fmt(day)}: {summary_line(lines, units)}")
    out.print(plans_table(lines, "Theo kế hoạch (chậm nhất trước)"))
    if units:
        out.print(units_table(units, "Đơn vị có việc quá hạn (nhiều việc nhất trước)", UNIT_ITEMS))


def _child_json(st: Any) -> dict[str, Any]:
    return {"plan": st.child.id, "number": st.child.number, "issuer": st.child.issuer, "unit": st.child.unit,
            "counts": st.counts.as_dict() if st.counts else None, "problem": st.problem,
            "done": [{"step": d.step_id, "period": d.period, "done_on": d.done_on.isoformat(), "by": d.by}
                     for d in st.done]}


@app.command()
def confirm(
    plan_path: PlanArg,
    step: Annotated[str, typer.Argument(metavar="BƯỚC", help="Mã bước.")],
    by: Annotated[str, typer.Option("--by", help="Họ tên người xác nhận.")],
    occurrence: Annotated[str | None, typer.Option("--occurrence", help="Lần thực hiện (vd. 2023, 2023-Q2).")] = None,
    unit: UnitOpt = None,
    evidence: Annotated[list[str] | None, typer.Option("--evidence", help="Minh chứng: ten=giá trị (vd. document_number=12/BC-KHCN).")] = None,
    note: Annotated[str | None, typer.Option("--note", help="Ghi chú.")] = None,
    result: Annotated[str | None, typer.Option("--result", help="Kết quả thực hiện (báo cáo trích dẫn).")] = None,
    at: AtOpt = None,
    db: DbOpt = None,
) -> None:
    """Xác nhận đã hoàn thành một lần thực hiện, kèm minh chứng theo yêu cầu của bước."""
    from engine.runtime.people import confirm as do_confirm
    from engine.runtime.people import parse_evidence, step_of

    plan = load(plan_path)
    day, now = now_for(plan, at, future=False)
    items = parse_evidence(evidence or [], list(step_of(plan, step).confirmation.requires))
    with sessions(db, plans=[plan])() as session, session.begin():
        done = do_confirm(plan, session, step, key=occurrence, by=by, at=day, now=now, evidence=items, note=note,
                          result=result, unit=unit)
        rec = done.record
        if done.created:
            late = f"chậm {done.late_days} ngày" if done.late_days else "đúng hạn"
            print(f"Đã ghi nhận: {named(plan, step, rec.occurrence_key)} hoàn thành ngày {fmt(rec.done_on)}, "
                  f"{late}; người xác nhận: {rec.by}.")
        else:
            from engine.language.templates import EVIDENCE_VI

            print(f"Đã có xác nhận trước đó: {named(plan, step, rec.occurrence_key)} - {rec.by}, ngày "
                  f"{fmt(rec.done_on)}" + "".join(f"; {EVIDENCE_VI.get(k, k)}: {v}" for k, v in rec.evidence.items())
                  + ". Không ghi thêm.")


def named(plan: Any, step_id: str, key: str) -> str:
    """An occurrence as the official who typed the command names it: the step's short title, then its period and,
    for a step of several owners, the unit ('Báo cáo CCHC tháng (tháng 2/2025, UBND phường Đông Thành)')."""
    from engine.reports.sections import item_label

    said = item_label(plan, key)
    return plan.short_title(plan.step_by_id[step_id]) + (f" ({said})" if said else "")


@app.command()
def extend(
    plan_path: PlanArg,
    step: Annotated[str, typer.Argument(metavar="BƯỚC", help="Mã bước.")],
    to: Annotated[str, typer.Option("--to", help="Hạn mới (dd/mm/yyyy).")],
    by: Annotated[str, typer.Option("--by", help="Họ tên người quyết định gia hạn.")],
    reason: Annotated[str, typer.Option("--reason", help="Lý do gia hạn (bắt buộc).")],
    occurrence: Annotated[str | None, typer.Option("--occurrence", help="Lần thực hiện (vd. 2023, 2023-Q2).")] = None,
    unit: UnitOpt = None,
    at: AtOpt = None,
    db: DbOpt = None,
) -> None:
    """Gia hạn một lần thực hiện: hạn mới, người quyết định và lý do; nhắc hạn và đôn đốc theo hạn mới."""
    from engine.runtime.people import extend as do_extend

    plan = load(plan_path)
    day, now = now_for(plan, at, future=False)
    new_due = day_arg(to, "--to")
    assert new_due is not None
    with sessions(db, plans=[plan])() as session, session.begin():
        row = do_extend(plan, session, step, to=new_due, by=by, reason=reason, key=occurrence, at=day, now=now,
                        unit=unit)
        print(f"Đã gia hạn: {named(plan, step, row.key)} đến {fmt(row.due_on)} (hạn ban đầu "
              f"{fmt(row.original_due_on)}); người quyết định: {' '.join(by.split())}.")


@app.command()
def request(
    plan_path: PlanArg,
    step: Annotated[str, typer.Argument(metavar="BƯỚC", help="Mã bước theo yêu cầu.")],
    by: Annotated[str, typer.Option("--by", help="Người/cơ quan yêu cầu.")] = "",
    note: Annotated[str | None, typer.Option("--note", help="Nội dung yêu cầu.")] = None,
    at: AtOpt = None,
    db: DbOpt = None,
) -> None:
    """Bắt đầu một lần thực hiện của bước 'khi có yêu cầu' (vd. báo cáo theo yêu cầu)."""
    from engine.runtime.people import request as do_request

    if len(" ".join(by.split())) > MAX_REQUESTER:  # the store keeps it in a column of that size
        raise StateError(f"--by dài {len(' '.join(by.split()))} ký tự: họ tên người yêu cầu tối đa {MAX_REQUESTER} "
                         "ký tự")
    plan = load(plan_path)
    day, now = now_for(plan, at, future=False)
    with sessions(db, plans=[plan])() as session, session.begin():
        row = do_request(plan, session, step, at=day, now=now, by=by, note=note)
        owners = plan.step_owners[step] if step in plan.per_unit else ()
        whom = f" cho {len(owners)} đơn vị chủ trì" if owners else ""
        print(f"Đã tạo yêu cầu: {named(plan, step, split_key(row.key)[0])}{whom}, hạn {fmt(row.due_on)}. Lượt chạy "
              "tiếp theo sẽ mở việc và thông báo.")


@app.command()
def simulate(
    plan_path: PlanArg,
    from_: Annotated[str, typer.Option("--from", help="Từ ngày (dd/mm/yyyy).")],
    to: Annotated[str, typer.Option("--to", help="Đến ngày (dd/mm/yyyy).")],
    confirm_policy: Annotated[str, typer.Option("--confirm", help="on-time, late:N hoặc never.")] = "on-time",
    request_: Annotated[list[str] | None, typer.Option(
        "--request", help="Mô phỏng một yêu cầu: BƯỚC@dd/mm/yyyy (lặp lại được).")] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="table hoặc json.")] = Format.table,
    db: DbOpt = None,
) -> None:
    """Mô phỏng từng ngày của một khoảng thời gian (không cần Prefect server) và in dòng thời gian sự kiện.

    Mặc định mô phỏng trong bộ nhớ (không ghi vào kho trạng thái); --db để giữ kết quả. KẾ_HOẠCH là một thư mục: mô
    phỏng cùng lúc mọi kế hoạch trong đó, chung một kho (kế hoạch cấp trên và các kế hoạch cấp dưới).
    """
    from sqlalchemy import func, select

    from engine.language.plan import PlanLoader, plan_paths
    from engine.runtime.people import step_of
    from engine.runtime.simulate import ConfirmPolicy, check_span, simulate_plans, timeline
    from engine.state.models import EventRecord

    plans = PlanLoader().load_all(plan_paths([plan_path])) if plan_path.is_dir() else [load(plan_path)]
    start, end = day_arg(from_, "--from"), day_arg(to, "--to")
    assert start is not None and end is not None
    check_span(start, end)  # before a store is opened, which may create it
    policy = ConfirmPolicy.parse(confirm_policy)
    requests: dict = {}
    for item in request_ or []:
        step_id, sep, when = item.partition("@")
        if not sep:
            raise StateError(f"--request '{item}': viết BƯỚC@dd/mm/yyyy, ví dụ bao-cao-theo-yeu-cau@02/05/2024")
        if len(plans) > 1:
            raise StateError(f"--request '{item}': yêu cầu chỉ mô phỏng được cho từng kế hoạch một (chỉ tệp của kế "
                             "hoạch đó)")
        step_of(plans[0], step_id.strip())
        day = day_arg(when, "--request")
        if day is None or not start <= day <= end:  # it would never be simulated: say so rather than ignore it
            raise StateError(f"--request '{item}': ngày {fmt(day) if day else when} nằm ngoài những ngày mô phỏng "
                             f"({fmt(start)} - {fmt(end)})")
        requests.setdefault(day, []).append(step_id.strip())
    if db:
        factory = sessions(db, plans=plans)
    else:
        from engine.state.db import scratch_store, session_factory

        factory = session_factory(scratch_store())
    with factory() as session:
        for plan in plans:
            if session.scalar(select(func.count()).select_from(EventRecord).where(
                    EventRecord.plan_id == plan.id, EventRecord.on_date >= start)):
                raise StateError(f"kho dữ liệu đã có sự kiện của {plan.id} từ ngày {fmt(start)} trở đi: mô phỏng "
                                 "vào một --db trống, hoặc bắt đầu sau các sự kiện đó")
    simulate_plans(plans, factory, start, end, policy, requests={plans[0].id: requests})
    with factory() as session:
        lives = [(plan, timeline(plan, session, start, end)) for plan in plans]
    if format is Format.json:
        shown = [{"plan": plan.id, "version": plan.version, "events": events} for plan, events in lives]
        head = {"from": start.isoformat(), "to": end.isoformat(), "confirm": confirm_policy}
        print(json.dumps({**shown[0], **head} if len(plans) == 1 and not plan_path.is_dir() else
                         {**head, "plans": shown}, ensure_ascii=False, indent=2))
        return
    from engine.cli.tables import console, timeline_table

    out = console()
    for plan, events in lives:
        if len(lives) > 1:
            out.print(f"Kế hoạch số {plan.meta.number} ({plan.id}):")
        out.print(timeline_table(events, out.width))
    err(f"{sum(len(events) for _, events in lives)} sự kiện.")


@app.command()
def skip(
    plan_path: PlanArg,
    step: Annotated[str, typer.Argument(metavar="BƯỚC", help="Mã bước.")],
    by: Annotated[str, typer.Option("--by", help="Họ tên người quyết định bỏ qua.")],
    reason: Annotated[str, typer.Option("--reason", help="Lý do bỏ qua (bắt buộc).")],
    occurrence: Annotated[str | None, typer.Option("--occurrence", help="Lần thực hiện (vd. 2023-Q2).")] = None,
    unit: UnitOpt = None,
    at: AtOpt = None,
    db: DbOpt = None,
) -> None:
    """Bỏ qua một lần thực hiện không còn cần (ghi người quyết định và lý do); các bước sau không phải chờ nữa."""
    from engine.runtime.people import skip as do_skip

    plan = load(plan_path)
    day, now = now_for(plan, at, future=False)
    with sessions(db, plans=[plan])() as session, session.begin():
        row = do_skip(plan, session, step, key=occurrence, by=by, reason=reason, at=day, now=now, unit=unit)
        print(f"Đã bỏ qua: {named(plan, step, row.key)} ngày {fmt(day)}; lý do: {row.reason}.")
