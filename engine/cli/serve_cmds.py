"""`kehoach serve`: a daily tick per plan and each step's confirmation and extension forms, on a Prefect
server, until stopped."""

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
DRAFTS_HELP = ("Cổng của máy chủ dự thảo (tải bản DOCX từ giao diện Prefect); 0: không chạy. "
               "Địa chỉ trong đường link: KEHOACH_DRAFTS_URL, mặc định http://HOST:PORT.")


@app.command()
def serve(
    plan_dir: Annotated[Path, typer.Argument(help="Thư mục kế hoạch.")] = Path("plan_definitions"),
    time: Annotated[str, typer.Option("--time", help=TIME_HELP)] = "07:30",
    cron: Annotated[str | None, typer.Option("--cron", help=CRON_HELP)] = None,
    timezone: Annotated[str | None, typer.Option("--timezone", help=TZ_HELP)] = None,
    drafts_port: Annotated[int, typer.Option("--drafts-port", min=0, max=65535, help=DRAFTS_HELP)] = 4201,
    drafts_host: Annotated[str, typer.Option("--drafts-host", help="Địa chỉ nghe của máy chủ dự thảo.")] = "127.0.0.1",
    db: DbOpt = None,
) -> None:
    """Phục vụ trên Prefect server: lượt chạy hằng ngày của từng kế hoạch, biểu mẫu xác nhận và gia hạn."""
    from engine.language.plan import PlanLoader, plan_paths

    if not plan_dir.is_dir():
        err(f"kehoach: {plan_dir} is not a folder of plans")
        raise typer.Exit(EXIT_USAGE)
    plans = PlanLoader().load_all(plan_paths([plan_dir]))  # PlanError: nothing is served while any plan is broken

    from flows.deployments import cron_at, deployments

    try:
        built = deployments(plans, cron or cron_at(time), timezone, plan_dir)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--cron/--time/--timezone") from None
    api = _server()
    # Served runs are child processes: they find the store through the environment, by an absolute path.
    from_env = db is None and bool(os.environ.get("KEHOACH_DATABASE_URL"))
    os.environ["KEHOACH_DATABASE_URL"] = _absolute(db)
    sessions(os.environ["KEHOACH_DATABASE_URL"], plans=plans)
    remember(plans, os.environ["KEHOACH_DATABASE_URL"], from_env)
    if drafts_port:
        _drafts_server(drafts_host, drafts_port)
    _print_plan(built, api)
    from flows.deployments import remove_stale

    remove_stale(built, [p.id for p in plans])

    from prefect import serve as prefect_serve

    prefect_serve(*built, print_starting_message=False)


def _drafts_server(host: str, port: int) -> None:
    """Serve the stored drafts for the links in the draft artifacts; the served flows learn its address."""
    from engine.reports.artifacts import ENV_DRAFTS_URL
    from flows import drafts_server

    try:
        server = drafts_server.start(sessions(os.environ["KEHOACH_DATABASE_URL"]), host, port)
    except OSError as exc:
        err(f"kehoach: cannot serve the drafts on {host}:{port} ({exc.strerror}): give --drafts-port, or 0 for none")
        raise typer.Exit(EXIT_USAGE) from None
    os.environ.setdefault(ENV_DRAFTS_URL, f"http://{host}:{server.server_address[1]}")
    print(f"Dự thảo (DOCX) tải tại: {os.environ[ENV_DRAFTS_URL]}/du-thao/...")


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


def _when(deployment: Any) -> str:
    """A deployment's schedule as a person reads it."""
    if not deployment.schedules:
        return "không có lịch: kế hoạch đã kết thúc (no schedule: the plan is over)"
    sched = deployment.schedules[0].schedule
    if getattr(sched, "rrule", None):
        until = sched.rrule.rsplit("UNTIL=", 1)[-1]
        time_of_day = sched.rrule.split("T", 1)[1][:4]
        days = sched.rrule.split("BYDAY=", 1)[1].split(";", 1)[0].split(",") if "BYDAY=" in sched.rrule else []
        names = {"MO": "T2", "TU": "T3", "WE": "T4", "TH": "T5", "FR": "T6", "SA": "T7", "SU": "CN"}
        which = ("các ngày " + ", ".join(names[d] for d in days)) if days else "hằng ngày"
        return (f"{which} {time_of_day[:2]}:{time_of_day[2:]} đến {until[6:8]}/{until[4:6]}/{until[:4]} "
                f"({sched.timezone})")
    return f"{sched.cron} ({sched.timezone})"


def _print_plan(built: list[Any], api: str) -> None:
    from flows.env import ui_url
    from flows.forms import CONFIRM_FLOW, EXTEND_FLOW

    print(f"Đăng ký {len(built)} deployment với Prefect server {api}:")
    for d in built:
        if d.flow_name in (CONFIRM_FLOW, EXTEND_FLOW):
            continue
        print(f"  {d.flow_name}/{d.name:<28} {_when(d)}")
    forms = {name: sum(d.flow_name == name for d in built) for name in (CONFIRM_FLOW, EXTEND_FLOW)}
    print(f"  {CONFIRM_FLOW}/<kế hoạch>:<việc>  {forms[CONFIRM_FLOW]} biểu mẫu xác nhận (confirmation forms)")
    print(f"  {EXTEND_FLOW}/<kế hoạch>:<việc>   {forms[EXTEND_FLOW]} biểu mẫu gia hạn (extension forms)")
    ui = ui_url()
    if ui:
        print(f"Giao diện (UI): {ui}/deployments")
    print("Đang phục vụ - Ctrl+C để dừng (stop).", flush=True)
