"""Read plan and agency files safely: size limit, UTF-8, fast parse, positions only when needed.

Plan files are parsed twice at most. The fast path (yaml-rs, a Rust YAML 1.2 parser) builds plain Python
data with no positions; it refuses tags such as `!!python/object`, duplicate keys and alias bombs. Only when
something is wrong do we parse again with ruamel.yaml's round-trip loader, whose nodes remember their
line and column, so that every problem points into the file that holds it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml_rs
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from engine.errors import Problem

DEFAULT_MAX_BYTES = 4 * 1024 * 1024
MAX_ALIAS_EVENTS = 100_000
_AT = re.compile(r"at line (\d+), column (\d+)")


def max_plan_bytes() -> int:
    """The size limit for one plan or agency file (KEHOACH_MAX_PLAN_BYTES, default 4 MiB)."""
    try:
        return int(os.environ.get("KEHOACH_MAX_PLAN_BYTES", DEFAULT_MAX_BYTES))
    except ValueError:
        return DEFAULT_MAX_BYTES


@dataclass
class Source:
    """One YAML file's text and data; finds the line and column of a path inside it on demand."""

    path: Path
    text: str
    data: Any = None
    _tree: Any = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return display_path(self.path)

    def tree(self) -> Any:
        """The round-trip tree (with positions), parsed once, only when a position is asked for."""
        if self._tree is None:
            try:
                self._tree = YAML(typ="rt").load(self.text)
            except Exception:  # the fast parser accepted it; positions are best effort
                self._tree = {}
        return self._tree

    def position(self, loc: tuple[Any, ...], at_key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the value at `loc` (of its key with `at_key`), or of its nearest ancestor."""
        node = self.tree()
        pos = (0, 0)
        for i, seg in enumerate(loc):
            last = i == len(loc) - 1
            if isinstance(node, CommentedMap) and seg in node:
                try:
                    pos = node.lc.key(seg) if (last and at_key) else node.lc.value(seg)
                except (KeyError, TypeError):
                    break
                node = node[seg]
            elif isinstance(node, CommentedSeq) and isinstance(seg, int) and 0 <= seg < len(node):
                pos = node.lc.item(seg)
                node = node[seg]
            else:
                break
        return pos[0] + 1, pos[1] + 1

    def problem(self, loc: tuple[Any, ...], path: str, message: str, at_key: bool = False) -> Problem:
        line, column = self.position(loc, at_key)
        return Problem(self.name, line, column, path, message)


def display_path(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def read_source(path: Path) -> tuple[Source | None, list[Problem]]:
    """Read and parse one YAML file. Returns the source (None if unusable) and the problems found."""
    name = display_path(path)
    limit = max_plan_bytes()
    size = path.stat().st_size
    if size > limit:
        return None, [Problem(name, 1, 1, "", f"file is {size} bytes, over the limit of {limit} bytes "
                              "(KEHOACH_MAX_PLAN_BYTES) - split the plan or raise the limit")]
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [Problem(name, line, column, "", f"not UTF-8: byte 0x{raw[exc.start]:02x} cannot be decoded - "
                              "save the file as UTF-8 (Vietnamese text needs it)")]
    text = text.removeprefix("\ufeff")
    source = Source(path, text)
    try:
        source.data = yaml_rs.loads(
            text, alias_limits=yaml_rs.AliasLimits(max_total_replayed_events=MAX_ALIAS_EVENTS)
        )
    except yaml_rs.YAMLDecodeError as exc:
        return None, [_syntax_problem(source, str(exc))]
    if source.data is None:
        return None, [Problem(name, 1, 1, "", "file is empty: a plan needs at least 'plan' and 'steps'")]
    if not isinstance(source.data, dict):
        kind = "a list" if isinstance(source.data, list) else f"a single value ({source.data!r:.40})"
        return None, [Problem(name, 1, 1, "", f"the top level must be a mapping of keys (plan:, units:, steps:), got {kind}")]
    return source, []


def _syntax_problem(source: Source, message: str) -> Problem:
    """Turn a fast-parser error into a located, readable problem."""
    lines = [ln for ln in message.splitlines() if ln.strip()]
    reason = lines[-1].strip() if lines else message
    if m := _AT.search(message):
        line, column = int(m.group(1)), int(m.group(2))
        if "tab" in reason:
            reason += " - indent with spaces, not tabs"
        return Problem(source.name, line, column, "", f"YAML syntax error: {reason}")
    if reason.startswith("Invalid tag"):
        tag = reason.split(":", 1)[1].strip().strip("'")
        offset = max(source.text.find(tag), 0)
        line, column = _line_col(source.text, offset)
        return Problem(source.name, line, column, "", f"tag '{tag}' is not allowed: plan files hold plain data only "
                       "(mappings, lists, text, numbers, dates); nothing is constructed from tags")
    if "alias" in reason and "limit" in reason:
        offset = max(source.text.find("*"), 0)
        line, column = _line_col(source.text, offset)
        return Problem(source.name, line, column, "", f"too many alias expansions ({reason}) - a YAML "
                       "'billion laughs' bomb is rejected; write the values out or use an agency file")
    # Positions the fast parser did not give (duplicate keys): ask the round-trip parser.
    try:
        YAML(typ="rt").load(source.text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if "duplicate key" in str(exc) and exc.problem_mark is not None:
            first = exc.context_mark.line + 1 if exc.context_mark else "?"
            key = reason.split(":", 1)[1].strip() if ":" in reason else "?"
            reason = f"duplicate key {key} (first defined on line {first}) - each key may appear once"
        if mark is not None:
            return Problem(source.name, mark.line + 1, mark.column + 1, "", f"YAML error: {reason}")
    except Exception:  # noqa: BLE001 - the fast parser's message is still worth giving
        pass
    return Problem(source.name, 1, 1, "", f"YAML error: {reason}")
