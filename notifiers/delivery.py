"""Deliver the outbox through Apprise: claim due notices, send them concurrently, record each outcome.

A notice is a row written by the tick before anything is sent. Delivery works in three steps, each short:

1. claim (one transaction): due rows get `attempts + 1` and a lease (`next_attempt_at = now + lease`), so a
   concurrent delivery skips them (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one writer at a time);
2. send (no transaction open): every service of the row's tag through Apprise's `async_notify`, at most
   `concurrency` notices at once; one failing service never blocks the others;
3. record (one transaction): delivered, or failed with the error (secrets masked) and a retry time with
   backoff, or given up after `max_attempts`.

A crash between 2 and 3 leaves the row claimed but not recorded: once the lease runs out the notice is sent
again. That is the only case in which someone gets a notice twice, and only that one notice.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from engine.errors import KehoachError
from engine.state.models import DELIVERED, FAILED, GIVEN_UP, NO_TARGET, PENDING, DocumentRecord, OutboxRecord
from notifiers.channels import Channels, Service, channels_path, load_channels

ENV_CONCURRENCY = "KEHOACH_NOTIFY_CONCURRENCY"
DEFAULT_CONCURRENCY = 16
MAX_ERROR = 1000
STATUS_VI = {DELIVERED: "đã gửi", PENDING: "chờ gửi", NO_TARGET: "chưa có kênh", FAILED: "lỗi gửi",
             GIVEN_UP: "ngừng gửi"}


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a failed notice is retried."""

    max_attempts: int = 5
    first_delay: timedelta = timedelta(minutes=10)
    factor: float = 3.0
    max_delay: timedelta = timedelta(hours=12)
    lease: timedelta = timedelta(minutes=15)  # longer than one delivery run can take

    def delay(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt: 10 min, 30 min, 1 h 30... up to 12 h."""
        return min(self.first_delay * self.factor ** max(attempts - 1, 0), self.max_delay)


@dataclass
class Outcome:
    """What happened to one notice in this delivery run."""

    id: int
    plan_id: str
    step_id: str | None
    occurrence_key: str | None
    reason: str
    unit_id: str
    tag: str | None
    status: str
    attempts: int
    error: str | None = None
    next_attempt_at: datetime | None = None


@dataclass
class DeliveryReport:
    """One delivery run: per-notice outcomes, and what remains in the outbox afterwards."""

    now: datetime
    channels: str | None  # the channels file, None when none was given
    outcomes: list[Outcome] = field(default_factory=list)
    waiting: int = 0  # notices left for later: no channels file yet, or a retry not yet due
    outstanding: dict[str, int] = field(default_factory=dict)  # rows by status after the run (in scope)
    seconds: dict[str, float] = field(default_factory=dict)  # time spent per phase: store (claim, record), send

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def delivered(self) -> int:
        return self.count(DELIVERED)

    @property
    def failed(self) -> int:
        return self.count(FAILED)

    @property
    def given_up(self) -> int:
        return self.count(GIVEN_UP)

    @property
    def ok(self) -> bool:
        """False when a notice failed in this run or any notice in scope has been given up."""
        return not self.failed and not self.outstanding.get(GIVEN_UP, 0)

    def summary(self) -> str:
        """One line for a person (Vietnamese)."""
        if self.channels is None:
            return (f"Chưa có tệp kênh (--channels hoặc KEHOACH_CHANNELS): {self.waiting} thông báo chờ gửi, "
                    "sẽ gửi khi có tệp kênh.")
        parts = [f"đã gửi {self.delivered}", f"lỗi {self.failed}", f"ngừng gửi {self.given_up}",
                 f"chưa có kênh {self.count(NO_TARGET)}"]
        text = "Gửi thông báo: " + ", ".join(parts)
        if self.waiting:
            text += f"; {self.waiting} chờ lần thử sau"
        left = {s: n for s, n in self.outstanding.items() if s in (FAILED, GIVEN_UP) and n}
        if left:
            text += "; còn tồn: " + ", ".join(f"{n} {STATUS_VI[s]}" for s, n in sorted(left.items()))
        return text + "."

    def markdown(self) -> str:
        """A table for the Prefect UI: the run's counts and every notice not delivered."""
        lines = [f"### Gửi thông báo ({self.now:%d/%m/%Y %H:%M})", "", self.summary(), ""]
        troubled = [o for o in self.outcomes if o.status != DELIVERED]
        if troubled:
            lines += ["| # | Bước | Lần | Lý do | Đơn vị | Nhãn | Trạng thái | Lần thử | Lỗi |",
                      "|---|---|---|---|---|---|---|---|---|"]
            for o in troubled:
                error = (o.error or "").replace("|", "/").replace("\n", " ")[:200]
                lines.append(f"| {o.id} | {o.step_id or ''} | {o.occurrence_key or ''} | {o.reason} | {o.unit_id} | "
                             f"{o.tag or ''} | {STATUS_VI.get(o.status, o.status)} | {o.attempts} | {error} |")
        return "\n".join(lines) + "\n"


@dataclass
class _Job:
    """One claimed notice: what to send, to which services, and what the record step needs to know."""

    row: Any  # the claimed columns (id, plan_id, step_id, occurrence_key, reason, unit_id, tag, context...)
    attempts: int  # counting this one
    services: list[Service]
    attachments: list[tuple[str, bytes]]
    ok: list[str] = field(default_factory=list)  # keys of services that took the notice
    errors: list[str] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.row.id


def as_utc(value: datetime | None) -> datetime | None:
    """Stored times are UTC; SQLite gives them back naive."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def resolve_channels(channels: Channels | str | Path | None) -> Channels | None:
    """A Channels object from an object, a path, or KEHOACH_CHANNELS; None when there is none."""
    if isinstance(channels, Channels):
        return channels
    path = channels_path(channels)
    return load_channels(path) if path is not None else None


def deliver_outbox(sessions: Callable[[], Session], now: datetime, channels: Channels | str | Path | None = None,
                   plan_id: str | None = None, *, policy: RetryPolicy | None = None,
                   concurrency: int | None = None, retry_given_up: bool = False) -> DeliveryReport:
    """Send every due notice of the outbox (of one plan, or all) and record each outcome.

    Args:
        sessions: a SQLAlchemy sessionmaker on the migrated store.
        now: the moment of this run (timezone-aware); retries and leases are reckoned from it.
        channels: a loaded channels file, its path, or None for KEHOACH_CHANNELS; with neither, nothing is
            sent and the notices wait (the report counts them).
        plan_id: only this plan's notices.
        policy: retry policy (default RetryPolicy()).
        concurrency: notices in flight at once (default KEHOACH_NOTIFY_CONCURRENCY or 16).
        retry_given_up: give notices that were given up a new round of attempts.

    Raises:
        ValueError: `now` is naive.
        ChannelsError: the channels file cannot be used.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    policy = policy or RetryPolicy()
    ch = resolve_channels(channels)
    report = DeliveryReport(now, ch.name if ch else None)
    now = now.astimezone(timezone.utc)
    if ch is None:
        with sessions() as session:
            report.waiting = _count(session, plan_id, (PENDING, FAILED, NO_TARGET), tagged=True)
            report.outstanding = _outstanding(session, plan_id)
        return report
    started = time.perf_counter()
    with sessions() as session:
        report.waiting = _count(session, plan_id, (PENDING, FAILED), tagged=True, due_after=now)
    jobs = _claim(sessions, now, ch, plan_id, policy, report, retry_given_up)
    sending = time.perf_counter()
    if jobs:
        limit = concurrency or int(os.environ.get(ENV_CONCURRENCY) or DEFAULT_CONCURRENCY)
        _run_async(_send_all(jobs, limit, ch))
    sent = time.perf_counter()
    if jobs:
        _record(sessions, now, ch, jobs, policy, report)
    with sessions() as session:
        report.outstanding = _outstanding(session, plan_id)
    report.seconds = {"store": sending - started + time.perf_counter() - sent, "send": sent - sending}
    return report


def _scope(stmt: Any, plan_id: str | None) -> Any:
    return stmt.where(OutboxRecord.plan_id == plan_id) if plan_id is not None else stmt


def _count(session: Session, plan_id: str | None, statuses: tuple[str, ...], tagged: bool = False,
           due_after: datetime | None = None) -> int:
    stmt = _scope(select(func.count()).select_from(OutboxRecord).where(OutboxRecord.status.in_(statuses)), plan_id)
    if tagged:
        stmt = stmt.where(OutboxRecord.tag.is_not(None))
    if due_after is not None:
        stmt = stmt.where(OutboxRecord.next_attempt_at > due_after)
    return int(session.scalar(stmt) or 0)


def _outstanding(session: Session, plan_id: str | None) -> dict[str, int]:
    stmt = _scope(select(OutboxRecord.status, func.count()).group_by(OutboxRecord.status), plan_id)
    return {status: int(n) for status, n in session.execute(stmt)}


_COLUMNS = (OutboxRecord.id, OutboxRecord.plan_id, OutboxRecord.step_id, OutboxRecord.occurrence_key,
            OutboxRecord.reason, OutboxRecord.unit_id, OutboxRecord.tag, OutboxRecord.status, OutboxRecord.attempts,
            OutboxRecord.context, OutboxRecord.subject, OutboxRecord.body)


def _claim(sessions: Callable[[], Session], now: datetime, ch: Channels, plan_id: str | None, policy: RetryPolicy,
           report: DeliveryReport, retry_given_up: bool) -> list[_Job]:
    """Pick the due rows, lease them, and read what their sends need (one short transaction).

    Columns, not ORM objects, and one executemany UPDATE per kind of change: this runs for every notice, so it
    is kept to a fraction of a millisecond each (bench/bench_notify.py).
    """
    statuses = [PENDING, FAILED] + ([GIVEN_UP] if retry_given_up else [])
    due = or_(OutboxRecord.next_attempt_at.is_(None), OutboxRecord.next_attempt_at <= now)
    if retry_given_up:
        due = or_(due, OutboxRecord.status == GIVEN_UP)
    stmt = _scope(select(*_COLUMNS).where(
        OutboxRecord.tag.is_not(None),
        or_(OutboxRecord.status.in_(statuses) & due, OutboxRecord.status == NO_TARGET),
    ).order_by(OutboxRecord.id), plan_id)
    jobs: list[_Job] = []
    claims, missing, finished = [], [], []
    lease = now + policy.lease
    with sessions() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = session.execute(stmt).all()
        docs = _documents(session, {int(d) for r in rows for d in (r.context or {}).get("attachments") or []})
        for row in rows:
            services = ch.for_tag(row.tag)
            if not services:
                if row.status != NO_TARGET:
                    error = f"nhãn '{row.tag}' không có trong tệp kênh {ch.name} (tag not in the channels file)"
                    missing.append({"id": row.id, "status": NO_TARGET, "next_attempt_at": None, "last_error": error})
                    report.outcomes.append(_outcome(row, NO_TARGET, row.attempts, error))
                continue
            delivered_to = set((row.context or {}).get("delivered_to") or [])
            todo = [s for s in services if s.key not in delivered_to]
            if not todo:  # every service took it before a crash kept us from saying so
                finished.append({"id": row.id, "status": DELIVERED, "delivered_at": now, "next_attempt_at": None})
                report.outcomes.append(_outcome(row, DELIVERED, row.attempts))
                continue
            attempts = (0 if row.status == GIVEN_UP else row.attempts) + 1
            claims.append({"id": row.id, "status": PENDING if row.status in (NO_TARGET, GIVEN_UP) else row.status,
                           "attempts": attempts, "next_attempt_at": lease})
            attach = [docs[int(d)] for d in (row.context or {}).get("attachments") or [] if int(d) in docs]
            jobs.append(_Job(row, attempts, todo, attach))
        for changes in (claims, missing, finished):
            if changes:
                session.execute(update(OutboxRecord), changes)
    return jobs


def _documents(session: Session, ids: set[int]) -> dict[int, tuple[str, bytes]]:
    """Stored drafts by id, with a file name a person recognises (plan-step-occurrence.format)."""
    if not ids:
        return {}
    out = {}
    for d in session.scalars(select(DocumentRecord).where(DocumentRecord.id.in_(ids))):
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{d.plan_id}-{d.step_id}-{d.occurrence_key}")
        out[d.id] = (f"du-thao-{stem}.{d.format}", d.content)
    return out


def _run_async(coro: Any) -> None:
    """Run a coroutine to completion, also from code that already runs an event loop (a thread of its own)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro)
        return
    error: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
            error.append(exc)

    thread = threading.Thread(target=target, name="kehoach-deliver")
    thread.start()
    thread.join()
    if error:
        raise error[0]


async def _send_all(jobs: list[_Job], limit: int, ch: Channels) -> None:
    from apprise import NotifyFormat

    gate = asyncio.Semaphore(max(limit, 1))
    with tempfile.TemporaryDirectory(prefix="kehoach-attach-") as tmp:
        async def one(job: _Job) -> None:
            async with gate:
                paths = _write_attachments(Path(tmp) / str(job.id), job.attachments)
                for service in job.services:
                    try:
                        result = await service.apprise().async_notify(
                            body=job.row.body or "", title=job.row.subject or "", body_format=NotifyFormat.TEXT,
                            attach=paths or None, match_always=False)
                    except Exception as exc:  # noqa: BLE001 - recorded as this service's failure
                        job.errors.append(ch.mask(f"{service.name} {service.display}: {type(exc).__name__}: {exc}"))
                        continue
                    if result:
                        job.ok.append(service.key)
                    else:
                        job.errors.append(ch.mask(f"{service.name} {service.display}: {_reason(result)}"))

        await asyncio.gather(*(one(j) for j in jobs))


def _write_attachments(folder: Path, attachments: list[tuple[str, bytes]]) -> list[str]:
    if not attachments:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, content in attachments:
        target = folder / name
        target.write_bytes(content)
        paths.append(str(target))
    return paths


def _reason(result: Any) -> str:
    """Apprise's own words for a failure (its warnings and errors), else its status."""
    messages = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR", "CRITICAL")]
    status = getattr(getattr(result, "status", None), "name", "FAILURE")
    return "; ".join(dict.fromkeys(messages)) or status.lower()


def _record(sessions: Callable[[], Session], now: datetime, ch: Channels, jobs: list[_Job], policy: RetryPolicy,
            report: DeliveryReport) -> None:
    """Write every outcome (one transaction); the rows are still leased to this run, so nothing is re-read."""
    delivered, failed = [], []
    for job in jobs:
        change: dict[str, Any] = {"id": job.id}
        if job.ok and job.errors:  # half-way: remember who has it, so that a retry skips them
            done = sorted(set((job.row.context or {}).get("delivered_to") or []) | set(job.ok))
            change["context"] = {**(job.row.context or {}), "delivered_to": done}
        if not job.errors:
            change.update(status=DELIVERED, delivered_at=now, next_attempt_at=None, last_error=None)
            delivered.append(change)
            report.outcomes.append(_outcome(job.row, DELIVERED, job.attempts))
            continue
        error = ch.mask("; ".join(job.errors))[:MAX_ERROR]
        give_up = job.attempts >= policy.max_attempts
        retry_at = None if give_up else now + policy.delay(job.attempts)
        change.update(status=GIVEN_UP if give_up else FAILED, next_attempt_at=retry_at, last_error=error)
        failed.append(change)
        report.outcomes.append(_outcome(job.row, change["status"], job.attempts, error, retry_at))
    with sessions() as session, session.begin():
        # executemany needs one set of columns per statement: failed rows with and without a new context.
        for group in _by_keys(delivered) + _by_keys(failed):
            session.execute(update(OutboxRecord), group)


def _by_keys(changes: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for c in changes:
        groups.setdefault(tuple(sorted(c)), []).append(c)
    return list(groups.values())


def _outcome(row: Any, status: str, attempts: int, error: str | None = None,
             next_attempt_at: datetime | None = None) -> Outcome:
    return Outcome(row.id, row.plan_id, row.step_id, row.occurrence_key, row.reason, row.unit_id, row.tag, status,
                   attempts, error, as_utc(next_attempt_at))


class DeliveryFailed(KehoachError):
    """Raised by the Prefect 'deliver' task when a notice failed or was given up, so the task shows as failed."""
