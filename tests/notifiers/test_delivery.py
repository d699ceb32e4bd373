"""Delivering the outbox to real servers on 127.0.0.1: SMTP (aiosmtpd) and an HTTP receiver for json://."""

from __future__ import annotations

import base64
import threading
from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from engine.state.models import DELIVERED, FAILED, GIVEN_UP, NO_TARGET, PENDING, OutboxRecord
from notifiers import delivery
from notifiers.channels import load_channels
from notifiers.delivery import RetryPolicy, deliver_outbox
from tests.notifiers.conftest import SEED_TAGS, at, closed_port, outbox, queue_notices, write_channels
from tests.notifiers.receivers import HttpReceiver

DAY1 = date(2022, 3, 16)  # quan-triet opens: 4 notices (van-phong x2, toan-so x2)
QUAN_TRIET = "Tổ chức quán triệt, triển khai Đề án tới cán bộ, đảng viên, công chức, viên chức; người lao động"

OPENED_BODY = """\
Kính gửi: Văn phòng Sở

Thực hiện Kế hoạch số 28/KH-KHCN của Sở Khoa học và Công nghệ, Văn phòng Sở chủ trì thực hiện nhiệm vụ:
Tổ chức quán triệt, triển khai Đề án tới cán bộ, đảng viên, công chức, viên chức; người lao động

Hạn hoàn thành: 18/03/2022 (còn 2 ngày).
Khi xác nhận cần ghi: ngày thực hiện, số người tham dự.

Xác nhận hoàn thành bằng lệnh:
  kehoach confirm kh-28-khcn-2022.yaml quan-triet --by "Họ tên" --evidence date=... --evidence attendees=...
hoặc trên giao diện Prefect: http://127.0.0.1:4200/deployments
"""


def every_tag_to(url_of) -> dict[str, str]:
    """Each seed tag to its own path of one receiver, so a payload says which tag it came through."""
    return {tag: url_of(tag) for tag in SEED_TAGS}


def statuses(sessions) -> Counter[str]:
    return Counter(r.status for r in outbox(sessions))


class TestRealServers:
    def test_email_subject_and_body_arrive_as_written_with_line_breaks(self, tmp_path, sessions, tick_days, smtp,
                                                                          http, monkeypatch):
        monkeypatch.setenv("PREFECT_UI_URL", "http://127.0.0.1:4200")
        tick_days(DAY1)
        ch = write_channels(tmp_path / "channels.txt", {"van-phong": smtp.url(), "toan-so": http.url()})
        report = deliver_outbox(sessions, at(DAY1), ch)
        assert (report.delivered, report.failed) == (4, 0)
        assert len(smtp.messages) == 2
        opened = next(m for m in smtp.messages if "Giao nhiệm vụ" in m["Subject"])
        assert opened["Subject"] == f"[28/KH-KHCN] Giao nhiệm vụ: {QUAN_TRIET}"
        assert opened["To"].addresses[0].addr_spec == "van-phong@khcn.thainguyen.gov.vn"
        assert opened.get_content_type() == "text/plain"
        assert opened.get_content().replace("\r\n", "\n") == OPENED_BODY

    def test_json_payloads(self, tmp_path, sessions, tick_days, http):
        tick_days(DAY1)
        report = deliver_outbox(sessions, at(DAY1), write_channels(tmp_path / "c.txt", every_tag_to(http.url)))
        assert report.delivered == 4
        by_path = Counter(http.paths)
        assert by_path == {"/van-phong": 2, "/toan-so": 2}
        disseminate = next(p for p in http.payloads if p["title"].startswith("[28/KH-KHCN] Quán triệt, triển khai"))
        assert disseminate["type"] == "info" and disseminate["attachments"] == []
        assert disseminate["message"].startswith("Kính gửi: Cán bộ, đảng viên, công chức, viên chức và người lao "
                                                 "động của Sở\n\nThực hiện Kế hoạch số 28/KH-KHCN")
        assert "Tài liệu: Đề án số 02-ĐA/TU ngày 26/3/2021 và Kế hoạch số 28/KH-KHCN\n" in disseminate["message"]
        assert all(r.status == DELIVERED and r.attempts == 1 and r.delivered_at for r in outbox(sessions))

    def test_report_drafts_are_attached(self, tmp_path, seed, sessions, tick_days, http):
        from engine.people import request

        day = date(2024, 5, 2)
        with sessions() as session, session.begin():
            request(seed, session, "bao-cao-theo-yeu-cau", at=day, now=at(day), by="Sở Nội vụ")
        tick_days(day)
        deliver_outbox(sessions, at(day), write_channels(tmp_path / "c.txt", every_tag_to(http.url)))
        draft = next(p for p in http.payloads if p["title"].startswith("[28/KH-KHCN] Dự thảo báo cáo")
                     and "02/05/2024" in p["title"])
        names = sorted(a["filename"] for a in draft["attachments"])
        assert names == ["du-thao-kh-28-khcn-2022-bao-cao-theo-yeu-cau-yc-2024-05-02.docx",
                         "du-thao-kh-28-khcn-2022-bao-cao-theo-yeu-cau-yc-2024-05-02.md"]
        md = next(a for a in draft["attachments"] if a["filename"].endswith(".md"))
        assert "28/KH-KHCN" in base64.b64decode(md["base64"]).decode("utf-8")
        assert draft["title"].endswith("(theo yêu cầu ngày 02/05/2024)")


class TestNoChannels:
    def test_without_a_file_notices_wait_and_go_once_one_is_given(self, tmp_path, sessions, tick_days, http):
        tick_days(DAY1, DAY1 + timedelta(days=1))
        rows = outbox(sessions)
        report = deliver_outbox(sessions, at(DAY1 + timedelta(days=1)))
        assert report.channels is None and report.waiting == len(rows) and not report.outcomes
        assert "Chưa có tệp kênh" in report.summary()
        assert statuses(sessions) == {PENDING: len(rows)}  # nothing dropped, nothing tried
        later = at(DAY1 + timedelta(days=3))
        report = deliver_outbox(sessions, later, write_channels(tmp_path / "c.txt", every_tag_to(http.url)))
        assert report.delivered == len(rows) == len(http.payloads)
        assert statuses(sessions) == {DELIVERED: len(rows)}

    def test_the_environment_names_the_file(self, tmp_path, sessions, tick_days, http, monkeypatch):
        tick_days(DAY1)
        monkeypatch.setenv("KEHOACH_CHANNELS", str(write_channels(tmp_path / "c.txt", every_tag_to(http.url))))
        assert deliver_outbox(sessions, at(DAY1)).delivered == 4

    def test_a_tag_missing_from_the_file_waits_as_no_target_until_it_is_added(self, tmp_path, sessions, tick_days,
                                                                               http):
        tick_days(DAY1)
        path = write_channels(tmp_path / "c.txt", {"van-phong": http.url("van-phong")})
        report = deliver_outbox(sessions, at(DAY1), path)
        assert (report.delivered, report.count(NO_TARGET)) == (2, 2)
        missing = [r for r in outbox(sessions) if r.status == NO_TARGET]
        assert {r.tag for r in missing} == {"toan-so"} and "toan-so" in missing[0].last_error
        assert deliver_outbox(sessions, at(DAY1, 9), path).outcomes == []  # still missing: left alone
        write_channels(path, {"van-phong": http.url("van-phong"), "toan-so": http.url("toan-so")})
        report = deliver_outbox(sessions, at(DAY1, 10), path)
        assert report.delivered == 2 and Counter(http.paths) == {"/van-phong": 2, "/toan-so": 2}

    def test_a_unit_without_tags_is_recorded_as_no_target_and_never_sent(self, tmp_path, seed, sessions, tick_days,
                                                                         http):
        tick_days(DAY1, date(2022, 3, 18))
        from engine.people import confirm

        with sessions() as session, session.begin():
            confirm(seed, session, "quan-triet", by="Chánh Văn phòng",
                    at=date(2022, 3, 18), now=at(date(2022, 3, 18), 16),
                    evidence={"date": "17/03/2022", "attendees": "52"})
        tick_days(date(2022, 3, 19), date(2022, 4, 5))  # dang-website opens: its audience has no tag
        rows = [r for r in outbox(sessions) if r.unit_id == "nguoi-dan-doanh-nghiep"]
        assert rows and all(r.tag is None and r.status == NO_TARGET for r in rows)
        deliver_outbox(sessions, at(date(2022, 4, 5)), write_channels(tmp_path / "c.txt", every_tag_to(http.url)))
        assert all(r.status == NO_TARGET and r.attempts == 0 for r in outbox(sessions) if r.tag is None)


class TestFailures:
    def test_a_target_down_for_some_ticks_gets_every_notice_exactly_once_after_it_comes_back(
            self, tmp_path, seed, sessions, tick_days, http):
        path = write_channels(tmp_path / "c.txt", every_tag_to(http.url))
        http.down = True
        day = DAY1
        for _ in range(3):  # three daily ticks while the endpoint answers 503
            tick_days(day)
            report = deliver_outbox(sessions, at(day), path)
            assert report.delivered == 0 and not report.ok
            day += timedelta(days=1)
        failed = outbox(sessions)
        assert failed and all(r.status == FAILED for r in failed)
        assert max(r.attempts for r in failed) == 3 and "503" in failed[0].last_error
        http.down = False
        for _ in range(2):
            tick_days(day)
            deliver_outbox(sessions, at(day), path)
            day += timedelta(days=1)
        rows = outbox(sessions)
        assert all(r.status == DELIVERED for r in rows)
        received = Counter((p, m["title"], m["message"]) for p, m in zip(http.paths, http.payloads))
        assert len(received) == len(rows) and set(received.values()) == {1}

    def test_backoff_then_given_up_then_retried_on_request(self, tmp_path, sessions, tick_days):
        tick_days(DAY1)
        path = write_channels(tmp_path / "c.txt", {t: f"json://127.0.0.1:{closed_port()}/x" for t in SEED_TAGS})
        policy = RetryPolicy(max_attempts=3, first_delay=timedelta(minutes=10), factor=3)
        now = at(DAY1)
        report = deliver_outbox(sessions, now, path, policy=policy)
        assert report.failed == 4 and {o.next_attempt_at for o in report.outcomes} == {now + timedelta(minutes=10)}
        assert deliver_outbox(sessions, now + timedelta(minutes=5), path, policy=policy).outcomes == []  # not due
        report = deliver_outbox(sessions, now + timedelta(minutes=10), path, policy=policy)
        assert report.failed == 4 and report.outcomes[0].next_attempt_at == now + timedelta(minutes=40)
        report = deliver_outbox(sessions, now + timedelta(hours=1), path, policy=policy)
        assert report.given_up == 4 and not report.ok
        assert all(r.status == GIVEN_UP and r.attempts == 3 for r in outbox(sessions))
        assert deliver_outbox(sessions, now + timedelta(days=1), path, policy=policy).outcomes == []
        with HttpReceiver() as http:
            write_channels(path, every_tag_to(http.url))
            report = deliver_outbox(sessions, now + timedelta(days=1), path, policy=policy, retry_given_up=True)
            assert report.delivered == 4 and len(http.payloads) == 4

    def test_one_failing_channel_never_blocks_the_others(self, tmp_path, sessions, tick_days, http, smtp):
        tick_days(DAY1)
        down = f"json://127.0.0.1:{closed_port()}/x"
        path = write_channels(tmp_path / "c.txt", f"van-phong={smtp.url()}\nvan-phong={down}\ntoan-so={http.url()}\n")
        report = deliver_outbox(sessions, at(DAY1), path)
        assert report.failed == 2 and report.delivered == 2  # toan-so delivered; van-phong half-way
        assert len(smtp.messages) == 2 and len(http.payloads) == 2
        vp = [r for r in outbox(sessions) if r.tag == "van-phong"]
        assert all(r.status == FAILED and "JSON" in r.last_error and len(r.context["delivered_to"]) == 1 for r in vp)
        # Retried: only the service that failed is tried again; the e-mail is not sent twice.
        with HttpReceiver() as back:
            write_channels(path, f"van-phong={smtp.url()}\nvan-phong={back.url()}\ntoan-so={http.url()}\n")
            report = deliver_outbox(sessions, at(DAY1, 9), path)
            assert report.delivered == 2 and len(back.payloads) == 2
        assert len(smtp.messages) == 2 and len(http.payloads) == 2

    def test_a_crash_between_sending_and_recording_resends_only_those_notices_once(
            self, tmp_path, seed, any_sessions, http, monkeypatch):
        from engine.tick import tick

        sessions = any_sessions
        tick(seed, sessions, at(DAY1))
        path = write_channels(tmp_path / "c.txt", every_tag_to(http.url))

        def crash(*args, **kwargs):
            raise RuntimeError("worker killed after sending")

        with monkeypatch.context() as m:
            m.setattr(delivery, "_record", crash)
            with pytest.raises(RuntimeError, match="worker killed"):
                deliver_outbox(sessions, at(DAY1), path)
        assert len(http.payloads) == 4
        assert all(r.status == PENDING and r.attempts == 1 for r in outbox(sessions))  # claimed, not recorded
        assert deliver_outbox(sessions, at(DAY1, 7, 40), path).outcomes == []  # the lease holds: no resend yet
        report = deliver_outbox(sessions, at(DAY1, 8), path)  # lease (15 min) over: sent again, once
        assert report.delivered == 4 and len(http.payloads) == 8
        assert set(Counter((p, m["title"], m["message"]) for p, m in zip(http.paths, http.payloads)).values()) == {2}
        assert deliver_outbox(sessions, at(DAY1, 9), path).outcomes == [] and len(http.payloads) == 8


class TestConcurrency:
    def test_slow_endpoints_are_served_concurrently_within_the_bound(self, tmp_path, sessions):
        queue_notices(sessions, 12)
        in_flight, peak, seen, lock = [0], [0], [0], threading.Lock()
        # The first three requests wait for each other: they meet only if three are in flight at once (no clock).
        together = threading.Barrier(3, timeout=60)

        with HttpReceiver() as http:
            original = http.server.RequestHandlerClass.do_POST

            def do_post(handler):
                with lock:
                    in_flight[0] += 1
                    peak[0] = max(peak[0], in_flight[0])
                    seen[0] += 1
                    first = seen[0] <= 3
                try:
                    if first:
                        together.wait()
                    original(handler)
                finally:
                    with lock:
                        in_flight[0] -= 1

            http.server.RequestHandlerClass.do_POST = do_post
            path = write_channels(tmp_path / "c.txt", {"t": http.url()})
            report = deliver_outbox(sessions, at(DAY1), path, concurrency=3)
        assert report.delivered == 12
        assert not together.broken  # three were in flight together: concurrent
        assert peak[0] == 3  # and never more: bounded

    def test_two_deliveries_at_once_send_each_notice_once(self, tmp_path, any_sessions, http):
        sessions = any_sessions
        queue_notices(sessions, 30)
        http.delay = 0.02
        ch = load_channels(write_channels(tmp_path / "c.txt", {"t": http.url()}))
        reports = []
        threads = [threading.Thread(target=lambda: reports.append(deliver_outbox(sessions, at(DAY1), ch)))
                   for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(r.delivered for r in reports) == 30
        assert len(http.payloads) == 30 and len({p["title"] for p in http.payloads}) == 30

    def test_now_must_be_aware(self, sessions):
        from datetime import datetime

        with pytest.raises(ValueError, match="timezone-aware"):
            deliver_outbox(sessions, datetime(2022, 3, 16, 7, 30))

    def test_scoped_to_one_plan(self, tmp_path, sessions, tick_days, http):
        tick_days(DAY1)
        queue_notices(sessions, 3, tag="van-phong")
        path = write_channels(tmp_path / "c.txt", every_tag_to(http.url))
        report = deliver_outbox(sessions, at(DAY1), path, plan_id="kh-28-khcn-2022")
        assert report.delivered == 4
        with sessions() as session:
            others = list(session.scalars(select(OutboxRecord).where(OutboxRecord.plan_id == "p")))
        assert all(r.status == PENDING for r in others)
