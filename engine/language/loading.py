"""Read plan and agency files safely: size limit, UTF-8, fast parse, positions only when needed.

Plan files are parsed twice at most. The fast path (yaml-rs, a Rust YAML 1.2 parser) builds plain Python
data with no positions; it refuses duplicate keys and alias bombs, and never constructs objects. It drops
most tags silently, though, so a file that may hold one (a `!` where a tag can start) is first run through
ruamel.yaml's event parser, which constructs nothing either, and any tag beyond the plain-data ones is refused.
Only when something is wrong do we parse again with ruamel.yaml's round-trip loader, whose nodes remember
their line and column, so that every problem points into the file that holds it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml_rs
from ruamel.yaml import YAML
from ruamel.yaml import events as _rt
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from engine.errors import Problem
from engine.language.parser_words import yaml_said
from engine.language.phrases import kind_of

DEFAULT_MAX_BYTES = 4 * 1024 * 1024
MAX_ALIAS_EVENTS = 100_000
# Plans nest about six levels deep. yaml-rs recurses per level and overflows the C stack (the process dies)
# somewhere past 10,000, so text that might nest deeper than _SAFE_NESTING is measured before it is parsed.
MAX_NESTING = 50
_SAFE_NESTING = 1_000
_AT = re.compile(r"at line (\d+), column (\d+)")
# A tag starts with '!' after a line start, a space, a flow indicator or a JSON-like key's ':'; plain text
# rarely has that, so most files skip the (slow, pure-Python) tag scan.
_TAG_HINT = re.compile(r"(?:^|[\s\[{,:])!", re.M)
# Characters YAML does not allow in a file (C0/C1 controls but tab, line breaks and NEL; non-characters).
NOT_PRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")
_CORE = "tag:yaml.org,2002:"
# Tags that only say which plain type a value has ('!!str 12'); '!' is YAML's "non-specific" tag.
PLAIN_TAGS = frozenset({"!", *(_CORE + t for t in ("str", "int", "float", "bool", "null", "map", "seq"))})


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
    _nodes: Any = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return display_path(self.path)

    def tree(self) -> Any:
        """The round-trip tree (with positions), parsed once, only when a position is asked for."""
        if self._tree is None:
            self._tree = {}
            # ruamel refuses a tab inside a plain value, which the fast parser accepts: retry with tabs
            # replaced by spaces, which keeps every line and column where it was.
            for text in (self.text, self.text.replace("\t", " ")):
                try:
                    self._tree = YAML(typ="rt").load(text)
                    break
                except Exception:  # noqa: BLE001 - positions are best effort; the problems are already known
                    continue
        return self._tree

    def nodes(self) -> Any:
        """The composed node tree from libyaml (PyYAML's C parser): positions ~9x faster than ruamel.

        Composing builds nodes only - no tag is resolved into an object. False when it cannot compose the text
        (PyYAML reads YAML 1.1, the fast parser 1.2); `position` then asks ruamel.
        """
        if self._nodes is None:
            self._nodes = False
            try:
                import yaml

                loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
                for text in (self.text, self.text.replace("\t", " ")):
                    try:
                        self._nodes = yaml.compose(text, Loader=loader) or False
                        break
                    except yaml.YAMLError:
                        continue
            except ImportError:
                pass
        return self._nodes

    def position(self, loc: tuple[Any, ...], at_key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the value at `loc` (of its key with `at_key`), or of its nearest ancestor."""
        root = self.nodes()
        if root is not False:
            return _node_position(root, loc, at_key)
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


def _node_position(root: Any, loc: tuple[Any, ...], at_key: bool) -> tuple[int, int]:
    """Walk composed nodes along `loc` (the last duplicate key wins, as in the data)."""
    node, mark = root, root.start_mark
    for i, seg in enumerate(loc):
        last = i == len(loc) - 1
        if node.id == "mapping":
            pair = next((p for p in reversed(node.value) if p[0].id == "scalar" and _same_key(p[0].value, seg)), None)
            if pair is None:
                break
            mark = pair[0].start_mark if (last and at_key) else pair[1].start_mark
            node = pair[1]
        elif node.id == "sequence" and isinstance(seg, int) and 0 <= seg < len(node.value):
            node = node.value[seg]
            mark = node.start_mark
        else:
            break
    return mark.line + 1, mark.column + 1


def _same_key(text: str, seg: Any) -> bool:
    if isinstance(seg, bool):
        return text.lower() == str(seg).lower()
    return text == str(seg) or (seg is None and text in ("", "~", "null"))


def display_path(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


try:  # libyaml's C parser: events ~20x faster than ruamel's pure-Python one (2 s, not 47 s, for 4 MiB)
    import yaml as _pyyaml
    from yaml import events as _c

    _C_PARSER: Any = getattr(_pyyaml, "CSafeLoader", None)
except ImportError:  # pragma: no cover - PyYAML comes with Prefect and Apprise
    _pyyaml = _c = _C_PARSER = None

_EVENT_MODULES = [m for m in (_rt, _c) if m is not None]


def _either(name: str) -> tuple[type, ...]:
    return tuple(getattr(m, name) for m in _EVENT_MODULES)


ALIAS, NODE, DOCUMENT_START = _either("AliasEvent"), _either("NodeEvent"), _either("DocumentStartEvent")
COLLECTION_START, COLLECTION_END = _either("CollectionStartEvent"), _either("CollectionEndEvent")
MAPPING_START, SCALAR = _either("MappingStartEvent"), _either("ScalarEvent")


def events(text: str) -> Iterator[Any]:
    """The parse events of a text (no nodes, nothing constructed), from libyaml's C parser.

    Where libyaml (YAML 1.1) refuses what ruamel (YAML 1.2) reads, the rest comes from ruamel, which replays the
    events already given. A syntax error ends the events (ruamel's MarkedYAMLError is not raised).
    """
    given = 0
    if _C_PARSER is not None:
        try:
            for event in _pyyaml.parse(text, Loader=_C_PARSER):
                given += 1
                yield event
            return
        except _pyyaml.YAMLError:
            pass
    try:
        for i, event in enumerate(YAML().parse(text)):
            if i >= given:
                yield event
    except MarkedYAMLError:
        return


def read_source(path: Path) -> tuple[Source | None, list[Problem]]:
    """Read and parse one YAML file. Returns the source (None if unusable) and the problems found."""
    name = display_path(path)
    limit = max_plan_bytes()
    try:
        size = path.stat().st_size
        if size <= limit:
            with path.open("rb") as f:  # never more than the limit, even if the file grows meanwhile
                raw = f.read(limit + 1)
            size = len(raw)
    except OSError as exc:
        return None, [Problem(name, 1, 1, "", f"không đọc được tệp: {_unreadable(exc)}")]
    if size > limit:
        return None, [Problem(name, 1, 1, "", f"tệp có {size} byte, quá giới hạn {limit} byte "
                              "(KEHOACH_MAX_PLAN_BYTES) - tách kế hoạch thành nhiều tệp hoặc nâng giới hạn")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        # Everything before the bad byte decoded, so count characters there, not bytes.
        column = len(raw[raw.rfind(b"\n", 0, exc.start) + 1 : exc.start].decode("utf-8")) + 1
        return None, [Problem(name, line, column, "", f"tệp không được lưu bằng bảng mã UTF-8: không đọc được byte "
                              f"0x{raw[exc.start]:02x} - lưu lại tệp với bảng mã UTF-8 (chữ tiếng Việt cần bảng mã "
                              "này)")]
    text = text.removeprefix("\ufeff")
    source = Source(path, text)
    if problems := control_problems(source) or tag_problems(source):
        return None, problems
    block_bound = nesting_bound(text)
    if block_bound > _SAFE_NESTING and (problem := nesting_problem(source)):
        return None, [problem]
    try:
        source.data = yaml_rs.loads(
            text, alias_limits=yaml_rs.AliasLimits(max_total_replayed_events=MAX_ALIAS_EVENTS)
        )
    except yaml_rs.YAMLDecodeError as exc:
        return None, [_syntax_problem(source, str(exc))]
    # Aliases can nest deeper than the text does; without an anchor the text's bounds hold and the walk is spared.
    may_be_deep = _ANCHOR.search(text) or block_bound + flow_bound(text) > MAX_NESTING
    if may_be_deep and data_depth(source.data) > MAX_NESTING:
        return None, [nesting_problem(source) or Problem(name, 1, 1, "", _too_deep())]
    if source.data is None:
        return None, [Problem(name, 1, 1, "", "tệp trống: kế hoạch cần ít nhất 'plan' và 'steps'")]
    if not isinstance(source.data, dict):
        return None, [_not_a_mapping(source)]
    return source, []


_ANCHOR = re.compile(r"(?:^|[\s\[{,])&\S", re.MULTILINE)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def flow_bound(text: str) -> int:
    """An upper bound of how deep flow collections ('[', '{') nest (brackets inside strings count too)."""
    depth = deepest = 0
    for ch in _NOT_BRACKET.sub("", text):
        depth = depth + 1 if ch in "[{" else max(depth - 1, 0)
        deepest = max(deepest, depth)
    return deepest


def nesting_bound(text: str) -> int:
    """A cheap upper bound of how deep the block collections of a text nest.

    Every block collection a line sits in started at a smaller column (a list under a key may share the key's
    column, hence the factor 2), and every one that starts on the line needs a '-', '?' or ':'. Flow
    collections ('[', '{') are limited by the parser itself.
    """
    bound = 0
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip(" "))
        bound = max(bound, 2 * (indent + 1) + line.count("-") + line.count("?") + line.count(":"))
    return bound


def data_depth(data: Any) -> int:
    """How deep parsed data nests (iteratively: the data may be deep)."""
    deepest, stack = 0, [(data, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, depth + 1)
            if deepest > MAX_NESTING:
                break
            stack += [(child, depth + 1) for child in (node.values() if isinstance(node, dict) else node)]
    return deepest


def _too_deep() -> str:
    return (f"tệp lồng nhau quá {MAX_NESTING} cấp: kế hoạch chỉ cần vài cấp (steps, một bước, timing của bước...) "
            "- đây không phải tệp kế hoạch")


def nesting_problem(source: Source) -> Problem | None:
    """The first collection nested more than MAX_NESTING deep, located (event parser: no recursion, no objects)."""
    depth = 0
    for event in events(source.text):  # a syntax error ends the events: the fast parser reports it
        if isinstance(event, COLLECTION_START):
            depth += 1
            if depth > MAX_NESTING:
                mark = event.start_mark
                return Problem(source.name, mark.line + 1, mark.column + 1, "", _too_deep())
        elif isinstance(event, COLLECTION_END):
            depth -= 1
    return None


def control_problems(source: Source, limit: int = 20) -> list[Problem]:
    """Control characters (often pasted from a word processor) are not YAML: each one is located."""
    problems = []
    for m in NOT_PRINTABLE.finditer(source.text):
        line, column = _line_col(source.text, m.start())
        problems.append(Problem(source.name, line, column, "", f"ký tự điều khiển U+{ord(m.group()):04X} không "
                                "được có trong tệp YAML (thường sót lại khi sao chép, dán) - xóa ký tự này"))
        if len(problems) == limit:
            break
    return problems


_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "v": "\v", "f": "\f", "e": "\x1b"}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}


def escape_position(text: str, line: int, column: int) -> tuple[int, int]:
    """Where, in the double-quoted text starting at (line, column), the first escape making a control character
    is written; (line, column) itself when there is none to be found."""
    lines = text.splitlines(keepends=True)
    offset = sum(len(s) for s in lines[: line - 1]) + column - 1
    if not text.startswith('"', offset):
        return line, column
    i = offset + 1
    while i < len(text) and text[i] != '"':
        if text[i] == "\\" and i + 1 < len(text):
            code = text[i + 1]
            size = _HEX_ESCAPES.get(code, 0)
            char = _ESCAPES.get(code)
            if size:
                try:
                    char = chr(int(text[i + 2 : i + 2 + size], 16))
                except ValueError:
                    char = None
            if char is not None and NOT_PRINTABLE.match(char):
                return _line_col(text, i)
            i += 2 + size
        else:
            i += 1
    return line, column


def tag_problems(source: Source) -> list[Problem]:
    """Every tag other than the plain-data ones (`!!str`, `!!int`...), located; nothing is constructed."""
    if not _TAG_HINT.search(source.text):
        return []
    problems = []
    for event in events(source.text):  # a syntax error ends the events: the fast parser reports it
        if isinstance(event, NODE) and getattr(event, "tag", None) and str(event.tag) not in PLAIN_TAGS:
            tag = str(event.tag)
            shown = "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag
            mark = event.start_mark
            problems.append(Problem(source.name, mark.line + 1, mark.column + 1, "", _tag_refused(shown)))
    return problems


def _tag_refused(tag: str) -> str:
    return (f"không được dùng thẻ YAML '{tag}': tệp kế hoạch chỉ chứa dữ liệu (bảng, danh sách, chữ, số, ngày) - "
            "xóa thẻ này")


# Why a file cannot be read, for what people meet; the system's own words otherwise.
_UNREADABLE = ((PermissionError, "không có quyền đọc tệp này"), (FileNotFoundError, "tệp không còn ở đó"),
               (IsADirectoryError, "đây là thư mục, không phải tệp"))


def _unreadable(exc: OSError) -> str:
    return next((words for kind, words in _UNREADABLE if isinstance(exc, kind)),
                f"lỗi hệ thống ({exc.strerror or exc})")


def _not_a_mapping(source: Source) -> Problem:
    """The top level is a list or a single value: say which, and spot several documents in one file."""
    data = source.data
    if isinstance(data, list):
        starts = _document_starts(source.text)
        if len(starts) > 1:
            line, column = starts[1]
            return Problem(source.name, line, column, "", f"tệp có {len(starts)} tài liệu YAML (ngăn cách bằng "
                           "'---'): mỗi tệp kế hoạch chỉ có một - tách mỗi kế hoạch ra một tệp riêng")
        kind = kind_of(data)
    else:
        # Never the value itself: an included file may not be the user's (its errors would print its content).
        kind = f"một giá trị đơn ({kind_of(data)})"
    return Problem(source.name, 1, 1, "", f"cấp ngoài cùng của tệp phải là một bảng các khóa (plan:, units:, "
                   f"steps:), không phải {kind}")


def _document_starts(text: str) -> list[tuple[int, int]]:
    """1-based (line, column) where each document starts (event parser only; nothing is built)."""
    return [(e.start_mark.line + 1, e.start_mark.column + 1) for e in events(text) if isinstance(e, DOCUMENT_START)]


def _tab_position(text: str, line: int) -> tuple[int, int] | None:
    """The first tab on or after a line: the parser points near it (past it, or at the end of the line before)."""
    lines = text.splitlines()
    for number in range(max(line, 1), len(lines) + 1):
        if "\t" in lines[number - 1]:
            return number, lines[number - 1].index("\t") + 1
    return None


def alias_bomb(text: str, limit: int = MAX_ALIAS_EVENTS) -> tuple[int, int] | None:
    """1-based (line, column) of the alias at which the text, its aliases expanded, passes `limit` nodes; None
    when it stays below (a "billion laughs" bomb is 1 KB of text and billions of nodes once expanded).

    Counted on parse events, whatever reads the text afterwards (Apprise reads channels files with PyYAML).
    """
    if not _ANCHOR.search(text):
        return None
    sizes: dict[str, int] = {}
    stack: list[list[Any]] = []  # each open collection: [its anchor, nodes in it so far]
    for event in events(text):
        if isinstance(event, COLLECTION_START):
            stack.append([getattr(event, "anchor", None), 1])
            continue
        if isinstance(event, COLLECTION_END):
            anchor, size = stack.pop()
            if anchor:
                sizes[str(anchor)] = size
        elif isinstance(event, ALIAS):
            size = sizes.get(str(event.anchor), 1)
        elif isinstance(event, SCALAR):
            size = 1
            if getattr(event, "anchor", None):
                sizes[str(event.anchor)] = 1
        else:
            continue
        if stack:
            stack[-1][1] += size
        if size > limit or (stack and stack[-1][1] > limit):
            return event.start_mark.line + 1, event.start_mark.column + 1
    return None


def _first_alias(text: str) -> tuple[int, int]:
    """1-based (line, column) of the first alias ('*name'); aliases are not expanded by the event parser."""
    event = next((e for e in events(text) if isinstance(e, ALIAS)), None)
    return (event.start_mark.line + 1, event.start_mark.column + 1) if event is not None else (1, 1)


def _syntax_problem(source: Source, message: str) -> Problem:
    """Turn a fast-parser error into a located, readable problem."""
    lines = [ln for ln in message.splitlines() if ln.strip()]
    reason = lines[-1].strip() if lines else message
    if m := _AT.search(message):
        line, column = int(m.group(1)), int(m.group(2))
        if "tab" in reason:
            line, column = _tab_position(source.text, line) or (line, column)
        return Problem(source.name, line, column, "", f"lỗi cú pháp YAML: {yaml_said(reason)}")
    if reason.startswith("Invalid tag"):
        tag = reason.split(":", 1)[1].strip().strip("'")
        offset = max(source.text.find(tag), 0)
        line, column = _line_col(source.text, offset)
        return Problem(source.name, line, column, "", _tag_refused(tag))
    if "alias" in reason and "limit" in reason:  # the parser's counters say nothing to the person writing the plan
        line, column = _first_alias(source.text)
        return Problem(source.name, line, column, "", "bí danh YAML ('*tên') làm dữ liệu phình ra quá lớn: tệp bị "
                       "từ chối để bảo vệ máy chủ - ghi thẳng các giá trị, hoặc dùng tệp cơ quan (include:)")
    if reason.startswith("duplicate mapping key"):
        key = reason.split(":", 1)[1].strip()
        found = _duplicate_key(source.text, key)
        if found is not None:
            (first_line, _), (line, column) = found
            return Problem(source.name, line, column, "", f"lỗi YAML: khóa {key} bị ghi lặp (đã có ở dòng "
                           f"{first_line}) - mỗi khóa chỉ được ghi một lần")
        return Problem(source.name, 1, 1, "", f"lỗi YAML: khóa {key} bị ghi lặp - mỗi khóa chỉ được ghi một lần")
    return Problem(source.name, 1, 1, "", f"lỗi YAML: {yaml_said(reason)}")


def _duplicate_key(text: str, key: str) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Where a key the fast parser found twice in one mapping is first written and written again (1-based).

    One pass over the parse events, keeping the keys of each open mapping: the round-trip parser would take 47 s
    on a 4 MiB plan.
    """
    wanted = key[1:-1] if len(key) > 1 and key[0] == key[-1] == "'" else key
    # Each open collection: None for a list; for a mapping, its keys so far and whether a key comes next.
    stack: list[list[Any] | None] = []

    def filled() -> None:  # a node took the place of a key or a value of the mapping it is in
        if stack and stack[-1] is not None:
            stack[-1][1] = not stack[-1][1]

    for event in events(text):
        if isinstance(event, COLLECTION_START):
            stack.append([{}, True] if isinstance(event, MAPPING_START) else None)
        elif isinstance(event, COLLECTION_END):
            stack.pop()
            filled()
        elif isinstance(event, (*SCALAR, *ALIAS)):
            top = stack[-1] if stack else None
            if top is not None and top[1] and isinstance(event, SCALAR):
                mark = (event.start_mark.line + 1, event.start_mark.column + 1)
                if event.value in top[0] and event.value == wanted:
                    return top[0][event.value], mark
                top[0].setdefault(event.value, mark)
            filled()
    return None
