"""Commands on plan files: validate, show, graph, schema."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from engine.cli.app import EXIT_INVALID, EXIT_USAGE, app, err
from engine.errors import PlanError
from engine.language.dates import fmt
from engine.language.plan import Plan, PlanLoader, duplicate_ids, plan_paths


class ShowFormat(str, Enum):
    table = "table"
    json = "json"


class GraphFormat(str, Enum):
    mermaid = "mermaid"
    dot = "dot"


PlanArg = Annotated[Path, typer.Argument(metavar="KẾ_HOẠCH", help="Tệp kế hoạch YAML.")]


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(metavar="KẾ_HOẠCH", help="Tệp hoặc thư mục kế hoạch.")],
    channels: Annotated[Path | None, typer.Option(
        "--channels", help="Tệp kênh (Apprise): báo cả nhãn kế hoạch dùng mà tệp kênh không có.")] = None,
) -> None:
    """Kiểm tra kế hoạch: liệt kê MỌI lỗi dạng tệp:dòng:cột: đường.dẫn: thông báo (exit 1 nếu có lỗi)."""
    files = plan_paths(paths)
    loader = PlanLoader()
    problems = 0
    bad_files = 0
    plans = []
    for path in files:
        try:
            plan = loader.check(path)
        except PlanError as exc:
            for p in exc.problems:
                print(p)
            problems += len(exc.problems)
            bad_files += 1
        else:
            plans += [plan] if plan is not None else []
    from engine.runtime.family import family_problems

    # Checked across the files: two plans with one id would share one state; a child's links to its parent.
    across = duplicate_ids(plans) + family_problems(plans)
    for p in across:
        print(p)
    problems += len(across)
    bad_files += len({p.file for p in across})
    if channels is not None:
        from notifiers.usage import channel_problems

        missing = channel_problems(loader, files, channels)
        for p in missing:
            print(p)
        problems += len(missing)
    good = len(files) - bad_files
    if problems:
        err(f"{good} tệp hợp lệ, {bad_files} tệp có lỗi, tổng {problems} lỗi.")
        raise typer.Exit(EXIT_INVALID)
    err(f"{good} tệp hợp lệ.")


def occurrence_rows(plan: Plan) -> list[dict]:
    """The JSON form of `show`: every step with its dated occurrences (ISO dates)."""
    out = []
    for step in plan.steps:
        cal = plan.calendar[step.id]
        out.append({
            "id": step.id,
            "kind": step.kind,
            "title": step.title,
            "owner": step.owner,
            "owners": list(plan.step_owners[step.id]),
            "timing": cal.describe,
            "on_demand": cal.on_demand,
            "depends_on": [d if isinstance(d, str) else d.model_dump(exclude_defaults=True) for d in step.depends_on],
            **({"carries_out": step.carries_out} if step.carries_out else {}),
            "occurrences": [o.as_json() for o in cal.occurrences],
        })
    return out


@app.command()
def show(
    plan_path: PlanArg,
    format: Annotated[ShowFormat, typer.Option("--format", "-f", help="table (mặc định) hoặc json.")] = ShowFormat.table,
) -> None:
    """Xem mọi bước và mọi lần thực hiện trong kỳ kế hoạch: ngày mở, hạn, ngày nhắc."""
    plan = PlanLoader().load(plan_path)
    if format is ShowFormat.json:
        doc = {
            "plan": {
                "id": plan.id,
                "number": plan.meta.number,
                "title": plan.meta.title,
                "issuer": plan.issuer.name,
                "period": {"start": plan.meta.period.start.isoformat(), "end": plan.meta.period.end.isoformat()},
                "timezone": plan.meta.timezone,
                "version": plan.version,
                **({"parent_plan": plan.meta.parent_plan.model_dump(mode="json", exclude_none=True)}
                   if plan.meta.parent_plan else {}),
            },
            "steps": occurrence_rows(plan),
        }
        print(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    from engine.cli.tables import console, show_table

    out = console()
    out.print(f"Kế hoạch số {plan.meta.number} - {plan.issuer.name}")
    out.print(f"Thời gian: {fmt(plan.meta.period.start)} - {fmt(plan.meta.period.end)} ({plan.meta.timezone})")
    out.print(show_table(occurrence_rows(plan)))


@app.command()
def graph(
    plan_path: PlanArg,
    format: Annotated[GraphFormat, typer.Option("--format", "-f", help="mermaid (mặc định) hoặc dot.")] = GraphFormat.mermaid,
) -> None:
    """In sơ đồ phụ thuộc giữa các bước (Mermaid hoặc Graphviz dot)."""
    from engine.language.graph import to_dot, to_mermaid

    plan = PlanLoader().load(plan_path)
    print(to_mermaid(plan) if format is GraphFormat.mermaid else to_dot(plan), end="")


@app.command()
def schema(
    agency: Annotated[bool, typer.Option("--agency", help="Lược đồ của tệp cơ quan.")] = False,
    write: Annotated[Path | None, typer.Option("--write", help="Ghi cả hai lược đồ vào thư mục này.")] = None,
) -> None:
    """In JSON Schema của tệp kế hoạch (để trình soạn thảo gợi ý và kiểm tra)."""
    from engine.language.schema import schema_text, write_schemas

    if write is not None:
        if not write.is_dir():
            what = "không tồn tại" if not write.exists() else "không phải là thư mục"
            err(f"kehoach: --write {write}: {what} - chỉ thư mục sẽ chứa các lược đồ (ví dụ plan_definitions)")
            raise typer.Exit(EXIT_USAGE)
        try:
            written = write_schemas(write)
        except OSError as exc:
            err(f"kehoach: --write {write}: không ghi được: {exc.strerror or exc}")
            raise typer.Exit(EXIT_INVALID) from None
        for p in written:
            err(f"đã ghi {p}")
        return
    print(schema_text("agency" if agency else "plan"), end="")
