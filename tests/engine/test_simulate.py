"""engine.runtime.simulate: the seed plan's whole life (15/03/2022 - 31/12/2025) under each confirmation policy."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import select

from engine.errors import StateError
from engine.runtime.simulate import ConfirmPolicy, simulate, timeline
from engine.state.models import DocumentRecord, OutboxRecord
from tests.engine.state_helpers import no_documents, sessions_for

START, END = date(2022, 3, 15), date(2025, 12, 31)
REQUEST_DAY = date(2024, 5, 2)


@pytest.fixture(scope="module")
def life(seed_plan, tmp_path_factory):
    """Each policy's whole life, simulated once for the module: (timeline, sessions) by policy."""
    out = {}
    for text in ("on-time", "late:5", "never"):
        url = f"sqlite:///{tmp_path_factory.mktemp('life') / 'state.db'}"
        sessions = sessions_for(url)
        # real drafts (Markdown and DOCX) on the on-time run; a stand-in elsewhere to keep the suite fast
        simulate(seed_plan, sessions, START, END, ConfirmPolicy.parse(text),
                 requests={REQUEST_DAY: ["bao-cao-theo-yeu-cau"]},
                 documents=None if text == "on-time" else no_documents)
        with sessions() as s:
            out[text] = (timeline(seed_plan, s), sessions)
    return out


def dated(events, step=None, event=None):
    return [(e["date"], e["step"], e["occurrence"], e["event"]) for e in events
            if (step is None or e["step"] == step) and (event is None or e["event"] == event)]


class TestConfirmPolicy:
    @pytest.mark.parametrize("text, mode, days", [("on-time", "on-time", 0), ("late:5", "late", 5),
                                                   ("never", "never", 0)])
    def test_parse(self, text, mode, days):
        assert ConfirmPolicy.parse(text) == ConfirmPolicy(mode, days)

    @pytest.mark.parametrize("text", ["late", "late:x", "sometimes", "late:-1"])
    def test_anything_else_is_refused(self, text):
        with pytest.raises(StateError, match="on-time, late:N"):
            ConfirmPolicy.parse(text)


class TestOnTime:
    def test_quan_triet_opens_16_03_2022_is_reminded_and_is_due_18_03(self, life):
        events, _ = life["on-time"]
        assert dated(events, "quan-triet") == [
            ("2022-03-16", "quan-triet", "once", "opened"),     # (its reminder 2 days before falls today: dropped)
            ("2022-03-17", "quan-triet", "once", "reminder"),   # 1 working day before
            ("2022-03-18", "quan-triet", "once", "due"),        # 'before 20/03' (a Sunday): Friday 18/03
            ("2022-03-18", "quan-triet", "once", "confirmed"),
        ]

    def test_the_website_post_is_dated_from_the_confirmation_of_quan_triet(self, life):
        events, _ = life["on-time"]
        assert dated(events, "dang-website")[:3] == [
            ("2022-03-18", "dang-website", "once", "scheduled"),
            ("2022-03-19", "dang-website", "once", "opened"),
            ("2022-03-25", "dang-website", "once", "reminder"),
        ]
        assert ("2022-04-01", "dang-website", "once", "due") in dated(events)  # 10 working days after 18/03

    def test_yearly_report_drafts_each_october(self, life):
        events, sessions = life["on-time"]
        assert dated(events, "bao-cao-hang-nam", "opened") == [
            (f"{y}-10-16", "bao-cao-hang-nam", str(y), "opened") for y in range(2022, 2026)]
        for e in (e for e in events if e["step"] == "bao-cao-hang-nam" and e["event"] == "opened"):
            assert e["detail"]["drafted"] == ["docx", "md"]
        with sessions() as s:
            docs = s.execute(select(DocumentRecord.occurrence_key, DocumentRecord.format, DocumentRecord.created_on)
                             .where(DocumentRecord.step_id == "bao-cao-hang-nam")).all()
            asked = s.scalars(select(OutboxRecord.occurrence_key).where(
                OutboxRecord.step_id == "bao-cao-hang-nam", OutboxRecord.reason == "draft")).all()
        assert sorted(docs) == sorted((str(y), f, date(y, 10, 16)) for y in range(2022, 2026) for f in ("docx", "md"))
        assert sorted(asked) == [str(y) for y in range(2022, 2026)]  # the owner is asked to finish each draft

    def test_interim_then_final_review(self, life):
        events, _ = life["on-time"]
        assert dated(events, "so-ket", "opened") == [("2023-08-30", "so-ket", "2023", "opened")]
        assert dated(events, "so-ket", "confirmed") == [("2023-09-29", "so-ket", "2023", "confirmed")]
        assert dated(events, "tong-ket", "opened") == [("2025-08-31", "tong-ket", "2025", "opened")]
        assert dated(events, "tong-ket", "due") == [("2025-09-30", "tong-ket", "2025", "due")]

    def test_an_on_demand_report_after_a_request(self, life):
        events, _ = life["on-time"]
        assert dated(events, "bao-cao-theo-yeu-cau") == [
            ("2024-05-02", "bao-cao-theo-yeu-cau", "yc-2024-05-02", "requested"),
            ("2024-05-02", "bao-cao-theo-yeu-cau", "yc-2024-05-02", "opened"),
            ("2024-05-04", "bao-cao-theo-yeu-cau", "yc-2024-05-02", "reminder"),  # 05/05 is a Sunday; 04/05 a swapped working Saturday
            ("2024-05-07", "bao-cao-theo-yeu-cau", "yc-2024-05-02", "reminder"),
            # 5 working days from Thursday 02/05/2024, Saturday 04/05 being a swapped working day
            ("2024-05-08", "bao-cao-theo-yeu-cau", "yc-2024-05-02", "due"),
            ("2024-05-08", "bao-cao-theo-yeu-cau", "yc-2024-05-02", "confirmed"),
        ]

    def test_nothing_is_ever_overdue(self, life):
        counts = Counter(e["event"] for e in life["on-time"][0])
        assert counts["overdue"] == counts["escalation"] == 0
        assert counts["opened"] == counts["due"] == counts["confirmed"] == 87

    def test_timeline_events_name_their_recipients(self, life):
        events, _ = life["on-time"]
        first = events[0]
        assert (first["date"], first["step"], first["event"]) == ("2022-03-16", "quan-triet", "opened")
        assert first["recipients"] == ["cac-phong-don-vi:toan-so", "toan-the-cbccvc:toan-so", "van-phong:van-phong"]


class TestLate:
    def test_every_confirmation_comes_five_days_after_the_due_date(self, life):
        events, _ = life["late:5"]
        confirmed = [e for e in events if e["event"] == "confirmed"]
        assert len(confirmed) == 87 and {e["detail"]["late_days"] for e in confirmed} == {5}

    def test_overdue_the_day_after_due_and_one_escalation_before_the_confirmation(self, life):
        events, _ = life["late:5"]
        assert dated(events, "quan-triet")[2:] == [
            ("2022-03-18", "quan-triet", "once", "due"),
            ("2022-03-19", "quan-triet", "once", "overdue"),
            ("2022-03-21", "quan-triet", "once", "escalation"),  # the next working day after Friday's due date
            ("2022-03-23", "quan-triet", "once", "confirmed"),
        ]
        counts = Counter(e["event"] for e in events)
        assert counts["overdue"] == 87
        # A first escalation comes the working day after the due date: five calendar days late is too soon for it
        # only when holidays follow the due date (Tết, 30/4-1/5).
        spared = [e for e in events if e["event"] == "overdue" and not any(
            x["event"] == "escalation" and (x["step"], x["occurrence"]) == (e["step"], e["occurrence"]) for x in events)]
        assert counts["escalation"] == 87 - len(spared) and len(spared) <= 3

    def test_the_after_step_moves_with_the_late_confirmation(self, life):
        events, _ = life["late:5"]
        assert dated(events, "dang-website")[:2] == [("2022-03-23", "dang-website", "once", "scheduled"),
                                                      ("2022-03-24", "dang-website", "once", "opened")]
        assert ("2022-04-06", "dang-website", "once", "due") in dated(events)  # 10 working days after 23/03

    def test_reviews_follow_their_late_predecessors(self, life):
        events, _ = life["late:5"]
        assert dated(events, "so-ket", "confirmed") == [("2023-10-04", "so-ket", "2023", "confirmed")]
        assert dated(events, "tong-ket", "opened") == [("2025-08-31", "tong-ket", "2025", "opened")]


class TestNever:
    def test_escalations_stop_at_max_times(self, life):
        events, _ = life["never"]
        # every 7 working days from the first working day after the due date (Friday 18/03/2022)
        assert dated(events, "quan-triet", "escalation") == [
            ("2022-03-21", "quan-triet", "once", "escalation"),
            ("2022-03-30", "quan-triet", "once", "escalation"),
            ("2022-04-08", "quan-triet", "once", "escalation")]
        assert [e["detail"]["escalation"] for e in events if e["event"] == "escalation"
                and e["step"] == "quan-triet"] == [1, 2, 3]
        assert [e["recipients"] for e in events if e["event"] == "escalation"][0] == [
            "lanh-dao-so:lanh-dao", "van-phong:van-phong"]

    def test_each_yearly_report_escalates_three_times_in_november(self, life):
        events, _ = life["never"]
        got = {y: [e[0] for e in dated(events, "bao-cao-hang-nam", "escalation") if e[2] == str(y)]
               for y in range(2022, 2026)}
        assert got == {2022: ["2022-11-01", "2022-11-10", "2022-11-21"],
                       2023: ["2023-11-01", "2023-11-10", "2023-11-21"],
                       2024: ["2024-11-01", "2024-11-12", "2024-11-21"],
                       2025: ["2025-11-03", "2025-11-12", "2025-11-21"]}  # 01/11/2025 is a Saturday

    def test_steps_that_wait_for_quan_triet_never_open(self, life):
        events, _ = life["never"]
        assert {e["step"] for e in events if e["event"] == "opened"} == {
            "quan-triet", "bao-cao-hang-nam", "bao-cao-theo-yeu-cau"}
        escalated = Counter((e["step"], e["occurrence"]) for e in events if e["event"] == "escalation")
        opened = {"quan-triet", "bao-cao-hang-nam", "bao-cao-theo-yeu-cau"}
        assert sum(n for (step, _), n in escalated.items() if step in opened) == 3 + 4 * 3 + 3
        # Every other occurrence waits for quan-triet: its owners are told once, and once it is past due it is
        # escalated to the leadership (at most three times), saying what it waits for.
        blocked = {(e["step"], e["occurrence"]) for e in events if e["event"] == "blocked"}
        assert {k for k in escalated if k[0] not in opened} <= blocked
        assert max(escalated.values()) == 3
        waiting = [e for e in events if e["event"] == "escalation" and e["step"] not in opened]
        assert waiting and all(e["detail"]["waiting_for"] in (["quan-triet"], ["so-ket"]) for e in waiting)
        assert all(e["recipients"] == ["lanh-dao-so:lanh-dao"] for e in waiting)
        assert "confirmed" not in {e["event"] for e in events}


class TestSkippingIdleDays:
    def test_skipping_days_where_nothing_can_happen_changes_nothing(self, seed_plan, tmp_path):
        """The simulation jumps over days on which no row's next check falls; ticking every day must agree."""
        results = []
        for every_day in (False, True):
            sessions = sessions_for(f"sqlite:///{tmp_path / f'{every_day}.db'}")
            simulate(seed_plan, sessions, date(2022, 3, 15), date(2023, 12, 31), ConfirmPolicy.parse("late:3"),
                     requests={date(2023, 6, 5): ["bao-cao-theo-yeu-cau"]}, documents=no_documents,
                     every_day=every_day)
            with sessions() as s:
                results.append([(e["date"], e["step"], e["occurrence"], e["event"], tuple(e["recipients"]))
                                for e in timeline(seed_plan, s)])
        assert len(results[0]) > 300
        assert results[0] == results[1]

    def test_an_empty_span_is_refused(self, seed_plan, tmp_path):
        with pytest.raises(StateError, match="là trước --from"):
            simulate(seed_plan, sessions_for(f"sqlite:///{tmp_path / 's.db'}"), date(2022, 5, 1), date(2022, 4, 1),
                     ConfirmPolicy.parse("never"))
