"""The channels file: Apprise's own configuration (YAML or TEXT) mapping notification tags to service URLs.

Plans only name tags; this file, kept outside the plans, says where each tag goes. Its path comes from
`--channels FILE` or KEHOACH_CHANNELS. Secrets may be written in it or referenced by name (see notifiers/expand.py).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from engine.errors import KehoachError
from engine.language.loading import MAX_ALIAS_EVENTS, alias_bomb, max_plan_bytes
from notifiers import masking
from notifiers.expand import Resolver, expand_text_format, expand_yaml_format

ENV_CHANNELS = "KEHOACH_CHANNELS"
ENV_MIN_INTERVAL = "KEHOACH_NOTIFY_MIN_INTERVAL"
YAML_SUFFIXES = (".yaml", ".yml")


class ChannelsError(KehoachError):
    """Raised when the channels file cannot be used: missing, unreadable, an unset secret, or no valid entry."""


@dataclass(eq=False)
class Service:
    """One Apprise service of the channels file, with the tags that reach it."""

    key: str  # stable id of the address, to remember which services of a tag already have a notice
    name: str  # "E-Mail", "Telegram", "JSON"...
    display: str  # the address with every credential masked
    tags: frozenset[str]
    plugin: Any = field(repr=False)
    _apprise: Any = field(default=None, repr=False)

    def apprise(self) -> Any:
        """An Apprise object holding just this service (so each service succeeds or fails on its own)."""
        if self._apprise is None:
            import apprise

            self._apprise = apprise.Apprise()
            self._apprise.add(self.plugin)
        return self._apprise


@dataclass(eq=False)
class Channels:
    """A loaded channels file."""

    path: Path
    services: list[Service]
    warnings: list[str] = field(default_factory=list)  # entries Apprise could not load (masked)
    secrets: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        return str(self.path)

    def tags(self) -> dict[str, list[Service]]:
        """Every tag and its services, sorted by tag."""
        out: dict[str, list[Service]] = {}
        for s in self.services:
            for t in s.tags:
                out.setdefault(t, []).append(s)
        return dict(sorted(out.items()))

    def for_tag(self, tag: str) -> list[Service]:
        """The services a tag reaches (tags are compared without case, as Apprise does)."""
        t = tag.lower()
        return [s for s in self.services if t in s.tags]

    def mask(self, text: str) -> str:
        return masking.mask(text, self.secrets)


def channels_path(option: str | Path | None = None) -> Path | None:
    """The channels file: the option, else KEHOACH_CHANNELS, else None (notices wait in the outbox)."""
    value = option or os.environ.get(ENV_CHANNELS)
    return Path(value) if value else None


def load_channels(path: str | Path, resolvers: dict[str, Resolver] | None = None,
                  min_interval: float | None = None) -> Channels:
    """Read a channels file and build its services.

    Args:
        path: an Apprise configuration file; `.yaml`/`.yml` is Apprise YAML, anything else Apprise TEXT.
        resolvers: lookups for `${...}` references (tests; defaults: environment and Prefect Secret blocks).
        min_interval: seconds between two sends through one service; None keeps Apprise's own pacing
            (5.5 s for e-mail, none for webhooks) unless KEHOACH_NOTIFY_MIN_INTERVAL says otherwise.

    Raises:
        ChannelsError: the file is missing or unreadable, a referenced secret has no value, or no entry loads.
    """
    path = Path(path)
    if not path.is_file():
        raise ChannelsError(f"không có tệp kênh {path}")
    raw = _read(path)
    fmt = "yaml" if path.suffix.lower() in YAML_SUFFIXES else "text"
    if fmt == "yaml" and (at := alias_bomb(raw)) is not None:
        raise ChannelsError(f"{path}:{at[0]}:{at[1]}: quá nhiều alias (hơn {MAX_ALIAS_EVENTS:,} giá trị khi trải "
                            "ra) - tệp kiểu 'billion laughs' bị từ chối; viết thẳng từng mục")
    try:
        expansion = (expand_yaml_format if fmt == "yaml" else expand_text_format)(raw, resolvers)
    except Exception as exc:  # noqa: BLE001 - a YAML syntax error: Apprise would only say "invalid"
        # Only the position and the reason: PyYAML's excerpt of the line could show a password.
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        raise ChannelsError(f"{where}: YAML không hợp lệ ({getattr(exc, 'problem', None) or type(exc).__name__})") from None
    if expansion.problems:
        raise ChannelsError("\n".join(f"{path}:{line}:{col}: {msg}" for line, col, msg in expansion.problems))
    masking.register(expansion.secrets)

    import apprise

    from notifiers import zalo

    zalo.register()
    with masking.apprise_quiet(expansion.secrets) as warnings:
        config = apprise.AppriseConfig()
        config.add_config(expansion.text, format=fmt)
        plugins = config.services()
    services, secrets = [], set(expansion.secrets)
    tokens = zalo.TokenStore.beside(path)
    for plugin in plugins:
        if isinstance(plugin, zalo.NotifyZalo):
            plugin.token_store = tokens  # refreshed Zalo tokens are kept beside this file
        full, private = plugin.url(), plugin.url(privacy=True)
        secrets |= masking.url_secrets(full, private)
        services.append(Service(
            key=hashlib.sha256(full.encode()).hexdigest()[:16],
            name=str(plugin.service_name),
            display=_display(private),
            tags=frozenset(str(t).lower() for t in plugin.tags),
            plugin=plugin,
        ))
    masking.register(secrets)
    warnings = [masking.mask(w, secrets) for w in warnings]
    if not services:
        detail = "; ".join(warnings) or "tệp không có địa chỉ dịch vụ nào"
        raise ChannelsError(f"{path}: không nạp được dịch vụ thông báo nào ({detail})")
    interval = min_interval if min_interval is not None else _env_interval()
    if interval is not None:
        for s in services:
            s.plugin.request_rate_per_sec = interval
    return Channels(path, services, warnings, frozenset(secrets))


def _read(path: Path) -> str:
    """The file's text, never more than the size limit of plan files (KEHOACH_MAX_PLAN_BYTES)."""
    limit = max_plan_bytes()
    try:
        with path.open("rb") as f:
            raw = f.read(limit + 1)
        if len(raw) > limit:
            raise ChannelsError(f"{path}: tệp kênh lớn hơn {limit} byte (KEHOACH_MAX_PLAN_BYTES) - tệp kênh chỉ "
                                "gồm vài địa chỉ")
        return raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ChannelsError(f"không đọc được tệp kênh {path} ({type(exc).__name__})") from None


def _env_interval() -> float | None:
    value = os.environ.get(ENV_MIN_INTERVAL)
    try:
        return float(value) if value else None
    except ValueError:
        raise ChannelsError(f"{ENV_MIN_INTERVAL}={value!r} không phải là số giây") from None


def _display(private_url: str) -> str:
    """The masked address without Apprise's default options, readable (e.g. mailtos://user:****@host/a@b.vn)."""
    parts = urlsplit(private_url)
    shown = f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")
    return masking.mask(unquote(shown))
