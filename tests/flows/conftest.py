"""A real Prefect server per test session (`prefect server start` on loopback, own home); a store per test."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

SERVER_START_TIMEOUT = 90  # seconds; ~10 s cold on a 2-core machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prefect_env(home: Path, api_url: str | None = None) -> dict[str, str]:
    """An environment for a Prefect child process: its own home, no telemetry, this checkout importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    root = str(Path(__file__).resolve().parents[2])
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PYTHONPATH=os.pathsep.join([root, env.get("PYTHONPATH", "")]))
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def wait_until(check, timeout: float, what: str, every: float = 0.25):
    """Poll `check` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """The API URL of a `prefect server start --host 127.0.0.1 --port P`, stopped at the end of the session.

    KEHOACH_TEST_PREFECT_API_URL names a running server to use instead (saves ~10-30 s per session).
    """
    if os.environ.get("KEHOACH_TEST_PREFECT_API_URL"):
        yield os.environ["KEHOACH_TEST_PREFECT_API_URL"]
        _flush_to_server()
        return
    home = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = prefect_env(home)
    # The UI is on for the browser tests (tests/flows/test_ui_forms.py), calling this server's API.
    env.update(PREFECT_UI_API_URL=url, PREFECT_UI_ENABLED="true", PREFECT_SERVER_LOGGING_LEVEL="WARNING",
               # New deployments get their scheduled runs within a second instead of five.
               PREFECT_SERVER_SERVICES_SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS="1",
               # A request the server answers 503 (e.g. SQLite busy) is logged with its cause in server.log.
               PREFECT_API_LOG_RETRYABLE_ERRORS="true")
    log = open(home / "server.log", "wb")
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    proc = spawn(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _healthy(url) or proc.poll() is not None, SERVER_START_TIMEOUT,
                   "the Prefect server")
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server exited: {(home / 'server.log').read_text()[-2000:]}")
        yield url
    finally:
        try:
            _flush_to_server()
        finally:
            stop(proc)
            log.close()


def _flush_to_server() -> None:
    """Send what in-process flows still queue (logs, events) before the server goes away."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    EventsWorker.drain_all(timeout=10)


def spawn(command: list[str], death_signal: int = signal.SIGTERM, **kwargs) -> subprocess.Popen:
    """Start a child in its own process group (so `stop` ends its children too); on Linux it is also sent
    `death_signal` when this process dies, so an interrupted session leaves no server behind."""
    def die_with_parent() -> None:
        try:
            ctypes.CDLL(None).prctl(1, death_signal)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    return subprocess.Popen(command, start_new_session=True,
                            preexec_fn=die_with_parent if sys.platform == "linux" else None, **kwargs)


def stop(*procs: subprocess.Popen, timeout: float = 30) -> None:
    """Stop processes started in their own sessions, and their children: all asked at once, then each waited
    for until `timeout` seconds from now, and killed if still there."""
    running = [p for p in procs if p.poll() is None]
    for proc in running:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in running:
        try:
            proc.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def prefect_api(prefect_server):
    """Flows run in this process report to the session's server."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: prefect_server}):
        yield prefect_server


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A fresh SQLite state store, found by flows through KEHOACH_DATABASE_URL."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    monkeypatch.setenv("KEHOACH_DATABASE_URL", url)
    return url
