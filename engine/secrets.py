"""What a secret written in text looks like - passwords in addresses, bot and API tokens, keys - to find and mask.

Used by the plan check (a plan must never hold one) and by every message that may quote an address or a
database URL. Each pattern masks the secret only, so that a message still says which address it is about.
"""

from __future__ import annotations

import re

MASK = "***"

# scheme://user:password@host - the password may hold '@' or '/' (people paste them unencoded): it runs to the
# '@' after which a host follows (no further '@' before the path). 'host:8080/path@x' is a port, not a password.
URL_PASSWORD = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:]*):(?!\d+(?:/|$))([^\s?#]+?)@(?=[^\s@/?#]*(?:[/?#\s'\"]|$))")
# A query parameter (or an Apprise header '+Name=' or payload field ':name=') whose name says it is a secret.
SECRET_PARAM = re.compile(
    r"""([?&](?:\+|%2B|:|%3A)?(?:[\w-]*(?:password|passwd|secret|token|api_?key|api-key|signature|credential)"""
    r"""[\w-]*|(?:x-)?auth(?:orization)?|pass|pwd|key|sig)=)([^&\s#'"]+)""",
    re.I,
)
# A Telegram bot token (tgram://123456789:AAH.../chat): the bot's number, then its 35-character secret.
TELEGRAM_TOKEN = re.compile(r"\b(\d{5,}):([A-Za-z0-9_-]{30,})")
# Slack: xoxb-/xoxp-/xapp- tokens, and the third part of a webhook (slack://T.../B.../secret, hooks.slack.com).
SLACK_TOKEN = re.compile(r"\b(xox[abeoprs]|xapp)-([A-Za-z0-9-]{8,})")
SLACK_WEBHOOK = re.compile(r"((?:slack://(?:[^\s/@]*@)?|hooks\.slack\.com/(?:services|workflows)/)"
                           r"[A-Za-z0-9]{8,}/[A-Za-z0-9]{8,}/)([A-Za-z0-9]{16,})")
# An HTTP bearer token, written out or in a header parameter ('Bearer%20...', 'Bearer+...').
BEARER = re.compile(r"\b(Bearer(?:\s+|%20|\+))([A-Za-z0-9._~+/=-]{8,})", re.I)

# Each pattern with what a line must hold for it to match: plain text (found at C speed) or, for a bot token, a
# short pattern. Only such lines are searched, so that a 4 MiB plan is checked in milliseconds.
_TELEGRAM_HINT = re.compile(r"\d:[A-Za-z0-9_-]{30}")
_PATTERNS: tuple[tuple[re.Pattern[str], str, tuple[str, ...] | re.Pattern[str]], ...] = (
    (URL_PASSWORD, rf"\1:{MASK}@", ("://",)),
    (SECRET_PARAM, rf"\1{MASK}", ("=",)),
    (TELEGRAM_TOKEN, rf"\1:{MASK}", _TELEGRAM_HINT),
    (SLACK_TOKEN, rf"\1-{MASK}", ("xox", "xapp")),
    (SLACK_WEBHOOK, rf"\1{MASK}", ("slack",)),
    (BEARER, rf"\1{MASK}", ("earer", "EARER")),
)


def _lines(text: str, hint: tuple[str, ...] | re.Pattern[str]) -> list[tuple[int, int]]:
    """(start, end) of each line of `text` that holds the hint (a secret never spans lines)."""
    if isinstance(hint, re.Pattern):
        at = [m.start() for m in hint.finditer(text)]
    else:
        at = []
        for anchor in hint:
            i = text.find(anchor)
            while i >= 0:
                at.append(i)
                end = text.find("\n", i)
                i = -1 if end < 0 else text.find(anchor, end)
    spans = {}
    for i in at:
        start = text.rfind("\n", 0, i) + 1
        if start not in spans:
            end = text.find("\n", i)
            spans[start] = len(text) if end < 0 else end
    return sorted(spans.items())


def find_secret(text: str) -> re.Match[str] | None:
    """The first secret written in `text`, or None."""
    found = [m for pattern, _, hint in _PATTERNS for start, end in _lines(text, hint)
             if (m := pattern.search(text, start, end))]
    return min(found, key=lambda m: m.start()) if found else None


def redact(text: str) -> str:
    """`text` with every password, token or key written in it replaced by '***'."""
    for pattern, replacement, hint in _PATTERNS:
        if _lines(text, hint):
            text = pattern.sub(replacement, text)
    return text


def may_hold(text: str) -> bool:
    """False only when no value parsed from this raw YAML text can hold a secret (no pattern, no escapes)."""
    return "\\" in text or find_secret(text) is not None
