"""A reporting regime as its recipients get it, through a loopback SMTP server: three districts each report every
six months (a step owned by a group), the province compiles once they all have (per period), and a quick note
opens on its own date naming who is missing. One district reports on time, the others are chased."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest

from engine.people import confirm
from engine.plan import load_plan
from engine.tick import tick
from notifiers.channels import load_channels
from notifiers.delivery import deliver_outbox
from tests.engine.state_helpers import REGIME_UNITS, no_documents
from tests.notifiers.conftest import at, write_channels
from tests.notifiers.receivers import SmtpReceiver
from tests.notifiers.test_whole_life import mails

PLAN = """\
plan:
  number: 05/KH-UBND
  title: Theo dõi chương trình giảm nghèo
  issuer: {name: UBND tỉnh Ninh Bình}
  issued_on: 01/01/2023
  period: {start: 01/01/2023, end: 30/06/2024}
""" + REGIME_UNITS + """\
defaults:
  reminders: {days_before: [3], working_days_before: []}
  escalation: {after_days: 1, every_days: 5, max_times: 2, to: [ld]}
steps:
  - id: bao-cao-huyen
    kind: report
    title: Báo cáo kết quả giảm nghèo của huyện
    short_title: Báo cáo giảm nghèo của huyện
    owner: cac-huyen
    recipient: so
    cutoff_day: 10  # data cut off before the report is due on the 12th
    timing: {half_yearly: {month: 6, day: 12}}
  - id: tin-nhanh
    kind: report
    title: Tin nhanh tình hình báo cáo của các huyện
    owner: so
    recipient: ld
    depends_on: [{step: bao-cao-huyen, opens_anyway: true}]
    timing: {half_yearly: {month: 6, day: 16}, opens_before_days: 0}
  - id: tong-hop
    kind: report
    title: Báo cáo tổng hợp kết quả giảm nghèo của tỉnh
    short_title: Báo cáo tổng hợp của tỉnh
    owner: so
    recipient: bo
    depends_on: [{step: bao-cao-huyen, same_period: true}]
    timing: {half_yearly: {month: 6, day: 26}}
"""
TAGS = ("nho-quan", "gia-vien", "hoa-lu", "so", "lanh-dao")
START, END = date(2023, 1, 1), date(2024, 6, 30)
# Who confirms what, when: Nho Quan on time every period; Gia Viễn and Hoa Lư late in 2023-H1 and never after.
CONFIRMS = {date(2023, 6, 7): [("nho-quan", "2023-H1")], date(2023, 6, 21): [("gia-vien", "2023-H1")],
            date(2023, 6, 23): [("hoa-lu", "2023-H1")], date(2023, 6, 26): [("so", "2023-H1")],
            date(2023, 12, 6): [("nho-quan", "2023-H2")], date(2024, 6, 5): [("nho-quan", "2024-H1")]}


@pytest.fixture(scope="module")
def regime(tmp_path_factory):
    with pytest.MonkeyPatch.context() as m:
        m.setenv("KEHOACH_NOTIFY_MIN_INTERVAL", "0")
        empty = tmp_path_factory.mktemp("no-ca")  # a plain loopback server never starts TLS (see test_whole_life)
        (empty / "none.pem").write_text("")
        m.setenv("SSL_CERT_FILE", str(empty / "none.pem"))
        m.setenv("SSL_CERT_DIR", str(empty))
        for name in ("KEHOACH_CHANNELS", "PREFECT_UI_URL", "PREFECT_API_URL", "KEHOACH_CONFIRM_URL"):
            m.delenv(name, raising=False)
        yield _life(tmp_path_factory)


def _life(tmp_path_factory):
    """Every day ticked and delivered in the morning; people's confirmations delivered in the afternoon."""
    from engine.state.db import open_store, session_factory

    folder = tmp_path_factory.mktemp("regime")
    (folder / "giam-ngheo.yaml").write_text(PLAN, encoding="utf-8")
    plan = load_plan(folder / "giam-ngheo.yaml")
    sessions = session_factory(open_store(f"sqlite:///{folder / 'state.db'}"))
    received: list[tuple[date, str, str, str]] = []
    with SmtpReceiver() as smtp:
        path = load_channels(write_channels(folder / "channels.txt", {
            t: smtp.url(f"{t}@ninhbinh.gov.vn") for t in TAGS}))
        day = START
        while day <= END:
            tick(plan, sessions, at(day), documents=no_documents)
            seen = len(smtp.messages)
            deliver_outbox(sessions, at(day, 7, 35), path, plans=lambda pid: plan)
            if day in CONFIRMS:
                with sessions() as s, s.begin():
                    for unit, period in CONFIRMS[day]:
                        step = "tong-hop" if unit == "so" else "bao-cao-huyen"
                        confirm(plan, s, step, key=period, unit=None if unit == "so" else unit,
                                by="Nguyễn Văn A", at=day, now=at(day, 15))
                deliver_outbox(sessions, at(day, 16, 30), path, plans=lambda pid: plan)
            received += [(day, *m) for m in mails(smtp, seen)]
            day += timedelta(days=1)
    return received


def to(received, tag: str):
    return [(day, subject, body) for day, address, subject, body in received if address.startswith(tag + "@")]


class TestSeveralOwners:
    def test_at_most_one_message_per_recipient_and_day(self, regime):
        per_day = Counter((address, day) for day, address, _, _ in regime)
        assert regime and max(per_day.values()) == 1

    def test_each_district_gets_its_own_work_by_its_own_name(self, regime):
        for tag, name in (("nho-quan", "Nho Quan"), ("gia-vien", "Gia Viễn"), ("hoa-lu", "Hoa Lư")):
            first = to(regime, tag)[0]
            assert first[0] == date(2023, 5, 29) and "Báo cáo giảm nghèo của huyện" in first[1]
            assert first[2].startswith(f"Kính gửi: UBND huyện {name}\n")
            assert "--unit " + tag in first[2]  # the command it may paste names its unit

    def test_the_district_that_reports_is_not_chased_the_others_are(self, regime):
        assert not [s for _, s, _ in to(regime, "nho-quan") if "Quá hạn" in s]
        for tag in ("gia-vien", "hoa-lu"):
            assert [d for d, s, _ in to(regime, tag) if "Quá hạn" in s][0] == date(2023, 6, 13)

    def test_leadership_gets_one_message_naming_the_late_districts(self, regime):
        late = [(d, s, b) for d, s, b in to(regime, "lanh-dao") if "chậm" in s and d < date(2023, 7, 1)]
        day, subject, body = late[0]
        assert day == date(2023, 6, 13)
        assert "UBND huyện Gia Viễn" in subject + body and "UBND huyện Hoa Lư" in subject + body
        assert "Nho Quan" not in body
        assert "Cùng nhiệm vụ này còn 1 đơn vị: " in body

    def test_the_compile_opens_only_when_every_district_has_reported(self, regime):
        drafts = [d for d, s, b in to(regime, "so") if "dự thảo báo cáo: Báo cáo tổng hợp của tỉnh" in s + b]
        waiting = [d for d, s, _ in to(regime, "so") if "Chờ việc trước" in s and "tổng hợp" in s]
        # Hoa Lư, the last, reported on Friday 23/06: the compile opened the next morning, told on Monday.
        assert drafts == [date(2023, 6, 26)]  # and never in 2023-H2 or 2024-H1: districts are missing
        assert waiting[0] == date(2023, 6, 12)
        assert date(2023, 12, 12) in waiting  # the second period waits again (the old defect opened it)

    def test_opens_anyway_on_its_date_naming_who_is_missing(self, regime):
        notes = [(d, b) for d, s, b in to(regime, "so") if "Tin nhanh" in s and "dự thảo" in s]
        assert notes[0][0] == date(2023, 6, 16)
        assert ("chưa có UBND huyện Gia Viễn, UBND huyện Hoa Lư" in notes[0][1]
                and "Nho Quan" not in notes[0][1].split("chưa có")[1].split("\n")[0])
