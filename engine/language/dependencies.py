"""What an occurrence waits for: the rule of each `depends_on` entry, checked when a plan loads, applied by the
tick and by `status`.

A dependency names a step and, per occurrence of the waiting step, one period of it:
- the same period (`same_period`; the default when both steps recur on the same cycle): 2023-H1 waits for
  2023-H1 - a period the other step does not have (left out of its recurrence) waits for nothing;
- else, for a recurring step, its latest period due on or before the waiting occurrence's due date (its first
  period when none is due by then), and for a one-off step its only occurrence;
- an on-demand step is never waited for.
The period is done when `share` of the other step's owners have finished it (done, skipped or cancelled): all
of them unless the entry says '80%' or a number of units. With `opens_anyway` the waiting occurrence opens on its
own date all the same, and its opening notice names the units still missing.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from engine.language.calendar import CYCLE_VI, cycle
from engine.language.models.timing import OnDemand
from engine.language.phrases import out_of_range

if TYPE_CHECKING:
    from engine.language.plan import Plan

Finding = tuple[tuple[Any, ...], str]


@dataclass(frozen=True)
class Link:
    """One `depends_on` entry of a step, resolved."""

    step: str  # the step waited for
    same_period: bool
    share: int | str  # 'all', 'N%' or a number of units
    opens_anyway: bool = False

    def needed(self, owners: int) -> int:
        """How many of the step's `owners` must have finished the period."""
        if self.share == "all":
            return owners
        if isinstance(self.share, str):
            return max(1, math.ceil(owners * int(self.share[:-1]) / 100))
        return min(self.share, owners)


def step_links(plan: Plan, step: Any) -> list[Link]:
    """A step's `depends_on` entries as links (a plain id: all owners, same period when both recur alike)."""
    out = []
    own = cycle(step.timing)
    for d in step.depends_on:
        ref = d if isinstance(d, str) else d.step
        other = plan.step_by_id.get(ref)
        alike = own is not None and other is not None and cycle(other.timing) == own
        if isinstance(d, str):
            out.append(Link(ref, alike, "all"))
        else:
            out.append(Link(ref, alike if d.same_period is None else d.same_period, d.share, d.opens_anyway))
    return out


def dependency_findings(plan: Plan) -> list[Finding]:
    """Problems of `depends_on` mappings: `same_period` between steps that do not recur on one cycle, a share of
    more units than the other step has."""
    out: list[Finding] = []
    for i, step in enumerate(plan.steps):
        for j, d in enumerate(step.depends_on):
            other = plan.step_by_id.get(d.step) if not isinstance(d, str) else None
            if other is None:
                continue
            loc = ("steps", i, "depends_on", j)
            mine, theirs = cycle(step.timing), cycle(other.timing)
            if d.same_period:
                if mine is None or theirs is None:
                    one_off = step.id if mine is None else other.id
                    out.append(((*loc, "same_period"), f"same_period chỉ dùng khi cả hai bước đều lặp theo kỳ, mà "
                                f"bước '{one_off}' không lặp ({plan_describe(plan, one_off)}): bỏ same_period"))
                elif mine != theirs:
                    out.append(((*loc, "same_period"), f"same_period chỉ dùng cho hai bước lặp cùng chu kỳ, mà bước "
                                f"'{step.id}' lặp {CYCLE_VI[mine]} còn bước '{other.id}' lặp {CYCLE_VI[theirs]} - bỏ "
                                "same_period thì mỗi lần của bước này chờ lần gần nhất của bước kia có hạn không muộn "
                                "hơn"))
            owners = len(plan.step_owners[other.id])
            if isinstance(d.share, int) and d.share > owners:
                out.append(((*loc, "share"), out_of_range(f"share {d.share}", f"bước '{other.id}' chỉ có {owners} "
                            "đơn vị chủ trì (muốn ghi tỷ lệ thì viết phần trăm, như '80%')")))
    return out


def plan_describe(plan: Plan, step_id: str) -> str:
    from engine.language.calendar import describe_timing

    return describe_timing(plan.step_by_id[step_id].timing)


def wanted(plan: Plan, step: Any, period: str, due: date) -> list[tuple[Link, str]]:
    """The links an occurrence of `step` (its period and due date) waits on, each with the period it waits for."""
    out = []
    for link in plan.links.get(step.id, ()):
        other = plan.step_by_id.get(link.step)
        if other is None or isinstance(other.timing, OnDemand):
            continue
        if link.same_period:
            out.append((link, period))
            continue
        dues, periods = plan.periods.get(link.step, ([], []))
        if not periods:  # dated when its own predecessor is done ('after'): its one occurrence
            out.append((link, "once"))
            continue
        i = bisect.bisect_right(dues, due)
        out.append((link, periods[i - 1] if i else periods[0]))
    return out


def wanted_keys(plan: Plan, link: Link, period: str) -> list[str]:
    """The occurrence keys of the period waited for, one per owner of the step waited for."""
    return [plan.key_for(link.step, period, u) for u in plan.step_owners.get(link.step, ())]


def missing(plan: Plan, link: Link, period: str, finished: Collection[tuple[str, str]]) -> list[str] | None:
    """The owners that have not finished the period, when too few have; None when the link is satisfied.

    A period the step waited for does not have (left out of its calendar) is not waited for.
    """
    owners = plan.step_owners.get(link.step, ())
    if link.same_period and period not in plan.periods.get(link.step, ([], []))[1] and plan.periods.get(link.step):
        return None
    late = [u for u in owners if (link.step, plan.key_for(link.step, period, u)) not in finished]
    return late if len(owners) - len(late) < link.needed(len(owners)) else None


def waiting(plan: Plan, step: Any, period: str, due: date,
            finished: Collection[tuple[str, str]]) -> list[tuple[Link, str, list[str]]]:
    """The links of an occurrence that are not satisfied: (link, period waited for, owners missing)."""
    out = []
    for link, p in wanted(plan, step, period, due):
        late = missing(plan, link, p, finished)
        if late is not None:
            out.append((link, p, late))
    return out
