"""Options and helpers shared by the stateful commands (the only place the wall clock is read)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Callable
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.orm import Session

from engine.dates import parse_date
from engine.errors import StateError
from engine.plan import Plan, PlanLoader

DbOpt = Annotated[str | None, typer.Option("--db", help="URL cơ sở dữ liệu (mặc định: KEHOACH_DATABASE_URL "
                                                        "hoặc sqlite:///.kehoach/state.db).")]
AtOpt = Annotated[str | None, typer.Option("--at", help="Ngày (dd/mm/yyyy); mặc định: hôm nay.")]
PlanArg = Annotated[Path, typer.Argument(help="Tệp kế hoạch YAML (plan file).")]


def sessions(db: str | None) -> Callable[[], Session]:
    """A session factory on the migrated store."""
    from engine.state.db import open_store, session_factory

    try:
        return session_factory(open_store(db))
    except Exception as exc:  # noqa: BLE001 - a bad URL or an unreachable server is a user error here
        raise StateError(f"cannot open the state store {db or ''}: {type(exc).__name__}: {exc}".replace("  ", " ")) from exc


def load(path: Path) -> Plan:
    return PlanLoader().load(path)


def day_arg(value: str | None, option: str = "--at") -> date | None:
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError as exc:
        raise StateError(f"{option}: {exc}") from None


def now_for(plan: Plan, at: str | None) -> tuple[date, datetime]:
    """The day and moment a command acts at: --at (07:30 that day) or the wall clock."""
    tz = ZoneInfo(plan.meta.timezone)
    day = day_arg(at)
    if day is None:
        now = datetime.now(tz)
        return now.date(), now
    return day, datetime.combine(day, datetime.min.time().replace(hour=7, minute=30), tzinfo=tz)
