"""Whatever a plan file holds, loading it gives a Plan or a PlanError whose problems are all located (never a crash).

Property-based (hypothesis): random plans, and random mutations of the shipped plans, of their data (keys deleted,
values of random types, steps duplicated, ids swapped) and of their text (random unicode inserted, lines repeated).
Kept apart from test_plan.py because these are slower and exercise the whole loading path at once.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml_rs
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from engine.errors import PlanError
from engine.language.models.steps import KINDS
from engine.language.models.timing import TIMING_KEYS
from engine.language.plan import Plan, PlanLoader, plan_paths
from tests.conftest import PLANS

SHIPPED = {p.name: p.read_text(encoding="utf-8") for p in plan_paths([PLANS])}
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.data_too_large])

IDS = ["quan-triet", "so-ket", "tong-ket", "bao-cao", "van-phong", "lanh-dao-so", "so-noi-vu", "x"]
WORDS = IDS + list(KINDS) + list(TIMING_KEYS) + ["interim", "final", "keep", "previous", "next", "<<", "", "~"]
DATES = ["16/03/2022", "31/12/2025", "31/02/2023", "29/02/2024", "2023-06-30", "01/01/1900", "19/03/2022"]
DAYS = ["30/09", "31/10", "29/02", "31/04", "1/1"]
LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.floats(), st.dates(),
    st.sampled_from(WORDS + DATES), st.text(max_size=30),
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A folder laid out like plan_definitions, so that mutated plans still find their agency files."""
    root = tmp_path_factory.mktemp("plans")
    shutil.copytree(PLANS / "agencies", root / "agencies")
    return root


def dump(data: Any) -> str:
    out = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump(data, out)
    return out.getvalue()


def load_or_problems(path: Path) -> Plan | PlanError:
    """Load; a PlanError is an acceptable answer when every problem in it is located. Anything else propagates."""
    try:
        return PlanLoader().load(path)
    except PlanError as exc:
        assert exc.problems
        for p in exc.problems:
            assert p.line >= 1 and p.column >= 1, p
            assert p.file and p.message, p
        return exc


def locs(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into nested mappings and lists (the root excluded)."""
    out = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        out.append((*prefix, key))
        out += locs(value, (*prefix, key))
    return out


def parent_of(data: Any, loc: tuple[Any, ...]) -> Any:
    for seg in loc[:-1]:
        data = data[seg]
    return data


def mutate(draw: Any, data: dict[str, Any]) -> None:
    """One random edit of a plan's data, in place."""
    paths = locs(data)
    loc = draw(st.sampled_from(paths))
    parent, key = parent_of(data, loc), loc[-1]
    op = draw(st.sampled_from(["delete", "replace", "duplicate", "rename", "swap_ids", "add_key"]))
    if op == "delete":
        del parent[key]
    elif op == "replace":
        parent[key] = draw(VALUES)
    elif op == "duplicate" and isinstance(parent, list):
        parent.insert(key, parent[key])
    elif op == "rename" and isinstance(parent, dict):
        parent[draw(st.sampled_from(WORDS) | st.text(min_size=1, max_size=12))] = parent.pop(key)
    elif op == "swap_ids" and isinstance(data.get("steps"), list) and len(data["steps"]) > 1:
        steps = [s for s in data["steps"] if isinstance(s, dict)]
        if len(steps) > 1:
            a, b = draw(st.permutations(steps))[:2]
            a["id"], b["id"] = b.get("id"), a.get("id")
    elif op == "add_key" and isinstance(parent[key], dict):
        parent[key][draw(st.sampled_from(WORDS) | st.integers(0, 3000))] = draw(VALUES)


class TestMutatedShippedPlans:
    @FAST
    @given(data=st.data())
    def test_edited_data_loads_or_is_refused_with_located_problems(self, workdir, data):
        name = data.draw(st.sampled_from(sorted(SHIPPED)))
        plan = yaml_rs.loads(SHIPPED[name])
        for _ in range(data.draw(st.integers(1, 4))):
            mutate(data.draw, plan)
        path = workdir / name
        path.write_text(dump(plan), encoding="utf-8")
        load_or_problems(path)

    @FAST
    @given(data=st.data())
    def test_edited_text_loads_or_is_refused_with_located_problems(self, workdir, data):
        name = data.draw(st.sampled_from(sorted(SHIPPED)))
        text = SHIPPED[name]
        for _ in range(data.draw(st.integers(1, 3))):
            at = data.draw(st.integers(0, len(text)))
            edit = data.draw(st.sampled_from(["insert", "delete", "repeat_line"]))
            if edit == "insert":
                piece = data.draw(st.text(max_size=12) | st.sampled_from(["\t", ": ", "- ", "[", "{", "&a ", "*a",
                                                                          "!x ", "\n---\n", "<<: ", "'", '"']))
                text = text[:at] + piece + text[at:]
            elif edit == "delete":
                text = text[:at] + text[at + data.draw(st.integers(1, 40)):]
            else:
                lines = text.splitlines(keepends=True)
                line = lines[data.draw(st.integers(0, len(lines) - 1))]
                text = text[:at] + line + text[at:]
        path = workdir / name
        path.write_text(text, encoding="utf-8")
        load_or_problems(path)

    def test_the_unedited_plans_load(self, workdir):
        for name, text in SHIPPED.items():
            (workdir / name).write_text(text, encoding="utf-8")
            assert isinstance(load_or_problems(workdir / name), Plan)


def maybe(good: st.SearchStrategy, odds: int = 12) -> st.SearchStrategy:
    """Mostly a sensible value, about one time in `odds` anything at all."""
    return st.sampled_from(range(odds)).flatmap(lambda n: VALUES if n == odds - 1 else good)


TIMINGS = st.one_of(
    st.fixed_dictionaries({"due": st.sampled_from(DATES)}, optional={"start": st.sampled_from(DATES)}),
    st.fixed_dictionaries({"before": st.sampled_from(DATES)}),
    st.fixed_dictionaries({"in_year": st.integers(2020, 2027)}, optional={"due": st.sampled_from(DAYS)}),
    st.fixed_dictionaries({"monthly": st.integers(0, 32)}, optional={"from": st.sampled_from(DATES),
                                                                     "until": st.sampled_from(DATES)}),
    st.fixed_dictionaries({"quarterly": st.fixed_dictionaries({"month": st.integers(0, 4),
                                                               "day": st.integers(0, 32)})}),
    st.fixed_dictionaries({"yearly": st.sampled_from(DAYS)}),
    st.fixed_dictionaries({"ongoing": st.fixed_dictionaries(
        {"check_in": st.sampled_from(["monthly", "quarterly", "half_yearly", "yearly", "weekly"])},
        optional={"day": st.integers(0, 32)})}),
    st.fixed_dictionaries({"on_demand": st.fixed_dictionaries({}, optional={"days": st.integers(-1, 10),
                                                                            "working_days": st.integers(-1, 10)})}),
    st.fixed_dictionaries({"after": st.fixed_dictionaries({"step": st.sampled_from(IDS)},
                                                          optional={"days": st.integers(-1, 400)})}),
)
COMMON = {
    "id": maybe(st.sampled_from(IDS)),
    "title": maybe(st.text(min_size=1, max_size=20)),
    "owner": maybe(st.sampled_from(IDS)),
    "timing": maybe(TIMINGS),
}
COMMON_OPTIONAL = {
    "depends_on": maybe(st.lists(st.sampled_from(IDS), max_size=3)),
    "reminders": maybe(st.fixed_dictionaries({}, optional={
        "days_before": st.lists(st.integers(-3, 30), max_size=3),
        "on": st.lists(st.sampled_from(DATES), max_size=2)})),
    "escalation": maybe(st.fixed_dictionaries({}, optional={"to": st.lists(st.sampled_from(IDS), max_size=2),
                                                            "every_days": st.integers(0, 10)})),
    "on_non_working_day": maybe(st.sampled_from(["keep", "previous", "next", "before"])),
}


def step_of(kind: str, required: dict[str, Any], optional: dict[str, Any] | None = None) -> st.SearchStrategy:
    """A step of one kind with its own fields (a field of another kind would stop validation at once)."""
    return st.fixed_dictionaries({**COMMON, "kind": maybe(st.just(kind)), **required},
                                 optional={**COMMON_OPTIONAL, **(optional or {})})


UNITS = st.lists(st.sampled_from(IDS), min_size=1, max_size=2)
STEPS = st.one_of(
    step_of("disseminate", {"audience": maybe(UNITS)}),
    step_of("coordinate", {"partners": maybe(UNITS)}),
    step_of("review", {"level": maybe(st.sampled_from(["interim", "final"]))},
            {"covers": maybe(st.lists(st.sampled_from(IDS), max_size=2))}),
    step_of("report", {"recipient": maybe(st.sampled_from(IDS))},
            {"covers": maybe(st.lists(st.sampled_from(IDS), max_size=2))}),
)
PLANS_DATA = st.fixed_dictionaries(
    {
        "plan": maybe(st.fixed_dictionaries(
            {"number": st.just("1/KH-X"), "title": st.just("Kế hoạch"), "issuer": maybe(st.just({"name": "Sở X"})),
             "issued_on": maybe(st.sampled_from(DATES)),
             "period": maybe(st.fixed_dictionaries({"start": st.sampled_from(["16/03/2022", "01/01/2024"]),
                                                    "end": st.sampled_from(["31/12/2025", "31/12/2023"])}))},
            optional={"timezone": maybe(st.just("Asia/Ho_Chi_Minh"))},
        )),
        "steps": maybe(st.lists(STEPS, min_size=1, max_size=5)),
    },
    optional={
        "units": maybe(st.dictionaries(st.sampled_from(IDS), st.just({"name": "Đơn vị"}), max_size=4)),
        "include": maybe(st.just(["agencies/so-khcn-thai-nguyen.yaml"])),
        "defaults": maybe(st.fixed_dictionaries({}, optional={"opens_before_days": st.integers(-1, 400)})),
    },
)


class TestRandomPlans:
    @FAST
    @given(plan=PLANS_DATA)
    def test_a_random_plan_loads_or_is_refused_with_located_problems(self, workdir, plan):
        path = workdir / "random.yaml"
        path.write_text(dump(plan), encoding="utf-8")
        result = load_or_problems(path)
        # `pytest --hypothesis-show-statistics` shows how deep the random plans get.
        first = None if isinstance(result, Plan) else result.problems[0]
        event(f"refused: {first.path} {first.message[:25]}" if first else "a valid plan")
