"""A Prefect server that fails requests (overloaded, half-started) gets one line from the CLI, never a traceback.

The server here is a loopback HTTP server that answers Prefect's health check and fails every other request with
500, as an overloaded Prefect server on PostgreSQL does while it marks thousands of deployments ready."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import PLANS, ROOT


class _Failing(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        healthy = self.path.rstrip("/").endswith("/health")
        body = b"true" if healthy else b'{"exception_message": "Internal Server Error"}'
        self.send_response(200 if healthy else 500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def failing_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()


def test_deploy_to_a_failing_server_says_so_in_one_line(failing_server, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_API_URL=failing_server, PREFECT_HOME=str(tmp_path / "prefect"),
               KEHOACH_HOME=str(tmp_path / "kehoach"), PREFECT_CLIENT_MAX_RETRIES="0",
               PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", "from engine.cli.app import main; main()", "deploy", str(PLANS),
                           "--pool", "thu", "--db", f"sqlite:///{tmp_path / 'state.db'}"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("kehoach: Prefect server trả lỗi 500 khi chạy lệnh (http://127.0.0.1:"), lines[0]
