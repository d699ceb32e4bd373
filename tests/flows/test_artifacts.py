"""A plan's standing and the content of its artifacts (computed from a real tick, no Prefect needed)."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from engine.language.text import shorten
from engine.runtime.status import plan_status
from engine.runtime.tick import tick
from engine.state.db import open_store, session_factory
from flows.artifacts import (
    UPCOMING,
    artifact_key,
    open_table,
    progress_description,
    standing,
    upcoming_markdown,
)

DAY = date(2023, 10, 25)


@pytest.fixture
def rows(seed_plan, tmp_path):
    sessions = session_factory(open_store(f"sqlite:///{tmp_path / 'state.db'}"))
    tick(seed_plan, sessions, datetime(2023, 10, 25, 7, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")))
    with sessions() as session:
        return plan_status(seed_plan, session, DAY)


class TestStanding:
    def test_counts_due_done_and_overdue(self, seed_plan, rows):
        s = standing(seed_plan.id, rows, DAY)
        # dang-website's date is projected from quan-triet, which is not done: not work anyone owes yet
        assert s.due == sum(r["due"] <= DAY.isoformat() and not r["projected"] for r in rows)
        assert s.done == 0 and s.percent == 0.0
        assert 0 < s.overdue <= s.due
        assert {"quan-triet", "bao-cao-hang-nam"} <= {r["step"] for r in s.open_rows}

    def test_upcoming_are_the_next_deadlines_in_order(self, seed_plan, rows):
        s = standing(seed_plan.id, rows, DAY)
        dues = [r["due"] for r in s.upcoming]
        assert dues == sorted(dues) and all(d >= DAY.isoformat() for d in dues)
        assert 0 < len(s.upcoming) <= UPCOMING
        line = s.line(seed_plan)
        assert line.startswith(f"0/{s.due} lần đến hạn đã hoàn thành, {s.overdue} quá hạn, "
                               f"{s.counts.waiting} chờ bước trước; hạn sắp tới: ")
        first = seed_plan.step_by_id[s.upcoming[0]["step"]]
        assert f"hạn sắp tới: {shorten(seed_plan.short_title(first), 40)} ({s.upcoming[0]['due'][8:10]}/" in line
        assert s.upcoming[0]["step"] not in line  # titles, not the steps' ids

    def test_nothing_due_yet(self, seed_plan):
        s = standing(seed_plan.id, [], DAY)
        assert (s.due, s.percent) == (0, 0.0)
        assert "chưa có lần thực hiện nào đến hạn" in progress_description(seed_plan, s)


class TestArtifactContent:
    def test_keys_are_lowercase_dashes(self):
        assert artifact_key("kh-28-khcn-2022", "tien-do") == "kh-28-khcn-2022-tien-do"
        assert artifact_key("KH_07 khcn.2024", "han-sap-toi") == "kh-07-khcn-2024-han-sap-toi"

    def test_table_lists_open_work_most_overdue_first(self, seed_plan, rows):
        table = open_table(seed_plan, standing(seed_plan.id, rows, DAY))
        # what a manager scans comes first; the work last, by its short title and period, no ids or keys
        assert list(table[0]) == ["Hạn", "Quá hạn (ngày)", "Trạng thái", "Chủ trì", "Việc"]
        overdue = [r["Quá hạn (ngày)"] for r in table]
        assert overdue == sorted(overdue, reverse=True)
        first = table[0]
        assert first == {"Hạn": "18/03/2022", "Quá hạn (ngày)": 586, "Trạng thái": "quá hạn",
                         "Chủ trì": "Văn phòng Sở", "Việc": "Quán triệt Đề án 02-ĐA/TU"}
        assert {"Cung cấp thông tin cho Cổng TTĐT tỉnh (tháng 4/2022)"} <= {r["Việc"] for r in table}
        assert not any(re.search(r"\d{4}-(Q|H|\d)", str(v)) for r in table for v in r.values())
        # work waiting for earlier work says so, short and without the steps' ids
        waiting = [r["Trạng thái"] for r in table if "(chờ " in r["Trạng thái"]]
        assert waiting and set(waiting) <= {"quá hạn (chờ việc trước)", "chưa mở (chờ việc trước)"}, set(waiting)

    def test_percentages_are_written_as_vietnamese_writes_them(self):
        from engine.language.text import percent_vi

        assert (percent_vi(2.7), percent_vi(100.0), percent_vi(0.0), percent_vi(33.3)) == ("2,7%", "100%", "0%",
                                                                                           "33,3%")

    def test_markdown_lists_upcoming_deadlines_in_vietnamese(self, seed_plan, rows):
        md = upcoming_markdown(seed_plan, standing(seed_plan.id, rows, DAY))
        assert md.startswith("## Hạn sắp tới - Kế hoạch số 28/KH-KHCN")
        assert "| Hạn | Còn (ngày) | Chủ trì | Việc |" in md
        assert "| 31/10/2023 | 6 | Văn phòng Sở | Báo cáo kết quả hằng năm gửi Sở Nội vụ (năm 2023) |" in md

    def test_markdown_when_nothing_is_left(self, seed_plan):
        assert "Không còn hạn nào sắp tới" in upcoming_markdown(seed_plan, standing(seed_plan.id, [], DAY))


class TestPublisher:
    def test_nothing_is_sent_before_the_run_is_over(self, prefect_api):
        from prefect import get_client

        from flows.artifacts import Publisher, artifact

        publisher = Publisher()
        publisher.submit([artifact("markdown", "kehoach-test-later", "# sau", "gửi sau")])

        def stored() -> int:
            with get_client(sync_client=True) as client:
                return len([a for a in client.read_artifacts() if a.key == "kehoach-test-later"])

        assert stored() == 0  # queued: the run has not ended (the tick flow's state hooks call flush)
        assert publisher.drain() == []
        assert stored() == 1

    def test_an_unreachable_api_is_reported_not_raised(self):
        from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

        from flows.artifacts import Publisher, artifact
        from tests.notifiers.conftest import closed_port

        publisher = Publisher()
        with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{closed_port()}/api",
                                         PREFECT_CLIENT_MAX_RETRIES: 0}):
            publisher.submit([artifact("progress", "kehoach-test-down", 50.0, "tiến độ")])
        (failure,) = publisher.drain(timeout=60)
        assert failure.startswith("kehoach-test-down: ConnectError")

    def test_groups_for_one_api_go_out_together_in_order(self):
        from flows.artifacts import _batches

        one, other = object(), object()
        queued = [(one, ["draft"]), (one, ["progress", "table"]), (other, ["x"]), (one, ["deliveries"])]
        batches = _batches(queued)
        assert batches == [(one, ["draft", "progress", "table"]), (other, ["x"]), (one, ["deliveries"])]
        assert queued[0] == (one, ["draft"])  # the queue's own lists are left alone


class TestClientTls:
    def test_plain_http_skips_the_ca_bundle(self):
        from flows.env import client_tls

        for url in (None, "http://127.0.0.1:4200/api"):
            ctx = client_tls(url)["verify"]
            assert ctx.cert_store_stats()["x509_ca"] == 0
            assert ctx.check_hostname  # and would refuse any TLS peer

    def test_https_keeps_prefects_verified_context(self):
        from flows.env import client_tls

        assert client_tls("https://prefect.example.vn/api") == {}
