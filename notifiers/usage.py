"""Which notification tags plans use, and which of them a channels file lacks (located in the plan files)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import Problem, accepted, did_you_mean
from engine.language.loading import read_source
from engine.language.models.steps import Coordinate, Disseminate
from engine.language.plan import Plan
from notifiers.channels import Channels


@dataclass
class TagUse:
    """One unit of one plan reached by a tag, and the steps that notify it."""

    plan_id: str
    unit_id: str
    unit_name: str
    steps: list[str] = field(default_factory=list)


def notified_units(plan: Plan) -> dict[str, list[str]]:
    """Units the engine sends notices to, with the steps that do: owners, participants, audiences, partners,
    and escalation recipients (a report's recipient gets the signed report from people, not from us)."""
    out: dict[str, list[str]] = {}
    for step in plan.steps:
        units = [*plan.step_owners[step.id], *plan.members(step.participants),
                 *plan.members(plan.policy(step).escalation.to)]
        if isinstance(step, Disseminate):
            units += plan.members(step.audience)
        elif isinstance(step, Coordinate):
            units += plan.members(step.partners)
        for u in dict.fromkeys(units):
            out.setdefault(u, []).append(step.id)
    return out


def tag_usage(plans: list[Plan]) -> dict[str, list[TagUse]]:
    """Every tag the plans notify through, with the units (of which plans) it reaches; lower case, as Apprise."""
    out: dict[str, list[TagUse]] = {}
    for plan in plans:
        for unit_id, steps in notified_units(plan).items():
            unit = plan.units.get(unit_id)
            for tag in (unit.notify if unit else []):
                out.setdefault(tag.lower(), []).append(TagUse(plan.id, unit_id, unit.name, steps))
    return dict(sorted(out.items()))


def untagged_units(plans: list[Plan]) -> list[TagUse]:
    """Units that get notices but have no tag: their notices stay in the outbox as 'no target'."""
    out = []
    for plan in plans:
        for unit_id, steps in notified_units(plan).items():
            unit = plan.units.get(unit_id)
            if unit is not None and not unit.notify:
                out.append(TagUse(plan.id, unit_id, unit.name, steps))
    return out


def _files(plan: Plan) -> list[Path]:
    """The plan's agency files in include order, then the plan file (later ones define units over earlier)."""
    return [(plan.path.parent / inc).resolve() for inc in plan.file.include] + [plan.path]


def missing_tag_problems(plans: list[Plan], channels: Channels) -> list[Problem]:
    """A located problem for every tag plans use that the channels file does not define (one per place the
    tag is written, naming every plan and step that uses it)."""
    known = set(channels.tags())
    users: dict[tuple[Path | None, str, int, str], list[str]] = {}
    sources: dict[Path, Any] = {}
    where: dict[Path | None, Any] = {}
    for plan in plans:
        for unit_id, steps in notified_units(plan).items():
            unit = plan.units.get(unit_id)
            for i, tag in enumerate(unit.notify if unit else []):
                if tag.lower() in known:
                    continue
                source = _defining_source(plan, unit_id, sources)
                path = source.path if source is not None else None
                where[path] = source
                shown = ", ".join(steps[:3]) + ("..." if len(steps) > 3 else "")
                users.setdefault((path, unit_id, i, tag), []).append(f"{plan.id}: {shown}")
    problems = []
    for (path, unit_id, i, tag), used_by in users.items():
        message = (f"nhãn '{tag}' của đơn vị {unit_id} không có trong tệp kênh {channels.name}"
                   f"{did_you_mean(tag.lower(), known)} - thông báo cho nhãn này nằm chờ trong hộp thư đi "
                   f"(dùng ở {'; '.join(used_by)})" + (f"; các nhãn có: {accepted(known)}" if known else ""))
        loc, shown_path = ("units", unit_id, "notify", i), f"units.{unit_id}.notify[{i}]"
        source = where[path]
        problems.append(source.problem(loc, shown_path, message) if source is not None
                        else Problem("?", 1, 1, shown_path, message))
    return sorted(problems)


def _defining_source(plan: Plan, unit_id: str, cache: dict[Path, Any]) -> Any:
    for path in reversed(_files(plan)):
        if path not in cache:
            cache[path] = read_source(path)[0]
        source = cache[path]
        units = source.data.get("units") if source is not None else None
        if isinstance(units, dict) and unit_id in units:
            return source
    return None


def channel_problems(loader: Any, files: list[Path], channels_file: Path) -> list[Any]:
    """For `kehoach validate --channels`: tags the valid plans among `files` use that the file lacks (or the
    file's own problem), deduplicated across plans that share an agency file."""
    from engine.errors import KehoachError, PlanError
    from notifiers.channels import load_channels

    try:
        channels = load_channels(channels_file)
    except KehoachError as exc:
        return [f"{exc}"]
    plans = []
    for path in files:
        try:
            plans.append(loader.load(path))
        except PlanError:  # reported already; agency files are not plans
            continue
    out: list[Any] = missing_tag_problems(plans, channels)
    out += [f"{channels.name}: {w}" for w in channels.warnings]
    return out
