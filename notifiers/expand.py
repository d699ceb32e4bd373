"""Secrets referenced by name in a channels file: `${NAME}` (an environment variable), `${secret:name}` (a Prefect
Secret block). `$${` writes a literal `${`.

Inside a URL a value is percent-encoded, so a password holding '@' or '/' cannot break the address; anywhere else
(a YAML option such as `pass: ${SMTP_PASSWORD}`) it is used as it is.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import quote

PLACEHOLDER = re.compile(r"\$(\$)?\{(?:(secret):)?([A-Za-z_][A-Za-z0-9_.-]*)\}")

Resolver = Callable[[str], str | None]


def from_environment(name: str) -> str | None:
    return os.environ.get(name)


def from_prefect_secret(name: str) -> str | None:
    """The value of a Prefect Secret block (needs a reachable Prefect API, or starts the embedded server)."""
    from prefect.blocks.system import Secret

    from flows.embedded import tie_embedded_server, uses_embedded_server

    if uses_embedded_server():
        tie_embedded_server()

    value = Secret.load(name).get()
    return value if isinstance(value, str) else None


DEFAULT_RESOLVERS: dict[str, Resolver] = {"env": from_environment, "secret": from_prefect_secret}


@dataclass
class Expansion:
    """The expanded text, the values put in (to be masked everywhere), and the references that failed."""

    text: str
    secrets: set[str] = field(default_factory=set)
    problems: list[tuple[int, int, str]] = field(default_factory=list)  # (line, column, message)


def _line_col(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def resolve_all(text: str, resolvers: dict[str, Resolver] | None = None,
                comment: str = "#") -> tuple[dict[tuple[str, str], str], Expansion]:
    """Look up every reference once; report each one that has no value, at its line and column.

    Lines that are comments (starting with `comment` characters) are skipped: a note that shows the syntax must
    not ask for a value.
    """
    resolvers = {**DEFAULT_RESOLVERS, **(resolvers or {})}
    values: dict[tuple[str, str], str] = {}
    out = Expansion(text)
    offset = 0
    for line_text in text.split("\n"):
        start, offset = offset, offset + len(line_text) + 1
        if line_text.lstrip().startswith(tuple(comment)):
            continue
        for m in PLACEHOLDER.finditer(line_text):
            kind, name = m.group(2) or "env", m.group(3)
            if m.group(1) or (kind, name) in values:
                continue
            line, column = _line_col(text, start + m.start())
            value, reason = _lookup(resolvers[kind], name)
            if not value:
                what = f"environment variable {name} is not set" if kind == "env" else \
                    f"Prefect Secret block '{name}' could not be read{' (' + reason + ')' if reason else ''}"
                out.problems.append((line, column, f"{m.group(0)}: {what}"))
                continue
            values[(kind, name)] = value
            out.secrets.add(value)
    return values, out


def _lookup(resolve: Resolver, name: str) -> tuple[str | None, str]:
    try:
        return resolve(name), ""
    except Exception as exc:  # noqa: BLE001 - a missing block or an unreachable API is the user's to fix
        return None, f"{type(exc).__name__}: {str(exc)[:200]}"


def substitute(value: str, values: dict[tuple[str, str], str], in_url: bool) -> str:
    """Replace the references in one string (percent-encoded when the string is a URL)."""
    def one(m: re.Match[str]) -> str:
        if m.group(1):
            return m.group(0)[1:]
        found = values.get((m.group(2) or "env", m.group(3)), "")
        return quote(found, safe="") if in_url else found

    return PLACEHOLDER.sub(one, value)


def expand_text_format(text: str, resolvers: dict[str, Resolver] | None = None) -> Expansion:
    """Apprise's TEXT format: every entry is a URL, so every value is percent-encoded."""
    values, out = resolve_all(text, resolvers, comment="#;")
    out.text = "\n".join(line if line.lstrip().startswith(("#", ";")) else substitute(line, values, in_url=True)
                         for line in text.split("\n"))
    return out


def expand_yaml_format(text: str, resolvers: dict[str, Resolver] | None = None) -> Expansion:
    """Apprise's YAML format: parsed, expanded string by string (URLs percent-encoded), written back."""
    import yaml

    data = yaml.safe_load(text)  # a syntax error is raised here, with its line
    values, out = resolve_all(text, resolvers)
    if out.problems or not PLACEHOLDER.search(text):
        return out

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return substitute(node, values, in_url="://" in node)
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, dict):
            return {walk(k): walk(v) for k, v in node.items()}
        return node

    out.text = yaml.safe_dump(walk(data), allow_unicode=True, sort_keys=False)
    return out
