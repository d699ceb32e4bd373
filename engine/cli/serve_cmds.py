"""`kehoach serve`: a daily tick per plan and the confirmation form, on a Prefect server, until stopped."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from engine.cli.app import EXIT_USAGE, app, err
from engine.cli.common import DbOpt, remember, sessions

NO_SERVER = """kehoach serve cần một Prefect server (needs a Prefect server). Start one, then use it:
  PREFECT_UI_API_URL=http://127.0.0.1:4200/api prefect server start --host 127.0.0.1 --port 4200
  export PREFECT_API_URL=http://127.0.0.1:4200/api"""
TIME_HELP = "Giờ chạy hằng ngày HH:MM, theo múi giờ của kế hoạch."
CRON_HELP = "Lịch cron thay cho --time (vd. '30 7 * * 1-5')."
TZ_HELP = "Múi giờ của lịch (mặc định: của từng kế hoạch)."


@app.command()
def serve(
    plan_dir: Annotated[Path, typer.Argument(help="Thư mục kế hoạch.")] = Path("plan_definitions"),
    time: Annotated[str, typer.Option("--time", help=TIME_HELP)] = "07:30",
    cron: Annotated[str | None, typer.Option("--cron", help=CRON_HELP)] = None,
    timezone: Annotated[str | None, typer.Option("--timezone", help=TZ_HELP)] = None,
    db: DbOpt = None,
) -> None:
    """Đăng ký với Prefect server lượt chạy hằng ngày của từng kế hoạch và biểu mẫu xác nhận, rồi phục vụ."""
    from engine.errors import PlanError
    from engine.plan import PlanLoader, plan_paths

    if not plan_dir.is_dir():
        err(f"kehoach: {plan_dir} is not a folder of plans")
        raise typer.Exit(EXIT_USAGE)
    loader, plans, problems = PlanLoader(), [], []
    for path in plan_paths([plan_dir]):
        try:
            plans.append(loader.load(path))
        except PlanError as exc:  # nothing is served while any plan is broken
            problems += exc.problems
    if problems:
        raise PlanError(problems)

    from flows.deployments import cron_at, deployments

    try:
        built = deployments(plans, plan_dir, cron or cron_at(time), timezone)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--cron/--time/--timezone") from None
    api = _server()
    # Served runs are child processes: they find the store through the environment, by an absolute path.
    from_env = db is None and bool(os.environ.get("KEHOACH_DATABASE_URL"))
    os.environ["KEHOACH_DATABASE_URL"] = _absolute(db)
    sessions(os.environ["KEHOACH_DATABASE_URL"])
    remember(plans, os.environ["KEHOACH_DATABASE_URL"], from_env)
    _print_plan(built, api)

    from prefect import serve as prefect_serve

    prefect_serve(*built, print_starting_message=False)


def _server() -> str:
    """The configured Prefect API URL, checked reachable."""
    from prefect.client.orchestration import get_client
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        err(NO_SERVER)
        raise typer.Exit(EXIT_USAGE)
    with get_client(sync_client=True) as client:
        problem = client.api_healthcheck()
    if problem is not None:
        err(f"kehoach: cannot reach the Prefect server at {url}: {problem}\n{NO_SERVER}")
        raise typer.Exit(EXIT_USAGE)
    return url


def _absolute(db: str | None) -> str:
    from engine.state.db import absolute_url, database_url

    return absolute_url(database_url(db))


def _print_plan(built: list[Any], api: str) -> None:
    from flows.env import ui_url

    print(f"Đăng ký {len(built)} deployment với Prefect server {api}:")
    for d in built:
        sched = d.schedules[0].schedule if d.schedules else None
        when = f"{sched.cron} ({sched.timezone})" if sched is not None else "chạy khi được gọi (on demand)"
        print(f"  {d.flow_name}/{d.name:<28} {when}")
    ui = ui_url()
    if ui:
        print(f"Giao diện (UI): {ui}/deployments")
    print("Đang phục vụ - Ctrl+C để dừng (stop).", flush=True)
