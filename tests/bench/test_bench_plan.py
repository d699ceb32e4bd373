"""The benchmark's plan generator writes valid plans of the promised shape, and its error variant one problem."""

from __future__ import annotations

import importlib.util
import re
import sys

import pytest

from engine.errors import PlanError
from engine.language.graph import predecessors
from engine.language.plan import PlanLoader
from tests.conftest import ROOT
from tests.engine.test_shipped_plans import _timing_classes


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_plan", ROOT / "bench" / "bench_plan.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_plan"] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules["bench_plan"]


class TestGenerator:
    def test_layered_plan_with_every_timing_form(self, bench, tmp_path):
        path = tmp_path / "plan-120.yaml"
        path.write_text(bench.generate(120), encoding="utf-8")
        plan = PlanLoader().load(path)
        assert len(plan.steps) == 120
        assert {type(s.timing) for s in plan.steps} == _timing_classes()
        assert {s.kind for s in plan.steps} == {"disseminate", "coordinate", "review", "report"}
        index = {s.id: i for i, s in enumerate(plan.steps)}
        for i, step in enumerate(plan.steps):
            deps = predecessors(step)
            layer = i // bench.WIDTH
            assert (1 <= len(deps) <= 2) if layer else not deps
            assert all(index[d] // bench.WIDTH == layer - 1 for d in deps)
        assert sum(len(plan.occurrences(s.id)) for s in plan.steps) > 1000

    def test_error_variant_has_exactly_one_located_problem(self, bench, tmp_path):
        path = tmp_path / "plan-error.yaml"
        path.write_text(bench.generate(60, error=True), encoding="utf-8")
        with pytest.raises(PlanError) as info:
            PlanLoader().load(path)
        (problem,) = info.value.problems
        assert problem.line > 1 and re.search(r"- ý bạn là 'buoc-00049'\?", problem.message)
