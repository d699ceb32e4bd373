"""Errors raised by the engine, and the located problem they carry for plan files."""

from __future__ import annotations

from dataclasses import dataclass, replace
from difflib import get_close_matches
from pathlib import Path
from typing import Iterable

from engine.secrets import redact


@dataclass(frozen=True, order=True)
class Problem:
    """One problem found in a plan file, with its position (1-based line and column)."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class KehoachError(Exception):
    """Base of every error the engine raises on purpose (user errors, not bugs)."""


class ReportError(KehoachError, ValueError):
    """Raised when a report or calendar cannot be drafted or written: an unknown period or step, a plan with no
    report step, a store with no records of the plan, an output path that cannot be written."""


class PlanError(KehoachError):
    """Raised when one or more plan files are invalid; carries every problem found."""

    def __init__(self, problems: Iterable[Problem]):
        # Messages quote the offending value; a value may hold a password, which must not reach a log.
        self.problems = sorted({replace(p, message=redact(p.message), path=redact(p.path)) for p in problems})
        super().__init__("\n".join(str(p) for p in self.problems))


class PlanFileNotFound(KehoachError, FileNotFoundError):
    """Raised when a plan path given on the command line does not exist (a usage error)."""

    def __init__(self, path: Path | str):
        self.path = str(path)
        super().__init__(f"không tìm thấy tệp/thư mục: {path}")

    @classmethod
    def folder(cls, path: Path | str) -> PlanFileNotFound:
        """A folder where one plan file is needed."""
        error = cls(path)
        error.args = (f"{path} là thư mục: lệnh này cần một tệp kế hoạch",)
        return error


class NoPlanFiles(PlanFileNotFound):
    """Raised when a folder given on the command line holds no plan file: a command must not succeed on nothing."""

    def __init__(self, path: Path | str):
        super().__init__(path)
        self.args = (f"không có tệp kế hoạch (*.yaml, *.yml) trong thư mục {path}",)


class StateError(KehoachError):
    """Raised when a command asks the state store for something it cannot do (wrong step, occurrence...)."""


class ServerError(KehoachError):
    """Raised when the Prefect server keeps refusing or failing a request (overloaded, stopped, misconfigured)."""


def server_failure(exc: BaseException, what: str) -> ServerError:
    """One line for a failed request to the Prefect server: what was being done, the status and the address
    (with any password masked)."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    url = str(getattr(getattr(exc, "request", None), "url", "") or "")
    said = f"trả lỗi {status}" if status else f"không trả lời ({type(exc).__name__})"
    where = f" ({redact(url)})" if url else ""
    return ServerError(f"Prefect server {said} khi {what}{where}: server quá tải hoặc đã dừng - chạy lại lệnh khi "
                       "server sẵn sàng; phần đã làm được giữ nguyên")


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """Return " - ý bạn là 'x'?" for the closest choice, or an empty string."""
    match = get_close_matches(str(value), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" - ý bạn là '{match[0]}'?" if match else ""


def accepted(choices: Iterable[str], limit: int = 12) -> str:
    """Format a list of accepted values for a message, shortened when long ("'a', 'b', ... (tổng 15)")."""
    items = sorted(str(c) for c in choices)
    shown = ", ".join(f"'{c}'" for c in items[:limit])
    if len(items) <= limit:
        return shown
    return shown + f", ... (tổng {len(items)})"
