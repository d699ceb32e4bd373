"""Small store operations shared by the tick, confirmations and commands: idempotent inserts, locks, queries."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine.state.models import ACTIVE, EventRecord, OccurrenceRecord, OutboxRecord, PlanRecord

def transaction_memo(session: Session, name: str) -> dict[Any, Any]:
    """A dict kept in the session for its current transaction only: a new transaction finds it empty.

    For what holds as long as the transaction does - the plan's lock, the rows read under it, predecessors
    found done - so a second look in the same transaction asks the database nothing.
    """
    txn = session.get_transaction()
    if txn is None:  # not begun: begin it, as the query the memo saves would, so that the memo ends with it
        session.connection()
        txn = session.get_transaction()
    memos = session.info.setdefault("kehoach_memos", {})
    held = memos.get(name)
    if held is None or held[0] is not txn:
        held = memos[name] = (txn, {})
    return held[1]


_SHARED = "kehoach_shared_reads"


@contextmanager
def shared_reads(session: Session) -> Iterator[None]:
    """Within the block, reads made for one document serve the others (`shared_memo`): the tick makes the drafts of
    a day in one pass, after its changes to the occurrences and before anything else changes them, so what one
    draft read of the store holds for all of them. Forgotten when the block ends."""
    session.info[_SHARED] = {}
    try:
        yield
    finally:
        session.info.pop(_SHARED, None)


def shared_memo(session: Session) -> dict[Any, Any] | None:
    """The reads shared within a `shared_reads` block; None outside one (each read is then the caller's own)."""
    return session.info.get(_SHARED)


@lru_cache(maxsize=32)
def _insert_ignore_stmt(dialect: str, model: type, columns: tuple[str, ...] = ()) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING `columns` (default: the primary key), built once so that
    its compiled form is cached. RETURNING tells which rows went in: drivers' rowcount is not reliable
    here."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = model.__table__
    returned = [table.c[c] for c in columns] or [next(iter(table.primary_key.columns))]
    return insert(table).on_conflict_do_nothing().returning(*returned)


def insert_ignore(session: Session, model: type, values: dict[str, Any]) -> bool:
    """INSERT that does nothing on a unique-key conflict; True when the row was inserted.

    Under PostgreSQL a concurrent transaction inserting the same key waits for the first to commit and then
    does nothing, which is what makes two workers ticking the same plan produce each effect once.
    """
    return insert_many_ignore(session, model, [values]) == 1


def insert_many_ignore(session: Session, model: type, rows: list[dict[str, Any]]) -> int:
    """`insert_ignore` for several rows in few round trips; returns the number inserted."""
    return len(inserted_rows(session, model, rows))


def inserted_keys(session: Session, model: type, rows: list[dict[str, Any]], column: str | None = None) -> list[Any]:
    """Insert the rows whose unique keys are new (few round trips); the `column` values (default: the primary
    key) of those that went in."""
    return [r[0] for r in inserted_rows(session, model, rows, (column,) if column else ())]


def inserted_rows(session: Session, model: type, rows: list[dict[str, Any]],
                  columns: tuple[str, ...] = ()) -> list[Any]:
    """Insert the rows whose unique keys are new (few round trips); for each that went in, the tuple of its
    `columns` values (default: its primary key), in no particular order."""
    if not rows:
        return []
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        return _sqlite_inserted(conn, model, rows, columns)
    stmt = _insert_ignore_stmt(conn.dialect.name, model, columns)
    return list(conn.execute(stmt, rows[0] if len(rows) == 1 else rows))


def _sqlite_inserted(conn: Any, model: type, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> list[Any]:
    """`inserted_rows` on SQLite, as SQLAlchemy's compiled statement would write them - the same SQL, the
    columns' own defaults and bind processors - in a multi-row INSERT per page sent with `exec_driver_sql`.
    SQLAlchemy's executemany builds and processes the statement's parameters row by row; that took two thirds
    of an insert's time in a simulated tick (the notices and audit events of every day). The statement's events
    and SQLAlchemy's error types are kept."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:  # rows built by one comprehension have one set of keys
        groups.setdefault(tuple(row), []).append(row)
    out: list[Any] = []
    for keys, group in groups.items():
        lean = _lean_insert(conn.dialect, model, columns, keys)
        for i in range(0, len(group), lean.page):
            page = group[i:i + lean.page]
            params: list[Any] = []
            for row in page:
                params += lean.values(row)
            result = conn.exec_driver_sql(lean.head + ", ".join([lean.row] * len(page)) + lean.tail, tuple(params))
            out += [lean.returned(r) for r in result.fetchall()]
    return out


class _LeanInsert:
    """What `_sqlite_inserted` needs for one table, set of given columns and returned columns: made once."""

    def __init__(self, dialect: Any, model: type, returning: tuple[str, ...], keys: tuple[str, ...]) -> None:
        table = model.__table__
        given = [table.c[k] for k in keys]
        defaulted = [c for c in table.columns if c.key not in keys and c.default is not None]
        ret = [table.c[c] for c in returning] or [next(iter(table.primary_key.columns))]
        quote = dialect.identifier_preparer.quote
        self.head = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
                     f"({', '.join(quote(c.name) for c in (*given, *defaulted))}) VALUES ")
        self.row = "(" + ", ".join("?" * (len(given) + len(defaulted))) + ")"
        self.tail = " ON CONFLICT DO NOTHING RETURNING " + ", ".join(quote(c.name) for c in ret)
        self.page = max(1, min(dialect.insertmanyvalues_page_size,
                               dialect.insertmanyvalues_max_parameters // (len(given) + len(defaulted))))
        self._keys = keys
        self._given = [_bind(dialect, c) for c in given]
        self._defaults = [(c.default.arg, c.default.is_callable, _bind(dialect, c)) for c in defaulted]
        self._results = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in ret]

    def values(self, row: dict[str, Any]) -> list[Any]:
        out = [row[k] if p is None else p(row[k]) for k, p in zip(self._keys, self._given)]
        for arg, call, p in self._defaults:
            value = arg(None) if call else arg  # a callable default is wrapped to take the execution context
            out.append(value if p is None else p(value))
        return out

    def returned(self, row: Any) -> tuple[Any, ...]:
        return tuple(v if p is None else p(v) for v, p in zip(row, self._results))


def _bind(dialect: Any, column: Any) -> Any:
    return column.type.dialect_impl(dialect).bind_processor(dialect)


@lru_cache(maxsize=64)
def _lean_insert(dialect: Any, model: type, returning: tuple[str, ...], keys: tuple[str, ...]) -> _LeanInsert:
    return _LeanInsert(dialect, model, returning, keys)


def set_columns(session: Session, record: Any, **values: Any) -> None:
    """Write these columns of one stored row now (see `stage`)."""
    pending: dict[Any, dict[str, Any]] = {}
    stage(pending, record, **values)
    write_staged(session, pending)


def stage(pending: dict[Any, dict[str, Any]], record: Any, **values: Any) -> None:
    """Set columns on a stored row's object as if loaded, and note them in `pending` for `write_staged`.

    Cheaper than the unit of work's flush for the rows a tick changes by the dozen: no flush writes them (nor
    waits for them), so `write_staged` must run before anything reads those rows from the database.
    """
    for name, value in values.items():
        set_committed_value(record, name, value)
    pending.setdefault(record, {}).update(values)


def write_staged(session: Session, pending: dict[Any, dict[str, Any]]) -> None:
    """Write what `stage` noted: one UPDATE by primary key per table and set of columns; empties `pending`."""
    groups: dict[tuple[Any, tuple[str, ...]], list[dict[str, Any]]] = {}
    for record, values in pending.items():
        table, pk = _table_and_key(type(record))
        groups.setdefault((table, tuple(sorted(values))), []).append({"_pk": getattr(record, pk), **values})
    pending.clear()
    conn = session.connection() if groups else None
    for (table, columns), params in groups.items():
        conn.execute(_update_by_key(table, columns), params[0] if len(params) == 1 else params)


@lru_cache(maxsize=32)
def _table_and_key(model: type) -> tuple[Any, str]:
    mapper = inspect(model)
    (pk,) = mapper.primary_key
    return mapper.local_table, mapper.get_property_by_column(pk).key


@lru_cache(maxsize=64)
def _update_by_key(table: Any, columns: tuple[str, ...]) -> Any:
    (pk,) = table.primary_key.columns
    return update(table).where(pk == bindparam("_pk")).values({c: bindparam(c) for c in columns})


def effect_key(plan_id: str, step_id: str | None, key: str | None, what: str) -> str:
    """The audit log's unique key of one effect: plan/step/occurrence/what."""
    return f"{plan_id}/{step_id or '-'}/{key or '-'}/{what}"


def log_event(session: Session, *, plan_id: str, plan_version: str, step_id: str | None, key: str | None,
              event: str, on_date: date, at: datetime, ekey: str, detail: dict[str, Any],
              actor: str = "engine") -> bool:
    """Write one audit event unless its effect key is already there; True when written."""
    return insert_ignore(session, EventRecord, dict(
        effect_key=ekey, plan_id=plan_id, step_id=step_id, occurrence_key=key, event=event, on_date=on_date,
        at=at, actor=actor, detail=detail, plan_version=plan_version))


def existing_effects(session: Session, keys: Iterable[str]) -> set[str]:
    """Which of these effect keys the audit log already has."""
    keys = list(dict.fromkeys(keys))
    found: set[str] = set()
    conn = session.connection() if keys else None  # events are written only in SQL: no flush to see them
    for i in range(0, len(keys), 500):
        found.update(conn.execute(_EFFECTS, {"keys": keys[i:i + 500]}).scalars())
    return found


# Statements run at every tick, built once (building one costs more than running it on an indexed table).
_EFFECTS = select(EventRecord.effect_key).where(EventRecord.effect_key.in_(bindparam("keys", expanding=True)))


def lock_plan(session: Session, plan_id: str) -> PlanRecord | None:
    """The plan's row, locked for the rest of the transaction (row lock on PostgreSQL; SQLite locks the file).

    Every transaction that writes a plan's state takes this lock first, so ticks, confirmations and requests of
    one plan run one after the other even on several workers, and always in the same lock order.
    """
    stmt = select(PlanRecord).where(PlanRecord.id == plan_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.scalars(stmt.execution_options(populate_existing=True)).first()


def due_occurrences(session: Session, plan_id: str, today: date) -> list[OccurrenceRecord]:
    """Occurrences the tick must look at today (next_on has come), served by the (plan_id, next_on) index."""
    return list(session.scalars(_DUE, {"plan_id": plan_id, "today": today}))


_DUE = (
    select(OccurrenceRecord)
    .where(OccurrenceRecord.plan_id == bindparam("plan_id"), OccurrenceRecord.next_on <= bindparam("today"),
           OccurrenceRecord.status.in_(ACTIVE), OccurrenceRecord.orphaned.is_(False))
    .order_by(OccurrenceRecord.due_on, OccurrenceRecord.step_id, OccurrenceRecord.key)
    .execution_options(populate_existing=True)  # rows already in the session may have been updated in SQL
)


def active_occurrences(session: Session, plan_id: str, today: date) -> list[OccurrenceRecord]:
    """Occurrences whose opening has come and that are not finished (scheduled, open, overdue)."""
    stmt = (
        select(OccurrenceRecord)
        .where(OccurrenceRecord.plan_id == plan_id, OccurrenceRecord.status.in_(ACTIVE),
               OccurrenceRecord.opens_on <= today)
        .order_by(OccurrenceRecord.due_on, OccurrenceRecord.step_id)
    )
    return list(session.scalars(stmt))


def occurrences_of(session: Session, plan_id: str, step_ids: list[str] | None = None) -> list[OccurrenceRecord]:
    stmt = select(OccurrenceRecord).where(OccurrenceRecord.plan_id == plan_id)
    if step_ids is not None:
        stmt = stmt.where(OccurrenceRecord.step_id.in_(step_ids))
    return list(session.scalars(stmt.order_by(OccurrenceRecord.due_on, OccurrenceRecord.step_id, OccurrenceRecord.key)))


def find_occurrence(session: Session, plan_id: str, step_id: str, key: str) -> OccurrenceRecord | None:
    return session.scalars(select(OccurrenceRecord).where(
        OccurrenceRecord.plan_id == plan_id, OccurrenceRecord.step_id == step_id, OccurrenceRecord.key == key)).first()


def events_of(session: Session, plan_id: str, since: date | None = None) -> list[EventRecord]:
    stmt = select(EventRecord).where(EventRecord.plan_id == plan_id)
    if since is not None:
        stmt = stmt.where(EventRecord.on_date >= since)
    return list(session.scalars(stmt.order_by(EventRecord.id)))


def outbox_of(session: Session, plan_id: str | None = None,
              statuses: tuple[str, ...] | None = None) -> list[OutboxRecord]:
    stmt = select(OutboxRecord)
    if plan_id is not None:
        stmt = stmt.where(OutboxRecord.plan_id == plan_id)
    if statuses is not None:
        stmt = stmt.where(OutboxRecord.status.in_(statuses))
    return list(session.scalars(stmt.order_by(OutboxRecord.id)))
