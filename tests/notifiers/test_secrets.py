"""No secret of the channels file reaches a log, the CLI's output, the outbox or an artifact."""

from __future__ import annotations

import logging
import sqlite3
from urllib.parse import quote

import pytest

from engine.cli.app import main
from notifiers.delivery import deliver_outbox
from tests.conftest import SEED
from tests.notifiers.conftest import at, closed_port, write_channels
from tests.notifiers.test_delivery import DAY1

FROM_ENV = "Hx9-Secret@Pass/2024"
LITERAL_HEADER = "LiteralHeaderKey-5521"
LITERAL_MAIL = "LiteralMailPass-7788"
LITERAL_FIELD = "LiteralPayloadToken-3344"  # a payload field: Apprise logs payloads at DEBUG level
SECRETS = [FROM_ENV, quote(FROM_ENV, safe=""), LITERAL_HEADER, LITERAL_MAIL, LITERAL_FIELD]


def test_secrets_never_leave_the_channels_file(tmp_path, db_url, sessions, tick_days, http, capsys, caplog,
                                               monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", FROM_ENV)
    down = closed_port()
    path = write_channels(tmp_path / "channels.yaml", f"""\
urls:
  - json://kehoach:${{HOOK_SECRET}}@127.0.0.1:{http.port}/ok?+X-Api-Key={LITERAL_HEADER}&:token={LITERAL_FIELD}:
      - tag: van-phong
  - json://kehoach:${{HOOK_SECRET}}@127.0.0.1:{down}/down:
      - tag: toan-so
  - mailtos://kehoach@127.0.0.1:{down}?to=lanh-dao@khcn.vn&from=kehoach@khcn.vn:
      - tag: toan-so
        pass: {LITERAL_MAIL}
""")
    caplog.set_level(logging.DEBUG)  # the most Apprise ever says, on every logger
    tick_days(DAY1)
    first = deliver_outbox(sessions, at(DAY1), path)
    # van-phong's notice went out; toan-so's two (one message) failed on both services, errors recorded
    assert first.delivered == 1 and first.failed == 2
    later = deliver_outbox(sessions, at(DAY1, 9), path)
    texts = [first.markdown(), first.summary(), later.markdown(), *(o.error or "" for o in first.outcomes)]
    for args in (["channels", "check", "--channels", path, SEED], ["outbox", "--db", db_url],
                 ["outbox", "--failed", "--format", "json", "--db", db_url],
                 ["deliver", "--channels", path, "--db", db_url, "--at", "17/03/2022"]):
        with pytest.raises(SystemExit):
            main([str(a) for a in args])
    out, err = capsys.readouterr()
    dump = "\n".join(sqlite3.connect(db_url.split("///", 1)[1]).iterdump())
    assert "Connection" in dump and "kehoach:***@127.0.0.1" in out  # errors and services are shown, masked
    assert len(http.payloads) == 1 and "JSON Payload: {" in caplog.text  # Apprise did talk, at DEBUG level
    assert http.payloads[0]["token"] == LITERAL_FIELD  # (the receiver is meant to get it)
    for secret in SECRETS:
        for where, text in (("logs", caplog.text), ("CLI output", out + err), ("outbox", dump),
                            ("artifacts", "\n".join(texts))):
            assert secret not in text, f"{secret!r} found in the {where}"
