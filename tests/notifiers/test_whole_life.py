"""The seed plan's notices as its recipients get them: a loopback SMTP server with one address per tag, the plan's
whole life, a late first tick, a tick after the plan's end, and a simulation followed by real runs."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from engine.runtime.people import confirm_rows, request
from engine.runtime.tick import tick
from engine.state.models import OPEN, OVERDUE, OccurrenceRecord
from notifiers.channels import load_channels
from notifiers.delivery import deliver_outbox
from tests.notifiers.conftest import SEED_TAGS, at, write_channels
from tests.notifiers.receivers import SmtpReceiver

START, END = date(2022, 3, 16), date(2026, 1, 6)  # the plan runs 16/03/2022 - 31/12/2025
PERIOD_KEY = re.compile(r"\b(\d{4}-(Q[1-4]|H[12]|\d{2})|once|yc-\d{4}-\d{2}-\d{2})\b")
MARKDOWN = re.compile(r"\*\*|__|`|^#{1,6} |^> ", re.M)


def mails(smtp, since: int) -> list[tuple[str, str, str]]:
    """(address, subject, body) of what arrived after the first `since` messages."""
    out = []
    for m in smtp.messages[since:]:
        body = m.get_body(("plain",)).get_content() if m.is_multipart() else m.get_content()
        out.append((m["To"].addresses[0].addr_spec, str(m["Subject"]), body.replace("\r\n", "\n")))
    return out


def people_confirm(plan, sessions, day: date, late: int) -> int:
    """Officials confirm, in the afternoon, what was due `late` days ago (some on time, some late); how many."""
    with sessions() as s, s.begin():
        rows = s.scalars(select(OccurrenceRecord).where(
            OccurrenceRecord.plan_id == plan.id, OccurrenceRecord.status.in_((OPEN, OVERDUE)),
            OccurrenceRecord.due_on <= day - timedelta(days=late))).all()
        return len(confirm_rows(plan, s, list(rows), by="Nguyễn Văn A", at=day, now=at(day, 16),
                     evidence=lambda step, row: {r: {"date": day.strftime("%d/%m/%Y"), "document_date":
                                                     day.strftime("%d/%m/%Y"), "attendees": "45",
                                                     "link": "https://khcn.thainguyen.gov.vn/tin"}.get(r, "12/BC")
                                                 for r in step.confirmation.requires}))


@pytest.fixture(scope="module")
def life(seed_plan, tmp_path_factory):
    """(see below)"""
    with pytest.MonkeyPatch.context() as m:
        m.setenv("KEHOACH_NOTIFY_MIN_INTERVAL", "0")  # no e-mail pacing in a test
        # Apprise's e-mail service loads the machine's CA bundle for every message (~50-150 ms), though a plain
        # loopback server never starts TLS; an empty bundle keeps the 700 messages of this life quick.
        empty = tmp_path_factory.mktemp("no-ca")
        (empty / "none.pem").write_text("")
        m.setenv("SSL_CERT_FILE", str(empty / "none.pem"))
        m.setenv("SSL_CERT_DIR", str(empty))
        yield from _life(seed_plan, tmp_path_factory)


def _life(seed_plan, tmp_path_factory):
    """The seed plan's whole life, ticked every morning, delivered in the morning and again in the afternoon
    (after people confirmed), with every message that reached the SMTP server and the day it was sent on."""
    from engine.state.db import open_store, session_factory

    folder = tmp_path_factory.mktemp("life")
    sessions = session_factory(open_store(f"sqlite:///{folder / 'state.db'}"))
    received: list[tuple[date, str, str, str]] = []
    with SmtpReceiver() as smtp:
        path = load_channels(write_channels(folder / "channels.txt", {
            t: smtp.url(f"{t}@khcn.thainguyen.gov.vn") for t in SEED_TAGS}))
        day = START
        while day <= END:
            if day == date(2024, 5, 2):
                with sessions() as s, s.begin():
                    request(seed_plan, s, "bao-cao-theo-yeu-cau", at=day, now=at(day), by="Sở Nội vụ")
            tick(seed_plan, sessions, at(day))
            seen = len(smtp.messages)
            deliver_outbox(sessions, at(day, 7, 35), path, plans=lambda pid: seed_plan)
            if day <= date(2025, 12, 31) and people_confirm(seed_plan, sessions, day, late=3):
                deliver_outbox(sessions, at(day, 16, 30), path, plans=lambda pid: seed_plan)  # the receipts
            received += [(day, *m) for m in mails(smtp, seen)]
            day += timedelta(days=1)
    yield received, sessions


class TestWholeLife:
    def test_at_most_one_message_per_recipient_and_day(self, life):
        received, _ = life
        per_day = Counter((to, day) for day, to, _, _ in received)
        assert received and max(per_day.values()) == 1

    def test_nothing_on_a_non_working_day(self, life, seed_plan):
        received, _ = life
        quiet = {day for day, *_ in received if not seed_plan.workdays.is_working_day(day)}
        assert quiet == set()

    def test_subjects_fit_an_inbox_and_lead_with_the_plan_and_deadline(self, life):
        received, _ = life
        assert max(len(subject) for _, _, subject, _ in received) <= 100
        assert all(subject.startswith("[28/KH-KHCN] ") for _, _, subject, _ in received)

    def test_plain_text_without_markdown_marks_period_keys_or_cut_text(self, life):
        received, _ = life
        for _, to, subject, body in received:
            assert not MARKDOWN.search(body), (to, subject)
            assert not PERIOD_KEY.search(subject + body), (to, subject, PERIOD_KEY.search(subject + body))
            assert body.startswith("Kính gửi: ") and "\n--\nSở Khoa học và Công nghệ\n" in body

    def test_each_kind_of_recipient_is_reached_and_leadership_hears_of_late_work(self, life):
        received, _ = life
        by_tag = Counter(to.split("@")[0] for _, to, _, _ in received)
        assert {"van-phong", "toan-so", "lanh-dao", "trung-tam", "mttq", "doan-the", "cong-ttdt"} <= set(by_tag)
        late = [body for _, to, subject, body in received if to.startswith("lanh-dao") and " chậm " in subject]
        assert late and all("đã nhắc" in body or "chậm" in body for body in late)

    def test_the_plans_end_is_told_once_then_nothing(self, life):
        received, _ = life
        closing = [(day, to) for day, to, subject, _ in received if "Kết thúc kế hoạch" in subject]
        assert closing == [(date(2025, 12, 31), "lanh-dao@khcn.thainguyen.gov.vn")]  # the plan's last day
        # after it, only what people did on that last day (receipts, held for the next working morning)
        assert {subject.split("] ")[1].split(":")[0] for day, _, subject, _ in received
                if day > date(2025, 12, 31)} <= {"Đã ghi nhận hoàn thành"}


def test_a_first_tick_long_after_the_start_catches_up_with_one_message_per_recipient(seed_plan, sessions, smtp,
                                                                                        tmp_path):
    path = write_channels(tmp_path / "c.txt", {t: smtp.url(f"{t}@khcn.vn") for t in SEED_TAGS})
    result = tick(seed_plan, sessions, at(date(2023, 10, 25)))
    report = deliver_outbox(sessions, at(date(2023, 10, 25)), path)
    assert result.caught_up_days == 588
    got = mails(smtp, 0)
    assert len(got) == len({to for to, _, _ in got}) == report.messages  # one each
    leadership = next(body for to, _, body in got if to.startswith("lanh-dao"))
    assert "tổng hợp các việc tồn đọng" in leadership and "Văn phòng Sở chậm" in leadership
    assert "lần 3" not in leadership  # nothing replayed: each late item told once
    office = next(body for to, _, body in got if to.startswith("van-phong"))
    assert "Quá hạn 586 ngày (hạn 18/03/2022): Quán triệt Đề án 02-ĐA/TU" in office


def test_a_plan_ticked_after_its_end_sends_its_closing_summary_once(seed_plan, sessions, smtp, tmp_path):
    path = write_channels(tmp_path / "c.txt", {t: smtp.url(f"{t}@khcn.vn") for t in SEED_TAGS})
    today = date(2026, 12, 1)
    result = tick(seed_plan, sessions, at(today))
    deliver_outbox(sessions, at(today), path)
    assert result.ended_on == date(2025, 12, 31) and [a.event for a in result.applied] == ["closed"]
    (sent,) = mails(smtp, 0)
    assert sent[0] == "lanh-dao@khcn.vn"
    assert sent[1] == "[28/KH-KHCN] Kết thúc kế hoạch: tình hình thực hiện đến 31/12/2025"
    assert "Kế hoạch số 28/KH-KHCN đã hết thời gian thực hiện ngày 31/12/2025." in sent[2]
    assert "Việc chưa hoàn thành:\n- Quán triệt Đề án 02-ĐA/TU: hạn 18/03/2022, Văn phòng Sở chủ trì" in sent[2]
    for later in (today + timedelta(days=1), today + timedelta(days=30)):
        assert tick(seed_plan, sessions, at(later)).applied == []
        deliver_outbox(sessions, at(later), path)
    assert len(smtp.messages) == 1


def test_a_simulation_then_real_runs_send_nothing_from_the_simulation(seed_plan, sessions, smtp, tmp_path):
    from engine.runtime.simulate import ConfirmPolicy, simulate

    simulate(seed_plan, sessions, date(2022, 3, 16), date(2023, 12, 31), ConfirmPolicy.parse("late:2"))
    path = write_channels(tmp_path / "c.txt", {t: smtp.url(f"{t}@khcn.vn") for t in SEED_TAGS})
    day = date(2024, 1, 2)
    tick(seed_plan, sessions, at(day))
    deliver_outbox(sessions, at(day), path)
    for _, subject, body in mails(smtp, 0):
        assert "Mô phỏng" not in body and "2022" not in subject and "/2023:" not in subject
    assert all("01/2024" in subject or "02/2024" in subject for _, subject, _ in mails(smtp, 0))
