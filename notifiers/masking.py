"""Keep channel secrets out of every text we write: masking, and a filter on Apprise's own logger.

Apprise logs whole service URLs (passwords, bot tokens, header values) at DEBUG level and the raw text of a
configuration when it loads one. The filter installed here rewrites every record of the `apprise` logger with
the secrets we know masked, and drops the records of a configuration being parsed (before its secrets are
known), keeping its warnings for the caller.
"""

from __future__ import annotations

import logging
import re
import threading
from contextlib import contextmanager
from typing import Iterable, Iterator
from urllib.parse import unquote

from engine.errors import redact

MASK = "***"
MIN_SECRET = 4  # shorter values are not masked: they would garble ordinary words
# Query parameters whose values Apprise does not mask: extra HTTP headers (+name=) and payload fields (:name=).
_EXTRA_PARAM = re.compile(r"([?&](?:\+|%2B|:|%3A)[^=&#\s]+=)([^&#\s]+)", re.I)
# Credentials passed as plain query arguments (zalo://...?refresh_token=...&secret_key=...), beyond engine.errors'.
_TOKEN_PARAM = re.compile(r"([?&](?:[\w-]*token|[\w-]*secret|secret_key)=)([^&#\s]+)", re.I)

_known: set[str] = set()
_ordered: list[str] = []
_lock = threading.Lock()
_local = threading.local()


def register(secrets: Iterable[str]) -> None:
    """Add secrets to the set every later `mask` call (and the Apprise log filter) hides."""
    global _ordered
    with _lock:
        new = {s for s in secrets if s and len(s) >= MIN_SECRET} - _known
        if new:
            _known.update(new)
            _ordered = sorted(_known, key=len, reverse=True)  # longest first: a secret may contain another
    install()


def mask(text: str, extra: Iterable[str] = ()) -> str:
    """`text` with every known secret, every password in an address and every header value replaced by ***."""
    if not text:
        return text
    for secret in (*sorted((s for s in extra if s and len(s) >= MIN_SECRET), key=len, reverse=True), *_ordered):
        if secret in text:
            text = text.replace(secret, MASK)
    return redact(_TOKEN_PARAM.sub(rf"\1{MASK}", _EXTRA_PARAM.sub(rf"\1{MASK}", text)))


def url_secrets(full: str, private: str) -> set[str]:
    """The parts of a service URL that Apprise hides in its privacy form, plus header and payload values.

    Compares the URL Apprise prints in full with the one it prints for logs: what differs is a credential.
    """
    def parts(url: str) -> set[str]:
        out: set[str] = set()
        for token in re.split(r"[/?&=@,]", url):
            out |= {token, unquote(token), *unquote(token).split(":")}
        return out

    found = {p for p in parts(full) - parts(private) if len(p) >= MIN_SECRET}
    found |= {unquote(m.group(2)) for m in _EXTRA_PARAM.finditer(full)}
    return {s for s in found if len(s) >= MIN_SECRET}


class _AppriseFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        captured = getattr(_local, "captured", None)
        if captured is not None:  # a configuration is being parsed on this thread: keep warnings, drop the rest
            if record.levelno >= logging.WARNING:
                captured.append(mask(record.getMessage(), getattr(_local, "extra", ())))
            return False
        if _ordered or "://" in str(record.msg):
            message = mask(record.getMessage())
            record.msg, record.args = message, ()
        return True


_FILTER = _AppriseFilter()


def install() -> None:
    """Attach the filter to Apprise's logger (once)."""
    logger = logging.getLogger("apprise")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


@contextmanager
def apprise_quiet(extra: Iterable[str] = ()) -> Iterator[list[str]]:
    """While parsing a configuration on this thread: drop Apprise's records, collect its warnings (masked)."""
    install()
    _local.captured, _local.extra = [], tuple(extra)
    # DEBUG records are created (and dropped here) only if the logger is that verbose; warnings always are.
    try:
        yield _local.captured
    finally:
        _local.captured, _local.extra = None, ()
