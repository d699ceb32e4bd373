"""Prefect's embedded (ephemeral) server, tied to the process that started it: it stops when that process dies.

Prefect 3.9 starts the embedded server as a child process (`SubprocessASGIServer`, `python -m uvicorn ...`) and
stops it from an `atexit` hook. A process killed with `kill -9` runs no hook, and the server lived on, orphaned,
for good. `PR_SET_PDEATHSIG` does not fit: it fires when the *thread* that started the child ends, and Prefect may
start the server from a short-lived thread (its events worker). So the child watches its parent instead: it runs
uvicorn as Prefect asked, beside a thread that sees the parent change (an orphan is adopted by another process)
and stops the server as Ctrl+C would.
"""

from __future__ import annotations

import os
import subprocess
from typing import Any

PARENT_ENV = "KEHOACH_SERVER_PARENT"
# Run in the server's process instead of `-m uvicorn`, with the same arguments after it.
GUARD = """\
import os, runpy, signal, sys, threading, time
parent = int(os.environ.pop("KEHOACH_SERVER_PARENT"))
def watch():
    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's own graceful shutdown
    time.sleep(15)
    os._exit(1)
threading.Thread(target=watch, name="kehoach-parent-watch", daemon=True).start()
sys.argv[0] = "uvicorn"
runpy.run_module("uvicorn", run_name="__main__", alter_sys=True)
"""


class _Subprocess:
    """The `subprocess` module as Prefect's server module sees it, but a uvicorn server is started guarded."""

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)

    @staticmethod
    def Popen(args: list[str], **kwargs: Any) -> subprocess.Popen[Any]:  # noqa: N802 - the module's name
        if list(args[1:3]) == ["-m", "uvicorn"]:
            args = [args[0], "-c", GUARD, *args[3:]]
            kwargs["env"] = {**(kwargs.get("env") or os.environ), PARENT_ENV: str(os.getpid())}
        return subprocess.Popen(args, **kwargs)


def tie_embedded_server() -> None:
    """Make every embedded server this process starts stop when this process dies (once; harmless if no embedded
    server is ever started). Imports Prefect's server module, which the embedded mode imports anyway."""
    from prefect.server.api import server

    if not isinstance(server.subprocess, _Subprocess):
        server.subprocess = _Subprocess()  # type: ignore[assignment]


def uses_embedded_server() -> bool:
    """Whether Prefect's settings name no API: a client would start the embedded server."""
    from prefect.settings import get_current_settings

    return not get_current_settings().api.url


__all__ = ["tie_embedded_server", "uses_embedded_server", "GUARD", "PARENT_ENV"]
