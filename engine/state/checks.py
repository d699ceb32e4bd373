"""Checks on a state store before it is used, and one line for whatever goes wrong with one.

A store is refused when it is damaged (SQLite), when it is another application's database or a newer Kehoach's,
and - for a command that writes - when it is read-only. A failure is said in one line: the driver's reason
without SQLAlchemy's SQL and help links, the store's URL with its password masked wherever it appears.
"""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text

from engine.errors import StateError
from engine.secrets import redact
from engine.state.db import MIGRATIONS, sqlite_file


def check_store(engine: Engine) -> None:
    """Refuse a damaged SQLite file and a database that is not a Kehoach store, before anything is written.

    Raises:
        StateError: with what was found.
    """
    url = engine.url.render_as_string(hide_password=False)
    where = shown(url)
    with engine.connect() as conn:
        if sqlite_file(url) is not None:
            # Reads of a damaged file return what they can and say nothing: check the whole file once (~60 ms
            # for 100,000 occurrences).
            rows = conn.exec_driver_sql("PRAGMA quick_check(3)")
            found = [line for row in rows for line in str(row[0]).splitlines()]
            if found != ["ok"]:
                first = next((line for line in found if not line.startswith("***")), found[0])
                raise StateError(f"kho dữ liệu {where} bị hỏng (SQLite: {first}): khôi phục từ bản sao lưu, hoặc "
                                 "cứu những gì còn lại bằng `sqlite3 FILE .recover`")
        tables = set(inspect(conn).get_table_names())
        if not tables:
            return
        if "alembic_version" not in tables:
            raise StateError(f"{where} không phải kho dữ liệu của Kehoach (có các bảng khác: "
                             f"{', '.join(sorted(tables)[:5])}{', ...' if len(tables) > 5 else ''}): chỉ kho khác "
                             "bằng --db")
        try:
            versions = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
        except Exception:  # noqa: BLE001 - another application's table of that name
            raise StateError(f"{where} không phải kho dữ liệu của Kehoach (bảng alembic_version không phải của "
                             "Kehoach): chỉ kho khác bằng --db") from None
        unknown = versions - _revisions()
        if unknown:
            raise StateError(f"phiên bản Kehoach này không dùng được kho {where}: lược đồ của kho ở phiên bản "
                             f"{', '.join(sorted(map(str, unknown)))}, không thuộc {', '.join(sorted(_revisions()))} "
                             "(do một Kehoach mới hơn hoặc ứng dụng khác tạo)")


def _revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {rev.revision for rev in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}


def check_writable(engine: Engine) -> None:
    """Refuse a store this process can read but not write (a read-only file), before a command starts writing.

    Raises:
        StateError: the store is read-only.
    """
    url = engine.url.render_as_string(hide_password=False)
    if sqlite_file(url) is None:
        return
    try:
        with engine.connect() as conn, conn.begin() as transaction:  # BEGIN IMMEDIATE: takes the write lock
            version = conn.exec_driver_sql("PRAGMA user_version").scalar()
            conn.exec_driver_sql(f"PRAGMA user_version = {int(version or 0)}")  # a write that changes nothing
            transaction.rollback()
    except Exception as exc:  # noqa: BLE001
        raise StateError(store_failure(url, exc, "không ghi được vào kho dữ liệu")) from exc


def shown(url: str) -> str:
    """A store URL as messages show it: password masked, a SQLite file by its path, the driver left out."""
    return redact(url).removeprefix("sqlite:///").replace("postgresql+psycopg://", "postgresql://", 1) or url


def store_failure(url: str | None, exc: BaseException, what: str = "kho dữ liệu gặp lỗi") -> str:
    """One line saying what went wrong with the store at `url`, its password masked wherever it appears.

    SQLAlchemy adds the SQL statement and a help link on lines of their own; the driver's message is kept.
    """
    reason = _reason(exc)
    password = None
    try:
        from sqlalchemy.engine import make_url

        password = make_url(url).password if url else None
    except Exception:  # noqa: BLE001 - an unparsable URL: the patterns still mask it
        pass
    line = f"{what} {shown(url)}: {reason}" if url else f"{what}: {reason}"
    if password and len(str(password)) >= 3:
        line = line.replace(str(password), "***")
    return redact(line)


def _reason(exc: BaseException) -> str:
    from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

    if isinstance(exc, DBAPIError) and exc.orig is not None:
        text_ = str(exc.orig)
        if "file is not a database" in text_:
            text_ = "tệp không phải cơ sở dữ liệu SQLite"
        elif "readonly database" in text_ or "read-only" in text_:
            text_ = (f"kho chỉ đọc được ({text_.splitlines()[0]}): kiểm tra quyền ghi của tệp và của thư mục "
                     "chứa nó")
    elif isinstance(exc, ModuleNotFoundError):
        text_ = (f"không có trình điều khiển cơ sở dữ liệu cho URL này ({exc}): Kehoach lưu dữ liệu trong SQLite "
                 "hoặc PostgreSQL")
    elif isinstance(exc, (ArgumentError, NoSuchModuleError)):
        text_ = f"{exc} (ví dụ sqlite:///.kehoach/state.db hoặc postgresql://user@host/db)"
    elif "Can't locate revision" in str(exc):
        text_ = f"{exc} (do một Kehoach mới hơn tạo?)"
    else:
        text_ = f"{type(exc).__name__}: {exc}"
    lines = [ln.strip() for ln in text_.splitlines()
             if ln.strip() and not ln.lstrip().startswith("[SQL") and "sqlalche.me" not in ln]
    one = " ".join(lines)
    return one if len(one) <= 400 else one[:397] + "..."
