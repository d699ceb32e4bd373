"""engine.status: every occurrence with its state on a day, confirmations, notices, waiting and orphaned rows."""

from __future__ import annotations

from datetime import date


from engine.people import confirm
from engine.status import plan_status, status_counts
from engine.tick import tick
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
        assert status_counts(rows, date(2024, 3, 30)) == {
            "due": 2, "done": 0, "done_late": 0, "overdue": 1, "waiting": 1, "orphaned": 0, "cancelled_or_skipped": 0}
