"""`kehoach serve`: a daily tick per plan and each step's confirmation and extension forms, on a Prefect
server, until stopped; `kehoach deploy`: the same registered to a work pool, for Prefect workers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from engine.cli.app import EXIT_USAGE, app, err
from engine.cli.common import DbOpt, remember, sessions

NO_SERVER = """kehoach {command} cần một Prefect server: chạy một server rồi chỉ đến nó, ví dụ
  PREFECT_UI_API_URL=http://127.0.0.1:4200/api prefect server start --host 127.0.0.1 --port 4200
  export PREFECT_API_URL=http://127.0.0.1:4200/api"""
TIME_HELP = "Giờ chạy hằng ngày HH:MM, theo múi giờ của kế hoạch."
CRON_HELP = "Lịch cron thay cho --time (vd. '30 7 * * 1-5')."
TZ_HELP = "Múi giờ của lịch (mặc định: của từng kế hoạch)."
DRAFTS_HELP = ("Cổng của máy chủ dự thảo (tải bản DOCX từ giao diện Prefect); 0: không chạy. "
               "Địa chỉ trong đường link: KEHOACH_DRAFTS_URL, mặc định http://HOST:PORT.")


@app.command()
def serve(
    plan_dir: Annotated[Path, typer.Argument(metavar="THƯ_MỤC", help="Thư mục kế hoạch.")] = Path("plan_definitions"),
    time: Annotated[str, typer.Option("--time", help=TIME_HELP)] = "07:30",
    cron: Annotated[str | None, typer.Option("--cron", help=CRON_HELP)] = None,
    timezone: Annotated[str | None, typer.Option("--timezone", help=TZ_HELP)] = None,
    drafts_port: Annotated[int, typer.Option("--drafts-port", min=0, max=65535, help=DRAFTS_HELP)] = 4201,
    drafts_host: Annotated[str, typer.Option("--drafts-host", help="Địa chỉ nghe của máy chủ dự thảo.")] = "127.0.0.1",
    db: DbOpt = None,
) -> None:
    """Phục vụ trên Prefect server: lượt chạy hằng ngày của từng kế hoạch, biểu mẫu xác nhận và gia hạn."""
    plans = _plans(plan_dir)
    built = _built(plans, plan_dir, time, cron, timezone)
    api = _server()
    # Served runs are child processes: they find the store through the environment, by an absolute path.
    from_env = db is None and bool(os.environ.get("KEHOACH_DATABASE_URL"))
    os.environ["KEHOACH_DATABASE_URL"] = _absolute(db)
    sessions(os.environ["KEHOACH_DATABASE_URL"], plans=plans)
    remember(plans, os.environ["KEHOACH_DATABASE_URL"], from_env)
    if drafts_port:
        _drafts_server(drafts_host, drafts_port)
    print(f"Đăng ký {len(built)} deployment với Prefect server {api}:")
    _print_plan(built)
    print("Đang phục vụ - Ctrl+C để dừng.", flush=True)
    from flows.deployments import remove_stale

    remove_stale(built, [p.id for p in plans])

    from prefect import serve as prefect_serve

    prefect_serve(*built, print_starting_message=False)


POOL_HELP = "Work pool (kiểu process) để đăng ký; tạo mới nếu chưa có."
PARTS_HELP = ("Số lượt chạy chung mỗi ngày, mỗi lượt chạy một phần các kế hoạch trong một tiến trình (thường "
              "bằng số worker); 0: mỗi kế hoạch một lượt chạy, một tiến trình riêng (chậm hơn nhiều).")
DEPLOY_DRAFTS_HELP = ("Cổng của máy chủ dự thảo (tải bản DOCX từ giao diện Prefect): chạy nó ở đây sau khi đăng "
                      "ký, đến khi Ctrl+C; 0 (mặc định): không chạy.")
DRAFTS_URL_HELP = ("Địa chỉ máy chủ dự thảo trong đường link của artifact, như người dùng mở được "
                   "(mặc định http://HOST:PORT của --drafts-port).")


@app.command()
def deploy(
    plan_dir: Annotated[Path, typer.Argument(metavar="THƯ_MỤC", help="Thư mục kế hoạch (cùng đường dẫn trên mọi máy chạy worker).")],
    pool: Annotated[str, typer.Option("--pool", help=POOL_HELP)],
    parts: Annotated[int, typer.Option("--parts", min=0, max=64, help=PARTS_HELP)] = 2,
    time: Annotated[str, typer.Option("--time", help=TIME_HELP)] = "07:30",
    cron: Annotated[str | None, typer.Option("--cron", help=CRON_HELP)] = None,
    timezone: Annotated[str | None, typer.Option("--timezone", help=TZ_HELP)] = None,
    drafts_port: Annotated[int, typer.Option("--drafts-port", min=0, max=65535, help=DEPLOY_DRAFTS_HELP)] = 0,
    drafts_host: Annotated[str, typer.Option("--drafts-host", help="Địa chỉ nghe của máy chủ dự thảo.")] = "127.0.0.1",
    drafts_url: Annotated[str | None, typer.Option("--drafts-url", help=DRAFTS_URL_HELP)] = None,
    db: DbOpt = None,
) -> None:
    """Đăng ký vào một work pool của Prefect server các deployment như `serve` (lượt chạy hằng ngày, biểu mẫu
    xác nhận và gia hạn, tổng quan), để `prefect worker start --pool TÊN` chạy chúng trên một hoặc nhiều máy."""
    from engine.state.db import ENV_URL

    plans = _plans(plan_dir)
    built = _built(plans, plan_dir, time, cron, timezone, parts, pool)
    api = _server("deploy")
    url = _absolute(db)
    sessions(url, plans=plans)  # migrated here, once, before any worker opens it
    remember(plans, url, db is None and bool(os.environ.get(ENV_URL)))
    if drafts_port:
        from engine.reports.artifacts import ENV_DRAFTS_URL

        if drafts_url:
            os.environ[ENV_DRAFTS_URL] = drafts_url
        os.environ["KEHOACH_DATABASE_URL"] = url
        _drafts_server(drafts_host, drafts_port)
        drafts_url = os.environ[ENV_DRAFTS_URL]
    from flows.deployments import remove_stale
    from flows.pool import PoolError, ensure_pool, register, remove_stale_parts

    try:
        created = ensure_pool(pool, {"KEHOACH_DRAFTS_URL": drafts_url} if drafts_url else {})
    except PoolError as exc:
        raise typer.BadParameter(str(exc), param_hint="--pool") from None
    _written, same = register(built, pool)
    removed = remove_stale(built, [p.id for p in plans]) + remove_stale_parts(built, pool)
    print(f"Đăng ký {len(built)} deployment vào work pool '{pool}' ({'mới tạo, ' if created else ''}kiểu process) "
          f"của Prefect server {api}" + (f" ({same} không đổi)" if same else "")
          + (f", xóa {len(removed)} deployment cũ" if removed else "") + ":")
    _print_plan(built)
    _print_workers(pool, api, url, plan_dir)
    if drafts_port:
        import threading

        print("Đang phục vụ dự thảo - Ctrl+C để dừng.", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


def _plans(plan_dir: Path) -> list[Any]:
    """Every plan of the folder, or every problem of every broken one at once (nothing is registered then)."""
    from engine.language.plan import PlanLoader, plan_paths

    if not plan_dir.is_dir():
        err(f"kehoach: {plan_dir} không phải là thư mục kế hoạch")
        raise typer.Exit(EXIT_USAGE)
    plans = PlanLoader().load_all(plan_paths([plan_dir]))  # PlanError: nothing is served while any plan is broken
    return plans


def _built(plans: list[Any], plan_dir: Path, time: str, cron: str | None, timezone: str | None, parts: int = 0,
           name: str = "") -> list[Any]:
    from flows.deployments import cron_at, deployments

    try:
        return deployments(plans, cron or cron_at(time), timezone, plan_dir, parts, name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--cron/--time/--timezone") from None


def _print_workers(pool: str, api: str, url: str, plan_dir: Path) -> None:
    """How to start the workers: the settings they need, the store's password masked."""
    from sqlalchemy.engine import make_url

    from flows.env import ui_url

    shown = make_url(url).render_as_string(hide_password=True)
    channels = os.environ.get("KEHOACH_CHANNELS") or "<tệp kênh>"
    print(f"Chạy worker trên mỗi máy, thư mục kế hoạch ở cùng đường dẫn {plan_dir.resolve()}:")
    print(f"  PREFECT_API_URL={api} KEHOACH_DATABASE_URL={shown} \\")
    print(f"  KEHOACH_CHANNELS={channels} prefect worker start --pool {pool}")
    if url.startswith("sqlite"):
        err("Cảnh báo: kho trạng thái là tệp SQLite - chỉ worker trên máy này dùng được; nhiều máy: PostgreSQL "
            "(--db postgresql://...).")
    ui = ui_url()
    if ui:
        print(f"Giao diện (UI): {ui}/work-pools/work-pool/{pool}")


def _drafts_server(host: str, port: int) -> None:
    """Serve the stored drafts for the links in the draft artifacts; the served flows learn its address."""
    from engine.reports.artifacts import ENV_DRAFTS_URL
    from flows import drafts_server

    try:
        server = drafts_server.start(sessions(os.environ["KEHOACH_DATABASE_URL"]), host, port)
    except OSError as exc:
        err(f"kehoach: không mở được máy chủ dự thảo ở {host}:{port} ({exc.strerror}): chọn cổng khác bằng "
            "--drafts-port, hoặc --drafts-port 0 để không chạy")
        raise typer.Exit(EXIT_USAGE) from None
    os.environ.setdefault(ENV_DRAFTS_URL, f"http://{host}:{server.server_address[1]}")
    print(f"Dự thảo (DOCX) tải tại: {os.environ[ENV_DRAFTS_URL]}/du-thao/...")


def _server(command: str = "serve") -> str:
    """The configured Prefect API URL, checked reachable."""
    from prefect.client.orchestration import get_client
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        err(NO_SERVER.format(command=command))
        raise typer.Exit(EXIT_USAGE)
    with get_client(sync_client=True) as client:
        problem = client.api_healthcheck()
    if problem is not None:
        err(f"kehoach: không kết nối được Prefect server ở {url}: {problem}\n{NO_SERVER.format(command=command)}")
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


def _print_plan(built: list[Any]) -> None:
    from flows.day import DAY_FLOW
    from flows.env import ui_url
    from flows.forms import CONFIRM_FLOW, EXTEND_FLOW

    unscheduled = [d for d in built if d.flow_name == "kehoach-tick" and not d.schedules]
    batched = any(d.flow_name == DAY_FLOW for d in built)
    for d in built:
        if d.flow_name in (CONFIRM_FLOW, EXTEND_FLOW) or (batched and d in unscheduled):
            continue
        print(f"  {d.flow_name}/{d.name:<28} {_when(d)}")
    if batched:
        print(f"  kehoach-tick/<kế hoạch>       {len(unscheduled)} kế hoạch, chạy trong các lượt chạy chung "
              f"{DAY_FLOW}")
    forms = {name: sum(d.flow_name == name for d in built) for name in (CONFIRM_FLOW, EXTEND_FLOW)}
    print(f"  {CONFIRM_FLOW}/<kế hoạch>:<việc>  {forms[CONFIRM_FLOW]} biểu mẫu xác nhận")
    print(f"  {EXTEND_FLOW}/<kế hoạch>:<việc>   {forms[EXTEND_FLOW]} biểu mẫu gia hạn")
    ui = ui_url()
    if ui:
        print(f"Giao diện (UI): {ui}/deployments")
