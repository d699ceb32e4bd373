"""The stored drafts (DOCX and Markdown) over HTTP, read-only, for the links in the Prefect UI's draft artifacts.

Prefect's server keeps artifacts as text; a DOCX an office edits and signs is a file. `kehoach serve` runs this
small server beside its deployments (`--drafts-port`, loopback by default) and tells the flows its address
(KEHOACH_DRAFTS_URL), so each draft artifact links its DOCX. It answers only `GET /du-thao/<id>/<name>` for a
document the store holds under exactly that name - no listing, no paths, nothing else.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import quote

from sqlalchemy.orm import Session

from engine.reports.artifacts import document_name
from engine.reports.stored import document_bytes
from engine.state.models import DocumentRecord

_PATH = re.compile(r"^/du-thao/(\d{1,12})/([A-Za-z0-9._-]{1,200})$")
_TYPES = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
          "md": "text/markdown; charset=utf-8"}


def handler(sessions: Callable[[], Session]) -> type[BaseHTTPRequestHandler]:
    """A request handler serving the drafts of the store `sessions` opens."""

    class Drafts(BaseHTTPRequestHandler):
        server_version = "kehoach-drafts"

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            m = _PATH.match(self.path.split("?", 1)[0])
            doc, content = None, b""
            if m:
                with sessions() as session, session.begin():
                    doc = session.get(DocumentRecord, int(m.group(1)))
                    if doc is not None and m.group(2) == document_name(doc.plan_id, doc.step_id,
                                                                       doc.occurrence_key, doc.format):
                        content = document_bytes(doc)  # a DOCX is rendered on its first download
                    else:
                        doc = None
            if doc is None or m is None:
                self.send_error(404, "Not Found", "Không có dự thảo này.")
                return
            self.send_response(200)
            self.send_header("Content-Type", _TYPES.get(doc.format, "application/octet-stream"))
            self.send_header("Content-Length", str(len(content)))
            self.send_header("Content-Disposition", f"attachment; filename*=UTF-8''{quote(m.group(2))}")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, *args: Any) -> None:  # quiet: the served process's output is for people
            pass

    return Drafts


def start(sessions: Callable[[], Session], host: str = "127.0.0.1", port: int = 4201) -> ThreadingHTTPServer:
    """Serve the drafts from a daemon thread; returns the server (its `server_address` has the port bound).

    Raises:
        OSError: the address cannot be bound.
    """
    server = ThreadingHTTPServer((host, port), handler(sessions))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="kehoach-drafts", daemon=True).start()
    return server
