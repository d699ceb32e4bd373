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

from engine.errors import NoPlanFiles, PlanError, PlanFileNotFound, Problem, accepted, did_you_mean
from engine.language.calendar import CalendarBuilder, Occurrence, StepCalendar, split_key, unit_key
from engine.language.dependencies import Link, dependency_findings, step_links
from engine.language.graph import check_graph
from engine.language.identity import derived_id
from engine.language.loading import Source, display_path, escape_position, read_source
from engine.language.models import AgencyFile, PlanFile, Step
from engine.language.models.common import UnitId
from engine.language.models.plan import Issuer, PlanMeta, Unit
from engine.language.models.policy import Defaults, Escalation, Reminders, WorkCalendarSpec
from engine.language.models.steps import Coordinate, Disseminate, Report, waits_for
from engine.language.models.timing import After
from engine.language.periods import window_findings
from engine.language.phrases import missing_field
from engine.language.text import shorten
from engine.language.validation import (
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
from engine.language.workdays import WorkCalendar

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
    templates: dict[str, str] = field(default_factory=dict)  # message template overrides: agencies, then the plan
    grouping: str = "daily"  # notices: one message per recipient per day ('daily') or one per notice ('separate')
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # unit groups: agencies', then the plan's

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

    # Owners: a step owned by a list of units or by a group has an occurrence per owner and period.

    def members(self, refs: Any) -> list[str]:
        """Unit ids, groups replaced by their units, each unit once (in the order written)."""
        out: dict[str, None] = {}
        for ref in [refs] if isinstance(refs, str) else refs:
            out.update(dict.fromkeys(self.groups.get(ref, (ref,))))
        return list(out)

    @cached_property
    def step_owners(self) -> dict[str, tuple[str, ...]]:
        """Each step's owner units."""
        return {s.id: tuple(self.members(s.owner)) for s in self.steps}

    @cached_property
    def per_unit(self) -> frozenset[str]:
        """The steps whose occurrences are per owner ('2023-H1@ubnd-nho-quan'): their owner is written as a list
        or a group, so that adding a unit later keeps the keys of the others."""
        return frozenset(s.id for s in self.steps if isinstance(s.owner, list) or s.owner in self.groups)

    def owner_of(self, step_id: str, key: str) -> str:
        """The unit that owes an occurrence of a step, from its key."""
        period, unit = split_key(key)
        if unit is not None and step_id in self.per_unit:
            return unit
        owners = self.step_owners.get(step_id)
        return owners[0] if owners else ""

    def key_for(self, step_id: str, period: str, unit: str) -> str:
        """The key of `unit`'s occurrence of a period: '2023-H1@unit' for a step with several owners, else the
        period's key."""
        return unit_key(period, unit) if step_id in self.per_unit else period

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
    def projected_steps(self) -> frozenset[str]:
        """The steps with an estimated occurrence (after a step not dated yet) in the calendar."""
        return frozenset(cal_id for cal_id, cal in self.calendar.items() if any(o.projected for o in cal.occurrences))

    @cached_property
    def own_occurrences(self) -> dict[tuple[str, str], list[Occurrence]]:
        """The occurrences of each owner of a step of several owners, by (step id, unit), in calendar order."""
        out: dict[tuple[str, str], list[Occurrence]] = {}
        for step_id in self.per_unit:
            for o in self.occurrences(step_id):
                out.setdefault((step_id, o.owner), []).append(o)
        return out

    @cached_property
    def by_opening(self) -> dict[tuple[str, str | None], tuple[list[date], list[Occurrence]]]:
        """Each step's occurrences sorted by opening day, and their opening days, by (step id, None); of a step of
        several owners, also each owner's, by (step id, unit): what opens after a given day, by bisection."""
        groups: dict[tuple[str, str | None], list[Occurrence]] = {
            **{(step_id, None): cal.occurrences for step_id, cal in self.calendar.items()}, **self.own_occurrences}
        out: dict[tuple[str, str | None], tuple[list[date], list[Occurrence]]] = {}
        for key, occs in groups.items():
            occs = sorted(occs, key=lambda o: o.opens)
            out[key] = ([o.opens for o in occs], occs)
        return out

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
            for d in dict.fromkeys(waits_for(s)):
                out.setdefault(d, []).append(s.id)
        return out

    @cached_property
    def links(self) -> dict[str, list[Link]]:
        """Each step's dependencies, each as one rule (engine.language.dependencies)."""
        return {s.id: step_links(self, s) for s in self.steps}

    @cached_property
    def periods(self) -> dict[str, tuple[list[date], list[str]]]:
        """Each step's periods (keys without units) and their due dates, by due date: what a dependency on a
        step that recurs on another cycle waits for."""
        out: dict[str, tuple[list[date], list[str]]] = {}
        for step_id, cal in self.calendar.items():
            seen: dict[str, date] = {}
            for o in cal.occurrences:
                seen.setdefault(o.period or o.key, o.due)
            pairs = sorted((d, p) for p, d in seen.items())
            out[step_id] = ([d for d, _ in pairs], [p for _, p in pairs])
        return out

    @cached_property
    def after_steps(self) -> dict[str, list[Any]]:
        """For each step, the 'after' steps timed from it."""
        out: dict[str, list[Any]] = {}
        for s in self.steps:
            if isinstance(s.timing, After):
                out.setdefault(s.timing.after.step, []).append(s)
        return out

    @cached_property
    def step_words(self) -> dict[str, dict[str, Any]]:
        """What a notice says of the plan and of each step, whatever the occurrence (engine.runtime.notices): the
        same for every notice of the step, so written once."""
        about_plan = {"plan_id": self.id, "plan_number": self.meta.number, "plan_title": " ".join(self.meta.title.split()),
                      "issuer": self.issuer.name}
        return {s.id: {**about_plan, "step_id": s.id, "step_title": " ".join(s.title.split()),
                       "step_short": self.short_title(s), "kind": s.kind,
                       "participants": ", ".join(self.unit_name(u) for u in self.members(s.participants)),
                       "material": (s.material or "") if isinstance(s, Disseminate) else "",
                       "method": (s.method or "") if isinstance(s, Disseminate) else "",
                       "subject": (s.subject or "") if isinstance(s, Coordinate) else "",
                       "recipient": self.unit_name(s.recipient) if isinstance(s, Report) else ""}
                for s in self.steps}

    def short_title(self, step: Any) -> str:
        """The step's short title: its `short_title`, else its title shortened at a word (at most 60 characters)."""
        return step.short_title or shorten(step.title, SHORT_TITLE)

    def unit_name(self, unit_id: str) -> str:
        unit = self.units.get(unit_id)
        return unit.name if unit else unit_id


SHORT_TITLE = 60


def _a_file(path: Path | str) -> Path:
    """The path of a plan (or agency) file to read. Raises PlanFileNotFound: a folder, or nothing there."""
    path = Path(path)
    if path.is_dir():
        raise PlanFileNotFound.folder(path)
    if not path.is_file():
        raise PlanFileNotFound(path)
    return path


def plan_id(meta: PlanMeta, issuer: Issuer | None) -> str:
    """The plan's id: `plan.id` as written, else derived from its number, year of issue and issuer
    (engine.language.identity) - never from the file's name, so that renaming or moving the file keeps its state."""
    return meta.id or derived_id(meta.number, meta.issued_on.year, issuer)


def duplicate_ids(plans: list[Plan]) -> list[Problem]:
    """Plans of different files that have one id (they would share one state): a problem at each one's id (or,
    derived, at its number), naming the others."""
    by_id: dict[str, dict[Path, Plan]] = {}
    for p in plans:
        by_id.setdefault(p.id, {}).setdefault(p.path.resolve(), p)  # one file given twice is one plan
    problems = []
    for pid, files in by_id.items():
        if len(files) < 2:
            continue
        sites = {path: _id_site(p) for path, p in files.items()}
        for path, p in files.items():
            others = ", ".join(f"{f}:{line}:{col}" for other, (f, line, col) in sites.items() if other != path)
            how = "" if p.meta.id else (" (lấy từ plan.number, năm ban hành và địa danh hoặc tên cơ quan ban "
                                        "hành)")
            f, line, col = sites[path]
            problems.append(Problem(f, line, col, "plan.id", f"mã kế hoạch '{pid}'{how} trùng với mã của kế hoạch ở "
                                    f"{others}: hai kế hoạch cùng mã sẽ dùng chung một trạng thái - đặt cho mỗi kế "
                                    "hoạch một plan.id riêng"))
    return problems


def _id_site(plan: Plan) -> tuple[str, int, int]:
    """Where a plan's id is written, or (derived) its number: file, line, column."""
    source, _ = read_source(plan.path)
    if source is None:
        return display_path(plan.path), 1, 1
    line, column = source.position(("plan", "id" if plan.meta.id else "number"))
    return source.name, line, column


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
    group_names: set[str] = field(default_factory=set)  # group names they define, valid or not
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
    group_names: set[str] = field(default_factory=set)  # group names written in the file, valid or not

    @classmethod
    def whole(cls, pf: PlanFile) -> Parts:
        return cls(pf, list(range(len(pf.steps))), {s.id for s in pf.steps}, set(pf.units),
                   group_names=set(pf.groups))

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
            group_names=_keys(data.get("groups")),
        )

    def renumber(self, loc: tuple[Any, ...]) -> tuple[Any, ...]:
        """A loc into file.steps as a loc into the file."""
        if len(loc) > 1 and loc[0] == "steps" and isinstance(loc[1], int):
            return ("steps", self.numbers[loc[1]], *loc[2:])
        return loc


def _keys(mapping: Any) -> set[str]:
    """The text keys of a mapping as written (nothing when it is not one)."""
    return {k for k in mapping if isinstance(k, str)} if isinstance(mapping, dict) else set()


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
        path = _a_file(path)
        source, problems = read_source(path)
        if source is None:
            raise PlanError(problems)
        plan_file = _validate(PlanFile, source, problems)
        included = self._includes(source, problems)
        parts = Parts.whole(plan_file) if plan_file is not None else Parts.salvage(source.data)
        plan = self._resolve(path, source, parts, included, problems)
        if problems:
            raise PlanError(problems)
        return plan

    def load_all(self, paths: list[Path]) -> list[Plan]:
        """Load plans that are used together (run, served, checked as a folder): every one valid, no two with
        one id.

        Raises:
            PlanFileNotFound: a path does not exist.
            PlanError: with every problem of every plan, and every duplicate id.
        """
        plans, problems = [], []
        for path in paths:
            try:
                plans.append(self.load(path))
            except PlanError as exc:  # every broken plan reported at once
                problems += exc.problems
        problems += duplicate_ids(plans)
        if problems:
            raise PlanError(problems)
        return plans

    def check(self, path: Path | str) -> Plan | None:
        """Check a plan file, or an agency file (a top-level 'agency' and no 'plan'); the plan, if it is one.

        Raises:
            PlanFileNotFound, PlanError: as `load`.
        """
        path = _a_file(path)
        source, problems = read_source(path)
        if source is not None and "agency" in source.data and "plan" not in source.data:
            agency = _validate(AgencyFile, source, problems)
            problems += _template_problems(source)
            for loc, msg, at_key in group_findings(agency.groups, agency.units, agency.groups) if agency else []:
                problems.append(source.problem(loc, render_path(source.data, loc), msg, at_key))
            if problems:
                raise PlanError(problems)
            return None
        return self.load(path)

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
            if agency_source is not None:
                out.group_names |= _keys(agency_source.data.get("groups"))
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
            problems.append(source.problem(("plan",), "plan", f"{missing_field('issuer')} (cơ quan ban hành): thêm "
                                           "plan.issuer, hoặc include một tệp cơ quan"))
        extra_off = [d.date for a in inc.files for d in a.calendar.holidays] + [d.date for d in pf.calendar.holidays]
        extra_work = [d.date for a in inc.files for d in a.calendar.working_days] + [d.date for d in pf.calendar.working_days]
        years = range(meta.period.start.year - 1, meta.period.end.year + 2) if meta else range(0)
        digest = hashlib.sha256(source.text.encode())
        for s in inc.sources:
            digest.update(s.text.encode())
        plan = Plan(
            id=plan_id(meta, issuer) if meta is not None else path.stem,  # no valid header: the plan is refused
            path=path,
            file=pf,
            agencies=inc.files,
            units=units,
            issuer=issuer or Issuer(name="?"),
            workdays=WorkCalendar(years, extra_off, extra_work),
            version=digest.hexdigest()[:12],
            default_policy=_merge_policy([a.defaults for a in inc.files] + [pf.defaults]),
        )
        plan.groups = {k: tuple(v) for a in inc.files for k, v in a.groups.items()} | {
            k: tuple(v) for k, v in pf.groups.items()}
        plan.templates = {k: v for a in inc.files for k, v in a.templates.items()} | dict(pf.templates)
        plan.grouping = next((d.notices for d in [pf.defaults, *reversed([a.defaults for a in inc.files])]
                              if d.notices), "daily")
        problems += _template_problems(source)
        known_units = None
        if inc.units_known and parts.unit_names is not None:
            known_units = inc.unit_names | parts.unit_names
        refs_ok = known_units is not None
        if known_units is not None:
            for agency, agency_source in zip(inc.files, inc.sources):
                found = group_findings(agency.groups, inc.unit_names, set(plan.groups))
                for loc, msg, at_key in found:
                    problems.append(agency_source.problem(loc, render_path(agency_source.data, loc), msg, at_key))
                for loc, msg in _unit_refs_in_defaults(agency.defaults, [*known_units, *plan.groups], ("defaults",)):
                    problems.append(agency_source.problem(loc, render_path(agency_source.data, loc), msg))
                refs_ok = refs_ok and not found
            found = group_findings(pf.groups, known_units, set(plan.groups))
            for loc, msg, at_key in found:
                problems.append(source.problem(loc, render_path(source.data, loc), msg, at_key))
            refs_ok = refs_ok and not found
        named = {g: plan.groups.get(g, ()) for g in [*inc.group_names, *parts.group_names]} | plan.groups
        findings = _unit_refs(pf, known_units, named) if known_units is not None else []
        findings += _parent_refs(pf)
        graph_findings, plan.order = check_graph(pf.steps, known_ids=parts.step_ids)
        findings += graph_findings
        if refs_ok and not findings:
            findings += dependency_findings(plan)
        if not findings and meta is not None and parts.policy_ok and inc.complete:
            builder = CalendarBuilder(plan)
            plan.calendar = builder.build(plan.order)
            findings += builder.findings + window_findings(plan)
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
        return written, f"không đọc được tệp cơ quan '{inc}': liên kết tượng trưng trỏ vòng về chính nó"
    roots = agency_roots(plan_path)
    if not any(target.is_relative_to(root) for root in roots):
        return target, (f"tệp cơ quan '{inc}' nằm ngoài thư mục của kế hoạch: chỉ include tệp trong thư mục chứa "
                        f"tệp kế hoạch hoặc thư mục con của nó, hoặc khai báo thư mục đó trong {AGENCY_DIRS}")
    if target.suffix not in PLAN_SUFFIXES:
        return target, f"tệp cơ quan '{inc}' không phải tệp YAML: tên tệp cơ quan kết thúc bằng .yaml hoặc .yml"
    if not target.is_file():
        return target, _missing_include(inc, target)
    return target, None


def _missing_include(inc: str, target: Path) -> str:
    siblings = sorted(p.name for p in target.parent.glob("*.y*ml")) if target.parent.is_dir() else []
    hint = did_you_mean(target.name, siblings)
    return f"không tìm thấy tệp cơ quan '{inc}' (đã tìm {display_path(target)}){hint}"


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
    from engine.language.templates import template_problems

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
        return f"không có đơn vị '{unit}' (chưa khai báo đơn vị nào: thêm vào 'units:', hoặc include một tệp cơ quan)"
    return f"không có đơn vị '{unit}'" + (did_you_mean(unit, units)
                                          or f" (các đơn vị đã khai báo: {accepted(units)})")


MAX_KEY = 64  # the state store's column for occurrence keys
LONGEST_PERIOD = len("yc-2024-05-02-99")  # the longest period part of a key (a request's)


def group_findings(groups: dict[str, list[str]], units: Collection[str],
                   all_groups: Collection[str]) -> list[tuple[tuple[Any, ...], str, bool]]:
    """A group is a name of its own (not a unit's) listing defined units: (loc, message, at the key)."""
    out: list[tuple[tuple[Any, ...], str, bool]] = []
    for name, members in groups.items():
        if name in units:
            out.append((("groups", name), f"nhóm đơn vị '{name}' trùng mã với một đơn vị: đặt cho nhóm một tên riêng "
                        "(các bước gọi đơn vị và nhóm theo cùng một cách)", True))
        for j, unit in enumerate(members):
            if unit in all_groups and unit not in units:
                out.append((("groups", name, j), f"'{unit}' là một nhóm đơn vị: nhóm chỉ gồm các đơn vị, không gồm "
                            "nhóm khác", False))
            elif unit not in units:
                out.append((("groups", name, j), _unknown_unit(unit, units), False))
    return out


def _unit_refs(pf: PlanFile, units: Collection[str],
               groups: dict[str, tuple[str, ...]] | None = None) -> list[tuple[tuple[Any, ...], str]]:
    """Every unit a step names must be defined in the plan or an included agency file; a group may stand for a
    list of units (owner, participants, audience, partners, escalation.to), not for the one recipient."""
    groups = groups or {}
    names = [*units, *groups]
    out = _unit_refs_in_defaults(pf.defaults, names, ("defaults",))
    for i, step in enumerate(pf.steps):
        refs: list[tuple[tuple[Any, ...], str]] = (
            [(("owner", j), u) for j, u in enumerate(step.owner)] if isinstance(step.owner, list)
            else [(("owner",), step.owner)])
        refs += [(("participants", j), u) for j, u in enumerate(step.participants)]
        if step.escalation:
            refs += [(("escalation", "to", j), u) for j, u in enumerate(step.escalation.to)]
        if isinstance(step, Disseminate):
            refs += [(("audience", j), u) for j, u in enumerate(step.audience)]
        elif isinstance(step, Coordinate):
            refs += [(("partners", j), u) for j, u in enumerate(step.partners)]
        for loc, unit in refs:
            if unit not in units and unit not in groups:
                out.append((("steps", i, *loc), _unknown_unit(unit, names)))
        if isinstance(step, Report) and step.recipient not in units:
            out.append((("steps", i, "recipient"), f"'{step.recipient}' là một nhóm đơn vị: báo cáo chỉ gửi một đơn "
                        "vị nhận" if step.recipient in groups else _unknown_unit(step.recipient, units)))
        several = isinstance(step.owner, list) or step.owner in groups
        for loc, unit in refs[:len(step.owner) if isinstance(step.owner, list) else 1] if several else []:
            for member in groups.get(unit, (unit,)):
                if len(member) > MAX_KEY - LONGEST_PERIOD - 1:
                    out.append((("steps", i, *loc), f"mã đơn vị '{member}' dài {len(member)} ký tự: bước có nhiều "
                                "đơn vị chủ trì ghi mã của từng đơn vị vào mã mỗi lần thực hiện, nên mã đơn vị dài "
                                f"tối đa {MAX_KEY - LONGEST_PERIOD - 1} ký tự"))
    return out


def _parent_refs(pf: PlanFile) -> list[tuple[tuple[Any, ...], str]]:
    """A step that carries out a parent plan's step needs the parent named by id (its steps are checked across
    files, by `kehoach validate DIR`: engine.runtime.family)."""
    parent = pf.plan.parent_plan if pf.plan else None
    if parent is not None and parent.id:
        return []
    return [(("steps", i, "carries_out"), "carries_out cần mã của kế hoạch cấp trên (plan.parent_plan.id), kế "
             "hoạch có bước mà bước này thực hiện")
            for i, step in enumerate(pf.steps) if step.carries_out]


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
