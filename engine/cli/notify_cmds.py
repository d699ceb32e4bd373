"""Notification commands: channels check, outbox, deliver."""

from __future__ import annotations

import json
import os
from datetime import datetime, time
from enum import Enum
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from engine.cli.app import EXIT_INVALID, EXIT_USAGE, app, err
from engine.cli.common import AtOpt, DbOpt, day_arg, sessions
from engine.cli.help import Group
from engine.language.dates import fmt
from engine.language.models.plan import DEFAULT_TZ

TZ = ZoneInfo(DEFAULT_TZ)
MAX_LIMIT = 100_000
ChannelsOpt = Annotated[Path | None, typer.Option(
    "--channels", envvar="KEHOACH_CHANNELS", show_envvar=True,
    help="Tệp kênh (cấu hình Apprise YAML/TEXT: nhãn -> địa chỉ); mặc định KEHOACH_CHANNELS.")]
PlansArg = Annotated[list[Path] | None, typer.Argument(metavar="KẾ_HOẠCH", help="Tệp hoặc thư mục kế hoạch.")]

channels_app = typer.Typer(name="channels", help="Kênh thông báo: kiểm tra tệp kênh (Apprise) với các kế hoạch.",
                           no_args_is_help=True, rich_markup_mode=None, cls=Group)
app.add_typer(channels_app)


class Format(str, Enum):
    table = "table"
    json = "json"


def _load_plans(paths: list[Path] | None) -> list[Any]:
    from engine.errors import PlanError
    from engine.language.plan import PlanLoader, plan_paths

    loader, plans, problems = PlanLoader(), [], []
    for path in plan_paths(paths or []):
        try:
            plans.append(loader.load(path))
        except PlanError as exc:
            problems += exc.problems
    if problems:
        raise PlanError(problems)
    return plans


def _channels(path: Path | None) -> Any:
    from notifiers.channels import load_channels

    if path is None:
        err("kehoach: chưa có tệp kênh - dùng --channels FILE hoặc đặt KEHOACH_CHANNELS.")
        raise typer.Exit(EXIT_USAGE)
    return load_channels(path)


@channels_app.command("check")
def channels_check(
    plans: PlansArg = None,
    channels: ChannelsOpt = None,
) -> None:
    """Liệt kê từng nhãn, dịch vụ của nhãn (đã che mật khẩu) và đơn vị nào của kế hoạch nào dùng nó;
    báo nhãn kế hoạch dùng mà tệp kênh không có (exit 1)."""
    from notifiers.usage import missing_tag_problems, tag_usage, untagged_units

    ch = _channels(channels)
    loaded = _load_plans(plans)
    usage = tag_usage(loaded)
    tags = ch.tags()
    print(f"Tệp kênh: {ch.name} - {len(ch.services)} dịch vụ, {len(tags)} nhãn.")
    for tag, services in tags.items():
        print(f"\nNhãn {tag}:")
        for s in services:
            print(f"  - {s.name}: {s.display}")
        uses = usage.get(tag, [])
        if loaded:
            print("  dùng bởi: " + ("; ".join(f"{u.plan_id}: {u.unit_id} ({u.unit_name}, {len(u.steps)} bước)"
                                              for u in uses) or "(không kế hoạch nào)"))
    untagged = [s for s in ch.services if not s.tags]
    if untagged:
        print("\nDịch vụ không có nhãn (không bao giờ được dùng):")
        for s in untagged:
            print(f"  - {s.name}: {s.display}")
    for u in untagged_units(loaded):
        print(f"\nĐơn vị không có nhãn: {u.plan_id}: {u.unit_id} ({u.unit_name}) - thông báo ghi 'chưa có kênh'.")
    problems = missing_tag_problems(loaded, ch)
    if problems:
        print("\nNhãn kế hoạch dùng nhưng tệp kênh không có:")
        for p in problems:
            print(f"  {p}")
    for w in ch.warnings:
        print(f"\nCảnh báo tệp kênh: {w}")
    if problems or ch.warnings:
        err(f"{len(problems)} nhãn thiếu, {len(ch.warnings)} mục tệp kênh không dùng được.")
        raise typer.Exit(EXIT_INVALID)
    err("Tệp kênh đủ cho các kế hoạch." if loaded else "Tệp kênh đọc được.")


def _local(value: datetime | None) -> str:
    if value is None:
        return ""
    from notifiers.delivery import as_utc

    return f"{as_utc(value).astimezone(TZ):%d/%m/%Y %H:%M}"


def _known_plan(session: Any, plan_id: str) -> None:
    """Refuse a plan id the store has never run: a mistyped id would otherwise list an empty outbox."""
    from sqlalchemy import select

    from engine.errors import StateError, accepted, did_you_mean
    from engine.state.models import PlanRecord

    if session.get(PlanRecord, plan_id) is None:
        known = list(session.scalars(select(PlanRecord.id)))
        raise StateError(f"kho dữ liệu không có kế hoạch '{plan_id}'{did_you_mean(plan_id, known)}"
                         + (f"; các kế hoạch trong kho: {accepted(known)}" if known else ""))


@app.command()
def outbox(
    failed: Annotated[bool, typer.Option("--failed", help="Chỉ thông báo lỗi gửi và đã ngừng gửi.")] = False,
    plan: Annotated[str | None, typer.Option("--plan", help="Chỉ của kế hoạch này (mã kế hoạch).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=MAX_LIMIT,
                                       help="Số dòng tối đa (mới nhất), 1-100000.")] = 200,
    format: Annotated[Format, typer.Option("--format", "-f", help="table hoặc json.")] = Format.table,
    db: DbOpt = None,
) -> None:
    """Xem hộp thư đi: mỗi thông báo, nhãn nhận, trạng thái (chờ gửi, đã gửi, lỗi, ngừng gửi, chưa có kênh),
    số lần thử và lỗi (đã che mật khẩu)."""
    import os

    from sqlalchemy import func, select

    from engine.runtime.status import NOTICE_VI
    from engine.state.models import FAILED, GIVEN_UP, NO_TARGET, PENDING, OutboxRecord
    from notifiers.channels import ENV_CHANNELS
    from notifiers.masking import mask

    stmt = select(OutboxRecord)
    if plan:
        stmt = stmt.where(OutboxRecord.plan_id == plan)
    if failed:
        stmt = stmt.where(OutboxRecord.status.in_((FAILED, GIVEN_UP)))
    with sessions(db, create=False)() as session:
        if plan:
            _known_plan(session, plan)
        rows = list(reversed(list(session.scalars(stmt.order_by(OutboxRecord.id.desc()).limit(limit)))))
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        counts_stmt = select(OutboxRecord.status, func.count()).group_by(OutboxRecord.status)
        if plan:
            counts_stmt = counts_stmt.where(OutboxRecord.plan_id == plan)
        counts = dict(session.execute(counts_stmt).all())
    no_file = not os.environ.get(ENV_CHANNELS)
    items = [{
        "id": r.id, "created_on": r.created_on.isoformat(), "plan": r.plan_id, "step": r.step_id,
        "occurrence": r.occurrence_key, "reason": r.reason, "template": r.template, "unit": r.unit_id, "tag": r.tag, "status": r.status,
        "attempts": r.attempts, "last_error": mask(r.last_error or "") or None, "subject": r.subject,
        "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None,
        "delivered_at": r.delivered_at.isoformat() if r.delivered_at else None,
    } for r in rows]
    if format is Format.json:
        print(json.dumps({"counts": counts, "total": total, "shown": len(items), "notices": items},
                         ensure_ascii=False, indent=2))
        return
    from engine.cli.tables import console, outbox_table

    for r, item in zip(rows, items):
        status = NOTICE_VI.get(r.status, r.status)
        if r.status == PENDING and r.tag and no_file and not r.attempts:
            status += " (chưa có tệp kênh)"
        note = item["last_error"] or ""
        if r.status == FAILED and r.next_attempt_at:
            note = f"{note} - thử lại sau {_local(r.next_attempt_at)}".strip(" -")
        if r.status == NO_TARGET and not r.tag:
            note = "đơn vị không có nhãn kênh (notify)"
        item.update(day=fmt(r.created_on), status_shown=status, note=note)
    title = "Hộp thư đi" + (" - lỗi gửi" if failed else "") + (f" - kế hoạch {plan}" if plan else "")
    out = console()
    out.print(outbox_table(items, title, with_plan=len({r.plan_id for r in rows}) > 1, width=out.width))
    if total > len(rows):
        out.print(f"Chỉ hiện {len(rows)} thông báo mới nhất trên {total} (--limit N để xem nhiều hơn).")
    summary = ", ".join(f"{n} {NOTICE_VI.get(s, s)}" for s, n in sorted(counts.items())) or "trống"
    out.print(f"Tổng: {summary}.")
    if no_file and counts.get(PENDING):
        out.print("Chưa có tệp kênh: thông báo chờ gửi sẽ được gửi khi chạy với --channels FILE (hoặc "
                  "KEHOACH_CHANNELS).")
    if counts.get(GIVEN_UP):
        out.print("Thông báo đã ngừng gửi: sửa kênh rồi chạy `kehoach deliver --retry-given-up`.")


@app.command()
def deliver(
    channels: ChannelsOpt = None,
    plan: Annotated[str | None, typer.Option("--plan", help="Chỉ của kế hoạch này (mã kế hoạch).")] = None,
    retry_given_up: Annotated[bool, typer.Option("--retry-given-up", help="Gửi lại cả thông báo đã ngừng gửi.")] = False,
    at: AtOpt = None,
    db: DbOpt = None,
) -> None:
    """Gửi ngay các thông báo đến lượt trong hộp thư đi (không cần Prefect); lỗi thì ghi lại và thử lại sau."""
    from notifiers.delivery import deliver_outbox

    ch = _channels(channels)
    day = day_arg(at)
    now = datetime.combine(day, time(7, 30), tzinfo=TZ) if day else datetime.now(TZ)
    links: dict[str, object] = {}
    if os.environ.get("PREFECT_API_URL"):  # the forms live on a Prefect server: link them from the notices
        from flows.links import ConfirmLinks, ExtendLinks

        links = {"link": ConfirmLinks(), "extend_link": ExtendLinks()}
    report = deliver_outbox(sessions(db), now, ch, plan_id=plan, retry_given_up=retry_given_up, **links)
    for o in report.outcomes:
        if o.status != "delivered":
            print(f"  #{o.id} {o.plan_id} {o.step_id} ({o.occurrence_key}) {o.reason} -> {o.unit_id}/{o.tag}: "
                  f"{o.status} (lần thử {o.attempts}){': ' + o.error if o.error else ''}")
    print(report.summary())
    if not report.ok:
        raise typer.Exit(EXIT_INVALID)
