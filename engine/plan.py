"""A loaded plan: the plan file merged with its agency files, checked whole, with its calendar."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any, Collection

from pydantic import TypeAdapter, ValidationError

from engine.calendar import CalendarBuilder, Occurrence, StepCalendar
from engine.errors import NoPlanFiles, PlanError, PlanFileNotFound, Problem, accepted, did_you_mean
from engine.graph import check_graph
from engine.loading import Source, display_path, escape_position, read_source
from engine.models import AgencyFile, PlanFile, Step
from engine.models.common import UnitId
from engine.models.plan import Issuer, PlanMeta, Unit
from engine.models.policy import Defaults, Escalation, Reminders, WorkCalendarSpec
from engine.models.steps import Coordinate, Disseminate, Report
from engine.models.timing import After
from engine.validation import (
    CONTROL_ESCAPE,
    MERGE_KEY,
    find_control_characters,
    find_merge_keys,
    find_secrets,
    inside,
    may_hold_secret,
    merge_key_findings,
    render_path,
    translate,
)
from engine.workdays import WorkCalendar

PLAN_SUFFIXES = (".yaml", ".yml")
MAX_PLAN_ID = 128  # the state store's column for plan ids


@dataclass(frozen=True)
class Policy:
    """The reminder, escalation and working-day rules in force for one step."""

    reminders: Reminders
    escalation: Escalation
    on_non_working_day: str
    opens_before_days: int

    def with_opens(self, days: int) -> Policy:
        return replace(self, opens_before_days=days)


BUILTIN_POLICY = Policy(
    reminders=Reminders(days_before=[7, 3], working_days_before=[1]),
    escalation=Escalation(),
    on_non_working_day="previous",
    opens_before_days=14,
)


@dataclass
class Plan:
    """A valid plan, ready for the calendar, the state store and the tick."""

    id: str
    path: Path
    file: PlanFile
    agencies: list[AgencyFile]
    units: dict[str, Unit]
    issuer: Issuer
    workdays: WorkCalendar
    version: str
    default_policy: Policy
    order: list[str] = field(default_factory=list)
    calendar: dict[str, StepCalendar] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)  # message template overrides: agencies, then the plan
    grouping: str = "daily"  # notices: one message per recipient per day ('daily') or one per notice ('separate')

    @property
    def meta(self) -> PlanMeta:
        return self.file.plan

    @property
    def steps(self) -> list[Any]:
        return self.file.steps

    @cached_property
    def step_by_id(self) -> dict[str, Any]:
        return {s.id: s for s in self.file.steps}

    @cached_property
    def step_index(self) -> dict[str, int]:
        return {s.id: i for i, s in reversed(list(enumerate(self.file.steps)))}

    def policy(self, step: Any) -> Policy:
        base = self.default_policy
        return Policy(
            reminders=step.reminders or base.reminders,
            escalation=step.escalation or base.escalation,
            on_non_working_day=step.on_non_working_day or base.on_non_working_day,
            opens_before_days=base.opens_before_days,
        )

    def occurrences(self, step_id: str) -> list[Occurrence]:
        cal = self.calendar.get(step_id)
        return cal.occurrences if cal else []

    # Indexes derived from the calendar, built once when first used (the calendar is complete by then).

    @cached_property
    def dated(self) -> dict[tuple[str, str], Occurrence]:
        """Every dated (not projected) occurrence by (step id, key)."""
        return {(o.step_id, o.key): o for cal in self.calendar.values() for o in cal.occurrences if not o.projected}

    @cached_property
    def opening_index(self) -> tuple[list[date], list[Occurrence]]:
        """Dated occurrences sorted by opening day, and their opening days: a tick looks only at what opens now."""
        occs = sorted(self.dated.values(), key=lambda o: (o.opens, o.step_id, o.key))
        return [o.opens for o in occs], occs

    @cached_property
    def dependents(self) -> dict[str, list[str]]:
        """For each step, the steps that depend on it."""
        out: dict[str, list[str]] = {}
        for s in self.steps:
            for d in s.depends_on:
                out.setdefault(d, []).append(s.id)
        return out

    @cached_property
    def after_steps(self) -> dict[str, list[Any]]:
        """For each step, the 'after' steps timed from it."""
        out: dict[str, list[Any]] = {}
        for s in self.steps:
            if isinstance(s.timing, After):
                out.setdefault(s.timing.after.step, []).append(s)
        return out

    def short_title(self, step: Any) -> str:
        """The step's short title: its `short_title`, else its title shortened at a word (at most 60 characters)."""
        return step.short_title or shorten(step.title, SHORT_TITLE)

    def unit_name(self, unit_id: str) -> str:
        unit = self.units.get(unit_id)
        return unit.name if unit else unit_id


SHORT_TITLE = 60


def shorten(text: str, limit: int) -> str:
    """`text` on one line, cut at a word boundary to at most `limit` characters (with '…' when cut)."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-") + "…"


def _merge_policy(layers: list[Any]) -> Policy:
    policy = BUILTIN_POLICY
    for d in layers:  # later layers win: agency files in include order, then the plan itself
        policy = Policy(
            reminders=d.reminders or policy.reminders,
            escalation=d.escalation or policy.escalation,
            on_non_working_day=d.on_non_working_day or policy.on_non_working_day,
            opens_before_days=policy.opens_before_days if d.opens_before_days is None else d.opens_before_days,
        )
    return policy


@dataclass
class Included:
    """The agency files a plan includes, and how much of them could be used for checking the plan."""

    files: list[AgencyFile] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    unit_names: set[str] = field(default_factory=set)  # unit ids they define, valid or not
    units_known: bool = True  # every file was read, so an id missing from unit_names is really unknown
    complete: bool = True  # every file is valid: issuer, calendar and policy can be relied on


@dataclass
class Parts:
    """What of a plan file is valid: all of it, or (when it is not) each part that validates on its own.

    A plan with one broken step is still checked for unknown units, unknown steps and cycles in the others,
    so that the author sees every problem at once rather than one layer after another.
    """

    file: PlanFile
    numbers: list[int]  # where each of file.steps stands in the file's list of steps
    step_ids: set[str]  # ids written in the file, valid steps or not
    unit_names: set[str] | None  # unit ids written in the file; None when 'units' is unreadable
    policy_ok: bool = True  # defaults and calendar are valid

    @classmethod
    def whole(cls, pf: PlanFile) -> Parts:
        return cls(pf, list(range(len(pf.steps))), {s.id for s in pf.steps}, set(pf.units))

    @classmethod
    def salvage(cls, data: dict[Any, Any]) -> Parts:
        meta = _valid(PlanMeta.model_validate, data.get("plan"))
        units = _valid(_UNITS.validate_python, data.get("units", {}))
        calendar = _valid(WorkCalendarSpec.model_validate, data.get("calendar", {}))
        defaults = _valid(Defaults.model_validate, data.get("defaults", {}))
        raw_steps = data.get("steps") if isinstance(data.get("steps"), list) else []
        steps, numbers = [], []
        for i, raw in enumerate(raw_steps):
            if (step := _valid(_STEP.validate_python, raw)) is not None:
                steps.append(step)
                numbers.append(i)
        pf = PlanFile.model_construct(
            plan=meta, units=units or {}, calendar=calendar or WorkCalendarSpec(), defaults=defaults or Defaults(),
            steps=steps,
        )
        raw_units = data.get("units", {})
        return cls(
            pf, numbers,
            step_ids={r["id"] for r in raw_steps if isinstance(r, dict) and isinstance(r.get("id"), str)},
            unit_names={k for k in raw_units if isinstance(k, str)} if isinstance(raw_units, dict) else None,
            policy_ok=calendar is not None and defaults is not None,
        )

    def renumber(self, loc: tuple[Any, ...]) -> tuple[Any, ...]:
        """A loc into file.steps as a loc into the file."""
        if len(loc) > 1 and loc[0] == "steps" and isinstance(loc[1], int):
            return ("steps", self.numbers[loc[1]], *loc[2:])
        return loc


_STEP: TypeAdapter[Any] = TypeAdapter(Step)
_UNITS: TypeAdapter[dict[str, Unit]] = TypeAdapter(dict[UnitId, Unit])


def _valid(validate: Any, value: Any) -> Any:
    """The validated value, or None when it is invalid (its problems are reported by the whole-file check)."""
    try:
        return validate(value)
    except ValidationError:
        return None


class PlanLoader:
    """Loads plans; agency files shared by several plans are read once per loader."""

    def __init__(self) -> None:
        self._agencies: dict[Path, tuple[Source | None, AgencyFile | None, list[Problem]]] = {}

    def load(self, path: Path | str) -> Plan:
        """Load and check one plan file.

        Raises:
            PlanFileNotFound: the path does not exist.
            PlanError: with every problem of the plan and of the agency files it includes.
        """
        path = Path(path)
        if not path.is_file():
            raise PlanFileNotFound(path)
        source, problems = read_source(path)
        if source is None:
            raise PlanError(problems)
        if len(path.stem) > MAX_PLAN_ID:
            problems.append(Problem(source.name, 1, 1, "", f"the file name makes the plan's id, and it is "
                                    f"{len(path.stem)} characters long: at most {MAX_PLAN_ID} - rename the file"))
        plan_file = _validate(PlanFile, source, problems)
        included = self._includes(source, problems)
        parts = Parts.whole(plan_file) if plan_file is not None else Parts.salvage(source.data)
        plan = self._resolve(path, source, parts, included, problems)
        if problems:
            raise PlanError(problems)
        return plan

    def check(self, path: Path | str) -> None:
        """Check a plan file, or an agency file (a top-level 'agency' and no 'plan').

        Raises:
            PlanFileNotFound, PlanError: as `load`.
        """
        path = Path(path)
        if not path.is_file():
            raise PlanFileNotFound(path)
        source, problems = read_source(path)
        if source is not None and "agency" in source.data and "plan" not in source.data:
            _validate(AgencyFile, source, problems)
            problems += _template_problems(source)
            if problems:
                raise PlanError(problems)
            return
        self.load(path)

    def _includes(self, source: Source, problems: list[Problem]) -> Included:
        out = Included()
        includes = source.data.get("include", [])
        if not isinstance(includes, list):  # the model reports the wrong type
            return Included(units_known=False, complete=False)
        for i, inc in enumerate(includes):
            if not isinstance(inc, str):
                out.units_known = out.complete = False
                continue
            target, refused = include_target(source.path, inc)
            if refused:
                problems.append(source.problem(("include", i), f"include[{i}]", refused))
                out.units_known = out.complete = False
                continue
            if target not in self._agencies:
                agency_source, agency_problems = read_source(target)
                agency = _validate(AgencyFile, agency_source, agency_problems) if agency_source else None
                agency_problems += _template_problems(agency_source) if agency_source else []
                self._agencies[target] = (agency_source, agency, agency_problems)
            agency_source, agency, agency_problems = self._agencies[target]
            problems.extend(agency_problems)
            raw_units = agency_source.data.get("units", {}) if agency_source is not None else None
            if isinstance(raw_units, dict):
                out.unit_names |= {k for k in raw_units if isinstance(k, str)}
            else:
                out.units_known = False
            if agency is not None and agency_source is not None:
                out.files.append(agency)
                out.sources.append(agency_source)
            else:
                out.complete = False
        return out

    def _resolve(self, path: Path, source: Source, parts: Parts, inc: Included, problems: list[Problem]) -> Plan:
        pf, meta = parts.file, parts.file.plan
        units: dict[str, Unit] = {}
        for agency in inc.files:
            units.update(agency.units)
        units.update(pf.units)
        issuer = (meta.issuer if meta else None) or next((a.agency for a in reversed(inc.files)), None)
        if issuer is None and meta is not None and inc.complete:
            problems.append(source.problem(("plan",), "plan", "required field 'issuer' is missing and no included "
                                           "agency file gives one (add plan.issuer or include: an agency file)"))
        extra_off = [d.date for a in inc.files for d in a.calendar.holidays] + [d.date for d in pf.calendar.holidays]
        extra_work = [d.date for a in inc.files for d in a.calendar.working_days] + [d.date for d in pf.calendar.working_days]
        years = range(meta.period.start.year - 1, meta.period.end.year + 2) if meta else range(0)
        digest = hashlib.sha256(source.text.encode())
        for s in inc.sources:
            digest.update(s.text.encode())
        plan = Plan(
            id=path.stem,
            path=path,
            file=pf,
            agencies=inc.files,
            units=units,
            issuer=issuer or Issuer(name="?"),
            workdays=WorkCalendar(years, extra_off, extra_work),
            version=digest.hexdigest()[:12],
            default_policy=_merge_policy([a.defaults for a in inc.files] + [pf.defaults]),
        )
        plan.templates = {k: v for a in inc.files for k, v in a.templates.items()} | dict(pf.templates)
        plan.grouping = next((d.notices for d in [pf.defaults, *reversed([a.defaults for a in inc.files])]
                              if d.notices), "daily")
        problems += _template_problems(source)
        known_units = None
        if inc.units_known and parts.unit_names is not None:
            known_units = inc.unit_names | parts.unit_names
        if known_units is not None:
            for agency, agency_source in zip(inc.files, inc.sources):
                for loc, msg in _unit_refs_in_defaults(agency.defaults, known_units, ("defaults",)):
                    problems.append(agency_source.problem(loc, render_path(agency_source.data, loc), msg))
        findings = _unit_refs(pf, known_units) if known_units is not None else []
        graph_findings, plan.order = check_graph(pf.steps, known_ids=parts.step_ids)
        findings += graph_findings
        if not graph_findings and meta is not None and parts.policy_ok and inc.complete:
            builder = CalendarBuilder(plan)
            plan.calendar = builder.build(plan.order)
            findings += builder.findings
        for raw_loc, msg in findings:
            loc = parts.renumber(raw_loc)
            problems.append(source.problem(loc, render_path(source.data, loc), msg))
        return plan


AGENCY_DIRS = "KEHOACH_AGENCY_DIRS"


def agency_roots(plan_path: Path) -> list[Path]:
    """The folders a plan may include agency files from: its own folder (and below), and KEHOACH_AGENCY_DIRS."""
    extra = [Path(p).expanduser() for p in os.environ.get(AGENCY_DIRS, "").split(os.pathsep) if p.strip()]
    roots = []
    for folder in (plan_path.parent, *extra):
        try:
            roots.append(folder.resolve())
        except (OSError, RuntimeError):
            continue
    return roots


def include_target(plan_path: Path, inc: str) -> tuple[Path, str | None]:
    """The agency file an `include:` entry names, and why it is refused (None when it may be read).

    An include is a YAML file inside the plan's folder tree or a folder of KEHOACH_AGENCY_DIRS, symbolic links
    followed: a plan cannot make the engine read (and quote in its errors) any other file of the machine.
    """
    written = plan_path.parent / inc
    try:
        target = written.resolve(strict=False)
    except (OSError, RuntimeError):  # a symbolic link loop
        return written, f"agency file '{inc}' cannot be read: a symbolic link loop"
    roots = agency_roots(plan_path)
    if not any(target.is_relative_to(root) for root in roots):
        return target, (f"agency file '{inc}' is outside the plan's folder: include files from the plan file's "
                        f"folder or below it, or list their folder in {AGENCY_DIRS}")
    if target.suffix not in PLAN_SUFFIXES:
        return target, f"agency file '{inc}' is not a YAML file: an agency file ends in .yaml or .yml"
    if not target.is_file():
        return target, _missing_include(inc, target)
    return target, None


def _missing_include(inc: str, target: Path) -> str:
    siblings = sorted(p.name for p in target.parent.glob("*.y*ml")) if target.parent.is_dir() else []
    hint = did_you_mean(target.name, siblings)
    return f"agency file '{inc}' not found (looked for {display_path(target)}){hint}"


def _validate(model: type, source: Source, problems: list[Problem]) -> Any:
    """Validate a whole file against its model; every problem (and every secret written in it) is recorded."""
    # Both checks walk the whole data; the raw text tells cheaply when neither can find anything.
    merges = find_merge_keys(source.data) if MERGE_KEY in source.text else []
    findings = find_secrets(source.data) if may_hold_secret(source.text) else []
    if "\\" in source.text:  # only a double-quoted text's escape can make a control character here
        findings += find_control_characters(source.data)
    findings += merge_key_findings(merges)
    result = None
    try:
        result = model.model_validate(source.data)
    except ValidationError as exc:
        # Inside a mapping built with '<<' the model's complaints (missing kind...) only echo the merge key.
        findings += [f for f in translate(model, source.data, exc) if not inside(f[0], merges)]
    for loc, msg, at_key in findings:
        problem = source.problem(loc, render_path(source.data, loc), msg, at_key=at_key)
        if msg.startswith(CONTROL_ESCAPE):  # point at the escape itself, as at a raw control character
            line, column = escape_position(source.text, problem.line, problem.column)
            problem = replace(problem, line=line, column=column)
        problems.append(problem)
    return result if not findings else None


def _template_problems(source: Source) -> list[Problem]:
    """Message template overrides are tried here, so that a bad one is a validation error, never a tick's crash."""
    if not isinstance(source.data, dict) or not source.data.get("templates"):
        return []
    from notifiers.templates import template_problems

    return template_problems(source)


def _unit_refs_in_defaults(defaults: Any, units: Collection[str], prefix: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], str]]:
    out = []
    if defaults.escalation:
        for j, u in enumerate(defaults.escalation.to):
            if u not in units:
                out.append(((*prefix, "escalation", "to", j), _unknown_unit(u, units)))
    return out


def _unknown_unit(unit: str, units: Collection[str]) -> str:
    if not units:
        return f"unknown unit '{unit}' (no units are defined: add them under 'units:' or include an agency file)"
    return f"unknown unit '{unit}'" + (did_you_mean(unit, units) or f" (defined units: {accepted(units)})")


def _unit_refs(pf: PlanFile, units: Collection[str]) -> list[tuple[tuple[Any, ...], str]]:
    """Every unit a step names must be defined in the plan or an included agency file."""
    out = _unit_refs_in_defaults(pf.defaults, units, ("defaults",))
    for i, step in enumerate(pf.steps):
        refs: list[tuple[tuple[Any, ...], str]] = [(("owner",), step.owner)]
        refs += [(("participants", j), u) for j, u in enumerate(step.participants)]
        if step.escalation:
            refs += [(("escalation", "to", j), u) for j, u in enumerate(step.escalation.to)]
        if isinstance(step, Disseminate):
            refs += [(("audience", j), u) for j, u in enumerate(step.audience)]
        elif isinstance(step, Coordinate):
            refs += [(("partners", j), u) for j, u in enumerate(step.partners)]
        elif isinstance(step, Report):
            refs.append((("recipient",), step.recipient))
        for loc, unit in refs:
            if unit not in units:
                out.append((("steps", i, *loc), _unknown_unit(unit, units)))
    return out


def plan_paths(paths: list[Path | str]) -> list[Path]:
    """Expand files and folders into plan files (folders: *.yaml/*.yml directly inside, agency files excluded).

    Raises:
        PlanFileNotFound: a path does not exist.
        NoPlanFiles: a folder holds no plan file (a check or a run of nothing is not a success).
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix in PLAN_SUFFIXES and f.is_file())
            if not found:
                raise NoPlanFiles(p)
            out += found
        elif p.is_file():
            out.append(p)
        else:
            raise PlanFileNotFound(p)
    return out


def load_plan(path: Path | str) -> Plan:
    """Load and check one plan (see PlanLoader.load)."""
    return PlanLoader().load(path)
