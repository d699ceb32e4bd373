"""engine.runtime.people: confirmations (with evidence, once, nothing written on error), requests, skips."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from engine.errors import StateError
from engine.runtime.people import confirm, extend, parse_evidence, request, skip
from engine.runtime.tick import tick
from engine.state.models import DONE, OPEN, SCHEDULED, SKIPPED, ConfirmationRecord, EventRecord, OutboxRecord
from tests.engine.state_helpers import at, count, effects, no_documents, row, snapshot


def do_confirm(plan, sessions, step, day, **kw):
    kw.setdefault("by", "Lê Văn C")
    with sessions() as s, s.begin():
        return confirm(plan, s, step, at=day, now=at(day, 16), **kw)


def refused(plan, sessions, step, day, match, **kw):
    before = snapshot(sessions)
    with pytest.raises(StateError, match=match):
        do_confirm(plan, sessions, step, day, **kw)
    assert snapshot(sessions) == before  # a refused confirmation writes nothing


class TestConfirm:
    def test_records_who_when_evidence_and_lateness(self, plan, sessions):
        tick(plan, sessions, at(date(2024, 2, 1)), documents=no_documents)
        got = do_confirm(plan, sessions, "a", date(2024, 2, 23), evidence={"document_number": "12/BC-VP"},
                         note="họp ngày 22")
        assert (got.created, got.late_days) == (True, 3)
        r = row(sessions, plan.id, "a", "once")
        assert (r.status, r.done_on, r.late_days, r.next_on) == (DONE, date(2024, 2, 23), 3, None)
        with sessions() as s:
            c = s.scalars(select(ConfirmationRecord)).one()
            ev = s.scalars(select(EventRecord).where(EventRecord.event == "confirmed")).one()
            notice = s.scalars(select(OutboxRecord).where(OutboxRecord.reason == "confirmed")).first()
        assert (c.by, c.evidence, c.note, c.plan_version) == ("Lê Văn C", {"document_number": "12/BC-VP"},
                                                              "họp ngày 22", plan.version)
        assert (ev.actor, ev.on_date, ev.detail["late_days"]) == ("Lê Văn C", date(2024, 2, 23), 3)
        assert (notice.unit_id, notice.template, notice.context["late_days"]) == ("vp", "confirmed", 3)

    def test_confirming_twice_reports_the_first_confirmation_and_writes_nothing(self, plan, sessions):
        do_confirm(plan, sessions, "a", date(2024, 2, 10), evidence={"document_number": "1/VP"})
        before = snapshot(sessions)
        again = do_confirm(plan, sessions, "a", date(2024, 2, 12), by="Người khác",
                           evidence={"document_number": "2/VP"})
        assert again.created is False
        assert (again.record.by, again.record.done_on, again.record.evidence) == (
            "Lê Văn C", date(2024, 2, 10), {"document_number": "1/VP"})
        assert snapshot(sessions) == before

    def test_work_done_before_the_tick_stored_the_occurrence_is_accepted(self, plan, sessions):
        got = do_confirm(plan, sessions, "a", date(2024, 2, 5), evidence={"document_number": "1/VP"})
        assert got.created and row(sessions, plan.id, "a", "once").status == DONE

    def test_an_unknown_step_is_refused_with_the_closest_id(self, plan, sessions):
        refused(plan, sessions, "aa", date(2024, 2, 5), r"không có bước 'aa' - ý bạn là 'a'\?")

    def test_an_unknown_occurrence_is_refused_with_the_known_ones(self, plan, sessions):
        refused(plan, sessions, "b", date(2024, 3, 15), r"không có lần '2024-13' - ý bạn là '2024-03'\?.*"
                r"'2024-03', '2024-04', '2024-05'", key="2024-13")

    def test_missing_evidence_is_refused_and_writes_nothing(self, plan, sessions):
        tick(plan, sessions, at(date(2024, 2, 1)), documents=no_documents)
        refused(plan, sessions, "a", date(2024, 2, 5), r"cần minh chứng: document_number \(số văn bản\) - thêm "
                r"--evidence document_number=\.\.\.")

    def test_missing_evidence_on_a_fresh_store_writes_no_row_at_all(self, plan, sessions):
        refused(plan, sessions, "a", date(2024, 2, 5), "cần minh chứng")
        assert all(rows == [] for rows in snapshot(sessions).values())

    def test_a_blank_name_or_a_day_before_the_plan_is_refused(self, plan, sessions):
        refused(plan, sessions, "a", date(2024, 2, 5), "--by cần họ tên", by="  ")
        refused(plan, sessions, "a", date(2023, 12, 31), "là trước ngày bắt đầu kế hoạch",
                evidence={"document_number": "1"})

    def test_a_day_after_today_is_refused_and_writes_nothing(self, plan, sessions):
        """What was done is dated when it was done: a confirmation dated ahead of the moment it is recorded is
        refused (the 'now' is injected: recorded on 05/02/2024 at 16:00)."""
        before = snapshot(sessions)
        with pytest.raises(StateError, match=r"--at 06/02/2024 là sau hôm nay \(05/02/2024\)"):
            with sessions() as s, s.begin():
                confirm(plan, s, "a", at=date(2024, 2, 6), now=at(date(2024, 2, 5), 16), by="Lê Văn C",
                        evidence={"document_number": "1/VP"})
        assert snapshot(sessions) == before

    def test_a_day_after_the_plan_ends_is_refused(self, plan, sessions):
        end = plan.meta.period.end
        after = date.fromordinal(end.toordinal() + 1)
        with pytest.raises(StateError, match="là sau ngày kết thúc kế hoạch"):
            with sessions() as s, s.begin():
                confirm(plan, s, "a", at=after, now=at(after, 16), by="Lê Văn C",
                        evidence={"document_number": "1/VP"})

    def test_several_open_occurrences_need_one_named(self, plan, sessions):
        do_confirm(plan, sessions, "a", date(2024, 2, 20), evidence={"document_number": "1"})
        for d in (date(2024, 3, 11), date(2024, 4, 11)):
            tick(plan, sessions, at(d), documents=no_documents)
        refused(plan, sessions, "b", date(2024, 4, 12), r"2 lần đang mở .* --occurrence \('2024-03', '2024-04'\)")
        assert do_confirm(plan, sessions, "b", date(2024, 4, 12), key="2024-03").late_days == 18

    def test_a_skipped_occurrence_cannot_be_confirmed(self, plan, sessions):
        with sessions() as s, s.begin():
            skip(plan, s, "b", key="2024-03", by="Lãnh đạo", reason="gộp vào tháng 4", at=date(2024, 3, 1),
                 now=at(date(2024, 3, 1)))
        refused(plan, sessions, "b", date(2024, 3, 2), "ở trạng thái 'bỏ qua': gộp vào tháng 4", key="2024-03")

    def test_an_after_step_is_dated_from_the_confirmation_of_its_predecessor(self, plan, sessions):
        refused(plan, sessions, "d", date(2024, 2, 5), "có ngày khi bước 'a' được xác nhận")
        do_confirm(plan, sessions, "a", date(2024, 2, 14), evidence={"document_number": "1"})
        d = row(sessions, plan.id, "d", "once")
        assert (d.status, d.opens_on, d.due_on) == (SCHEDULED, date(2024, 2, 14), date(2024, 2, 19))
        assert ("14/02/2024", "d", "once", "scheduled") in effects(sessions)
        tick(plan, sessions, at(date(2024, 2, 15)), documents=no_documents)
        assert row(sessions, plan.id, "d", "once").status == OPEN


class TestParseEvidence:
    def test_named_values(self):
        assert parse_evidence(["document_number=12/BC", "link= https://x.vn "], ["document_number"]) == {
            "document_number": "12/BC", "link": "https://x.vn"}

    def test_a_bare_value_fills_the_single_requirement(self):
        assert parse_evidence(["12/BC-KHCN"], ["document_number"]) == {"document_number": "12/BC-KHCN"}

    def test_an_unknown_name_gets_the_closest_kind(self):
        with pytest.raises(StateError, match=r"không có loại minh chứng 'documen_number' - ý bạn là 'document_number'\?"):
            parse_evidence(["documen_number=1"], ["document_number"])

    def test_a_bare_value_with_several_requirements_needs_names(self):
        with pytest.raises(StateError, match=r"cần ghi tên loại: viết --evidence date=\.\.\., attendees=\.\.\."):
            parse_evidence(["45"], ["date", "attendees"])


class TestRequest:
    def test_a_request_starts_an_occurrence_the_next_tick_opens_with_a_draft(self, plan, sessions):
        with sessions() as s, s.begin():
            r1 = request(plan, s, "c", at=date(2024, 5, 2), now=at(date(2024, 5, 2), 9), by="Sở Nội vụ",
                         note="công văn 15/SNV")
            r2 = request(plan, s, "c", at=date(2024, 5, 2), now=at(date(2024, 5, 2), 10), by="UBND")
        assert (r1.key, r1.due_on, r1.requested_by) == ("yc-2024-05-02", date(2024, 5, 7), "Sở Nội vụ")
        assert r2.key == "yc-2024-05-02-2"
        tick(plan, sessions, at(date(2024, 5, 3)), documents=no_documents)
        assert [e for e in effects(sessions) if e[1] == "c"] == [
            ("02/05/2024", "c", "yc-2024-05-02", "requested"), ("02/05/2024", "c", "yc-2024-05-02-2", "requested"),
            ("03/05/2024", "c", "yc-2024-05-02", "opened"), ("03/05/2024", "c", "yc-2024-05-02-2", "opened")]
        with sessions() as s:
            drafts = s.scalars(select(OutboxRecord.occurrence_key).where(OutboxRecord.reason == "draft")).all()
        assert sorted(drafts) == ["yc-2024-05-02", "yc-2024-05-02", "yc-2024-05-02-2", "yc-2024-05-02-2"]

    def test_only_on_demand_steps_can_be_requested(self, plan, sessions):
        with sessions() as s, pytest.raises(StateError, match=r"bước 'a' không phải việc làm khi có yêu cầu .*các bước làm khi có yêu cầu: 'c'"):
            request(plan, s, "a", at=date(2024, 5, 2), now=at(date(2024, 5, 2)))

    def test_a_request_outside_the_plan_period_is_refused(self, plan, sessions):
        with sessions() as s, pytest.raises(StateError, match="nằm ngoài thời gian của kế hoạch"):
            request(plan, s, "c", at=date(2025, 1, 2), now=at(date(2025, 1, 2)))


class TestSkip:
    def test_a_skip_records_who_and_why_and_releases_the_steps_waiting_for_it(self, plan, sessions):
        tick(plan, sessions, at(date(2024, 3, 11)), documents=no_documents)
        assert row(sessions, plan.id, "b", "2024-03").next_on == date(2024, 3, 26)  # waiting for a, until due
        with sessions() as s, s.begin():
            skip(plan, s, "a", key=None, by="Giám đốc", reason="đã làm trong kế hoạch khác", at=date(2024, 3, 11),
                 now=at(date(2024, 3, 11), 9))
        a = row(sessions, plan.id, "a", "once")
        assert (a.status, a.reason) == (SKIPPED, "đã làm trong kế hoạch khác")
        tick(plan, sessions, at(date(2024, 3, 12)), documents=no_documents)
        assert row(sessions, plan.id, "b", "2024-03").status == OPEN
        assert row(sessions, plan.id, "d", "once") is None  # nothing was done: no 'after' date

    def test_a_skip_needs_a_reason(self, plan, sessions):
        with sessions() as s, pytest.raises(StateError, match="cần --reason"):
            skip(plan, s, "a", key=None, by="X", reason=" ", at=date(2024, 2, 2), now=at(date(2024, 2, 2)))
        assert count(sessions, EventRecord) == 0


class TestExtend:
    """Gia hạn: one occurrence's deadline moves, with who and why; reminders and escalations follow it."""

    def test_an_extension_moves_the_deadline_reminders_and_escalations(self, plan, sessions):
        from engine.runtime.status import plan_status
        from engine.runtime.tick import reminder_dates
        from tests.engine.state_helpers import effects

        tick(plan, sessions, at(date(2024, 2, 1)), documents=no_documents)
        tick(plan, sessions, at(date(2024, 2, 21)), documents=no_documents)  # overdue, escalated once
        with sessions() as s, s.begin():
            r = extend(plan, s, "a", to=date(2024, 3, 8), by="Giám đốc Sở", reason="chờ ý kiến của UBND tỉnh",
                       key=None, at=date(2024, 2, 22), now=at(date(2024, 2, 22), 10))
            assert reminder_dates(plan, plan.step_by_id["a"], r) == (date(2024, 3, 1), date(2024, 3, 5))
        r = row(sessions, plan.id, "a", "once")
        assert (r.status, r.due_on, r.original_due_on, r.escalations) == (OPEN, date(2024, 3, 8), date(2024, 2, 20), 0)
        with sessions() as s:
            ev = s.scalars(select(EventRecord).where(EventRecord.event == "extended")).one()
            told = s.scalars(select(OutboxRecord).where(OutboxRecord.reason == "extended")).all()
        assert (ev.actor, ev.detail["from"], ev.detail["to"], ev.detail["reason"]) == (
            "Giám đốc Sở", "2024-02-20", "2024-03-08", "chờ ý kiến của UBND tỉnh")
        assert {(o.unit_id, o.template, o.context["previous_due"]) for o in told} == {("vp", "extended", "20/02/2024")}
        for d in range(23, 30):
            tick(plan, sessions, at(date(2024, 2, d)), documents=no_documents)
        for d in range(1, 12):
            tick(plan, sessions, at(date(2024, 3, d)), documents=no_documents)
        after = [e for e in effects(sessions) if e[1] == "a" and e[0] > "22/02/2024" or (e[1] == "a" and "/03/" in e[0])]
        assert ("01/03/2024", "a", "once", "reminder") in after and ("08/03/2024", "a", "once", "due") in after
        assert ("11/03/2024", "a", "once", "escalation") in after  # the first after the new deadline: number 1
        with sessions() as s:
            reasons = set(s.scalars(select(OutboxRecord.reason).where(OutboxRecord.step_id == "a")))
            shown = next(x for x in plan_status(plan, s, date(2024, 3, 11)) if x["step"] == "a")
        assert "escalation-2" not in reasons
        assert (shown["due"], shown["original_due"]) == ("2024-03-08", "2024-02-20")

    @pytest.mark.parametrize("kwargs, message", [
        ({"to": date(2024, 2, 10)}, "--to 10/02/2024 không sau hạn đang áp dụng (20/02/2024)"),
        ({"reason": " "}, "cần --reason"),
        ({"by": ""}, "--by cần họ tên"),
    ])
    def test_bad_input_is_refused_and_writes_nothing(self, plan, sessions, kwargs, message):
        tick(plan, sessions, at(date(2024, 2, 1)), documents=no_documents)
        before = snapshot(sessions)
        args = {"to": date(2024, 3, 8), "by": "Giám đốc", "reason": "lý do", "key": None, "at": date(2024, 2, 5),
                "now": at(date(2024, 2, 5))} | kwargs
        with sessions() as s, pytest.raises(StateError, match=re.escape(message)):
            with s.begin():
                extend(plan, s, "a", **args)
        assert snapshot(sessions) == before


class TestPastedCommands:
    """The command printed in a notice, pasted with its placeholders, records nothing."""

    @pytest.mark.parametrize("by, evidence, result, message", [
        ("<họ tên>", {"document_number": "12/BC"}, None, "--by <họ tên> là chỗ trống"),
        ("Lê Văn C", {"document_number": "<số/ký hiệu>"}, None, "vẫn là chỗ trống <số/ký hiệu>"),
        ("Lê Văn C", {"document_number": "12/BC"}, "<kết quả>", "--result <kết quả> là chỗ trống"),
    ])
    def test_placeholders_are_refused(self, plan, sessions, by, evidence, result, message):
        tick(plan, sessions, at(date(2024, 2, 1)), documents=no_documents)
        before = snapshot(sessions)
        with sessions() as s, pytest.raises(StateError, match=re.escape(message)):
            with s.begin():
                confirm(plan, s, "a", by=by, at=date(2024, 2, 5), now=at(date(2024, 2, 5)), evidence=evidence,
                        result=result)
        assert snapshot(sessions) == before

    @pytest.mark.parametrize("evidence, message", [
        ({"date": "45/13/2024"}, "minh chứng date (ngày thực hiện) '45/13/2024' không phải là ngày"),
        ({"attendees": "bốn mươi"}, "minh chứng attendees (số người tham dự) 'bốn mươi' không phải là số người"),
        ({"link": "khcn.vn/tin"}, "không phải là địa chỉ trang web"),
    ])
    def test_evidence_is_checked_by_its_kind(self, plan, sessions, evidence, message):
        with sessions() as s, pytest.raises(StateError, match=re.escape(message)):
            confirm(plan, s, "a", by="Lê Văn C", at=date(2024, 2, 5), now=at(date(2024, 2, 5)),
                    evidence={"document_number": "1/VP", **evidence})

    def test_evidence_and_result_are_recorded_as_written(self, plan, sessions):
        with sessions() as s, s.begin():
            got = confirm(plan, s, "a", by="Lê Văn C", at=date(2024, 2, 5), now=at(date(2024, 2, 5)),
                          evidence={"document_number": "1/VP", "date": "5/2/2024", "attendees": "045"},
                          result="Đã tổ chức hội nghị quán triệt.")
        assert got.record.evidence == {"document_number": "1/VP", "date": "05/02/2024", "attendees": "45"}
        with sessions() as s:
            assert s.scalars(select(ConfirmationRecord.result)).one() == "Đã tổ chức hội nghị quán triệt."
