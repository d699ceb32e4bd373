"""A loaded plan: the plan file merged with its agency files, checked whole, with its calendar."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.calendar import CalendarBuilder, Occurrence, StepCalendar
from engine.errors import PlanError, PlanFileNotFound, Problem, did_you_mean
from engine.graph import check_graph
from engine.loading import Source, read_source
from engine.models import AgencyFile, PlanFile
from engine.models.plan import Issuer, PlanMeta, Unit
from engine.models.policy import Escalation, Reminders
from engine.models.steps import Coordinate, Disseminate, Report
from engine.validation import render_path, translate
from engine.workdays import WorkCalendar

PLAN_SUFFIXES = (".yaml", ".yml")


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
        plan_file = _validate(PlanFile, source, problems)
        agencies, agency_sources = self._includes(source, problems)
        if plan_file is None:
            raise PlanError(problems)
        plan = self._resolve(path, source, plan_file, agencies, agency_sources, problems)
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
            if problems:
                raise PlanError(problems)
            return
        self.load(path)

    def _includes(self, source: Source, problems: list[Problem]) -> tuple[list[AgencyFile], list[Source]]:
        includes = source.data.get("include", [])
        if not isinstance(includes, list):
            return [], []
        agencies, sources = [], []
        for i, inc in enumerate(includes):
            if not isinstance(inc, str):
                continue
            target = (source.path.parent / inc).resolve()
            if not target.is_file():
                problems.append(source.problem(("include", i), f"include[{i}]",
                                               f"agency file '{inc}' not found (looked for {target})"))
                continue
            if target not in self._agencies:
                agency_source, agency_problems = read_source(target)
                agency = _validate(AgencyFile, agency_source, agency_problems) if agency_source else None
                self._agencies[target] = (agency_source, agency, agency_problems)
            agency_source, agency, agency_problems = self._agencies[target]
            problems.extend(agency_problems)
            if agency is not None and agency_source is not None:
                agencies.append(agency)
                sources.append(agency_source)
        return agencies, sources

    def _resolve(self, path: Path, source: Source, pf: PlanFile, agencies: list[AgencyFile],
                 agency_sources: list[Source], problems: list[Problem]) -> Plan:
        units: dict[str, Unit] = {}
        for agency in agencies:
            units.update(agency.units)
        units.update(pf.units)
        issuer = pf.plan.issuer or next((a.agency for a in reversed(agencies)), None)
        if issuer is None:
            problems.append(source.problem(("plan",), "plan", "required field 'issuer' is missing and no included "
                                           "agency file gives one (add plan.issuer or include: an agency file)"))
            issuer = Issuer(name="?")
        extra_off = [d.date for a in agencies for d in a.calendar.holidays] + [d.date for d in pf.calendar.holidays]
        extra_work = [d.date for a in agencies for d in a.calendar.working_days] + [d.date for d in pf.calendar.working_days]
        years = range(pf.plan.period.start.year - 1, pf.plan.period.end.year + 2)
        digest = hashlib.sha256(source.text.encode())
        for s in agency_sources:
            digest.update(s.text.encode())
        plan = Plan(
            id=path.stem,
            path=path,
            file=pf,
            agencies=agencies,
            units=units,
            issuer=issuer,
            workdays=WorkCalendar(years, extra_off, extra_work),
            version=digest.hexdigest()[:12],
            default_policy=_merge_policy([a.defaults for a in agencies] + [pf.defaults]),
        )
        for agency, agency_source in zip(agencies, agency_sources):
            for loc, msg in _unit_refs_in_defaults(agency.defaults, units, ("defaults",)):
                problems.append(agency_source.problem(loc, render_path(agency_source.data, loc), msg))
        findings = _unit_refs(pf, units)
        graph_findings, plan.order = check_graph(pf.steps)
        findings += graph_findings
        if not graph_findings:
            builder = CalendarBuilder(plan)
            plan.calendar = builder.build(plan.order)
            findings += builder.findings
        for loc, msg in findings:
            problems.append(source.problem(loc, render_path(source.data, loc), msg))
        return plan


def _validate(model: type, source: Source, problems: list[Problem]) -> Any:
    try:
        return model.model_validate(source.data)
    except ValidationError as exc:
        for loc, msg, at_key in translate(model, source.data, exc):
            problems.append(source.problem(loc, render_path(source.data, loc), msg, at_key=at_key))
        return None


def _unit_refs_in_defaults(defaults: Any, units: dict[str, Unit], prefix: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], str]]:
    out = []
    if defaults.escalation:
        for j, u in enumerate(defaults.escalation.to):
            if u not in units:
                out.append(((*prefix, "escalation", "to", j), _unknown_unit(u, units)))
    return out


def _unknown_unit(unit: str, units: dict[str, Unit]) -> str:
    return f"unknown unit '{unit}'{did_you_mean(unit, units)}" + ("" if units else " (no units are defined)")


def _unit_refs(pf: PlanFile, units: dict[str, Unit]) -> list[tuple[tuple[Any, ...], str]]:
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
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.iterdir() if f.suffix in PLAN_SUFFIXES and f.is_file())
        elif p.is_file():
            out.append(p)
        else:
            raise PlanFileNotFound(p)
    return out


def load_plan(path: Path | str) -> Plan:
    """Load and check one plan (see PlanLoader.load)."""
    return PlanLoader().load(path)
