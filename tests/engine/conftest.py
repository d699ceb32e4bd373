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


@pytest.fixture(scope="session")
def drafts_of_every_kind(seed_plan, tmp_path_factory):
    """The seed plan's drafts of every kind (engine.reports.previews.KINDS: the 2023 report, the interim and final
    reviews, a report on request, a report with overdue work and an extension), made once per session from a
    worked life of the plan in which people wrote what they did."""
    from engine.reports.previews import drafts

    return drafts(seed_plan, tmp_path_factory.mktemp("lived"))
