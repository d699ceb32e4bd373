"""Shared fixtures: paths to the shipped plans."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLANS = ROOT / "plan_definitions"
SEED = PLANS / "kh-28-khcn-2022.yaml"


@pytest.fixture(scope="session")
def seed_plan():
    from engine.plan import load_plan

    return load_plan(SEED)
