"""Options and helpers shared by the stateful commands (the only place the wall clock is read)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Callable, Sequence
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.orm import Session

from engine.errors import PlanFileNotFound, StateError, accepted, did_you_mean
from engine.language.dates import DateError, fmt, parse_date
from engine.language.plan import PLAN_SUFFIXES, Plan, PlanLoader

DbOpt = Annotated[str | None, typer.Option("--db", help="URL cơ sở dữ liệu (mặc định: KEHOACH_DATABASE_URL "
                                                        "hoặc sqlite:///.kehoach/state.db).")]
AtOpt = Annotated[str | None, typer.Option("--at", help="Ngày (dd/mm/yyyy); mặc định: hôm nay.")]
PlanArg = Annotated[Path, typer.Argument(metavar="KẾ_HOẠCH",
                                         help="Tệp kế hoạch YAML, hoặc mã kế hoạch đang được phục vụ.")]


def sessions(db: str | None, create: bool = True, plans: Sequence[Plan] = ()) -> Callable[[], Session]:
    """A session factory on the migrated store (see engine.state.db.database_url for which one).

    Args:
        db: the --db option.
        create: False for commands that only read: a SQLite store that does not exist is then an error, never
            an empty store made on the way. True for commands that write: a read-only store is refused at once.
        plans: the plans the command works on: history the store keeps under a plan's file name (from when file
            names made ids) is moved to the plan's id first, and a line says so (engine.state.rekey).

    Raises:
        StateError: no store (create=False), a store that cannot be opened or written (one line, password masked).
    """
    from engine.state.checks import check_writable, shown
    from engine.state.db import database_url, open_store, session_factory, store_exists

    url = database_url(db)
    if not create and not store_exists(url):
        raise StateError(f"không có kho dữ liệu ở {shown(url)}: chưa có lượt chạy nào ở đây - chỉ đúng kho bằng "
                         "--db hoặc KEHOACH_DATABASE_URL, hoặc chạy 'kehoach run' trước")
    engine = open_store(url)  # StateError: one line, password masked
    if create:
        check_writable(engine)
    factory = session_factory(engine)
    for plan in plans:
        adopt_history(plan, factory)
    return factory


def adopt_history(plan: Plan, factory: Callable[[], Session]) -> None:
    """Move what the store keeps under the plan file's name to the plan's id, once, and say so on stderr; a
    store that cannot be written (a reading command) is read as it is."""
    from sqlalchemy.exc import DBAPIError

    from engine.cli.app import err
    from engine.state.rekey import adopt, message

    if plan.id == plan.path.stem:  # its id is the name it had: nothing can be kept under another
        return
    now = datetime.now(ZoneInfo(plan.meta.timezone))
    try:
        with factory() as session, session.begin():
            old = adopt(session, plan.id, plan.meta.number, plan.path, plan.version, now.date(), now)
    except DBAPIError:  # a store this user may only read: nothing moved, read as it is
        return
    if old is not None:
        err(message(old, plan.id, plan.meta.number))


def remember(plans: list[Plan], url: str, from_env: bool) -> None:
    """Record the plans and the store this machine runs them on (engine.runtime.registry), so that a command pasted from
    a notice finds both from any folder."""
    from engine.runtime import registry
    from engine.state.db import ENV_URL, absolute_url

    registry.record({p.id: p.path for p in plans}, absolute_url(url), ENV_URL if from_env else None)


def find_plan(arg: Path | str) -> Path:
    """A plan file given by path, or by the id of a plan this machine serves or its store has run.

    Raises:
        PlanFileNotFound: neither (with the closest id).
    """
    path = Path(arg)
    if path.exists() or path.suffix in PLAN_SUFFIXES or len(path.parts) > 1:
        return path
    from engine.runtime import registry

    found = registry.plan_file(str(arg))
    if found is not None:
        return found
    known = registry.plan_ids()
    raise PlanFileNotFound(f"{arg}{did_you_mean(str(arg), known)} (cần một tệp kế hoạch, hoặc mã của kế "
                           f"hoạch máy này đang chạy{': ' + accepted(known) if known else ''})")


def load(path: Path | str) -> Plan:
    """The plan of a path or id (see `find_plan`)."""
    return PlanLoader().load(find_plan(path))


def day_arg(value: str | None, option: str = "--at") -> date | None:
    if value is None:
        return None
    try:
        return parse_date(value)
    except DateError as exc:
        raise StateError(f"{option}: {exc}") from None


def now_for(plan: Plan, at: str | None, future: bool = True) -> tuple[date, datetime]:
    """The day and moment a command acts at: --at (07:30 that day) or the wall clock.

    Raises:
        StateError: `future` is False and --at is after today (what people did cannot be dated ahead).
    """
    tz = ZoneInfo(plan.meta.timezone)
    day = day_arg(at)
    now = datetime.now(tz)
    if day is None:
        return now.date(), now
    if not future and day > now.date():
        raise StateError(f"--at {fmt(day)} là sau hôm nay ({fmt(now.date())}): việc đã làm được ghi theo ngày đã "
                         "làm")
    return day, datetime.combine(day, datetime.min.time().replace(hour=7, minute=30), tzinfo=tz)
