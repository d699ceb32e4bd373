"""A mistake in a command line, said in Vietnamese on one line.

click (inside typer) words its usage errors in English over four lines: the usage, a pointer to --help, a blank
line, `Error: No such option: --bi (Possible options: --by, --db, --unit)`. An official who mistypes a flag of
the command a notice gave them must read what to fix, in Vietnamese: `kehoach confirm: không có tùy chọn --bi -
ý bạn là '--by'? (xem kehoach confirm --help)`. The error's kind and fields say what went wrong; the few messages
click builds as text (a bad value, an unknown command) are read by their known wording, and any other is kept
after a Vietnamese lead.
"""

from __future__ import annotations

import re
from difflib import get_close_matches
from typing import Any


_GLOSS = re.compile(r"\s*\([A-Za-z][A-Za-z ,-]*\)$")  # a help text's English gloss: "Mã bước (step id)."

# click's wording of a value it refuses, and how it is said (typer words some through pydantic: "Input should be").
_VALUES = [
    (re.compile(r"^(?:Value error, )?'(?P<v>.*)' is not one of (?P<c>.+?)\.?$"),
     "'{v}' không phải một trong {c}"),
    (re.compile(r"^Input should be greater than or equal to (?P<n>\S+)$"), "phải lớn hơn hoặc bằng {n}"),
    (re.compile(r"^Input should be less than or equal to (?P<n>\S+)$"), "phải nhỏ hơn hoặc bằng {n}"),
    (re.compile(r"^Input should be a valid integer.*$"), "phải là một số nguyên"),
    (re.compile(r"^'(?P<v>.*)' is not a valid (?:integer|int)(?: range)?\.?$"), "'{v}' không phải là số nguyên"),
    (re.compile(r"^(?P<v>\S+) is not in the range (?P<r>.+?)\.?$"), "{v} nằm ngoài khoảng {r}"),
]
_COMMAND = re.compile(r"^No such command '(?P<x>.+?)'\.(?: Did you mean '(?P<y>.+?)'\?)?$")
_EXTRA = re.compile(r"^Got unexpected extra argument(?:s|\(s\))? \((?P<x>.*)\)$")
_OPTION_VALUE = re.compile(r"^Option '(?P<o>.+?)' requires (?:an argument|(?P<n>\d+) arguments)\.$")
_NO_VALUE = re.compile(r"^Option '(?P<o>.+?)' does not take a value\.$")


def usage_line(exc: Any, args: list[str]) -> str:
    """One line for a click usage error: the command, what is wrong, where to read more. `args`: the command
    line (after `kehoach`), for the errors click raises before it knows the command (an option missing its
    value), and to show how a value with spaces is written."""
    ctx = getattr(exc, "ctx", None)
    command = args[0] if args and not args[0].startswith("-") else None
    path = ctx.command_path if ctx is not None else " ".join(filter(None, ("kehoach", command)))
    return f"{path}: {_what(exc, ctx, args)} (xem {path} --help)"


def _what(exc: Any, ctx: Any, args: list[str]) -> str:
    kind = type(exc).__name__
    message = str(getattr(exc, "message", "") or "").strip()
    if kind == "NoSuchOption":
        said = f"không có tùy chọn {exc.option_name}"
        known = [o for p in getattr(ctx.command, "params", ()) for o in p.opts] if ctx is not None else []
        closest = _closest(exc.option_name, known or list(getattr(exc, "possibilities", None) or ()))
        return f"{said} - ý bạn là '{closest}'?" if closest else said
    if kind == "MissingParameter":
        return "thiếu " + _param(getattr(exc, "param", None), getattr(exc, "param_hint", None))
    if kind == "BadParameter":
        param = _param(getattr(exc, "param", None), getattr(exc, "param_hint", None), described=False)
        return f"giá trị của {param} không hợp lệ: {_value(message)}"
    if match := _OPTION_VALUE.match(message):
        return f"tùy chọn {match['o']} cần {match['n'] or 'một'} giá trị đi sau"
    if match := _NO_VALUE.match(message):
        return f"tùy chọn {match['o']} không nhận giá trị"
    if match := _COMMAND.match(message):
        return f"không có lệnh '{match['x']}'" + (f" - ý bạn là '{match['y']}'?" if match["y"] else "")
    if match := _EXTRA.match(message):
        return f"thừa đối số: {match['x']}" + _quoted(args, match["x"].split())
    return f"lệnh viết chưa đúng: {message}"


def _param(param: Any, hint: Any, described: bool = True) -> str:
    """An option by its flags (and what it is for), an argument by what it is (its help, without the gloss)."""
    if param is None:
        return " / ".join(hint) if isinstance(hint, (list, tuple)) else str(hint or "một tham số")
    help_ = _GLOSS.sub("", (getattr(param, "help", None) or "").strip().rstrip(".")).strip()
    if getattr(param, "param_type_name", "") == "argument":
        return help_[:1].lower() + help_[1:] if help_ else str(param.name)
    flags = " / ".join(param.opts)
    return f"tùy chọn {flags}: {help_[:1].lower() + help_[1:]}" if described and help_ else flags


def _value(message: str) -> str:
    for pattern, said in _VALUES:
        if match := pattern.match(message):
            return said.format(**match.groupdict())
    return message


def _closest(typed: str, options: list[str]) -> str | None:
    """The option meant: of the close ones, one starting with the same letter first ('--bi': '--by', not '--db')."""
    close = get_close_matches(typed, options, n=5, cutoff=0.6)
    first = [o for o in close if o.lstrip("-")[:1] == typed.lstrip("-")[:1]]
    return (first or close or [None])[0]


def _quoted(args: list[str], extra: list[str]) -> str:
    """How the value was meant, when the extra words follow an option's value: a name or a result with spaces
    typed without quotes (`--by Nguyễn Văn A`)."""
    for i in range(2, len(args)):
        if extra and args[i] == extra[0] and args[i - 2].startswith("-") and not args[i - 1].startswith("-"):
            words = [args[i - 1]]
            for word in args[i:]:
                if word.startswith("-"):
                    break
                words.append(word)
            return f' - giá trị có dấu cách phải đặt trong ngoặc kép: {args[i - 2]} "{" ".join(words)}"'
    return ""
