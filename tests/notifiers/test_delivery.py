"""Delivering the outbox to real servers on 127.0.0.1: SMTP (aiosmtpd) and an HTTP receiver for json://."""

from __future__ import annotations

import base64
import threading
from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from engine.state.models import (
    DELIVERED,
    FAILED,
    GIVEN_UP,
    NO_TARGET,
    PENDING,
    UNKNOWN,
    MessageRecord,
    OutboxRecord,
)
from notifiers import delivery
from notifiers.channels import load_channels
from notifiers.delivery import PlanFacts, RetryPolicy, deliver_outbox
from tests.notifiers.conftest import SEED_TAGS, at, closed_port, outbox, queue_notices, write_channels
from tests.notifiers.receivers import HttpReceiver

DAY1 = date(2022, 3, 16)  # quan-triet opens: van-phong (owner, 2 tags... one here), toan-so (participant, audience)
SATURDAY = date(2022, 3, 19)


def every_tag_to(url_of) -> dict[str, str]:
    """Each seed tag to its own path of one receiver, so a payload says which tag it came through."""
    return {tag: url_of(tag) for tag in SEED_TAGS}


def statuses(sessions) -> Counter[str]:
    return Counter(r.status for r in outbox(sessions))


def messages(sessions) -> list[MessageRecord]:
    with sessions() as session:
        return list(session.scalars(select(MessageRecord).order_by(MessageRecord.id)))


def separate(pid: str) -> PlanFacts:
    """A plan that asks for one message per notice (and the national calendar)."""
    from dataclasses import replace

    return replace(PlanFacts.national(2022), grouping="separate")


class TestMessages:
    def test_one_message_per_recipient_with_a_short_subject_and_plain_text(self, tmp_path, sessions, tick_days,
                                                                             smtp, http):
        tick_days(DAY1)
        ch = write_channels(tmp_path / "channels.txt", {"van-phong": smtp.url(), "toan-so": http.url()})
        report = deliver_outbox(sessions, at(DAY1), ch)
        assert (report.delivered, report.failed, report.messages) == (3, 0, 2)  # 3 notices in 2 messages
        (mail,) = smtp.messages
        assert mail["Subject"] == "[28/KH-KHCN] Hạn 18/03/2022, giao việc: Quán triệt Đề án 02-ĐA/TU"
        assert mail["To"].addresses[0].addr_spec == "van-phong@khcn.thainguyen.gov.vn"
        assert mail.get_content_type() == "text/plain"
        body = mail.get_content().replace("\r\n", "\n")
        assert body.startswith("Kính gửi: Văn phòng Sở\n\nVăn phòng Sở chủ trì thực hiện nhiệm vụ:\n"
                               "Tổ chức quán triệt, triển khai Đề án tới cán bộ")
        assert "Hạn hoàn thành: 18/03/2022 (còn 2 ngày).\n" in body
        assert '--evidence date="<dd/mm/yyyy>" --evidence attendees="<số người>"' in body
        assert body.rstrip().endswith("--\nSở Khoa học và Công nghệ\nKế hoạch số 28/KH-KHCN: Triển khai, thực hiện "
                                      "Đề án số 02-ĐA/TU ngày 26/3/2021 của Ban Chấp hành Đảng bộ tỉnh về Phát huy "
                                      "vai trò giám sát…")
        (both,) = http.payloads  # the participant's and the audience's notices of one unit tag: one message
        assert both["title"] == "[28/KH-KHCN] Hạn 18/03/2022, phối hợp: Quán triệt Đề án 02-ĐA/TU (+1 việc khác)"
        assert "\n1. Hạn 18/03/2022, phối hợp: Quán triệt Đề án 02-ĐA/TU\n" in both["message"]
        assert "\n2. Để biết và thực hiện: Quán triệt Đề án 02-ĐA/TU\n" in both["message"]
        assert "kehoach confirm" not in both["message"]  # neither is the owner
        rows = outbox(sessions)
        assert all(r.status == DELIVERED and r.attempts == 1 and r.delivered_at and r.message_id for r in rows)
        assert {r.subject for r in rows if r.tag == "toan-so"} == {"Hạn 18/03/2022, phối hợp: Quán triệt Đề án "
                                                                   "02-ĐA/TU", "Để biết và thực hiện: Quán triệt "
                                                                               "Đề án 02-ĐA/TU"}

    def test_report_drafts_are_attached_with_a_short_summary(self, tmp_path, seed, sessions, tick_days, http):
        from engine.runtime.people import request

        day = date(2024, 5, 2)
        with sessions() as session, session.begin():
            request(seed, session, "bao-cao-theo-yeu-cau", at=day, now=at(day), by="Sở Nội vụ")
        tick_days(day)
        # The plan's first tick catches up on two years (see test_catch_up); the draft on its own here.
        from dataclasses import replace

        deliver_outbox(sessions, at(day), write_channels(tmp_path / "c.txt", every_tag_to(http.url)),
                       plans=lambda pid: replace(PlanFacts.of(seed), grouping="separate"))
        (draft,) = [p for p in http.payloads if p["attachments"]]
        assert draft["title"] == "[28/KH-KHCN] Hạn 08/05/2024, dự thảo báo cáo: Báo cáo khi có yêu cầu"
        names = sorted(a["filename"] for a in draft["attachments"])
        assert names == ["du-thao-kh-28-khcn-2022-bao-cao-theo-yeu-cau-yc-2024-05-02.docx",
                         "du-thao-kh-28-khcn-2022-bao-cao-theo-yeu-cau-yc-2024-05-02.md"]
        md = next(a for a in draft["attachments"] if a["filename"].endswith(".md"))
        assert "28/KH-KHCN" in base64.b64decode(md["base64"]).decode("utf-8")
        docx = next(a for a in draft["attachments"] if a["filename"].endswith(".docx"))
        assert base64.b64decode(docx["base64"])[:2] == b"PK"  # the DOCX, rendered for the message that carries it
        assert "(theo yêu cầu ngày 02/05/2024)" in draft["message"] and "Tóm tắt: " in draft["message"]
        # the attachments in an official's words: the Word file to finish, the same text as .md
        assert "(đính kèm tệp Word .docx để hoàn thiện, tệp .md cùng nội dung)" in draft["message"]
        assert not any(mark in draft["message"] for mark in ("**", "##", "\n>", "`"))  # no Markdown marks
        assert len(draft["message"]) < 3000  # a summary, never the whole draft


class TestOnePerDayAndQuietDays:
    def test_what_comes_after_the_days_message_waits_for_the_next_working_morning(self, tmp_path, seed, sessions,
                                                                                   tick_days, http):
        from engine.runtime.people import confirm

        path = write_channels(tmp_path / "c.txt", every_tag_to(http.url))
        tick_days(DAY1)
        deliver_outbox(sessions, at(DAY1), path)
        with sessions() as session, session.begin():  # confirmed in the afternoon: a receipt to the owner
            confirm(seed, session, "quan-triet", by="Nguyễn Văn A", at=DAY1, now=at(DAY1, 15),
                    evidence={"date": "16/03/2022", "attendees": "45"})
        report = deliver_outbox(sessions, at(DAY1, 15, 5), path)
        assert (report.messages, report.held) == (0, 1)
        assert "1 chờ sáng ngày làm việc tới" in report.summary()
        (held,) = [r for r in outbox(sessions) if r.reason == "confirmed"]
        assert held.status == PENDING and delivery.as_utc(held.next_attempt_at) == at(DAY1 + timedelta(days=1))
        tick_days(DAY1 + timedelta(days=1))
        deliver_outbox(sessions, at(DAY1 + timedelta(days=1)), path)
        per_day = Counter((m.tag, m.day) for m in messages(sessions))
        assert max(per_day.values()) == 1
        receipt = [p for p in http.payloads if "Đã ghi nhận" in p["title"] + p["message"]]
        assert len(receipt) == 1

    def test_nothing_goes_out_on_a_weekend_or_tet_it_waits_for_the_next_working_morning(self, tmp_path, seed,
                                                                                         sessions, tick_days, http):
        path = write_channels(tmp_path / "c.txt", every_tag_to(http.url))
        tick_days(DAY1, SATURDAY)  # quan-triet overdue on Saturday 19/03
        deliver_outbox(sessions, at(DAY1 + timedelta(days=2)), path)
        sent_before = len(http.payloads)
        report = deliver_outbox(sessions, at(SATURDAY), path)
        assert report.messages == 0 and len(http.payloads) == sent_before
        tick_days(SATURDAY + timedelta(days=1))
        assert deliver_outbox(sessions, at(SATURDAY + timedelta(days=1), 10), path).messages == 0
        monday = SATURDAY + timedelta(days=2)
        tick_days(monday)
        report = deliver_outbox(sessions, at(monday), path)
        assert report.messages and {m.day for m in messages(sessions)} <= {DAY1, DAY1 + timedelta(days=1),
                                                                            DAY1 + timedelta(days=2), monday}
        assert all(PlanFacts.of(seed).workdays.is_working_day(m.day) for m in messages(sessions))

    def test_a_plan_may_ask_for_one_message_per_notice(self, tmp_path, sessions, tick_days, http):
        tick_days(DAY1)
        report = deliver_outbox(sessions, at(DAY1), write_channels(tmp_path / "c.txt", every_tag_to(http.url)),
                                plans=separate)
        assert report.messages == 3 == len(http.payloads)


class TestNoChannels:
    def test_without_a_file_notices_wait_and_go_once_one_is_given(self, tmp_path, sessions, tick_days, http):
        tick_days(DAY1, DAY1 + timedelta(days=1))
        rows = outbox(sessions)
        report = deliver_outbox(sessions, at(DAY1 + timedelta(days=1)))
        assert report.channels is None and report.waiting == len(rows) and not report.outcomes
        assert "Chưa có tệp kênh" in report.summary()
        assert statuses(sessions) == {PENDING: len(rows)}  # nothing dropped, nothing tried
        later = at(DAY1 + timedelta(days=5))
        report = deliver_outbox(sessions, later, write_channels(tmp_path / "c.txt", every_tag_to(http.url)))
        assert report.delivered == len(rows)
        assert len(http.payloads) == len({r.tag for r in rows}) == report.messages  # one message per tag
        assert statuses(sessions) == {DELIVERED: len(rows)}

    def test_the_environment_names_the_file(self, tmp_path, sessions, tick_days, http, monkeypatch):
        tick_days(DAY1)
        monkeypatch.setenv("KEHOACH_CHANNELS", str(write_channels(tmp_path / "c.txt", every_tag_to(http.url))))
        assert deliver_outbox(sessions, at(DAY1)).delivered == 3

    def test_a_tag_missing_from_the_file_waits_as_no_target_until_it_is_added(self, tmp_path, sessions, tick_days,
                                                                               http):
        tick_days(DAY1)
        path = write_channels(tmp_path / "c.txt", {"van-phong": http.url("van-phong")})
        report = deliver_outbox(sessions, at(DAY1), path)
        assert (report.delivered, report.count(NO_TARGET)) == (1, 2)
        missing = [r for r in outbox(sessions) if r.status == NO_TARGET]
        assert {r.tag for r in missing} == {"toan-so"} and "toan-so" in missing[0].last_error
        assert deliver_outbox(sessions, at(DAY1, 9), path).outcomes == []  # still missing: left alone
        write_channels(path, {"van-phong": http.url("van-phong"), "toan-so": http.url("toan-so")})
        report = deliver_outbox(sessions, at(DAY1, 10), path)
        assert report.delivered == 2 and Counter(http.paths) == {"/van-phong": 1, "/toan-so": 1}

    def test_a_unit_without_tags_is_recorded_as_no_target_and_never_sent(self, tmp_path, seed, sessions, tick_days,
                                                                         http):
        tick_days(DAY1, date(2022, 3, 18))
        from engine.runtime.people import confirm

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
    def test_a_target_down_for_some_days_gets_every_message_once_after_it_comes_back(
            self, tmp_path, seed, sessions, tick_days, http):
        path = write_channels(tmp_path / "c.txt", every_tag_to(http.url))
        http.down = True
        day = DAY1
        for _ in range(3):  # three daily ticks while the endpoint answers 503
            tick_days(day)
            report = deliver_outbox(sessions, at(day), path)
            day += timedelta(days=1)
        failed = [r for r in outbox(sessions) if r.message_id]
        assert failed and all(r.status == FAILED for r in failed)
        assert "503" in failed[0].last_error
        http.down = False
        for _ in range(3):
            tick_days(day)
            deliver_outbox(sessions, at(day), path)
            day += timedelta(days=1)
        rows = outbox(sessions)
        assert all(r.status == DELIVERED for r in rows)
        received = Counter((p, m["title"], m["message"]) for p, m in zip(http.paths, http.payloads))
        assert set(received.values()) == {1} and len(received) == len(messages(sessions))
        assert report.failed  # the last failed day said so

    def test_backoff_then_given_up_then_retried_on_request(self, tmp_path, sessions, tick_days):
        tick_days(DAY1)
        path = write_channels(tmp_path / "c.txt", {t: f"json://127.0.0.1:{closed_port()}/x" for t in SEED_TAGS})
        policy = RetryPolicy(max_attempts=3, first_delay=timedelta(minutes=10), factor=3)
        now = at(DAY1)
        report = deliver_outbox(sessions, now, path, policy=policy)
        assert report.failed == 3 and {o.next_attempt_at for o in report.outcomes} == {now + timedelta(minutes=10)}
        assert deliver_outbox(sessions, now + timedelta(minutes=5), path, policy=policy).outcomes == []  # not due
        report = deliver_outbox(sessions, now + timedelta(minutes=10), path, policy=policy)
        assert report.failed == 3 and report.outcomes[0].next_attempt_at == now + timedelta(minutes=40)
        report = deliver_outbox(sessions, now + timedelta(hours=1), path, policy=policy)
        assert report.given_up == 3 and not report.ok
        assert all(r.status == GIVEN_UP and r.attempts == 3 for r in outbox(sessions))
        assert deliver_outbox(sessions, now + timedelta(days=1), path, policy=policy).outcomes == []
        with HttpReceiver() as http:
            write_channels(path, every_tag_to(http.url))
            report = deliver_outbox(sessions, now + timedelta(days=1), path, policy=policy, retry_given_up=True)
            assert report.delivered == 3 and len(http.payloads) == 2

    def test_one_failing_channel_never_blocks_the_others(self, tmp_path, sessions, tick_days, http, smtp):
        tick_days(DAY1)
        down = f"json://127.0.0.1:{closed_port()}/x"
        path = write_channels(tmp_path / "c.txt", f"van-phong={smtp.url()}\nvan-phong={down}\ntoan-so={http.url()}\n")
        report = deliver_outbox(sessions, at(DAY1), path)
        assert report.failed == 1 and report.delivered == 2  # toan-so delivered; van-phong half-way
        assert len(smtp.messages) == 1 and len(http.payloads) == 1
        (vp,) = [m for m in messages(sessions) if m.tag == "van-phong"]
        assert vp.status == FAILED and "JSON" in vp.last_error and len(vp.delivered_to) == 1
        # Retried: only the service that failed is tried again; the e-mail is not sent twice.
        with HttpReceiver() as back:
            write_channels(path, f"van-phong={smtp.url()}\nvan-phong={back.url()}\ntoan-so={http.url()}\n")
            report = deliver_outbox(sessions, at(DAY1, 9), path)
            assert report.delivered == 1 and len(back.payloads) == 1
        assert len(smtp.messages) == 1 and len(http.payloads) == 1

    def test_a_crash_between_sending_and_recording_resends_once_and_says_so(
            self, tmp_path, seed, any_sessions, http, monkeypatch):
        from engine.runtime.tick import tick

        sessions = any_sessions
        tick(seed, sessions, at(DAY1))
        path = write_channels(tmp_path / "c.txt", every_tag_to(http.url))

        def crash(*args, **kwargs):
            raise RuntimeError("worker killed after sending")

        with monkeypatch.context() as m:
            m.setattr(delivery, "_record", crash)
            with pytest.raises(RuntimeError, match="worker killed"):
                deliver_outbox(sessions, at(DAY1), path)
        assert len(http.payloads) == 2
        assert all(r.status == "sending" and r.attempts == 1 for r in outbox(sessions))  # claimed, not recorded
        assert deliver_outbox(sessions, at(DAY1, 7, 40), path).outcomes == []  # the lease holds: no resend yet
        report = deliver_outbox(sessions, at(DAY1, 8), path)  # lease (15 min) over: maybe delivered, sent again
        assert report.delivered == 3 and len(http.payloads) == 4
        assert set(Counter((p, m["title"]) for p, m in zip(http.paths, http.payloads)).values()) == {2}
        assert all(m.unknown == 1 for m in messages(sessions))  # the second send is on record
        assert deliver_outbox(sessions, at(DAY1, 9), path).outcomes == [] and len(http.payloads) == 4


class TestSlowReceivers:
    def test_a_receiver_that_answers_too_late_is_maybe_delivered_retried_once_then_left(self, tmp_path, sessions):
        """A receiver that takes the message but does not answer within the send's bound: the outcome is unknown.
        It is sent once more, visibly, and never again. The receiver holds every request until the test lets it
        go, so the delivery is seen to end while the receiver still holds the message."""
        queue_notices(sessions, 1)
        with HttpReceiver() as slow:
            slow.hold = threading.Event()
            path = write_channels(tmp_path / "c.txt", {"t": slow.url()})
            report = deliver_outbox(sessions, at(DAY1), path, send_timeout=0.5)
            assert len(slow.received) == 1 and slow.payloads == []  # it has the message and has not answered
            assert report.count(UNKNOWN) == 1 and "có thể đã gửi" in report.outcomes[0].error
            again = deliver_outbox(sessions, at(DAY1, 9), path, send_timeout=0.5)
            assert again.count(UNKNOWN) == 1 and len(slow.received) == 2
            (msg,) = messages(sessions)
            assert (msg.status, msg.unknown, msg.next_attempt_at) == (UNKNOWN, 2, None)
            assert "không gửi lại nữa" in msg.last_error
            assert deliver_outbox(sessions, at(DAY1, 11), path).outcomes == []
            slow.hold.set()
        assert len(slow.received) == 2  # sent twice at most: never silently repeated

    def test_a_refused_connection_is_a_plain_failure(self, tmp_path, sessions):
        queue_notices(sessions, 1)
        path = write_channels(tmp_path / "c.txt", {"t": f"json://127.0.0.1:{closed_port()}/x"})
        report = deliver_outbox(sessions, at(DAY1), path)
        assert report.failed == 1 and report.count(UNKNOWN) == 0


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
            report = deliver_outbox(sessions, at(DAY1), path, concurrency=3, plans=separate)
        assert report.delivered == 12
        assert not together.broken  # three were in flight together: concurrent
        assert peak[0] == 3  # and never more: bounded

    def test_two_deliveries_at_once_send_each_message_once(self, tmp_path, any_sessions, http):
        sessions = any_sessions
        queue_notices(sessions, 30)
        http.delay = 0.02
        ch = load_channels(write_channels(tmp_path / "c.txt", {"t": http.url()}))
        reports = []
        threads = [threading.Thread(target=lambda: reports.append(deliver_outbox(sessions, at(DAY1), ch,
                                                                                plans=separate)))
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
        assert report.delivered == 3
        with sessions() as session:
            others = list(session.scalars(select(OutboxRecord).where(OutboxRecord.plan_id == "p")))
        assert all(r.status == PENDING for r in others)
