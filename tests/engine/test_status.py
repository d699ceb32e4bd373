"""engine.runtime.status: every occurrence with its state on a day, confirmations, notices, waiting and orphaned rows."""

from __future__ import annotations

from datetime import date

import pytest

from engine.runtime.people import confirm
from engine.runtime.status import counts, plan_status, status_counts
from engine.runtime.tick import tick
from tests.engine.state_helpers import STEPS, at, no_documents, plan_at


def status_on(plan, sessions, day):
    with sessions() as s:
        return {(r["step"], r["occurrence"]): r for r in plan_status(plan, s, day)}


class TestPlanStatus:
    def test_calendar_occurrences_not_stored_yet_are_listed_as_scheduled(self, plan, sessions):
        rows = status_on(plan, sessions, date(2024, 1, 15))
        assert list(rows) == [("a", "once"), ("d", "once"), ("b", "2024-03"), ("b", "2024-04"), ("b", "2024-05")]
        assert rows[("a", "once")]["stored"] is False
        assert (rows[("d", "once")]["projected"], rows[("d", "once")]["status_vi"]) == (True, "chưa mở (dự kiến)")

    def test_open_past_due_is_overdue_with_its_days_even_before_the_next_tick(self, plan, sessions):
        tick(plan, sessions, at(date(2024, 2, 1)), documents=no_documents)
        r = status_on(plan, sessions, date(2024, 2, 25))[("a", "once")]
        assert (r["status"], r["days_overdue"], r["status_vi"]) == ("overdue", 5, "quá hạn")
        assert r["notices"] == "1 chưa có kênh, 2 chờ gửi"  # the owner on two tags; the audience has none

    def test_done_late_shows_the_confirmation(self, plan, sessions):
        tick(plan, sessions, at(date(2024, 2, 1)), documents=no_documents)
        with sessions() as s, s.begin():
            confirm(plan, s, "a", by="Phạm D", at=date(2024, 2, 22), now=at(date(2024, 2, 22)),
                    evidence={"document_number": "7/VP"}, note="muộn do nghỉ Tết")
        r = status_on(plan, sessions, date(2024, 3, 1))[("a", "once")]
        assert (r["status"], r["status_vi"], r["late_days"], r["days_overdue"]) == ("done", "hoàn thành (chậm 2 ngày)", 2, 0)
        assert r["confirmation"] == {"by": "Phạm D", "done_on": "2024-02-22", "evidence": {"document_number": "7/VP"},
                                     "note": "muộn do nghỉ Tết", "source": "cli", "plan_version": plan.version}

    def test_an_occurrence_waiting_for_its_predecessor_says_so(self, plan, sessions):
        tick(plan, sessions, at(date(2024, 3, 11)), documents=no_documents)
        r = status_on(plan, sessions, date(2024, 3, 12))[("b", "2024-03")]
        assert (r["status"], r["waiting_for"], r["status_vi"]) == ("scheduled", ["a"], "chưa mở (chờ a)")

    def test_orphaned_rows_are_shown_with_their_confirmation(self, plan, sessions, tmp_path):
        with sessions() as s, s.begin():
            confirm(plan, s, "a", by="Phạm D", at=date(2024, 2, 10), now=at(date(2024, 2, 10)),
                    evidence={"document_number": "7/VP"})
        edited = plan_at(tmp_path / "thu.yaml", STEPS.replace("  - id: a\n", "  - id: a1\n")
                         .replace("[a]", "[a1]").replace("step: a,", "step: a1,"))
        tick(edited, sessions, at(date(2024, 2, 11)), documents=no_documents)
        rows = status_on(edited, sessions, date(2024, 2, 11))
        old = rows[("a", "once")]
        assert (old["orphaned"], old["confirmation"]["by"]) == (True, "Phạm D")
        assert old["status_vi"] == "mồ côi - bước không còn trong kế hoạch (hoàn thành)"
        assert rows[("a1", "once")]["orphaned"] is False

    def test_counts(self, plan, sessions):
        tick(plan, sessions, at(date(2024, 3, 11)), documents=no_documents)
        with sessions() as s:
            rows = plan_status(plan, s, date(2024, 3, 30))
        # b (due 25/03) never opened - a is not done - but it is late all the same: overdue, and waiting.
        assert status_counts(rows, date(2024, 3, 30)) == {
            "due": 2, "done": 0, "done_late": 0, "overdue": 2, "waiting": 1, "done_ahead": 0, "orphaned": 0,
            "cancelled_or_skipped": 0}


class TestAsOfTheDay:
    """The counts are the plan as it stood on the day asked for, whatever the store recorded later."""

    @pytest.fixture
    def seed_run(self, seed_plan, sessions):
        tick(seed_plan, sessions, at(date(2023, 10, 25)), documents=no_documents)
        with sessions() as s, s.begin():
            confirm(seed_plan, s, "quan-triet", by="Nguyễn Văn A", at=date(2022, 3, 17), now=at(date(2023, 10, 25)),
                    evidence={"date": "17/03/2022", "attendees": "45"})
        return seed_plan

    def test_a_past_day_counts_what_was_due_then(self, seed_run, sessions):
        day = date(2022, 3, 20)
        with sessions() as s:
            rows = plan_status(seed_run, s, day)
        assert counts(rows, day).as_dict() == {
            "due": 1, "done": 1, "done_late": 0, "overdue": 0, "waiting": 0, "done_ahead": 0, "orphaned": 0,
            "cancelled_or_skipped": 0}
        report = next(r for r in rows if (r["step"], r["occurrence"]) == ("bao-cao-hang-nam", "2022"))
        assert (report["status"], report["days_overdue"], report["status_vi"]) == ("scheduled", 0, "chưa mở")

    def test_a_confirmation_after_the_day_does_not_count_on_it(self, seed_run, sessions):
        with sessions() as s, s.begin():
            confirm(seed_run, s, "bao-cao-hang-nam", key="2022", by="B", at=date(2022, 10, 20),
                    now=at(date(2023, 10, 25)), evidence={"document_number": "1/BC"})
        with sessions() as s:
            before, after = plan_status(seed_run, s, date(2022, 3, 20)), plan_status(seed_run, s, date(2022, 10, 20))
        assert (counts(before, date(2022, 3, 20)).done, counts(before, date(2022, 3, 20)).due) == (1, 1)
        report = next(r for r in before if (r["step"], r["occurrence"]) == ("bao-cao-hang-nam", "2022"))
        assert report["confirmation"] is None and report["status"] == "scheduled"
        assert counts(after, date(2022, 10, 20)).done_ahead == 1  # done ahead of its 31/10 deadline

    def test_done_never_exceeds_due_and_waiting_rows_past_due_are_overdue(self, seed_run, sessions):
        day = date(2023, 10, 25)
        with sessions() as s:
            rows = plan_status(seed_run, s, day)
        c = counts(rows, day)
        assert c.done <= c.due
        late = [r for r in rows if r["days_overdue"]]
        assert len(late) == c.overdue and all(r["due"] < day.isoformat() for r in late)
        assert all(r["status"] == "overdue" for r in late)
        assert c.line().startswith(f"{c.done}/{c.due} lần đến hạn đã hoàn thành, {c.overdue} quá hạn")
