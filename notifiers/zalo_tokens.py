"""Where Zalo OA tokens refreshed during a delivery are kept: a JSON file beside the channels file (mode 0600).

A Zalo refresh token works once: each refresh returns a new access token and a new refresh token, and the old
refresh token is dead. The new pair must therefore outlive the process, or the next delivery would refresh with a
dead token. Each entry remembers a fingerprint of the refresh token written in the channels file it grew from, so
that an office that authorises the app again and writes the new refresh token into the channels file is obeyed:
an entry whose fingerprint no longer matches is ignored and replaced.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

SUFFIX = ".zalo-tokens.json"


class TokenStoreError(Exception):
    """Raised when the token file exists but cannot be read or written (it is never overwritten blindly)."""


@dataclass(frozen=True)
class Tokens:
    """The access token in use and the refresh token that replaces it."""

    access_token: str | None
    refresh_token: str


def fingerprint(refresh_token: str) -> str:
    """A short digest of the configured refresh token (the token itself is not written twice)."""
    return hashlib.sha256(refresh_token.encode()).hexdigest()[:16]


class TokenStore:
    """The token file of one channels file: `<channels file>.zalo-tokens.json`, entries keyed by app and OA."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")

    @classmethod
    def beside(cls, channels_file: Path) -> TokenStore:
        return cls(channels_file.with_name(channels_file.name + SUFFIX))

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the file's lock, so that two deliveries never spend one refresh token twice."""
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise TokenStoreError(f"không khóa được tệp token Zalo {self.path} ({type(exc).__name__})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def load(self, key: str, origin: str) -> Tokens | None:
        """The stored tokens of `key`, if they grew from the refresh token whose fingerprint is `origin`."""
        entry = self._read().get(key)
        if not isinstance(entry, dict) or entry.get("origin") != origin or not entry.get("refresh_token"):
            return None
        return Tokens(entry.get("access_token"), entry["refresh_token"])

    def save(self, key: str, origin: str, tokens: Tokens) -> None:
        """Write one entry, keeping the others; the file is replaced whole, so a crash leaves the old one."""
        data = self._read()
        data[key] = {"origin": origin, "access_token": tokens.access_token, "refresh_token": tokens.refresh_token}
        fd, tmp = tempfile.mkstemp(prefix=self.path.name, suffix=".tmp", dir=self.path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=2)
            os.replace(tmp, self.path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise TokenStoreError(f"không ghi được tệp token Zalo {self.path} ({type(exc).__name__})") from None

    def _read(self) -> dict[str, object]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise TokenStoreError(f"không đọc được tệp token Zalo {self.path} ({type(exc).__name__})") from None
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise TokenStoreError(f"tệp token Zalo {self.path} không phải là một đối tượng JSON: sửa hoặc xóa tệp")
        return data
