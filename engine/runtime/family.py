"""Parent and child plans: a province's plan carried out through each district's own plan, in one store.

A child plan names its parent by id (`plan.parent_plan.id`), the unit of the parent that carries it out
(`parent_plan.unit`), and per step the parent's step it carries out (`carries_out`). Each child's tick records
these links on its plan row (`PlanRecord.parent_id`, `.links`), so the parent finds its children with one query and
never loads their files to tick:

- a child's occurrence done completes the parent's occurrence of the same period, for that unit
  (`engine.runtime.people.pull`, at the parent's tick): the parent's per-period dependencies then wait for the
  children's reports as for its own;
- `kehoach status PARENT` and the parent's reports show each child's standing (`standing`, `period_facts`);
- the parent does not chase the owner of an occurrence a child carries out (`carried_by`): the child's own plan
  opens, reminds, drafts and thanks, and the parent telling the same unit again doubled every notice.
  What the parent tells others - its leadership of a late district - still goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.errors import Problem, did_you_mean
from engine.language.loading import read_source
from engine.language.plan import Plan
from engine.language.validation import render_path
from engine.state.models import (
    CANCELLED,
    DONE,
    SKIPPED,
    ConfirmationRecord,
    OccurrenceRecord,
    PlanRecord,
)
from engine.state.store import transaction_memo

SOURCE = "child-plan"  # ConfirmationRecord.source of a parent's occurrence completed by a child plan


def links_of(plan: Plan) -> dict[str, Any] | None:
    """What a child plan's row records for its parent: the parent's unit carrying it out, the child's number and
    issuer, and which parent step each of its steps carries out; None for a plan without a parent id."""
    parent = plan.meta.parent_plan
    if parent is None or not parent.id:
        return None
    return {"unit": parent.unit, "number": plan.meta.number, "issuer": plan.issuer.name,
            "steps": {s.id: s.carries_out for s in plan.steps if s.carries_out}}


def record_links(plan: Plan, session: Session, record: PlanRecord) -> None:
    """Keep the plan's row in step with its file's parent links (done when the plan is claimed); the families
    this transaction found before are looked up again."""
    links = links_of(plan)
    parent = plan.meta.parent_plan.id if links else None
    if record.parent_id != parent or record.links != links:
        record.parent_id, record.links = parent, links
        transaction_memo(session, "children").clear()


@dataclass(frozen=True)
class Child:
    """A child plan as its parent's store knows it."""

    id: str
    number: str
    issuer: str
    unit: str | None
    steps: dict[str, str]  # child step -> parent step
    path: str


def children(session: Session, parent_id: str) -> list[Child]:
    """The plans of the store that carry out `parent_id`, by number.

    Asked once per transaction (every tick of every plan asks): links change only when a plan is claimed,
    which forgets what was found (`record_links`).
    """
    known = transaction_memo(session, "children")
    if parent_id not in known:
        rows = session.execute(_CHILDREN, {"parent": parent_id}).all()
        out = [Child(pid, links.get("number") or pid, links.get("issuer") or "", links.get("unit"),
                     dict(links.get("steps") or {}), path) for pid, links, path in rows if links]
        known[parent_id] = sorted(out, key=lambda c: (c.number, c.id))
    return list(known[parent_id])


_CHILDREN = select(PlanRecord.id, PlanRecord.links, PlanRecord.path).where(
    PlanRecord.parent_id == bindparam("parent"))


def carried_by(session: Session, plan_id: str) -> dict[tuple[str, str | None], str]:
    """Which of the plan's occurrences a child plan of the store carries out, as (parent step, the child's unit)
    -> the child's id; the unit is None for a child that names none (it carries out the step's one owner)."""
    return {(step, kid.unit): kid.id for kid in children(session, plan_id) for step in kid.steps.values()}


def carrying_child(carried: dict[tuple[str, str | None], str], step_id: str, key: str) -> str | None:
    """The child plan carrying out the occurrence `key` of `step_id`, or None: the child of the occurrence's unit
    (`2023-H1@ubnd-nho-quan`), or for a step of one owner (`2023-H1`) the child carrying out that step. The one
    rule for the parent's tick leaving the occurrence to the child, and for the child's done period completing it
    (`engine.runtime.people.pull`)."""
    unit = _unit_of(key)
    if unit is not None:
        return carried.get((step_id, unit))
    return next((kid for (step, _), kid in carried.items() if step == step_id), None)


def period_of(key: str) -> str:
    """The period of an occurrence key: `2023-H1` for `2023-H1` and for a unit's `2023-H1@ubnd-nho-quan`."""
    return key.split("@", 1)[0]


def _unit_of(key: str) -> str | None:
    return key.split("@", 1)[1] if "@" in key else None


@dataclass(frozen=True)
class ChildDone:
    """A period of a child's step done: when (the last of its owners), by whom, with what."""

    child: Child
    step_id: str
    period: str
    done_on: date
    late_days: int  # the most days any of its owners was late, by the child's own deadlines
    due_on: date  # the child's own deadline that lateness is counted from (the latest owner's)
    by: str
    evidence: dict[str, str]
    result: str | None


def done_periods(session: Session, child: Child, step_ids: list[str], as_of: date) -> list[ChildDone]:
    """The periods of the child's steps done by `as_of`: every occurrence of that period done (a step of several
    owners is done for a period when each of them is)."""
    rows = session.execute(
        select(OccurrenceRecord, ConfirmationRecord)
        .outerjoin(ConfirmationRecord, ConfirmationRecord.occurrence_id == OccurrenceRecord.id)
        .where(OccurrenceRecord.plan_id == child.id, OccurrenceRecord.step_id.in_(step_ids),
               OccurrenceRecord.orphaned.is_(False))).all()
    groups: dict[tuple[str, str], list[tuple[OccurrenceRecord, ConfirmationRecord | None]]] = {}
    for occ, conf in rows:
        if occ.status in (SKIPPED, CANCELLED):
            continue
        groups.setdefault((occ.step_id, period_of(occ.key)), []).append((occ, conf))
    out = []
    for (step_id, period), members in groups.items():
        if not all(o.status == DONE and o.done_on is not None and o.done_on <= as_of for o, _ in members):
            continue
        last, conf = max(members, key=lambda m: m[0].done_on)
        latest = max((o for o, _ in members), key=lambda o: (o.late_days or 0, o.due_on))
        out.append(ChildDone(child, step_id, period, last.done_on, latest.late_days or 0, latest.due_on,
                             conf.by if conf else child.issuer, dict(conf.evidence or {}) if conf else {},
                             conf.result if conf else None))
    return out


@dataclass(frozen=True)
class Standing:
    """A child plan's standing on a day, for its parent's status and reports."""

    child: Child
    plan: Plan | None  # None: its file cannot be read now (moved, broken)
    counts: Any  # engine.runtime.status.Counts, or None without the plan
    done: list[ChildDone]  # the periods of the steps carrying out the parent's, done by the day
    problem: str | None = None


def standing(plan: Plan, session: Session, day: date) -> list[Standing]:
    """Each child's counts on `day` (its file loaded from where it was last ticked) and what it has done of the
    parent's steps."""
    from engine.errors import PlanError
    from engine.language.plan import PlanLoader
    from engine.runtime.status import counts, plan_status

    loader = PlanLoader()
    out = []
    for kid in children(session, plan.id):
        done = done_periods(session, kid, list(kid.steps), day) if kid.steps else []
        try:
            child = loader.load(kid.path)
        except (PlanError, OSError) as exc:
            out.append(Standing(kid, None, None, done, f"không đọc được tệp kế hoạch {kid.path}: "
                                + str(exc).splitlines()[0]))
            continue
        out.append(Standing(kid, child, counts(plan_status(child, session, day), day), done))
    return out


def period_facts(plan: Plan, session: Session, step_ids: list[str], period: str | None, as_of: date
                 ) -> list[tuple[Child, list[ChildDone]]]:
    """For a parent's report: each child carrying out one of `step_ids`, with what it had done of them by
    `as_of` (only `period`'s, when given)."""
    out = []
    for kid in children(session, plan.id):
        mine = [s for s, p in kid.steps.items() if p in step_ids]
        if not mine:
            continue
        done = [d for d in done_periods(session, kid, mine, as_of) if period is None or d.period == period]
        out.append((kid, done))
    return out


def family_problems(plans: list[Plan]) -> list[Problem]:
    """Across the files of one check (`kehoach validate DIR`): each step's `carries_out` names a step of the
    parent plan, and the parent's unit is one of that step's owners, when the parent is among `plans`."""
    by_id = {p.id: p for p in plans}
    problems = []
    for child in plans:
        ref = child.meta.parent_plan
        parent = by_id.get(ref.id) if ref is not None and ref.id else None
        if parent is None:
            continue
        if ref.unit and ref.unit not in parent.units:
            problems.append(_problem(child, ("plan", "parent_plan", "unit"),
                                     f"kế hoạch cấp trên {parent.meta.number} không có đơn vị '{ref.unit}'"
                                     + did_you_mean(ref.unit, list(parent.units))))
        for i, step in enumerate(child.steps):
            if not step.carries_out:
                continue
            if step.carries_out not in parent.step_by_id:
                problems.append(_problem(child, ("steps", i, "carries_out"),
                                         f"kế hoạch cấp trên {parent.meta.number} không có bước '{step.carries_out}'"
                                         + did_you_mean(step.carries_out, list(parent.step_by_id))))
            elif step.carries_out in parent.per_unit and ref.unit not in parent.step_owners[step.carries_out]:
                owners = parent.step_owners[step.carries_out]
                problems.append(_problem(child, ("steps", i, "carries_out"),
                                         f"bước '{step.carries_out}' của kế hoạch cấp trên giao cho từng đơn vị "
                                         f"{', '.join(owners)}: ghi ở plan.parent_plan.unit đơn vị nào thực hiện "
                                         "kế hoạch này" + (f" ('{ref.unit}' không có trong số đó)" if ref.unit else "")))
    return problems


def _problem(plan: Plan, loc: tuple[Any, ...], message: str) -> Problem:
    source, problems = read_source(Path(plan.path))
    if source is None:
        return Problem(str(plan.path), 1, 1, "", message)
    return source.problem(loc, render_path(source.data, loc), message)
