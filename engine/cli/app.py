"""The `kehoach` entry point: the Typer app, exit codes, and error printing without tracebacks."""

from __future__ import annotations

import sys

import typer

from engine.cli.help import Command, Group
from engine.errors import KehoachError, PlanError, PlanFileNotFound

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2

app = typer.Typer(
    name="kehoach",
    help="Kehoach - chạy các Kế hoạch của cơ quan nhà nước: kiểm tra, xem lịch, chạy, nhắc hạn, báo cáo.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=Group,
)


def err(message: str) -> None:
    """Print a message for a person on stderr."""
    print(message, file=sys.stderr)


def _register() -> None:
    from engine.cli import plan_cmds  # noqa: F401 - commands register themselves on `app`

    for name in (
        "engine.cli.run_cmds", "engine.cli.serve_cmds", "engine.cli.notify_cmds", "engine.cli.report_cmds",
    ):
        try:
            __import__(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    for typer_app in (app, *(g.typer_instance for g in app.registered_groups if g.typer_instance)):
        for info in typer_app.registered_commands:  # their --help in Vietnamese (engine.cli.help)
            if info.cls in (None, typer.core.TyperCommand):  # typer's default
                info.cls = Command


def _click_errors() -> tuple[type[Exception], ...]:
    """click's error base, and the one of the copy of click that recent typer versions ship inside themselves."""
    import click

    vendored = [c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"]
    return (click.ClickException, *vendored)


def _server_error(exc: BaseException) -> bool:
    """Whether an exception is a failed request to the Prefect server (its client, when it has been imported)."""
    prefect_exc, httpx = sys.modules.get("prefect.exceptions"), sys.modules.get("httpx")
    return (prefect_exc is not None and isinstance(exc, prefect_exc.PrefectHTTPStatusError)
            or httpx is not None and isinstance(exc, httpx.TransportError))


def _store_error(exc: BaseException) -> bool:
    """Whether an exception comes from the state store's database (SQLAlchemy, when it has been imported)."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    return sa_exc is not None and isinstance(exc, sa_exc.SQLAlchemyError)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors print a clear message and exit non-zero, never a traceback."""
    _register()
    try:
        # Without standalone mode click returns the code of a `typer.Exit` instead of exiting with it.
        code = app(args=argv, prog_name="kehoach", standalone_mode=False)
    except PlanError as exc:
        err(str(exc))
        err(f"{len(exc.problems)} lỗi - kế hoạch không hợp lệ.")
        sys.exit(EXIT_INVALID)
    except PlanFileNotFound as exc:
        err(f"kehoach: {exc}")
        sys.exit(EXIT_USAGE)
    except KehoachError as exc:
        err(f"kehoach: {exc}")
        sys.exit(EXIT_INVALID)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err("kehoach: đã hủy")
        sys.exit(130)
    except Exception as exc:  # click's usage errors
        if isinstance(exc, _click_errors()):
            if type(exc).__name__ in ("NoArgsIsHelpError", "FileError") or not hasattr(exc, "ctx"):
                exc.show()  # the help a bare command asks for; a file click could not open, said by the OS
            else:
                from engine.cli.usage import usage_line

                err(usage_line(exc, sys.argv[1:] if argv is None else argv))
            sys.exit(exc.exit_code)
        if _server_error(exc):  # the Prefect server failed a request (overloaded, stopped): one line, not its trace
            from engine.errors import server_failure

            err(f"kehoach: {server_failure(exc, 'chạy lệnh')}")
            sys.exit(EXIT_INVALID)
        if _store_error(exc):  # a store that fails mid-command (disk full, locked, lost connection): its transaction
            from engine.state.checks import store_failure  # is rolled back, so nothing half-done is left

            err(f"kehoach: {store_failure(None, exc)}")
            sys.exit(EXIT_INVALID)
        raise
    sys.exit(code if isinstance(code, int) else EXIT_OK)
