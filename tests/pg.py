"""PostgreSQL for the store tests: KEHOACH_TEST_POSTGRES_URL, else a private cluster started for the session.

The private cluster lives in a temporary directory, listens on 127.0.0.1 on a free port (and a Unix socket in
that directory), trusts local connections, and is stopped and deleted at the end of the session. When the tests
run as root, initdb and pg_ctl run as the `postgres` OS user (PostgreSQL refuses to run as root).

No PostgreSQL at all skips those tests with a one-line reason (KEHOACH_SKIP_POSTGRES=1 skips them on purpose);
PostgreSQL that is installed but does not start fails them with its log.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

ENV_URL = "KEHOACH_TEST_POSTGRES_URL"
ENV_SKIP = "KEHOACH_SKIP_POSTGRES"
HOW_TO = (f"install PostgreSQL (Debian: apt-get install postgresql), or set {ENV_URL}="
          f"postgresql://user@host:port/db (a role that may CREATE DATABASE); {ENV_SKIP}=1 skips them on purpose")


class PostgresUnavailable(RuntimeError):
    """Raised when the tests need PostgreSQL and neither a server URL nor the binaries are there."""


def find_bindir() -> Path | None:
    """The directory holding initdb and pg_ctl: on PATH, else Debian's /usr/lib/postgresql/N/bin (newest)."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A throwaway PostgreSQL cluster (or an existing server given by URL) handing out fresh databases."""

    def __init__(self, server_url: str | None = None) -> None:
        self.server_url = server_url  # postgresql://... of a database we may connect to for CREATE DATABASE
        self.dir: Path | None = None
        self.bindir: Path | None = None
        self.port: int | None = None
        self._counter = itertools.count(1)
        self._prefix = f"kehoach_test_{os.getpid()}"

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> None:
        if self.server_url:
            return
        self.bindir = find_bindir()
        if self.bindir is None:
            raise PostgresUnavailable(f"PostgreSQL binaries (initdb, pg_ctl) not found: {HOW_TO}")
        self.dir = Path(tempfile.mkdtemp(prefix="kehoach-pg-"))
        data = self.dir / "data"
        as_root = os.geteuid() == 0
        if as_root:
            pw = pwd.getpwnam("postgres")  # KeyError: no postgres user; reported below
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.port = free_port()
        self._run([str(self.bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                   "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"], as_root)
        opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.dir} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run([str(self.bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(self.dir / "log"),
                   "-w", "-t", "60", "start"], as_root)
        self.server_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        if self.dir is None:
            return
        if self.bindir is not None:
            try:
                self._run([str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "-w",
                           "stop"], os.geteuid() == 0)
            except Exception:  # noqa: BLE001 - a cluster that did not start has nothing to stop
                pass
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def _run(self, argv: list[str], as_postgres: bool) -> None:
        if as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=self.dir)
        if proc.returncode != 0:
            log = ""
            if self.dir and (self.dir / "log").exists():
                log = (self.dir / "log").read_text(errors="replace")[-2000:]
            raise PostgresUnavailable(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{log}")

    # -- databases -------------------------------------------------------------------------------------------

    def _admin(self):  # noqa: ANN202 - a psycopg connection
        import psycopg

        assert self.server_url is not None
        url = self.server_url.replace("postgresql+psycopg://", "postgresql://")
        return psycopg.connect(url, autocommit=True)

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"{self._prefix}_{next(self._counter)}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        from sqlalchemy.engine import make_url

        return make_url(self.server_url.replace("postgresql://", "postgresql+psycopg://", 1)) \
            .set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
