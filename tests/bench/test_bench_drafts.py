"""The drafting benchmark's regime is a valid plan of the promised shape: 4 units x 5 monthly reports, 840
report occurrences over 3.5 years."""

from __future__ import annotations

import importlib.util
import sys

from engine.models.steps import Report
from engine.plan import PlanLoader
from tests.conftest import ROOT


def test_the_regime_has_840_report_occurrences(tmp_path):
    sys.path.insert(0, str(ROOT))
    spec = importlib.util.spec_from_file_location("bench_drafts", ROOT / "bench" / "bench_drafts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = tmp_path / "regime.yaml"
    path.write_text(module.regime_text(), encoding="utf-8")
    plan = PlanLoader().load(path)
    assert len(plan.steps) == 20 and all(isinstance(s, Report) for s in plan.steps)
    assert sum(len(plan.occurrences(s.id)) for s in plan.steps) == 840
