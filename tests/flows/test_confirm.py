"""The confirmation and extension flows behind the UI's forms, run in-process against the session's server."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from prefect.exceptions import FailedRun
from sqlalchemy import func, select

from engine.runtime.people import request, skip
from engine.runtime.tick import tick
from engine.state.db import open_store, session_factory
from engine.state.models import ConfirmationRecord, EventRecord, OccurrenceRecord, OutboxRecord
from flows.confirm import confirm_flow
from flows.extend import extend_flow
from flows.outcome import QuietAnswers, refused
from tests.conftest import SEED

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
QUAN_TRIET = dict(plan=str(SEED), step="quan-triet", occurrence="lần duy nhất", by="Nguyễn Văn An",
                  done_on="2022-03-18", date="2022-03-17", attendees=45,
                  result="Đã tổ chức hội nghị quán triệt.")
EXTEND = dict(plan=str(SEED), step="bao-cao-hang-nam", occurrence="năm 2024", by="Giám đốc Sở",
              reason="Chờ số liệu của các phòng.")
REPORT = dict(plan=str(SEED), step="bao-cao-hang-nam", occurrence="năm 2023", by="Trần Thị Bình",
              done_on="2023-10-30", document_number="123/BC-KHCN", result="Đã gửi báo cáo năm 2023.")


@pytest.fixture
def opened(seed_plan, store):
    """The seed plan ticked to 16/03/2022: 'quan-triet' (needs date and attendees) is open."""
    sessions = session_factory(open_store(store))
    tick(seed_plan, sessions, datetime(2022, 3, 16, 7, 30, tzinfo=TZ))
    return sessions


def counts(sessions) -> tuple[int, int, int]:
    with sessions() as session:
        return tuple(session.scalar(select(func.count()).select_from(m))
                     for m in (ConfirmationRecord, EventRecord, OutboxRecord))


class TestConfirmFlow:
    def test_records_the_confirmation_evidence_and_result(self, prefect_api, opened):
        state = confirm_flow(**QUAN_TRIET, return_state=True)
        assert state.is_completed() and state.name == "Đã ghi nhận"
        assert state.message == ("Đã ghi nhận lần duy nhất: hoàn thành ngày 18/03/2022, đúng hạn; "
                                 "người xác nhận: Nguyễn Văn An.")
        with opened() as session:
            rec = session.scalars(select(ConfirmationRecord)).one()
        assert (rec.step_id, rec.occurrence_key, rec.by, rec.done_on, rec.source) == (
            "quan-triet", "once", "Nguyễn Văn An", date(2022, 3, 18), "prefect")
        assert rec.evidence == {"date": "17/03/2022", "attendees": "45"}
        assert rec.result == "Đã tổ chức hội nghị quán triệt."

    def test_an_occurrence_by_its_label_or_key(self, prefect_api, store):
        state = confirm_flow(**REPORT, return_state=True)
        assert state.is_completed(), state.message
        assert "Đã ghi nhận năm 2023" in state.message
        state = confirm_flow(**{**REPORT, "occurrence": "2024", "done_on": "2024-10-30"}, return_state=True)
        assert state.is_completed(), state.message
        with session_factory(open_store(store))() as session:
            recs = session.scalars(select(ConfirmationRecord).order_by(ConfirmationRecord.id)).all()
        assert [(r.occurrence_key, r.evidence) for r in recs] == [
            ("2023", {"document_number": "123/BC-KHCN"}), ("2024", {"document_number": "123/BC-KHCN"})]

    def test_an_on_demand_occurrence_by_its_label(self, prefect_api, store, seed_plan):
        now = datetime(2024, 5, 2, 9, tzinfo=TZ)
        with session_factory(open_store(store))() as session, session.begin():
            request(seed_plan, session, "bao-cao-theo-yeu-cau", at=now.date(), now=now, by="Sở Nội vụ")
        state = confirm_flow(**{**REPORT, "step": "bao-cao-theo-yeu-cau", "done_on": "2024-05-06",
                                "occurrence": " Theo yêu cầu  ngày 02/05/2024 "}, return_state=True)
        assert state.is_completed(), state.message
        assert state.message.startswith("Đã ghi nhận theo yêu cầu ngày 02/05/2024: hoàn thành ngày 06/05/2024")

    def test_a_second_confirmation_is_not_recorded_and_not_green(self, prefect_api, opened):
        confirm_flow(**QUAN_TRIET)
        before = counts(opened)
        state = confirm_flow(**{**QUAN_TRIET, "by": "Trần Thị B", "attendees": None}, return_state=True)
        assert state.is_cancelled() and state.name == "Không ghi nhận"
        assert state.message == ("Đã có xác nhận trước đó cho lần duy nhất: Nguyễn Văn An, hoàn thành ngày "
                                 "18/03/2022; không ghi thêm.")
        assert counts(opened) == before

    @pytest.mark.parametrize(("changes", "message"), [
        ({"by": "  ", "attendees": None},
         "Còn thiếu họ tên người xác nhận và số người tham dự."),
        ({"attendees": 0}, "Số người tham dự phải là số nguyên từ 1 trở lên (đã nhập: 0)."),
        ({"attendees": 12.5, "date": "17/03/2030"},
         "Ngày thực hiện 17/03/2030 là ngày sau hôm nay"),
        ({"done_on": "2022-01-02"},
         "Ngày hoàn thành 02/01/2022 trước ngày kế hoạch bắt đầu (16/03/2022)."),
        ({"occurrence": "năm 2023"},
         "Việc này không có lần thực hiện 'năm 2023' (các lần: lần duy nhất)."),
        ({"occurrence": None, "result": ""}, "Còn thiếu lần thực hiện và kết quả thực hiện."),
        ({"step": "quan-tiet"}, "Kế hoạch số 28/KH-KHCN không còn việc 'quan-tiet': biểu mẫu đã cũ"),
        ({"plan": None}, "Biểu mẫu không gắn với kế hoạch nào"),
        ({"plan": "/nowhere/kh-99.yaml"}, "Kế hoạch /nowhere/kh-99.yaml hiện không đọc được"),
    ])
    def test_a_wrong_or_missing_value_is_one_vietnamese_sentence_and_nothing_is_written(
            self, prefect_api, opened, changes, message):
        before = counts(opened)
        state = confirm_flow(**{**QUAN_TRIET, **changes}, return_state=True)
        assert state.is_failed() and state.name == "Chưa ghi nhận"
        assert message in state.message
        assert state.message.endswith(".") and "\n" not in state.message
        assert counts(opened) == before

    def test_a_skipped_occurrence(self, prefect_api, opened, seed_plan):
        now = datetime(2022, 3, 17, 9, tzinfo=TZ)
        with opened() as session, session.begin():
            skip(seed_plan, session, "quan-triet", key="once", by="Lê C", reason="Đã gộp vào hội nghị khác",
                 at=now.date(), now=now)
        state = confirm_flow(**QUAN_TRIET, return_state=True)
        assert state.is_failed()
        assert state.message == ("Lần thực hiện lần duy nhất đã được đánh dấu không cần làm (Đã gộp vào "
                                 "hội nghị khác): không xác nhận được.")

    def test_a_step_that_follows_another_is_not_dated_yet(self, prefect_api, store):
        state = confirm_flow(plan=str(SEED), step="dang-website", occurrence="lần duy nhất", by="A",
                             done_on="2022-04-01", link="https://sokhcn.thainguyen.gov.vn/tin/1",
                             result="Đã đăng.", return_state=True)
        assert state.is_failed()
        assert state.message.startswith("Việc này chưa có lịch: nó được xếp lịch khi việc 'quan-triet'")


class TestExtendFlow:

    def test_moves_the_deadline_with_an_audit_event(self, prefect_api, store):
        to = (datetime.now(TZ) + timedelta(days=30)).date()
        state = extend_flow(**EXTEND, to=to.isoformat(), return_state=True)
        assert state.is_completed() and state.name == "Đã gia hạn", state.message
        assert state.message == (f"Đã gia hạn năm 2024 đến ngày {to:%d/%m/%Y} (hạn ban đầu 31/10/2024); "
                                 "người quyết định: Giám đốc Sở.")
        with session_factory(open_store(store))() as session:
            row = session.scalars(select(OccurrenceRecord).where(OccurrenceRecord.key == "2024")).one()
            event = session.scalars(select(EventRecord).where(EventRecord.event == "extended")).one()
        assert (row.due_on, row.original_due_on) == (to, date(2024, 10, 31))
        assert (event.actor, event.detail["reason"]) == ("Giám đốc Sở", "Chờ số liệu của các phòng.")

        again = extend_flow(**EXTEND, to=to.isoformat(), return_state=True)
        assert again.is_cancelled() and again.name == "Không gia hạn"
        assert again.message == (f"Hạn của năm 2024 đã được gia hạn đến {to:%d/%m/%Y} trước đó; "
                                 "không ghi thêm.")

    @pytest.mark.parametrize(("changes", "message"), [
        ({"to": None, "reason": " "}, "Còn thiếu hạn mới và lý do gia hạn."),
        ({"to": "2024-06-30"}, "Hạn mới 30/06/2024 trước hôm nay"),
        ({"occurrence": "năm 2030", "to": "2099-01-01"}, "Việc này không có lần thực hiện 'năm 2030'"),
    ])
    def test_refusals(self, prefect_api, store, changes, message):
        state = extend_flow(**{**EXTEND, "to": "2099-01-01", **changes}, return_state=True)
        assert state.is_failed() and state.name == "Chưa gia hạn"
        assert message in state.message
        with session_factory(open_store(store))() as session:
            assert session.scalar(select(func.count()).select_from(EventRecord)) == 0

    def test_a_deadline_that_does_not_move_later(self, prefect_api, store):
        state = extend_flow(**{**EXTEND, "occurrence": "năm 2025", "to": "2025-10-30"},
                            return_state=True)
        assert state.is_failed()
        assert "hạn mới 30/10/2025" in state.message.lower()

    def test_a_finished_occurrence_cannot_be_extended(self, prefect_api, store):
        assert confirm_flow(**REPORT, return_state=True).is_completed()
        state = extend_flow(**{**EXTEND, "occurrence": "năm 2023", "to": "2099-01-01"}, return_state=True)
        assert state.message == "Lần thực hiện năm 2023 đã hoàn thành: chỉ gia hạn được việc chưa xong."


class TestNoTraceback:
    def test_the_engines_traceback_of_a_refusal_is_dropped_and_no_other(self):
        refused("Chưa ghi nhận", "Còn thiếu họ tên người xác nhận.")

        def record(exc):
            try:
                raise exc
            except Exception:  # noqa: BLE001
                import sys

                message = "Engine execution exited with unexpected exception"
                return logging.LogRecord("prefect.flow_runs", logging.ERROR, __file__, 1, message, None,
                                         sys.exc_info())

        quiet = QuietAnswers()
        assert not quiet.filter(record(FailedRun("Còn thiếu họ tên người xác nhận.")))
        assert quiet.filter(record(FailedRun("Something else broke.")))
        assert quiet.filter(record(ValueError("Còn thiếu họ tên người xác nhận.")))
        assert quiet.filter(logging.LogRecord("x", logging.INFO, __file__, 1, "no exception", None, None))
