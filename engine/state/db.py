"""Open the state store: the URL (flag, KEHOACH_DATABASE_URL, or a SQLite file), engine, checks, and migrations.

Whatever goes wrong while opening or using a store is said in one line, with the URL's password masked
(`store_failure`): a store that cannot be reached, a file that is not a database, a damaged SQLite file, another
application's database, a store made by a newer Kehoach, a read-only file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.orm import Session, sessionmaker

from engine.errors import StateError
from engine.secrets import redact

DEFAULT_SQLITE = ".kehoach/state.db"
ENV_URL = "KEHOACH_DATABASE_URL"
MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x6B65686F  # "keho": the advisory lock migrations hold on PostgreSQL


def database_url(url: str | None = None) -> str:
    """The store URL: the --db flag, else KEHOACH_DATABASE_URL, else `.kehoach/state.db` in this folder if it
    exists, else the store of the plans this machine serves (engine.registry), else `.kehoach/state.db`.

    Raises:
        StateError: the served plans' store is named by an environment variable that is not set here.
    """
    url = url or os.environ.get(ENV_URL) or _found_store()
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _found_store() -> str:
    local = f"sqlite:///{DEFAULT_SQLITE}"
    if Path(DEFAULT_SQLITE).exists():
        return local
    from engine import registry

    try:
        return registry.store_url() or local
    except LookupError as exc:
        raise StateError(f"the served plans' store is given by {exc.args[0]}, which is not set here: set it as "
                         "the server does, or give --db") from None


def absolute_url(url: str) -> str:
    """The URL with a relative SQLite path made absolute (for child processes and the registry)."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str(Path(url[len(prefix):]).resolve())
    return url


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (`sqlite:///path`, or a URI `sqlite:///file:path?mode=ro&uri=true`); None for
    an in-memory store or another database."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    path = url[len(prefix):]
    if path.startswith("file:") and "uri=true" in path:
        path = path[len("file:"):].split("?", 1)[0]
        return None if path in ("", ":memory:") or "mode=memory" in url else Path(path)
    return None if path in ("", ":memory:") else Path(path)


def store_exists(url: str) -> bool:
    """False only for a SQLite file that is not there (a server database is asked when opened)."""
    path = sqlite_file(url)
    return path is None or path.exists()


def make_engine(url: str | None = None, **kw: Any) -> Engine:
    """An engine for the store; SQLite gets serialised write transactions (BEGIN IMMEDIATE) and WAL.

    Extra keyword arguments go to `create_engine` (e.g. a pool class)."""
    url = database_url(url)
    if url.startswith("sqlite"):
        path = sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kw)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection, _record):  # noqa: ANN001 - DB-API objects
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):  # noqa: ANN001
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, **kw)


def migrate(engine: Engine) -> None:
    """Create or upgrade the schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Two processes starting on a fresh database would both create the tables; the second waits here.
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


_READY: dict[str, Engine] = {}


def open_store(url: str | None = None) -> Engine:
    """An engine whose schema is up to date (checked and migrated once per URL per process).

    Raises:
        StateError: the store cannot be opened, is damaged, or is not a Kehoach store (one line, password masked).
    """
    url = database_url(url)
    engine = _READY.get(url)
    if engine is None:
        engine = None
        try:
            engine = make_engine(url)
            check_store(engine)
            migrate(engine)
        except Exception as exc:  # noqa: BLE001 - every failure to open is the user's to fix, said in one line
            if engine is not None:
                engine.dispose()
            if isinstance(exc, StateError):
                raise
            raise StateError(store_failure(url, exc, "cannot open the state store")) from exc
        _READY[url] = engine
    return engine


def check_store(engine: Engine) -> None:
    """Refuse a damaged SQLite file and a database that is not a Kehoach store, before anything is written.

    Raises:
        StateError: with what was found.
    """
    where = shown(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        if sqlite_file(engine.url.render_as_string(hide_password=False)) is not None:
            # Reads of a damaged file return what they can and say nothing: check the whole file once (~60 ms
            # for 100,000 occurrences).
            found = [line for row in conn.exec_driver_sql("PRAGMA quick_check(3)") for line in str(row[0]).splitlines()]
            if found != ["ok"]:
                first = next((line for line in found if not line.startswith("***")), found[0])
                raise StateError(f"the state store {where} is damaged (SQLite: {first}): restore it from a backup, "
                                 "or rescue what it holds with `sqlite3 FILE .recover`")
        tables = set(inspect(conn).get_table_names())
        if not tables:
            return
        if "alembic_version" not in tables:
            raise StateError(f"{where} is not a Kehoach state store (it holds other tables: "
                             f"{', '.join(sorted(tables)[:5])}{', ...' if len(tables) > 5 else ''}): give another --db")
        try:
            versions = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
        except Exception:  # noqa: BLE001 - another application's table of that name
            raise StateError(f"{where} is not a Kehoach state store (its alembic_version table is not Kehoach's): "
                             "give another --db") from None
        unknown = versions - _revisions()
        if unknown:
            raise StateError(f"{where} is not a store this Kehoach can use: its schema revision "
                             f"{', '.join(sorted(map(str, unknown)))} is not one of {', '.join(sorted(_revisions()))} "
                             "(made by a newer Kehoach, or by another application)")


def _revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {rev.revision for rev in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}


def check_writable(engine: Engine) -> None:
    """Refuse a store this process can read but not write (a read-only file), before a command starts writing.

    Raises:
        StateError: the store is read-only.
    """
    if sqlite_file(engine.url.render_as_string(hide_password=False)) is None:
        return
    try:
        with engine.connect() as conn, conn.begin() as transaction:  # BEGIN IMMEDIATE: takes the write lock
            version = conn.exec_driver_sql("PRAGMA user_version").scalar()
            conn.exec_driver_sql(f"PRAGMA user_version = {int(version or 0)}")  # a write that changes nothing
            transaction.rollback()
    except Exception as exc:  # noqa: BLE001
        raise StateError(store_failure(engine.url.render_as_string(hide_password=False), exc,
                                       "cannot write to the state store")) from exc


def shown(url: str) -> str:
    """A store URL as messages show it: password masked, a SQLite file by its path, the driver left out."""
    return redact(url).removeprefix("sqlite:///").replace("postgresql+psycopg://", "postgresql://", 1) or url


def store_failure(url: str | None, exc: BaseException, what: str = "the state store failed") -> str:
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
            text_ = "the file is not a SQLite database"
        elif "readonly database" in text_ or "read-only" in text_:
            text_ = f"the store is read-only ({text_.splitlines()[0]}): check the file's and its folder's permissions"
    elif isinstance(exc, ModuleNotFoundError):
        text_ = f"no database driver for this URL ({exc}): Kehoach stores its state in SQLite or PostgreSQL"
    elif isinstance(exc, (ArgumentError, NoSuchModuleError)):
        text_ = f"{exc} (e.g. sqlite:///.kehoach/state.db or postgresql://user@host/db)"
    elif "Can't locate revision" in str(exc):
        text_ = f"{exc} (made by a newer Kehoach?)"
    else:
        text_ = f"{type(exc).__name__}: {exc}"
    lines = [ln.strip() for ln in text_.splitlines()
             if ln.strip() and not ln.lstrip().startswith("[SQL") and "sqlalche.me" not in ln]
    one = " ".join(lines)
    return one if len(one) <= 400 else one[:397] + "..."


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def scratch_store() -> Engine:
    """A private, empty, migrated in-memory SQLite store (a simulation that keeps nothing); one connection
    shared by every session of the engine."""
    from sqlalchemy.pool import StaticPool

    engine = make_engine("sqlite://", poolclass=StaticPool)
    migrate(engine)
    return engine


def close_store(url: str | None = None) -> None:
    """Forget the engine of a URL and close its pooled connections (tests dropping a database; long runs)."""
    engine = _READY.pop(database_url(url), None)
    if engine is not None:
        engine.dispose()
