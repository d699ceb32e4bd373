"""Prefect settings for the embedded mode, applied through the environment before Prefect is imported."""

from __future__ import annotations

import os
import ssl
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

EMBEDDED_HOME = ".kehoach/prefect"


def prefect_configured() -> bool:
    """Whether this machine already tells Prefect where to go (a home, a server, or a profile file)."""
    if any(os.environ.get(k) for k in ("PREFECT_HOME", "PREFECT_API_URL", "PREFECT_PROFILES_PATH")):
        return True
    return (Path.home() / ".prefect" / "profiles.toml").is_file()


def use_embedded_defaults(quiet: bool = True) -> None:
    """Quiet, offline defaults for a command that runs flows in this process.

    With no Prefect configuration, Prefect's home (its SQLite history for the ephemeral server) goes under
    `.kehoach/prefect`, beside the state store, so a checkout keeps everything it writes in one folder. A
    machine with a Prefect profile, home or server keeps its own. The settings for the embedded server only
    matter to a server this process starts: a configured server is not touched. Logs go to stderr as always;
    `quiet` shows only warnings in the terminal (PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL); the run's log on the
    server still gets the INFO lines of what the tick did.

    Settings are read when Prefect is imported, so this does nothing once it is (tests, a served flow run).
    """
    if "prefect" in sys.modules:
        return
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # An embedded server lives as long as one command and has no automations: without the triggers service it
    # does a third less work per run (measured: 315 instead of 480 ms of server CPU for the seed plan's tick).
    os.environ.setdefault("PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED", "false")
    # A first run migrates a new database; on a slow or busy machine that exceeds Prefect's 20 s default.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    if quiet:  # the terminal shows warnings only; the run's log in the UI keeps what the tick did (INFO)
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    if not prefect_configured():
        home = Path(EMBEDDED_HOME).resolve()
        # Prefect does not create its home's parent: without it the embedded server never starts and the
        # client waits out its whole start-up timeout (the store may live elsewhere, e.g. `--db postgresql://`).
        home.mkdir(parents=True, exist_ok=True)
        os.environ["PREFECT_HOME"] = str(home)


def ui_url() -> str | None:
    """The Prefect UI's address when a server is configured (none in the ephemeral mode)."""
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    if not settings.api.url:
        return None
    return settings.ui_url or settings.api.url.removesuffix("/").removesuffix("/api")


@contextmanager
def short_runs() -> Iterator[None]:
    """Settings for flow runs made in this process by a command (`kehoach run`).

    Prefect 3.9 joins a flow run's heartbeat thread at the end of every run, and that thread sleeps in 1 s
    steps: each run ends up to 1 s late (a bare flow of 5 tasks takes ~1.1 s instead of ~0.2 s). Heartbeats
    (every 180 s) let a server mark crashed runs; a run of a few seconds, watched by whoever started it, does
    not need them. Served runs keep them.
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def sync_client() -> Any:
    """Prefect's sync client for the current settings, without loading the CA bundle for a plain-HTTP API.

    Prefect builds a TLS context from certifi's bundle for every client (~20 ms here), even for the embedded
    server on http://127.0.0.1; it is never used there, so such a client gets an empty one. An https API gets
    Prefect's own (certifi's bundle, or PREFECT_API_SSL_CERT_FILE). An embedded server started for it stops
    when this process dies, even by `kill -9` (flows.embedded).
    """
    from prefect import get_client
    from prefect.settings import get_current_settings

    from flows.embedded import tie_embedded_server

    api_url = get_current_settings().api.url
    if not api_url:  # the client starts the embedded server: it must not outlive this process
        tie_embedded_server()
    return get_client(sync_client=True, httpx_settings=client_tls(api_url))


@contextmanager
def client_context() -> Iterator[Any]:
    """Prefect's client context for the flow runs this process starts (`kehoach run`), made with `client_tls`.

    A flow run called in this process opens a `SyncClientContext` of its own unless one is open, and so builds
    a client - with certifi's bundle, ~20 ms - for every run. Inside this context every run, its tasks and
    Prefect's own lookups of a default client (`get_client(sync_client=True)`) use this one client: the context
    is made as `SyncClientContext()` makes its own, around `sync_client()` instead of a default client. An open
    context is reused.
    """
    from prefect.context import SyncClientContext

    current = SyncClientContext.get()
    if current is not None:
        yield current
        return
    with SyncClientContext.model_construct(client=sync_client()) as ctx:
        yield ctx


def client_tls(api_url: str | None) -> dict[str, Any]:
    """The httpx settings `sync_client` adds for an API URL (none: the embedded server, on loopback HTTP)."""
    if api_url is None or api_url.startswith("http://"):
        return {"verify": ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)}  # no CA loaded: refuses any TLS peer
    return {}


def wait_recorded(task_runs: dict[str, int], timeout: float = 30.0) -> bool:
    """Wait until the server has stored every task run of these flow runs (flow run id -> task runs).

    Task runs travel to the server as events and are written after the flow returns. The embedded server
    stops with the process, and would drop what it has not written yet - and log errors on stderr (Prefect's
    ephemeral mode otherwise keeps only a few task runs of a large tick). Returns False on timeout.
    """
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + timeout
    waiting = dict(task_runs)
    with sync_client() as client:
        while waiting:
            for flow_run_id, expected in list(waiting.items()):
                only = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
                final, offset = 0, 0
                while True:
                    page = client.read_task_runs(flow_run_filter=only, limit=200, offset=offset)
                    final += sum(1 for r in page if r.state is not None and r.state.is_final())
                    offset += len(page)
                    if len(page) < 200:
                        break
                if final >= expected:
                    del waiting[flow_run_id]
            if waiting and time.monotonic() > deadline:
                return False
            if waiting:
                time.sleep(0.1)
    return True
