"""The step DAG: reference checks, named cycles, topological order, Mermaid and Graphviz output."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from engine.errors import accepted, did_you_mean
from engine.language.models.steps import Report, Review, waits_for
from engine.language.models.timing import After
from engine.language.text import shorten

if TYPE_CHECKING:
    from engine.language.plan import Plan

Finding = tuple[tuple[Any, ...], str]


def predecessors(step: Any) -> list[str]:
    """Steps that must be done before `step` opens: depends_on plus an 'after' timing's step."""
    deps = waits_for(step)
    if isinstance(step.timing, After) and step.timing.after.step not in deps:
        deps.append(step.timing.after.step)
    return deps


def check_references(steps: list[Any], known_ids: Iterable[str] = ()) -> list[Finding]:
    """Unknown, self and duplicate step references, and duplicate step ids.

    Args:
        steps: the (valid) steps, in file order.
        known_ids: ids of other steps the file holds (steps that failed validation): not reported as unknown.
    """
    findings: list[Finding] = []
    seen: dict[str, int] = {}
    for i, step in enumerate(steps):
        if step.id in seen:
            first = steps[seen[step.id]]
            findings.append((("steps", i, "id"), f"mã bước '{step.id}' bị trùng: mỗi bước cần một mã riêng, mà bước "
                             f"trước đó ('{first.title[:40]}') đã dùng mã này"))
        else:
            seen[step.id] = i
    others = set(known_ids) - set(seen)
    ids = list(seen) + sorted(others)
    for i, step in enumerate(steps):
        waits = waits_for(step)
        refs: list[tuple[tuple[Any, ...], str]] = [
            (("depends_on", j) if isinstance(d, str) else ("depends_on", j, "step"), waits[j])
            for j, d in enumerate(step.depends_on)]
        if isinstance(step.timing, After):
            refs.append((("timing", "after", "step"), step.timing.after.step))
        if isinstance(step, (Review, Report)):
            refs += [(("covers", j), c) for j, c in enumerate(step.covers)]
        for loc, ref in refs:
            if ref == step.id:
                what = "có chính nó trong 'covers'" if loc[0] == "covers" else "phụ thuộc vào chính nó"
                findings.append((("steps", i, *loc), f"bước '{ref}' không thể {what}"))
            elif ref not in seen and ref not in others:
                findings.append((("steps", i, *loc), _unknown_step(ref, ids)))
        dups = {d for d in waits if waits.count(d) > 1}
        for d in sorted(dups):
            j = len(waits) - 1 - waits[::-1].index(d)
            findings.append((("steps", i, "depends_on", j), f"bước '{d}' được ghi hai lần"))
    return findings


def _unknown_step(ref: str, ids: list[str]) -> str:
    return f"không có bước '{ref}'" + (did_you_mean(ref, ids) or f" (các mã bước: {accepted(ids)})")


def find_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """One cycle per strongly connected component with a loop, each as [a, b, ..., a] (a waits for b)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in graph:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(graph.get(nxt, ()))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                if len(comp) > 1:
                    components.append(comp)
    return [_cycle_in(set(comp), graph, min(comp, key=list(graph).index)) for comp in components]


def _cycle_in(comp: set[str], graph: dict[str, list[str]], start: str) -> list[str]:
    path, seen, node = [start], {start}, start
    while True:
        nxt = next(n for n in graph[node] if n in comp)
        if nxt in seen:
            return path[path.index(nxt):] + [nxt]
        path.append(nxt)
        seen.add(nxt)
        node = nxt


def topological_order(graph: dict[str, list[str]]) -> list[str]:
    """Steps ordered so every step comes after its predecessors (file order among equals)."""
    order: list[str] = []
    done: set[str] = set()
    for root in graph:
        stack = [(root, iter(graph[root]))]
        if root in done:
            continue
        visiting = {root}
        while stack:
            node, it = stack[-1]
            for nxt in it:
                if nxt in graph and nxt not in done and nxt not in visiting:
                    visiting.add(nxt)
                    stack.append((nxt, iter(graph[nxt])))
                    break
            else:
                stack.pop()
                visiting.discard(node)
                if node not in done:
                    done.add(node)
                    order.append(node)
    return order


def check_graph(steps: list[Any], known_ids: Iterable[str] = ()) -> tuple[list[Finding], list[str]]:
    """All graph findings and a topological order (valid when there are no findings); see check_references."""
    findings = check_references(steps, known_ids)
    graph: dict[str, list[str]] = {}
    position: dict[str, int] = {}
    for i, step in enumerate(steps):
        graph.setdefault(step.id, predecessors(step))
        position.setdefault(step.id, i)
    for cycle in find_cycles(graph):
        first = position[cycle[0]]
        findings.append((("steps", first, "depends_on"), "vòng phụ thuộc: " + " -> ".join(cycle)
                         + " (mỗi bước chờ bước kế tiếp, nên không bước nào mở được)"))
    return findings, topological_order(graph)


def _label(text: str) -> str:
    return text.replace('"', "'").replace("\n", " ")


def _title(text: str, width: int = 61) -> str:
    """A step's title in a node: whole, or cut at the last word that fits, with '…' (at most `width` characters)."""
    return _label(shorten(text, width))


def to_mermaid(plan: Plan) -> str:
    """The DAG as a Mermaid flowchart (left to right)."""
    lines = ["flowchart LR"]
    for step in plan.steps:
        lines.append(f'    {_node(step.id)}["{_label(step.id)}<br/>{_title(step.title)}<br/><i>{step.kind}</i>"]')
    for step in plan.steps:
        for dep in predecessors(step):
            label = _edge_label(plan, step, dep)
            arrow = f' -->|"{label}"| ' if label else " --> "
            lines.append(f"    {_node(dep)}{arrow}{_node(step.id)}")
    return "\n".join(lines) + "\n"


def to_dot(plan: Plan) -> str:
    """The DAG in Graphviz dot."""
    lines = [f'digraph "{_label(plan.meta.number)}" {{', "    rankdir=LR;", "    node [shape=box];"]
    for step in plan.steps:
        lines.append(f'    "{step.id}" [label="{_label(step.id)}\\n{_title(step.title)}\\n({step.kind})"];')
    for step in plan.steps:
        for dep in predecessors(step):
            label = _edge_label(plan, step, dep)
            attr = f' [label="{label}"]' if label else ""
            lines.append(f'    "{dep}" -> "{step.id}"{attr};')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _node(step_id: str) -> str:
    return "s_" + step_id.replace("-", "_")


def _edge_label(plan: Plan, step: Any, dep: str) -> str:
    """What an arrow says: '+30 ngày' (due N days after), 'cùng kỳ, 90% đơn vị, đến hạn vẫn mở' (a per-period
    dependency: the same period, of a share of the owners, opening on its date anyway)."""
    parts = []
    if isinstance(step.timing, After) and step.timing.after.step == dep:
        a = step.timing.after
        parts.append(f"+{a.days} ngày" if a.days is not None else f"+{a.working_days} ngày làm việc")
    for link in plan.links.get(step.id, []):
        if link.step != dep:
            continue
        if link.same_period:
            parts.append("cùng kỳ")
        if dep in plan.per_unit:
            parts.append("tất cả đơn vị" if link.share == "all" else
                         f"{link.share} đơn vị" if isinstance(link.share, str) else f"{link.share} đơn vị trở lên")
        if link.opens_anyway:
            parts.append("đến hạn vẫn mở")
    return _label(", ".join(parts))
