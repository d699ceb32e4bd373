"""Deliver the outbox through Apprise: compose each recipient's message of the day, send it, record the outcome.

A notice is an outbox row written by the tick (or a person's action) before anything is sent: one item for one
unit and tag, unique by its idempotency key. Delivery works in three steps, each short:

1. claim (one transaction): due notices of one plan and tag become one message (`notifiers.compose`: most urgent
   first; a plan may ask for one message per notice), stored with the notices pointing at it; messages due for a
   retry are taken again. Each message is leased (`next_attempt_at = now + lease`), so a concurrent delivery
   skips it (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one writer at a time).
2. send (no transaction open): every service of the message's tag through Apprise, at most `concurrency`
   messages at once, each send bounded in wall time; one failing service never blocks the others.
3. record (one transaction): delivered; failed, with the error (secrets masked) and a retry time with backoff,
   or given up after `max_attempts`; or *unknown* - the send timed out after the request went out, so the
   recipient may have it: retried once, visibly, then left as "có thể đã gửi".

Quiet days: nothing is composed or sent on a day that is not a working day of the notice's plan (weekends,
holidays with Tết, the agency's own days off; a swapped working Saturday is a working day): it waits for the
next working morning. One message per recipient per day: a notice that comes after the day's message to its
tag waits for the next working morning too.

A crash between 2 and 3 leaves a message leased but not recorded: once the lease runs out it counts as unknown
(maybe delivered) and is sent once more. That is the only way a recipient gets a message twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import tempfile
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from datetime import time as dtime
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from engine.errors import KehoachError
from engine.language.models.plan import DEFAULT_TZ
from engine.runtime.status import NOTICE_VI
from engine.state.models import (
    DELIVERED,
    FAILED,
    GIVEN_UP,
    NO_TARGET,
    PENDING,
    SENDING,
    UNKNOWN,
    DocumentRecord,
    MessageRecord,
    OutboxRecord,
    PlanRecord,
)
from notifiers.channels import Channels, Service, channels_path, load_channels
from notifiers.compose import Item, Link, compose

ENV_CONCURRENCY = "KEHOACH_NOTIFY_CONCURRENCY"
ENV_SEND_TIMEOUT = "KEHOACH_SEND_TIMEOUT"
DEFAULT_CONCURRENCY = 16
DEFAULT_SEND_TIMEOUT = 60.0  # seconds one service may take to take one message
MAX_ERROR = 1000
MORNING = dtime(7, 30)
# A send that timed out after the request went out: the recipient may have it.
_UNKNOWN = re.compile(r"read ?time(d)? ?out|ReadTimeout|timed out|TimeoutError|time-out", re.I)
_CONNECT = re.compile(r"connect ?timeout|ConnectTimeout|Connection refused|Name or service not known|"
                      r"Failed to establish", re.I)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a failed message is retried."""

    max_attempts: int = 5
    first_delay: timedelta = timedelta(minutes=10)
    factor: float = 3.0
    max_delay: timedelta = timedelta(hours=12)
    lease: timedelta = timedelta(minutes=15)  # longer than one delivery run can take (sends are bounded)

    def delay(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt: 10 min, 30 min, 1 h 30... up to 12 h."""
        return min(self.first_delay * self.factor ** max(attempts - 1, 0), self.max_delay)


@dataclass
class Outcome:
    """What happened to one notice in this delivery run (its message's outcome)."""

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
    """One delivery run: per-notice outcomes, messages sent, and what remains in the outbox afterwards."""

    now: datetime
    channels: str | None  # the channels file, None when none was given
    outcomes: list[Outcome] = field(default_factory=list)
    messages: int = 0  # messages that went out (or were tried) in this run
    waiting: int = 0  # notices left for later: no channels file yet, a retry not yet due, a quiet day
    held: int = 0  # of those, held for the next working morning (a quiet day, or the day's message already sent)
    warnings: list[str] = field(default_factory=list)  # plans' templates replaced by the built-in ones
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
        if self.count(UNKNOWN):
            parts.append(f"không rõ kết quả {self.count(UNKNOWN)}")
        text = f"Gửi thông báo ({self.messages} thư): " + ", ".join(parts)
        if self.waiting:
            text += f"; {self.waiting} chờ lần gửi sau"
            if self.held:
                text += f" (trong đó {self.held} chờ sáng ngày làm việc tới)"
        left = {s: n for s, n in self.outstanding.items() if s in (FAILED, GIVEN_UP, UNKNOWN) and n}
        if left:
            text += "; còn tồn: " + ", ".join(f"{n} {NOTICE_VI[s]}" for s, n in sorted(left.items()))
        return text + "."

    def markdown(self) -> str:
        """A table for the Prefect UI: the run's counts and every notice not delivered."""
        lines = [f"### Gửi thông báo ({self.now:%d/%m/%Y %H:%M})", "", self.summary(), ""]
        lines += [f"- {w}" for w in self.warnings]
        troubled = [o for o in self.outcomes if o.status != DELIVERED]
        if troubled:
            lines += ["", "| # | Bước | Lần | Lý do | Đơn vị | Nhãn | Trạng thái | Lần thử | Lỗi |",
                      "|---|---|---|---|---|---|---|---|---|"]
            for o in troubled:
                error = (o.error or "").replace("|", "/").replace("\n", " ")[:200]
                lines.append(f"| {o.id} | {o.step_id or ''} | {o.occurrence_key or ''} | {o.reason} | {o.unit_id} | "
                             f"{o.tag or ''} | {NOTICE_VI.get(o.status, o.status)} | {o.attempts} | {error} |")
        return "\n".join(lines) + "\n"


@dataclass
class _Job:
    """One claimed message: what to send, to which services, and what the record step needs to know."""

    message_id: int
    plan_id: str
    tag: str
    subject: str
    body: str
    attempts: int  # counting this one
    unknown: int  # earlier sends whose outcome was not known
    delivered_to: list[str]
    services: list[Service]
    attachments: list[tuple[str, bytes]]
    rows: list[Any]  # the notices it carries (columns of OutboxRecord)
    ok: list[str] = field(default_factory=list)  # keys of services that took it
    errors: list[str] = field(default_factory=list)
    unsure: list[str] = field(default_factory=list)  # services whose send timed out after it went out


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


# ---------------------------------------------------------------------------------------------------------------
# The plans behind the notices: working days, time zone, templates, grouping


@dataclass(frozen=True)
class PlanFacts:
    """What delivery needs of a plan; `national()` when the plan file cannot be read."""

    timezone: str
    workdays: Any  # engine.language.workdays.WorkCalendar
    templates: dict[str, str]
    grouping: str

    @staticmethod
    def of(plan: Any) -> PlanFacts:
        return PlanFacts(plan.meta.timezone, plan.workdays, dict(plan.templates), plan.grouping)

    @staticmethod
    def national(year: int) -> PlanFacts:
        from engine.language.workdays import WorkCalendar

        return PlanFacts(DEFAULT_TZ, WorkCalendar(range(year - 1, year + 2)), {}, "daily")

    def day(self, now: datetime) -> date:
        return now.astimezone(ZoneInfo(self.timezone)).date()

    def next_morning(self, now: datetime) -> datetime:
        """07:30 of the next working day after `now`'s day, in UTC."""
        day = self.workdays.next_working_day(self.day(now) + timedelta(days=1))
        return datetime.combine(day, MORNING, tzinfo=ZoneInfo(self.timezone)).astimezone(timezone.utc)


def stored_plans(sessions: Callable[[], Session]) -> Callable[[str], PlanFacts | None]:
    """Plans by id, loaded from the paths the store recorded (each once); None for one that cannot be loaded."""
    cache: dict[str, PlanFacts | None] = {}

    def resolve(plan_id: str) -> PlanFacts | None:
        if plan_id not in cache:
            from engine.language.plan import load_plan

            with sessions() as session:
                record = session.get(PlanRecord, plan_id)
            try:
                cache[plan_id] = PlanFacts.of(load_plan(record.path)) if record is not None else None
            except Exception:  # noqa: BLE001 - a plan file moved or broken: its notices still go out
                cache[plan_id] = None
        return cache[plan_id]

    return resolve


# ---------------------------------------------------------------------------------------------------------------
# Delivering


def deliver_outbox(sessions: Callable[[], Session], now: datetime, channels: Channels | str | Path | None = None,
                   plan_id: str | None = None, *, policy: RetryPolicy | None = None,
                   concurrency: int | None = None, retry_given_up: bool = False,
                   plans: Callable[[str], Any] | None = None, link: Link | None = None,
                   extend_link: Link | None = None, send_timeout: float | None = None) -> DeliveryReport:
    """Compose and send every due message of the outbox (of one plan, or all) and record each outcome.

    Args:
        sessions: a SQLAlchemy sessionmaker on the migrated store.
        now: the moment of this run (timezone-aware); the day, retries and leases are reckoned from it.
        channels: a loaded channels file, its path, or None for KEHOACH_CHANNELS; with neither, nothing is
            sent and the notices wait (the report counts them).
        plan_id: only this plan's notices.
        policy: retry policy (default RetryPolicy()).
        concurrency: messages in flight at once (default KEHOACH_NOTIFY_CONCURRENCY or 16).
        retry_given_up: give messages that were given up a new round of attempts.
        plans: plan id -> a loaded Plan (or PlanFacts), for its working days, templates and grouping; default:
            the plan files the store recorded. A plan that cannot be had gets the national calendar.
        link: (plan id, step id, occurrence key) -> the confirmation form's address, for notices to owners.
        extend_link: the same for the extension form, for escalations to leadership.
        send_timeout: seconds one service may take (default KEHOACH_SEND_TIMEOUT or 60).

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
    facts = _facts_of(plans or stored_plans(sessions), now)
    started = time.perf_counter()
    with sessions() as session:
        waiting = _plans_waiting(session, plan_id, now, retry_given_up)
    for pid in waiting:  # looked up before the claim's transaction takes the store
        facts(pid)
    jobs = _claim(sessions, now, ch, plan_id, policy, report, retry_given_up, facts, (link, extend_link)) \
        if waiting else []
    sending = time.perf_counter()
    if jobs:
        limit = concurrency or int(os.environ.get(ENV_CONCURRENCY) or DEFAULT_CONCURRENCY)
        timeout = send_timeout or float(os.environ.get(ENV_SEND_TIMEOUT) or DEFAULT_SEND_TIMEOUT)
        _run_async(_send_all(jobs, limit, ch, timeout))
    sent = time.perf_counter()
    if jobs:
        _record(sessions, now, ch, jobs, policy, report, facts)
    with sessions() as session:
        report.waiting = _count(session, plan_id, (PENDING, FAILED, UNKNOWN), tagged=True, due_after=now)
        report.outstanding = _outstanding(session, plan_id)
    report.seconds = {"store": sending - started + time.perf_counter() - sent, "send": sent - sending}
    return report


def _facts_of(plans: Callable[[str], Any], now: datetime) -> Callable[[str], PlanFacts]:
    cache: dict[str, PlanFacts] = {}

    def get(plan_id: str) -> PlanFacts:
        if plan_id not in cache:
            found = plans(plan_id)
            cache[plan_id] = found if isinstance(found, PlanFacts) else PlanFacts.of(found) if found is not None \
                else PlanFacts.national(now.year)
        return cache[plan_id]

    return get


def _plans_waiting(session: Session, plan_id: str | None, now: datetime, retry_given_up: bool = False) -> list[str]:
    """The plans with notices or messages a delivery may take now (none: the claim's transaction is skipped)."""
    rows = _scope(select(OutboxRecord.plan_id).where(
        OutboxRecord.status.in_((PENDING, NO_TARGET)), OutboxRecord.message_id.is_(None),
        OutboxRecord.tag.is_not(None),
        or_(OutboxRecord.next_attempt_at.is_(None), OutboxRecord.next_attempt_at <= now)), plan_id).distinct()
    due = or_(MessageRecord.next_attempt_at.is_(None), MessageRecord.next_attempt_at <= now)
    messages = _scope(select(MessageRecord.plan_id).where(
        or_(MessageRecord.status.in_((FAILED, UNKNOWN, SENDING)) & due,
            MessageRecord.status == GIVEN_UP if retry_given_up else False)),
        plan_id, MessageRecord).distinct()
    return sorted(set(session.scalars(rows)) | set(session.scalars(messages)))


def _scope(stmt: Any, plan_id: str | None, model: Any = OutboxRecord) -> Any:
    return stmt.where(model.plan_id == plan_id) if plan_id is not None else stmt


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
            OutboxRecord.reason, OutboxRecord.template, OutboxRecord.unit_id, OutboxRecord.tag,
            OutboxRecord.status, OutboxRecord.attempts, OutboxRecord.context, OutboxRecord.message_id,
            OutboxRecord.next_attempt_at)


def _claim(sessions: Callable[[], Session], now: datetime, ch: Channels, plan_id: str | None, policy: RetryPolicy,
           report: DeliveryReport, retry_given_up: bool, facts: Callable[[str], PlanFacts],
           links: tuple[Link | None, Link | None]) -> list[_Job]:
    """Compose the due notices into messages and lease them, with the messages due for a retry (one short
    transaction)."""
    lease = now + policy.lease
    jobs: list[_Job] = []
    with sessions() as session, session.begin():
        pg = session.get_bind().dialect.name == "postgresql"
        retry = _retries(session, now, plan_id, retry_given_up, pg, facts)
        new = _compose_new(session, now, ch, plan_id, pg, report, facts, links)
        for msg in retry + new:
            services = ch.for_tag(msg.tag)
            todo = [s for s in services if s.key not in set(msg.delivered_to or [])]
            rows = session.execute(select(*_COLUMNS).where(OutboxRecord.message_id == msg.id)
                                   .order_by(OutboxRecord.id)).all()
            if not services:
                _set_rows(session, msg.id, status=NO_TARGET, message_id=None, last_error=_no_tag(msg.tag, ch))
                session.delete(msg)
                continue
            attempts = (0 if msg.status == GIVEN_UP else msg.attempts) + 1
            msg.status, msg.attempts, msg.next_attempt_at = SENDING, attempts, lease
            _set_rows(session, msg.id, status=SENDING, attempts=attempts, next_attempt_at=lease)
            docs = _documents(session, set(msg.attachments or []))
            jobs.append(_Job(msg.id, msg.plan_id, msg.tag, msg.subject, msg.body, attempts, msg.unknown,
                             list(msg.delivered_to or []), todo,
                             [docs[i] for i in msg.attachments or [] if i in docs], rows))
        report.messages = len(jobs)
    return jobs


def _retries(session: Session, now: datetime, plan_id: str | None, retry_given_up: bool, pg: bool,
             facts: Callable[[str], PlanFacts]) -> list[MessageRecord]:
    """Messages to send again: failed ones whose retry is due; leased ones whose lease ran out (a crash after
    sending: maybe delivered, sent once more at most); given up ones when asked. On a quiet day of their plan
    they wait for its next working morning."""
    due = or_(MessageRecord.next_attempt_at.is_(None), MessageRecord.next_attempt_at <= now)
    statuses = [FAILED, UNKNOWN, SENDING] + ([GIVEN_UP] if retry_given_up else [])
    stmt = _scope(select(MessageRecord).where(MessageRecord.status.in_(statuses)), plan_id, MessageRecord)
    stmt = stmt.where(or_(due, MessageRecord.status == GIVEN_UP) if retry_given_up else due)
    if pg:
        stmt = stmt.with_for_update(skip_locked=True)
    out = []
    for msg in session.scalars(stmt.order_by(MessageRecord.id)):
        if msg.status == SENDING:  # the lease ran out: whoever sent it died before saying how it went
            msg.unknown += 1
            if msg.unknown > 1:
                msg.status, msg.next_attempt_at = UNKNOWN, None
                msg.last_error = "có thể đã gửi - kết quả không rõ sau hai lần gửi, không gửi lại"
                _set_rows(session, msg.id, status=UNKNOWN, next_attempt_at=None, last_error=msg.last_error)
                continue
            msg.status = UNKNOWN
        elif msg.status == UNKNOWN and msg.next_attempt_at is None:
            continue
        f = facts(msg.plan_id)
        if not f.workdays.is_working_day(f.day(now)):
            msg.next_attempt_at = f.next_morning(now)
            continue
        out.append(msg)
    return out


def _compose_new(session: Session, now: datetime, ch: Channels, plan_id: str | None, pg: bool,
                 report: DeliveryReport, facts: Callable[[str], PlanFacts],
                 links: tuple[Link | None, Link | None]) -> list[MessageRecord]:
    """Due notices not yet in a message, grouped per plan and tag into the day's message (or one each)."""
    due = or_(OutboxRecord.next_attempt_at.is_(None), OutboxRecord.next_attempt_at <= now)
    stmt = _scope(select(*_COLUMNS).where(
        OutboxRecord.tag.is_not(None), OutboxRecord.message_id.is_(None),
        or_(OutboxRecord.status == PENDING, OutboxRecord.status == NO_TARGET), due,
    ).order_by(OutboxRecord.id), plan_id)
    if pg:
        stmt = stmt.with_for_update(skip_locked=True)
    groups: dict[tuple[str, str], list[Any]] = {}
    for row in session.execute(stmt).all():
        groups.setdefault((row.plan_id, row.tag), []).append(row)
    out: list[MessageRecord] = []
    for (plan, tag), rows in groups.items():
        f = facts(plan)
        today = f.day(now)
        if not ch.for_tag(tag):
            fresh = [r.id for r in rows if r.status != NO_TARGET]
            if fresh:
                session.execute(update(OutboxRecord), [{"id": i, "status": NO_TARGET, "last_error": _no_tag(tag, ch)}
                                                       for i in fresh])
                report.outcomes += [_outcome(r, NO_TARGET, r.attempts, _no_tag(tag, ch)) for r in rows
                                    if r.id in fresh]
            continue
        sent_today = f.grouping == "daily" and session.scalar(select(func.count()).select_from(MessageRecord).where(
            MessageRecord.plan_id == plan, MessageRecord.tag == tag, MessageRecord.day == today)) or 0
        if not f.workdays.is_working_day(today) or sent_today:
            later = f.next_morning(now)
            session.execute(update(OutboxRecord), [{"id": r.id, "status": PENDING, "next_attempt_at": later}
                                                   for r in rows])
            report.held += len(rows)
            continue
        batches = [rows] if f.grouping == "daily" else [[r] for r in rows]
        for batch in batches:
            items = [Item(r.id, r.template, dict(r.context or {}), r.step_id, r.occurrence_key) for r in batch]
            composed = compose(items, today, f.templates, *links)
            msg = MessageRecord(plan_id=plan, tag=tag, day=today, subject=composed.subject, body=composed.body,
                                attachments=composed.attachments, items=len(batch), status=PENDING, attempts=0,
                                unknown=0, delivered_to=[], created_at=now)
            session.add(msg)
            session.flush()
            changes = []
            for r in batch:
                shown = composed.rendered[r.id]
                change = {"id": r.id, "message_id": msg.id, "subject": shown.subject, "body": shown.body}
                if shown.error:
                    change["last_error"] = shown.error
                    report.warnings.append(f"#{r.id} {r.plan_id} {r.step_id or ''}: {shown.error}")
                changes.append(change)
            for group in _by_keys(changes):
                session.execute(update(OutboxRecord), group)
            out.append(msg)
    return out


def _no_tag(tag: str, ch: Channels) -> str:
    return f"nhãn '{tag}' không có trong tệp kênh {ch.name}"


def _set_rows(session: Session, message_id: int, **values: Any) -> None:
    session.execute(update(OutboxRecord).where(OutboxRecord.message_id == message_id).values(**values))


def _documents(session: Session, ids: set[int]) -> dict[int, tuple[str, bytes]]:
    """Stored drafts by id, with a file name a person recognises (plan-step-occurrence.format); a DOCX not yet
    rendered is rendered now, and kept by this transaction."""
    if not ids:
        return {}
    from engine.reports.artifacts import document_name
    from engine.reports.stored import document_bytes

    return {d.id: (document_name(d.plan_id, d.step_id, d.occurrence_key, d.format), document_bytes(d))
            for d in session.scalars(select(DocumentRecord).where(DocumentRecord.id.in_(ids)))}


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


def _in_daemon(fn: Callable[[], Any]) -> Future[Any]:
    """Run `fn` in a daemon thread: a send we stop waiting for must not keep the process alive at exit (a
    receiver dripping its answer would, in a pool's thread)."""
    done: Future[Any] = Future()

    def run() -> None:
        if not done.set_running_or_notify_cancel():  # nobody waits any more
            return
        try:
            done.set_result(fn())
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits
            done.set_exception(exc)

    threading.Thread(target=run, name="kehoach-send", daemon=True).start()
    return done


async def _send_all(jobs: list[_Job], limit: int, ch: Channels, timeout: float) -> None:
    from apprise import NotifyFormat

    gate = asyncio.Semaphore(max(limit, 1))
    with tempfile.TemporaryDirectory(prefix="kehoach-attach-") as tmp:
        async def one(job: _Job) -> None:
            async with gate:
                paths = _write_attachments(Path(tmp) / str(job.message_id), job.attachments)
                for service in job.services:
                    def send(service: Service = service) -> Any:
                        return service.apprise().notify(
                            body=job.body, title=job.subject, body_format=NotifyFormat.TEXT, attach=paths or None,
                            match_always=False, log_level=logging.DEBUG)
                    what = f"{service.name} {service.display}"
                    try:
                        result = await asyncio.wait_for(asyncio.wrap_future(_in_daemon(send)), timeout)
                    except asyncio.TimeoutError:
                        job.unsure.append(ch.mask(f"{what}: không có trả lời sau {timeout:g} giây"))
                        continue
                    except Exception as exc:  # noqa: BLE001 - recorded as this service's failure
                        job.errors.append(ch.mask(f"{what}: {type(exc).__name__}: {exc}"))
                        continue
                    if result:
                        job.ok.append(service.key)
                        continue
                    reason = _reason(result)
                    unsure = _UNKNOWN.search(reason) and not _CONNECT.search(reason)
                    (job.unsure if unsure else job.errors).append(ch.mask(f"{what}: {reason}"))

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
    """Apprise's own words for a failure (its warnings, errors and the socket's), else its status."""
    messages = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR", "CRITICAL")
                or "exception" in e.message.lower() or "timed out" in e.message.lower()]
    status = getattr(getattr(result, "status", None), "name", "FAILURE")
    return "; ".join(dict.fromkeys(messages)) or status.lower()


def _record(sessions: Callable[[], Session], now: datetime, ch: Channels, jobs: list[_Job], policy: RetryPolicy,
            report: DeliveryReport, facts: Callable[[str], PlanFacts]) -> None:
    """Write every outcome (one transaction); the messages are still leased to this run, so nothing is re-read."""
    messages, rows = [], []
    for job in jobs:
        done = sorted(set(job.delivered_to) | set(job.ok))
        change: dict[str, Any] = {"id": job.message_id, "delivered_to": done}
        if not job.errors and not job.unsure:
            change.update(status=DELIVERED, delivered_at=now, next_attempt_at=None, last_error=None)
            retry_at = None
        elif job.errors:  # a service refused it: it did not arrive there, retry with backoff
            give_up = job.attempts >= policy.max_attempts
            retry_at = None if give_up else _not_quiet(now + policy.delay(job.attempts), facts(job.plan_id))
            change.update(status=GIVEN_UP if give_up else FAILED, next_attempt_at=retry_at,
                          last_error=ch.mask("; ".join(job.errors + job.unsure))[:MAX_ERROR])
        else:  # timed out after going out: maybe delivered - sent once more at most, and said so
            again = job.unknown == 0
            retry_at = _not_quiet(now + policy.first_delay, facts(job.plan_id)) if again else None
            note = ("có thể đã gửi (không rõ kết quả); gửi lại một lần" if again else
                    "có thể đã gửi (không rõ kết quả); không gửi lại nữa")
            change.update(status=UNKNOWN, unknown=job.unknown + 1, next_attempt_at=retry_at,
                          last_error=ch.mask(f"{note}: " + "; ".join(job.unsure))[:MAX_ERROR])
        messages.append(change)
        for r in job.rows:
            rows.append({"id": r.id, "status": change["status"], "attempts": job.attempts,
                         "next_attempt_at": retry_at, "delivered_at": now if change["status"] == DELIVERED else None,
                         "last_error": change.get("last_error")})
            report.outcomes.append(_outcome(r, change["status"], job.attempts, change.get("last_error"), retry_at))
    with sessions() as session, session.begin():
        for group in _by_keys(messages):
            session.execute(update(MessageRecord), group)
        # Rows keep a template's fallback note (written at composition) when they went out fine.
        for group in _by_keys([{k: v for k, v in r.items() if not (k == "last_error" and v is None)} for r in rows]):
            session.execute(update(OutboxRecord), group)


def _not_quiet(at: datetime, f: PlanFacts) -> datetime:
    """A retry time, moved to the next working morning when it falls on a quiet day."""
    return at if f.workdays.is_working_day(f.day(at)) else f.next_morning(at)


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
