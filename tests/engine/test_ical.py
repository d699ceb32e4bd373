"""The calendar feed (engine/reports/ical.py) and `kehoach calendar`: parsed back with icalendar."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from engine.cli.app import main
from engine.reports.ical import feed
from tests.conftest import PLANS, SEED
from tests.conftest import run_cli as run

NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def events(data: bytes) -> dict[str, object]:
    return {str(e["UID"]): e for e in Calendar.from_ical(data).walk("VEVENT")}


def occurrences(plan) -> dict[str, object]:
    return {f"{plan.id}/{o.step_id}/{o.key}@kehoach": o for cal in plan.calendar.values() for o in cal.occurrences}


class TestFeed:
    def test_one_all_day_event_per_occurrence_on_its_due_date(self, seed_plan):
        evs = events(feed(seed_plan, NOW))
        occs = occurrences(seed_plan)
        assert set(evs) == set(occs) and len(occs) > 80
        for uid, occ in occs.items():
            start, end = evs[uid].decoded("DTSTART"), evs[uid].decoded("DTEND")
            assert type(start) is date and start == occ.due, uid
            assert end == occ.due + timedelta(days=1)

    def test_reminders_are_alarms_at_8_in_the_plan_time_zone(self, seed_plan):
        evs = events(feed(seed_plan, NOW))
        for uid, occ in occurrences(seed_plan).items():
            triggers = [a.decoded("TRIGGER") for a in evs[uid].walk("VALARM")]
            assert [t.astimezone(HCM) for t in triggers] == [datetime.combine(d, time(8), HCM) for d in occ.reminders]
        (quan_triet,) = [e for u, e in evs.items() if "/quan-triet/" in u]
        assert [a["TRIGGER"].params["VALUE"] for a in quan_triet.walk("VALARM")] == ["DATE-TIME", "DATE-TIME"]

    def test_calendar_names_its_time_zone(self, seed_plan):
        cal = Calendar.from_ical(feed(seed_plan, NOW))
        assert str(cal["X-WR-TIMEZONE"]) == "Asia/Ho_Chi_Minh"
        assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Asia/Ho_Chi_Minh"]

    def test_vietnamese_summary_and_description(self, seed_plan):
        ev = events(feed(seed_plan, NOW))[f"{seed_plan.id}/bao-cao-hang-nam/2023@kehoach"]
        assert str(ev["SUMMARY"]) == ("[28/KH-KHCN] Hạn: Tổng hợp, báo cáo kết quả thực hiện Đề án hằng năm gửi Sở "
                                      "Nội vụ tỉnh (năm 2023)")
        text = str(ev["DESCRIPTION"])
        assert "Đơn vị chủ trì: Văn phòng Sở." in text and "Hạn: 31/10/2023." in text
        assert "Mở việc: 16/10/2023." in text

    def test_evidence_asked_for_in_vietnamese_and_labels_given_once(self, seed_plan):
        evs = events(feed(seed_plan, NOW))
        text = str(evs[f"{seed_plan.id}/quan-triet/once@kehoach"]["DESCRIPTION"])
        assert "Khi xác nhận cần ghi: ngày thực hiện, số người tham dự." in text
        summary = str(evs[f"{seed_plan.id}/tong-ket/2025@kehoach"]["SUMMARY"])
        assert summary == "[28/KH-KHCN] Hạn: Tổng kết việc triển khai, thực hiện Đề án (năm 2025)"
        assert all("…" not in str(e["SUMMARY"]) for e in evs.values())

    def test_finished_work_is_marked_and_no_longer_reminded(self, seed_plan, tmp_path):
        from engine.runtime.simulate import ConfirmPolicy, simulate
        from engine.state.db import open_store, session_factory
        from engine.state.store import occurrences_of

        sessions = session_factory(open_store(f"sqlite:///{tmp_path / 's.db'}"))
        simulate(seed_plan, sessions, date(2022, 3, 15), date(2022, 4, 30), ConfirmPolicy.parse("on-time"))
        with sessions() as session:
            rows = occurrences_of(session, seed_plan.id)
        evs = events(feed(seed_plan, NOW, rows))
        done = evs[f"{seed_plan.id}/quan-triet/once@kehoach"]
        assert str(done["SUMMARY"]).startswith("[28/KH-KHCN] Đã hoàn thành: Tổ chức quán triệt")
        assert "Đã hoàn thành ngày 18/03/2022." in str(done["DESCRIPTION"]) and not done.walk("VALARM")
        ahead = evs[f"{seed_plan.id}/cung-cap-thong-tin/2022-05@kehoach"]
        assert str(ahead["SUMMARY"]).startswith("[28/KH-KHCN] Hạn: ") and ahead.walk("VALARM")

    def test_an_extended_deadline_is_the_one_shown(self, seed_plan, tmp_path):
        from engine.runtime.people import extend
        from engine.state.db import open_store, session_factory
        from engine.state.store import occurrences_of

        sessions = session_factory(open_store(f"sqlite:///{tmp_path / 's.db'}"))
        when = datetime(2023, 9, 20, 7, 30, tzinfo=HCM)
        with sessions() as session, session.begin():
            extend(seed_plan, session, "so-ket", to=date(2023, 10, 20), by="Giám đốc Sở",
                   reason="Chờ số liệu", key="2023", at=when.date(), now=when)
        with sessions() as session:
            rows = occurrences_of(session, seed_plan.id)
        ev = events(feed(seed_plan, NOW, rows))[f"{seed_plan.id}/so-ket/2023@kehoach"]
        assert ev.decoded("DTSTART") == date(2023, 10, 20)
        assert "Đã gia hạn (hạn ban đầu 29/09/2023)." in str(ev["DESCRIPTION"])

    def test_uids_are_stable_and_only_the_stamp_changes(self, seed_plan):
        a, b = feed(seed_plan, NOW), feed(seed_plan, NOW + timedelta(days=30))
        strip = lambda data: [ln for ln in data.decode().splitlines() if not ln.startswith("DTSTAMP")]  # noqa: E731
        assert a != b and strip(a) == strip(b)

    def test_on_demand_steps_appear_once_requested(self, seed_plan, tmp_path):
        from engine.runtime.people import request
        from engine.state.db import open_store, session_factory
        from engine.state.store import occurrences_of

        assert not [u for u in events(feed(seed_plan, NOW)) if "/bao-cao-theo-yeu-cau/" in u]
        sessions = session_factory(open_store(f"sqlite:///{tmp_path / 's.db'}"))
        when = datetime(2023, 5, 10, 7, 30, tzinfo=HCM)
        with sessions() as session, session.begin():
            row = request(seed_plan, session, "bao-cao-theo-yeu-cau", at=when.date(), now=when, by="Sở Nội vụ")
            due = row.due_on
        with sessions() as session:
            rows = occurrences_of(session, seed_plan.id)
        ev = events(feed(seed_plan, NOW, rows))[f"{seed_plan.id}/bao-cao-theo-yeu-cau/yc-2023-05-10@kehoach"]
        assert ev.decoded("DTSTART") == due and "Yêu cầu của: Sở Nội vụ." in str(ev["DESCRIPTION"])

    def test_projected_dates_are_tentative(self):
        from engine.language.plan import load_plan

        plan = load_plan(PLANS / "kh-07-khcn-2024.yaml")
        evs = events(feed(plan, NOW))
        projected = [u for u, o in occurrences(plan).items() if o.projected]
        assert projected and all(str(evs[u]["STATUS"]) == "TENTATIVE" for u in projected)




class TestCalendarCommand:
    def test_writes_the_ics(self, capsys, seed_plan, tmp_path):
        out = tmp_path / "kh-28.ics"
        code, _, err = run(capsys, "calendar", SEED, "-o", out, "--at", "02/01/2024")
        assert code == 0, err
        assert set(events(out.read_bytes())) == set(occurrences(seed_plan))
        assert f"({len(occurrences(seed_plan))} sự kiện)" in err

    def test_to_stdout(self, capsysbinary):
        with pytest.raises(SystemExit) as exit_info:
            main(["calendar", str(SEED)])
        out, _ = capsysbinary.readouterr()
        assert exit_info.value.code in (0, None)
        assert out.startswith(b"BEGIN:VCALENDAR") and b"END:VCALENDAR" in out

    def test_an_unwritable_path_exits_1_and_writes_nothing(self, capsys, tmp_path):
        code, _, err = run(capsys, "calendar", SEED, "-o", tmp_path / "no-such-dir" / "kh.ics")
        assert code == 1 and "không ghi được" in err
        assert list(tmp_path.iterdir()) == []
