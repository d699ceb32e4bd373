"""`kehoach --help` in Vietnamese: click's own words around our help texts (headings, the usage line, the marks
after an option's help, the kinds of values) said as an official reads them.

typer (0.29) prints a command's help through click's help formatter: `Usage: kehoach confirm [OPTIONS]
{plan_path} {step}`, `Arguments:`, `Options:`, `--by <str>  Họ tên người xác nhận.  [required]`, `--help  Show
this message and exit.` Our commands and options carry their help in Vietnamese; the formatter here says the
rest: `Cách dùng: kehoach confirm [TÙY CHỌN] {KẾ_HOẠCH} {BƯỚC}`, `Đối số:`, `Tùy chọn:`, `--by <chữ> ...
[bắt buộc]`. The commands and groups of the app are made with the classes below (engine.cli.app).
"""

from __future__ import annotations

import re
from typing import Any

from typer.core import TyperCommand, TyperGroup

_Context = TyperCommand.context_class
_Formatter: Any = _Context.formatter_class

HEADINGS = {"Options": "Tùy chọn", "Arguments": "Đối số", "Commands": "Lệnh"}
USAGE = "Cách dùng: "
# The kinds of values typer names after an option or argument (`--by <str>`), as an official reads them.
KINDS = {"str": "chữ", "int": "số", "int range": "số", "float": "số", "float range": "số", "path": "đường dẫn",
         "list[str]": "chữ...", "list[Path]": "đường dẫn...", "list[path]": "đường dẫn..."}
_KIND = re.compile(r"<([A-Za-z\[\]]+(?: range)?)>")
# The marks click adds after an option's help: `[default: table]`, `[env var: X; required]`.
_MARKS = re.compile(r"\[((?:default|env var|required|-?[\d.]+<=?x)[^\]]*)\]$")
_MARK_WORDS = (("default: ", "mặc định: "), ("env var: ", "biến môi trường: "), ("required", "bắt buộc"))
_RANGE = re.compile(r"(-?[\d.]+)<=x<=(-?[\d.]+)")  # click's range of a number: 0<=x<=64
_HELP_OPTION = {"Show this message and exit.": "Xem hướng dẫn này."}


def _kind(match: re.Match[str]) -> str:
    return f"<{KINDS.get(match[1], match[1])}>"


def _marks(match: re.Match[str]) -> str:
    text = match[1]
    for english, vietnamese in _MARK_WORDS:
        text = text.replace(english, vietnamese)
    return "[" + _RANGE.sub(r"từ \1 đến \2", text) + "]"


def said(name: str, help_text: str) -> tuple[str, str]:
    """One row of an options, arguments or commands list, in Vietnamese."""
    help_text = _HELP_OPTION.get(help_text, help_text)
    return _KIND.sub(_kind, name), _MARKS.sub(_marks, help_text)


class VietnameseHelp(_Formatter):  # type: ignore[misc, valid-type]
    """click's help formatter, saying its own words in Vietnamese."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        args = args.replace("[OPTIONS]", "[TÙY CHỌN]").replace("COMMAND [ARGS]...", "LỆNH [ĐỐI SỐ]...")
        super().write_usage(prog, args, USAGE if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        super().write_heading(HEADINGS.get(heading, heading))

    def write_dl(self, rows: Any, *args: Any, **kwargs: Any) -> None:
        super().write_dl([said(name, text) for name, text in rows], *args, **kwargs)


class VietnameseContext(_Context):  # type: ignore[misc, valid-type]
    formatter_class = VietnameseHelp


class Command(TyperCommand):
    context_class = VietnameseContext


class Group(TyperGroup):
    context_class = VietnameseContext


__all__ = ["Command", "Group", "VietnameseHelp", "said"]
