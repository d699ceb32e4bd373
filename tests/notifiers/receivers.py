"""Real receivers on 127.0.0.1 for delivery tests: an HTTP endpoint for json://, one that answers like the Zalo
OA API for zalo://, and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoopbackHttp:
    """A threaded HTTP server on a free loopback port; `answer` turns each POST into a status and a body."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                status, body = receiver.answer(self.path, self.headers, self.rfile.read(length))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, path: str, headers: Message, data: bytes) -> tuple[int, bytes]:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


class HttpReceiver(LoopbackHttp):
    """Takes POSTed JSON; `down` answers 503, `delay` seconds before answering (a slow endpoint)."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.payloads: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []  # every request as it arrives, answered or not yet
        self.paths: list[str] = []
        self.down = False
        self.delay = delay
        self.hold: threading.Event | None = None  # when set, requests wait for it before they are answered

    def answer(self, path: str, headers: Message, data: bytes) -> tuple[int, bytes]:
        with self.lock:
            self.received.append(json.loads(data))
        if self.hold is not None:
            self.hold.wait(30)
        if self.delay:
            time.sleep(self.delay)
        if self.down:
            return 503, b""
        with self.lock:
            self.payloads.append(json.loads(data))
            self.paths.append(path)
        return 200, b"ok"

    def url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"


class ZaloReceiver(LoopbackHttp):
    """Answers like the Zalo OA API: text messages (`/v3.0/oa/message/cs`, `access_token` header) and token
    refreshes (`/v4/oa/access_token`, form-encoded, `secret_key` header; each refresh token works once).

    Every request is kept, accepted or not. `expired` makes the access token in use be refused with that error
    code; `refusal` answers every message with that (code, message).
    """

    OA_ID = "579745863508352884"
    APP_ID = "2345678901234567890"
    SECRET_KEY = "zSecretKey-Kp7Qw2Lm9Xv4"
    EXPIRED = {-216: "Access token is invalid", -220: "access_token is expired or removed"}

    def __init__(self) -> None:
        super().__init__()
        self.issued = 0
        self.access_token, self.refresh_token = self._issue()
        self.messages: list[tuple[str, dict[str, Any]]] = []  # (access_token header, JSON body), every one
        self.accepted: list[dict[str, Any]] = []  # the JSON bodies of the messages taken, in order
        self.refreshes: list[tuple[dict[str, str], dict[str, str]]] = []  # (headers, form)
        self.expired: int | None = None
        self.refusal: tuple[int, str] | None = None

    def _issue(self) -> tuple[str, str]:
        self.issued += 1
        return f"zAT{self.issued}-q3Xe9LmPz0Rt7YkVb2Nw", f"zRT{self.issued}-h8Jd4SxUc6GfA1oEi5Mr"

    def answer(self, path: str, headers: Message, data: bytes) -> tuple[int, bytes]:
        with self.lock:
            if path == "/v3.0/oa/message/cs":
                return 200, json.dumps(self._message(headers.get("access_token") or "", json.loads(data))).encode()
            if path == "/v4/oa/access_token":
                return 200, json.dumps(self._refresh(dict(headers.items()), data)).encode()
        return 404, b""

    def _message(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        self.messages.append((token, body))
        if token != self.access_token or self.expired is not None:
            code = self.expired if token == self.access_token else -216
            return {"error": code, "message": self.EXPIRED[code]}
        if self.refusal is not None:
            return {"error": self.refusal[0], "message": self.refusal[1]}
        self.accepted.append(body)
        return {"error": 0, "message": "Success",
                "data": {"message_id": f"m{len(self.messages)}", "user_id": body["recipient"]["user_id"]}}

    def _refresh(self, headers: dict[str, str], data: bytes) -> dict[str, Any]:
        form = dict(parse_qsl(data.decode()))
        self.refreshes.append((headers, form))
        if (headers.get("secret_key") != self.SECRET_KEY or form.get("app_id") != self.APP_ID
                or form.get("grant_type") != "refresh_token" or form.get("refresh_token") != self.refresh_token):
            return {"error": -14014, "error_name": "Invalid parameter", "error_reason": "Invalid refresh_token",
                    "error_description": "Refresh token is invalid or has been used"}
        self.access_token, self.refresh_token = self._issue()
        self.expired = None
        return {"access_token": self.access_token, "refresh_token": self.refresh_token, "expires_in": "90000"}

    def texts(self) -> list[str]:
        """The texts Zalo accepted, in order."""
        return [body["message"]["text"] for body in self.accepted]

    def url(self, *users: str, access: bool = True, refresh: bool = True) -> str:
        """A zalo:// URL for this receiver: with its current access token and its refresh credentials."""
        auth = f"{self.access_token}@" if access else ""
        args = ""
        if refresh:
            args = f"&refresh_token={self.refresh_token}&app_id={self.APP_ID}&secret_key={self.SECRET_KEY}"
        base = f"http://127.0.0.1:{self.port}"
        return f"zalo://{auth}{self.OA_ID}/{'/'.join(users)}?api={base}&oauth={base}{args}"


@dataclass
class SmtpReceiver:
    """A real SMTP server (aiosmtpd) on a free loopback port; keeps every message, parsed."""

    messages: list[EmailMessage] = field(default_factory=list)
    port: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def __enter__(self) -> SmtpReceiver:
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.controller.stop()

    def url(self, to: str = "van-phong@khcn.thainguyen.gov.vn") -> str:
        return f"mailto://127.0.0.1:{self.port}?from=kehoach@khcn.thainguyen.gov.vn&to={to}"
