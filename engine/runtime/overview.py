"""An agency's overview on a day: each plan's standing (most behind first) and each unit's overdue work across the
plans - what the head of an office reads to know who is behind. Shown by `kehoach status DIR` and published by
the daily overview flow (flows.overview)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from engine.language.periods import key_label
from engine.language.plan import Plan
from engine.language.text import percent_vi, shorten
from engine.runtime.family import carried_by, carrying_child
from engine.runtime.status import counts, plan_status
from engine.state.models import PlanRecord

ITEM_TITLE = 32  # characters of an item's short title, after its plan and period
UNIT_ITEMS = 3  # a unit's overdue items listed (the longest overdue), then how many more


@dataclass
class PlanLine:
    """One plan in the overview."""

    plan: Plan
    due: int
    on_time: int
    overdue: int
    ended: bool
    never_run: bool = False  # the store has no record of it: its figures are the calendar's alone

    @property
    def note(self) -> str:
        """What to add to the plan's title: ' (đã kết thúc)', ' (chưa chạy lần nào)' or nothing."""
        return " (chưa chạy lần nào)" if self.never_run else " (đã kết thúc)" if self.ended else ""

    @property
    def share(self) -> str:
        """Done on time, of what was due: '87,5%'; '-' when nothing was due yet."""
        return percent_vi(100 * self.on_time / self.due) if self.due else "-"


class LateItem(NamedTuple):
    """One overdue item of a unit: its plan's number, its period (as people name it; '' for a one-off), its short
    title and how many days it is overdue."""

    plan: str
    period: str
    title: str
    days: int

    @property
    def text(self) -> str:
        """'35/KH-UBND, quý I/2025: Báo cáo CCHC quý' - the plan and the period before the title, which is what
        gets cut when room is short."""
        return f"{self.plan}{f', {self.period}' if self.period else ''}: {self.title}"


@dataclass
class UnitLate:
    """A unit's overdue work across plans, most overdue first."""

    name: str
    items: list[LateItem] = field(default_factory=list)


def overview(plans: list[Plan], sessions: Any, day: date) -> tuple[list[PlanLine], list[UnitLate]]:
    """Every plan's standing on `day` (most overdue first), and each unit's overdue work across them (the units
    with most overdue work first). A parent plan's occurrence that a child plan of the overview carries out is
    the child's own occurrence, listed once, under the child plan: the district's late monthly report is one
    piece of work, late in its own plan and therefore in the province's."""
    lines, units = [], {}
    shown = {p.id for p in plans}
    with sessions() as session:
        for plan in plans:
            rows = plan_status(plan, session, day)
            c = counts(rows, day)
            lines.append(PlanLine(plan, c.due, c.done - c.done_late, c.overdue, day > plan.meta.period.end,
                                  session.get(PlanRecord, plan.id) is None))
            carried = carried_by(session, plan.id)
            for r in rows:
                step = plan.step_by_id.get(r["step"])
                if not r["days_overdue"] or step is None:
                    continue
                if carried and carrying_child(carried, r["step"], r["occurrence"]) in shown:
                    continue
                name = plan.unit_name(r["unit"] or plan.owner_of(step.id, r["occurrence"]))
                units.setdefault(name, UnitLate(name)).items.append(LateItem(
                    plan.meta.number, key_label(r["occurrence"]), shorten(plan.short_title(step), ITEM_TITLE),
                    r["days_overdue"]))
    for u in units.values():
        u.items.sort(key=lambda i: -i.days)
    ordered = sorted(units.values(), key=lambda u: (-len(u.items), u.name))
    return sorted(lines, key=lambda p: (-p.overdue, p.plan.meta.number)), ordered


def summary_line(lines: list[PlanLine], units: list[UnitLate]) -> str:
    """'3 kế hoạch; 2 kế hoạch có việc quá hạn; 41 việc quá hạn của 6 đơn vị.'"""
    late_plans = sum(1 for p in lines if p.overdue)
    return (f"{len(lines)} kế hoạch; {late_plans} kế hoạch có việc quá hạn; "
            f"{sum(len(u.items) for u in units)} việc quá hạn của {len(units)} đơn vị.")
