"""Open the state store: the URL (flag, KEHOACH_DATABASE_URL, or a SQLite file), engine, and migrations.

A store is checked before it is migrated (engine/state/checks.py); whatever fails is one line, password masked.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from engine.errors import StateError

DEFAULT_SQLITE = ".kehoach/state.db"
ENV_URL = "KEHOACH_DATABASE_URL"
# Set (to the pool's name) for the runs of a work pool (flows.pool): their store can only come from ENV_URL.
ENV_URL_REQUIRED = "KEHOACH_DATABASE_URL_REQUIRED"
MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x6B65686F  # "keho": the advisory lock migrations hold on PostgreSQL


def database_url(url: str | None = None) -> str:
    """The store URL: the --db flag, else KEHOACH_DATABASE_URL, else `.kehoach/state.db` in this folder if it
    exists, else the store of the plans this machine serves (engine.runtime.registry), else `.kehoach/state.db`.

    Raises:
        StateError: the served plans' store is named by an environment variable that is not set here; or this
            is a work pool's run (KEHOACH_DATABASE_URL_REQUIRED) and KEHOACH_DATABASE_URL is not set.
    """
    if not (url or os.environ.get(ENV_URL)) and os.environ.get(ENV_URL_REQUIRED):
        raise StateError(f"chưa đặt {ENV_URL}: lượt chạy này thuộc work pool '{os.environ[ENV_URL_REQUIRED]}', "
                         f"worker của nó phải có biến này trong môi trường - chạy worker bằng {ENV_URL}=<kho dữ "
                         f"liệu của kehoach deploy> prefect worker start --pool {os.environ[ENV_URL_REQUIRED]}")
    url = url or os.environ.get(ENV_URL) or _found_store()
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _found_store() -> str:
    return _served_store() or f"sqlite:///{DEFAULT_SQLITE}"


def _served_store() -> str | None:
    """The store of the plans this machine serves (engine.runtime.registry), when this folder has none of its own."""
    if Path(DEFAULT_SQLITE).exists():
        return None
    from engine.runtime import registry

    try:
        return registry.store_url()
    except LookupError as exc:
        raise StateError(f"kho dữ liệu của các kế hoạch máy này đang chạy được chỉ bằng biến môi trường "
                         f"{exc.args[0]}, nhưng ở đây biến này chưa đặt: đặt như trên máy chủ, hoặc chỉ kho bằng "
                         "--db") from None


def served_store(url: str | None = None) -> str | None:
    """The store of the plans this machine serves when `database_url(url)` is that store (no --db, no
    KEHOACH_DATABASE_URL, no store in this folder: a run from a new folder writes there, and says so); else None,
    and None in a work pool's run, whose store `database_url` requires.

    Raises:
        StateError: as `database_url`.
    """
    return None if url or os.environ.get(ENV_URL) or os.environ.get(ENV_URL_REQUIRED) else _served_store()


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
    from engine.state.checks import check_store, store_failure

    url = database_url(url)
    engine = _READY.get(url)
    if engine is None:
        try:
            engine = None
            engine = make_engine(url)
            check_store(engine)
            migrate(engine)
        except Exception as exc:  # noqa: BLE001 - every failure to open is the user's to fix, said in one line
            if engine is not None:
                engine.dispose()
            if isinstance(exc, StateError):
                raise
            raise StateError(store_failure(url, exc, "không mở được kho dữ liệu")) from exc
        _READY[url] = engine
    return engine


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
