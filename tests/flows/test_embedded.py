"""flows/embedded.py: the embedded Prefect server never outlives the command that started it, even `kill -9`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, SEED
from tests.flows.conftest import prefect_env, wait_until


def _servers_of(pid: int) -> list[int]:
    """The uvicorn children of a process (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and b"uvicorn" in command:
            found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is gone
    except OSError:
        return False


def test_a_run_killed_with_sigkill_leaves_no_server(tmp_path):
    env = prefect_env(tmp_path / "unused")
    del env["PREFECT_HOME"]
    env.pop("KEHOACH_DATABASE_URL", None)
    env.update(HOME=str(tmp_path), KEHOACH_HOME=str(tmp_path / "kehoach-home"))  # no Prefect profile: embedded
    proc = subprocess.Popen([sys.executable, "-c", "from engine.cli.app import main; main()", "run", str(SEED),
                             "--at", "25/10/2023"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    servers: list[int] = []
    try:
        servers = wait_until(lambda: _servers_of(proc.pid) or proc.poll() is not None, 120, "the embedded server")
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        # The server sees its parent gone within half a second, then shuts down as on Ctrl+C.
        wait_until(lambda: not any(_running(pid) for pid in servers), 60, "the orphaned server to stop")
    finally:
        for pid in (p for p in servers if _running(p)):  # the test failed: do not leave the server behind
            os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_guard_runs_uvicorn_with_prefects_arguments(monkeypatch):
    import flows.embedded as embedded

    seen = {}

    def fake_popen(args, **kwargs):
        seen.update(args=args, env=kwargs["env"])
        return "process"

    monkeypatch.setattr(embedded.subprocess, "Popen", fake_popen)
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT), "--port", "8123"]
    assert embedded._Subprocess.Popen(command, env={"A": "1"}) == "process"
    assert seen["args"] == [sys.executable, "-c", embedded.GUARD, "--app-dir", str(ROOT), "--port", "8123"]
    assert seen["env"] == {"A": "1", embedded.PARENT_ENV: str(os.getpid())}
    embedded._Subprocess.Popen(["git", "status"], env={})  # anything else is started as it is
    assert seen["args"] == ["git", "status"] and seen["env"] == {}
