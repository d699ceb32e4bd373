"""Fixtures for delivery tests: a fresh store, the seed plan ticked on chosen days, channels files, receivers."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine.state.db import open_store, session_factory
from engine.state.models import PENDING, OutboxRecord
from tests.notifiers.receivers import HttpReceiver, SmtpReceiver, ZaloReceiver

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SEED_TAGS = ("van-phong", "toan-so", "lanh-dao", "trung-tam", "phong-qlkh", "mttq", "doan-the", "cong-ttdt")
DAY1_TAGS = ("van-phong", "toan-so")  # the tags of the seed plan's first-day notices


def at(day: date, hour: int = 7, minute: int = 30) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    """No channels file or Prefect server from the developer's shell; no e-mail pacing (Apprise waits 5.5 s
    between two e-mails through one service, which only slows tests down)."""
    for name in ("KEHOACH_CHANNELS", "PREFECT_UI_URL", "PREFECT_API_URL", "KEHOACH_CONFIRM_URL",
                 "KEHOACH_NOTIFY_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KEHOACH_NOTIFY_MIN_INTERVAL", "0")


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture
def sessions(db_url):
    return session_factory(open_store(db_url))


@pytest.fixture
def any_sessions(store_url):
    """Sessions on a SQLite file and on PostgreSQL (the same test runs on both)."""
    return session_factory(open_store(store_url))


@pytest.fixture
def seed(seed_plan):
    return seed_plan


@pytest.fixture
def tick_days(seed, sessions) -> Callable[[date, date], None]:
    """Tick the seed plan on each day of a span (07:30), as the daily schedule would."""
    from engine.runtime.tick import tick

    def run(start: date, end: date | None = None) -> None:
        day = start
        while day <= (end or start):
            tick(seed, sessions, at(day))
            day += timedelta(days=1)

    return run


@pytest.fixture
def http():
    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
def zalo():
    with ZaloReceiver() as receiver:
        yield receiver


@pytest.fixture
def smtp():
    with SmtpReceiver() as receiver:
        yield receiver


def write_channels(path: Path, lines: dict[str, str] | str) -> Path:
    """A TEXT channels file (`tags=url` per line), or the given text as it is."""
    text = lines if isinstance(lines, str) else "".join(f"{tag}={url}\n" for tag, url in lines.items())
    path.write_text(text, encoding="utf-8")
    return path


def queue_notices(sessions, n: int, tag: str = "t") -> None:
    """`n` pending notices of a plan 'p' for one tag, without ticking a plan."""
    day = date(2022, 3, 16)
    with sessions() as session, session.begin():
        for i in range(n):
            ctx = {"plan_id": "p", "plan_number": "1/KH-THU", "issuer": "Sở Thử nghiệm", "unit_name": "Đơn vị",
                   "step_short": f"Việc {i}", "step_title": f"Việc thử nghiệm số {i}", "owner_name": "Đơn vị",
                   "due": "20/03/2022", "due_iso": "2022-03-20", "confirm_command": "kehoach confirm p s"}
            session.add(OutboxRecord(idempotency_key=f"p/s/once/r{i}/u/{tag}", plan_id="p", step_id=f"s{i}",
                                     occurrence_key="once", reason=f"r{i}", template="opened", unit_id="u",
                                     tag=tag, context=ctx, status=PENDING, attempts=0, created_on=day,
                                     plan_version="v"))


def outbox(sessions) -> list[OutboxRecord]:
    with sessions() as session:
        return list(session.scalars(select(OutboxRecord).order_by(OutboxRecord.id)))


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused at once)."""
    from tests.notifiers.receivers import free_port

    return free_port()
