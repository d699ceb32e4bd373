"""The agency overview: per plan its on-time share and overdue count, per unit its overdue work across plans."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from engine.language.plan import PlanLoader, plan_paths
from engine.runtime.tick import tick
from engine.state.db import open_store, session_factory
from flows.overview import KEY, markdown, overview, overview_flow
from tests.conftest import PLANS

DAY = date(2024, 11, 15)


@pytest.fixture
def ticked(store):
    loader = PlanLoader()
    plans = [loader.load(p) for p in plan_paths([PLANS])]
    sessions = session_factory(open_store(store))
    for plan in plans:
        tick(plan, sessions, datetime(2024, 11, 15, 7, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")))
    return plans, sessions


def test_plans_most_behind_first_and_units_with_their_late_work(ticked):
    plans, sessions = ticked
    lines, units = overview(plans, sessions, DAY)
    assert [p.plan.meta.number for p in lines][0] == "28/KH-KHCN"  # never confirmed: the most behind
    assert [p.overdue for p in lines] == sorted((p.overdue for p in lines), reverse=True)
    office = next(u for u in units if u.name == "Văn phòng Sở")
    assert ("28/KH-KHCN", "", "Quán triệt Đề án 02-ĐA/TU", (DAY - date(2022, 3, 18)).days) == office.items[0]
    text = markdown(lines, units, DAY, "http://127.0.0.1:4200")
    assert text.startswith("## Tổng quan các kế hoạch - ngày 15/11/2024\n")
    assert "| Quá hạn | Đúng hạn | Đến hạn | Xem | Kế hoạch |" in text  # the figures before the long title
    first = text.split("|---|---|\n", 1)[1].splitlines()[0]
    assert first.endswith("| 28/KH-KHCN: Triển khai, thực hiện Đề án số 02-ĐA/TU… |"), first
    assert "(http://127.0.0.1:4200/artifacts/key/kh-28-khcn-2022-viec-dang-mo)" in text
    assert "| Văn phòng Sở |" in text and "ngày) " not in text.split("### Đơn vị")[0]
    # A row per overdue item of a unit, the longest first, the unit named once; then how many more.
    rows = text.split("### Đơn vị có việc quá hạn")[1].splitlines()
    at = next(i for i, line in enumerate(rows) if line.startswith("| Văn phòng Sở |"))
    assert rows[at] == f"| Văn phòng Sở | {len(office.items)} | {office.items[0][3]} ngày | 28/KH-KHCN: Quán triệt " \
                       "Đề án 02-ĐA/TU |"
    number, period, title, days = office.items[1]
    assert rows[at + 1] == f"|  |  | {days} ngày | {number}{f', {period}' if period else ''}: {title} |"
    assert any(f"28/KH-KHCN, tháng {m}/2022: " in line for line in rows for m in range(1, 13))  # the period first
    if len(office.items) > 3:
        assert rows[at + 3] == f"|  |  |  | và {len(office.items) - 3} việc khác |"


def test_the_flow_publishes_one_artifact_for_all_plans(prefect_api, ticked):
    from flows.artifacts import PUBLISHER
    from tests.flows.test_tick import read

    got = overview_flow(str(PLANS), DAY)
    assert got["plans"] == 3 and got["overdue"] > 0
    assert PUBLISHER.drain() == []
    (shown,) = [a for a in read(lambda c: c.read_latest_artifacts()) if a.key == KEY]
    assert shown.type == "markdown" and "Đơn vị có việc quá hạn" in shown.data
    assert f"; {got['overdue']} việc quá hạn của {got['units_late']} đơn vị." in shown.data  # one count


def test_a_family_s_late_reports_are_counted_once(prefect_api, store):
    """The province's plan and the district plans carrying it out, nobody reporting: the artifact's description
    and its summary count each late report once (a district's report is late in its plan and in the province's);
    the plans' own lines still count all their late occurrences."""
    from engine.runtime.simulate import ConfirmPolicy, simulate_plans
    from flows.artifacts import PUBLISHER
    from tests.engine.state_helpers import no_documents
    from tests.flows.test_tick import read

    folder = PLANS / "ninh-binh"
    plans = PlanLoader().load_all(plan_paths([folder]))
    simulate_plans(plans, session_factory(open_store(store)), date(2025, 1, 10), date(2025, 4, 30),
                   ConfirmPolicy("never"), documents=no_documents)
    got = overview_flow(str(folder), date(2025, 4, 30))
    assert PUBLISHER.drain() == []
    (shown,) = [a for a in read(lambda c: c.read_latest_artifacts()) if a.key == KEY]
    assert f"; {got['overdue']} việc quá hạn của {got['units_late']} đơn vị." in shown.data
    lines, _ = overview(plans, session_factory(open_store(store)), date(2025, 4, 30))
    assert 0 < got["overdue"] < sum(line.overdue for line in lines)
