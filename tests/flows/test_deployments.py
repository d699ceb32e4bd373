"""What `kehoach serve` registers: a daily tick per plan, each step's confirmation and extension forms
(built, not yet served)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from engine.language.plan import PlanLoader, plan_paths
from flows.deployments import DAILY, cron_at, deployments, schedule_for
from tests.conftest import PLANS
from tests.flows.test_tick import kehoach


@pytest.fixture(scope="module")
def built():
    loader = PlanLoader()
    plans = [loader.load(p) for p in plan_paths([PLANS])]
    return plans, deployments(plans)


class TestDeployments:
    def test_one_tick_per_plan_tagged_by_plan_and_owner_units(self, built):
        plans, deps = built
        ticks = {d.name: d for d in deps if d.flow_name == "kehoach-tick"}
        assert set(ticks) == {p.id for p in plans}
        for plan in plans:
            d = ticks[plan.id]
            assert d.parameters == {"plan": str(plan.path.resolve())}
            assert d.entrypoint == "flows.tick.tick_flow" and d.version == plan.version
            assert d.tags[:2] == ["kehoach", plan.id] and f"don-vi:{plan.steps[0].owner}" in d.tags
            assert d.schedules == []  # the shipped plans' periods are over (today: 2026): nothing left to run

    def test_a_schedule_runs_daily_from_the_plans_start_to_its_last_day(self, built):
        plans, _ = built
        seed = next(p for p in plans if p.id == "kh-28-khcn-2022")
        sched = schedule_for(seed, DAILY, today=date(2024, 6, 1))
        assert sched.timezone == "Asia/Ho_Chi_Minh"
        assert sched.rrule == "DTSTART:20220316T073000\nRRULE:FREQ=DAILY;UNTIL=20251231T073000"
        weekdays = schedule_for(seed, "0 8 * * 1-5", "UTC", today=date(2024, 6, 1))
        assert (weekdays.rrule, weekdays.timezone) == (
            "DTSTART:20220316T080000\nRRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;UNTIL=20251231T080000", "UTC")
        assert schedule_for(seed, "*/30 7 * * *", today=date(2024, 6, 1)).cron == "*/30 7 * * *"  # kept as is
        assert schedule_for(seed, DAILY, today=date(2026, 1, 1)) is None  # over: no runs after the end
        from dateutil.rrule import rrulestr

        days = list(rrulestr(sched.rrule))
        assert (days[0].date(), days[-1].date(), len(days)) == (date(2022, 3, 16), date(2025, 12, 31), 1387)

    def test_the_agency_overview_runs_daily_after_the_ticks(self, built):
        plans, _ = built
        (overview,) = [d for d in deployments(plans, plan_dir=PLANS) if d.flow_name == "kehoach-tong-quan"]
        assert overview.parameters == {"plan_dir": str(PLANS.resolve())}
        assert (overview.schedules[0].schedule.cron, overview.schedules[0].schedule.timezone) == (
            "0 8 * * *", "Asia/Ho_Chi_Minh")

    def test_parameters_are_json_and_the_plan_path_is_read_only(self, built):
        _, deps = built
        for d in deps:
            assert json.loads(json.dumps(d.parameters)) == d.parameters
        tick = deps[0]
        prop = tick._parameter_openapi_schema.properties["plan"]
        assert prop["readOnly"] is True and prop["enum"] == [tick.parameters["plan"]]

    def test_a_confirmation_and_an_extension_form_per_step(self, built):
        plans, deps = built
        forms = {(d.flow_name, d.name): d for d in deps if d.flow_name != "kehoach-tick"}
        assert set(forms) == {(flow, f"{p.id}:{s.id}") for p in plans for s in p.steps
                              for flow in ("kehoach-confirm", "kehoach-extend")}
        seed = next(p for p in plans if p.id == "kh-28-khcn-2022")
        confirm = forms["kehoach-confirm", "kh-28-khcn-2022:quan-triet"]
        assert confirm.parameters == {"plan": str(seed.path.resolve()), "step": "quan-triet"}
        assert confirm.schedules == [] and confirm.tags == ["kehoach", "kh-28-khcn-2022"]
        assert confirm.entrypoint == "flows.confirm.confirm_flow" and confirm.version == seed.version
        schema = confirm._parameter_openapi_schema
        assert list(schema.properties) == ["occurrence", "by", "done_on", "date", "attendees", "result"]
        assert "plan" not in schema.properties and "step" not in schema.properties  # fixed, not shown
        # Checked by the flow, in Vietnamese; the UI's "Validate parameters" box starts unticked.
        assert confirm.enforce_parameter_schema is False
        extend = forms["kehoach-extend", "kh-28-khcn-2022:bao-cao-hang-nam"]
        assert extend.entrypoint == "flows.extend.extend_flow"
        assert list(extend._parameter_openapi_schema.properties) == ["occurrence", "to", "by", "reason"]

    def test_time_and_cron_options(self):
        assert cron_at("07:30") == DAILY and cron_at("6:05") == "5 6 * * *"
        with pytest.raises(ValueError, match="'7h30' không phải là giờ trong ngày: viết giờ:phút HH:MM"):
            cron_at("7h30")
        plans = [PlanLoader().load(plan_paths([PLANS])[0])]
        with pytest.raises(ValueError):
            deployments(plans, "every day")
        with pytest.raises(ValueError, match="không có múi giờ 'Asia/Hanoi'"):
            deployments(plans, DAILY, "Asia/Hanoi")


    def test_copied_deployments_are_what_prefect_builds(self, built):
        """Deployments are copies of one per flow (`like`), not built one by one by `to_deployment` (~25 ms
        each): what the server gets must be the same."""
        from prefect.deployments.runner import EntrypointType

        from flows.confirm import confirm_flow
        from flows.deployments import bounded, like
        from flows.tick import tick_flow

        sched = bounded(DAILY, "Asia/Ho_Chi_Minh", date(2024, 1, 1), date(2030, 1, 1))
        for flow_, fields in ((tick_flow, {"name": "a", "schedules": [sched], "parameters": {"plan": "/p.yaml"},
                                           "tags": ["kehoach", "a"], "version": "v1", "description": "d"}),
                              (confirm_flow, {"name": "a:b", "parameters": {"plan": "/p.yaml", "step": "b"},
                                              "enforce_parameter_schema": False})):
            made = flow_.to_deployment(entrypoint_type=EntrypointType.MODULE_PATH, **fields)
            copied = like(flow_, **fields)
            assert copied.model_dump(mode="json") == made.model_dump(mode="json")
            assert copied._parameter_openapi_schema == made._parameter_openapi_schema
        a, b = like(tick_flow, name="a"), like(tick_flow, name="b")
        a._parameter_openapi_schema.properties["plan"]["enum"] = ["x"]
        assert "enum" not in b._parameter_openapi_schema.properties["plan"]  # each its own schema


class TestDeployCommand:
    """What `kehoach deploy` registers for a work pool (the workers' path: tests/flows/test_workers.py)."""

    def test_the_day_in_parts_each_tick_deployment_unscheduled(self):
        from flows.day import part_of

        plans = PlanLoader().load_all(plan_paths([PLANS]))
        deps = deployments(plans, DAILY, None, PLANS, parts=2, name="kehoach")
        ticks = [d for d in deps if d.flow_name == "kehoach-tick"]
        assert len(ticks) == len(plans) and all(d.schedules == [] for d in ticks)  # the parts tick them
        assert "kehoach-ngay" in ticks[0].description
        days = [d for d in deps if d.flow_name == "kehoach-ngay"]
        assert [d.name for d in days] == ["kehoach-1", "kehoach-2"]
        for i, d in enumerate(days, start=1):
            assert d.parameters == {"plan_dir": str(PLANS.resolve()), "part": i, "parts": 2}
            assert d.entrypoint == "flows.day.day_flow" and d.tags == ["kehoach"]
            count = sum(part_of(p.path, 2) == i for p in plans)
            assert f"Lượt chạy hằng ngày của {count} kế hoạch (phần {i}/2" in d.description
            for key in ("plan_dir", "part", "parts"):
                assert d._parameter_openapi_schema.properties[key]["readOnly"] is True
        assert {part_of(p.path, 2) for p in plans} <= {1, 2}
        assert part_of(PLANS / "a.yaml", 7) == part_of(PLANS / "sub" / "a.yml", 7)  # by the file's name only
        # Every deployment serve has, and no more than the parts: forms and the overview the same.
        served = {(d.flow_name, d.name) for d in deployments(plans, DAILY, None, PLANS)}
        assert {(d.flow_name, d.name) for d in deps} - served == {("kehoach-ngay", "kehoach-1"),
                                                                 ("kehoach-ngay", "kehoach-2")}
        each = deployments(plans, DAILY, None, PLANS, parts=0, name="kehoach")
        assert {(d.flow_name, d.name) for d in each} == served

    def test_the_parts_run_from_the_first_plans_start_to_the_last_ones_end(self):
        from flows.deployments import day_deployments

        plans = PlanLoader().load_all(plan_paths([PLANS]))
        (day,) = day_deployments(plans, PLANS, "p", 1, "0 7 * * 1-5", today=date(2024, 6, 1))
        sched = day.schedules[0].schedule
        assert (sched.rrule, sched.timezone) == (
            "DTSTART:20220316T070000\nRRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;UNTIL=20251231T070000",
            "Asia/Ho_Chi_Minh")
        assert day_deployments(plans, PLANS, "p", 1)[0].schedules == []  # all over (today: 2026)

    def test_needs_a_prefect_server(self, capsys):
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(restore_defaults={PREFECT_API_URL}):
            code, out, err = kehoach(capsys, "deploy", PLANS, "--pool", "kehoach")
        assert code == 2 and out == ""
        assert "kehoach deploy cần một Prefect server" in err

    def test_a_pool_is_needed_and_checked_after_the_plans(self, capsys, tmp_path):
        code, _, err = kehoach(capsys, "deploy", PLANS)
        assert code == 2 and "--pool" in err
        code, _, err = kehoach(capsys, "deploy", PLANS, "--pool", "p", "--parts", "-1")
        assert code == 2 and "--parts" in err
        (tmp_path / "broken.yaml").write_text("plan: {}\n", encoding="utf-8")
        code, _, err = kehoach(capsys, "deploy", tmp_path, "--pool", "p")
        assert code == 1 and "broken.yaml:1:" in err


class TestServeCommand:
    """What `kehoach serve` refuses before it serves anything (the served path: tests/flows/test_serve.py)."""

    def test_needs_a_prefect_server(self, capsys):
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(restore_defaults={PREFECT_API_URL}):
            code, out, err = kehoach(capsys, "serve", PLANS)
        assert code == 2 and out == ""
        assert "kehoach serve cần một Prefect server" in err
        assert "prefect server start --host 127.0.0.1" in err

    def test_says_when_the_server_is_unreachable(self, capsys):
        from prefect.settings import PREFECT_API_URL, temporary_settings

        from tests.flows.conftest import free_port

        with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{free_port()}/api"}):
            code, _, err = kehoach(capsys, "serve", PLANS)
        assert code == 2 and "không kết nối được Prefect server ở http://127.0.0.1:" in err

    def test_checks_schedule_options_and_plans_first(self, capsys, tmp_path):
        code, _, err = kehoach(capsys, "serve", PLANS, "--time", "7h30")
        assert code == 2 and "'7h30' không phải là giờ trong ngày: viết giờ:phút HH:MM" in err
        code, _, err = kehoach(capsys, "serve", PLANS, "--timezone", "Asia/Hanoi")
        assert code == 2 and "không có múi giờ 'Asia/Hanoi'" in err
        (tmp_path / "broken.yaml").write_text("plan: {}\n", encoding="utf-8")
        code, _, err = kehoach(capsys, "serve", tmp_path)
        assert code == 1 and "broken.yaml:1:" in err
