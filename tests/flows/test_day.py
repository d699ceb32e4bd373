"""A part of the day's ticks (flows.day) run in this process against the tests' Prefect server, the store on
SQLite: each plan of the folder ticked once a day, as the store says (tests/flows/test_workers.py runs the same
on PostgreSQL with two workers)."""

from __future__ import annotations

import shutil
from datetime import date

from engine.language.plan import PlanLoader, plan_paths
from flows.day import day_flow, last_ticks
from tests.conftest import PLANS

DAY = date(2024, 3, 18)


def test_a_part_ticks_each_plan_once_a_day_as_the_store_says(prefect_api, store, tmp_path):
    folder = tmp_path / "plans"
    shutil.copytree(PLANS, folder)
    plans = [PlanLoader().load(p) for p in plan_paths([folder])]
    live = {p.id for p in plans if p.meta.period.start <= DAY <= p.meta.period.end}
    assert live

    first = day_flow(str(folder), 1, 1, DAY, return_state=True)
    assert first.is_completed() and first.name == f"Đã chạy {len(live)} kế hoạch", first
    assert sorted(first.result()["ran"]) == sorted(live)
    assert last_ticks(plans) == dict.fromkeys(live, DAY)  # the day in each plan's zone, from SQLite's wall time

    again = day_flow(str(folder), 1, 1, DAY, return_state=True)
    assert again.is_completed() and again.name == "Đã chạy trước đó", again
    assert f"{len(live)} đã chạy trước đó" in again.message
