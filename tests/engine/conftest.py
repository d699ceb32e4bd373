"""Fixtures of the state tests: the small test plan (tests/engine/state_helpers.py) and a SQLite store."""

from __future__ import annotations

import pytest

from tests.engine.state_helpers import plan_at, sessions_for


@pytest.fixture
def plan(tmp_path):
    return plan_at(tmp_path / "thu.yaml")


@pytest.fixture
def sessions(tmp_path):
    return sessions_for(f"sqlite:///{tmp_path / 'state.db'}")
