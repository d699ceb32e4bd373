"""How facts read in a draft (engine/reports/wording.py): dates, documents and evidence, deadlines and why they
moved, rhythms, outcomes, figures."""

from __future__ import annotations

from datetime import date

import pytest

from engine.reports.results import LATE, NOT_DUE, ON_TIME, OVERDUE, Item
from engine.reports.wording import (
    day_off,
    dmy,
    doc_kind,
    evidence_text,
    figures,
    moved,
    outcome_cell,
    outcome_sentence,
    recurrence,
    what_was_done,
    written_date,
)


def item(outcome: str = ON_TIME, days: int = 0, **kw) -> Item:
    return Item("s", kw.pop("key", "once"), date(2023, 1, 1), kw.pop("due", date(2023, 3, 31)), outcome, days, **kw)


class TestDates:
    def test_dates_in_a_plans_text_are_written_one_way(self):
        assert dmy("Đề án số 02-ĐA/TU ngày 26/3/2021 và Quyết định số 11/2020/QĐ-UBND ngày 15/5/2020") == \
            "Đề án số 02-ĐA/TU ngày 26/03/2021 và Quyết định số 11/2020/QĐ-UBND ngày 15/05/2020"
        assert dmy("  hai\n dòng ") == "hai dòng"

    @pytest.mark.parametrize("day, line", [
        (date(2023, 3, 5), "Thái Nguyên, ngày 05 tháng 3 năm 2023"),
        (date(2023, 2, 15), "Thái Nguyên, ngày 15 tháng 02 năm 2023"),
        (None, "Thái Nguyên, ngày ... tháng ... năm 2023"),
    ])
    def test_the_date_line_as_decree_30_writes_it(self, day, line):
        assert written_date("Thái Nguyên", day, 2023) == line


class TestEvidence:
    @pytest.mark.parametrize("number, kind", [("01/BB-KHCN", "Biên bản"), ("85/BC-KHCN", "Báo cáo"),
                                              ("15/QC-KHCN", "Quy chế"), ("123/KHCN-VP", "Văn bản"),
                                              ("40/2012/QĐ-UBND", "Quyết định"), ("12/TTr-VP", "Tờ trình")])
    def test_a_document_is_named_by_its_number(self, number, kind):
        assert doc_kind(number) == kind

    def test_evidence_written_out(self):
        assert evidence_text({"document_number": "01/BB-KHCN", "document_date": "18/3/2022", "date": "2022-03-18",
                              "place": "Hội trường Sở", "attendees": "45", "link": "https://x.vn/a"}) == (
            "Biên bản số 01/BB-KHCN ngày 18/03/2022; thực hiện ngày 18/03/2022 tại Hội trường Sở, có 45 người tham dự.")
        assert evidence_text({"attendees": "Ban Giám đốc, trưởng các phòng"}) == \
            "Thành phần: Ban Giám đốc, trưởng các phòng."
        assert evidence_text({"link": "https://x.vn/a"}) == ""  # a link is a working record

    def test_what_was_done_is_the_result_then_the_evidence(self):
        done = item(result="đã ban hành quy chế", evidence={"document_number": "15/QC-KHCN"})
        assert what_was_done(done) == "Đã ban hành quy chế. Quy chế số 15/QC-KHCN."
        assert what_was_done(item()) == ""


class TestDeadlines:
    def test_a_day_off_by_its_name(self, seed_plan):
        assert day_off(seed_plan, date(2023, 9, 30)) == "thứ Bảy"
        assert day_off(seed_plan, date(2023, 6, 25)) == "Chủ nhật"
        assert day_off(seed_plan, date(2023, 1, 25)).startswith("ngày nghỉ mùng bốn Tết")
        assert day_off(seed_plan, date(2023, 1, 2)) == "ngày nghỉ Tết Dương lịch (nghỉ bù)"

    def test_a_day_off_the_agency_file_names(self):
        from types import SimpleNamespace as NS

        from engine.models.policy import DayEntry, WorkCalendarSpec

        own = WorkCalendarSpec(holidays=[DayEntry(date=date(2024, 4, 29), name="Nghỉ bù theo thông báo của tỉnh")])
        plan = NS(workdays=NS(holiday_name=lambda day: None), agencies=[NS(calendar=own)],
                  file=NS(calendar=WorkCalendarSpec()))
        assert day_off(plan, date(2024, 4, 29)) == "ngày nghỉ bù theo thông báo của tỉnh"
        assert day_off(plan, date(2024, 4, 30)) == "ngày nghỉ"

    def test_why_a_deadline_moved(self, seed_plan):
        assert moved(seed_plan, item(due=date(2023, 9, 29), nominal_due=date(2023, 9, 30))) == (
            "ngày 30/09/2023 là thứ Bảy nên hạn chuyển về ngày làm việc liền trước")
        extended = item(due=date(2023, 10, 20), nominal_due=date(2023, 9, 30),
                        extensions=((date(2023, 9, 29), date(2023, 10, 20), "chờ số liệu"),))
        assert moved(seed_plan, extended) == "gia hạn từ 29/09/2023 đến 20/10/2023: chờ số liệu"
        assert moved(seed_plan, item()) == ""

    @pytest.mark.parametrize("step, text", [
        ("cung-cap-thong-tin", "thường xuyên; báo cáo tiến độ hằng tháng, ngày 25"),
        ("phoi-hop-mttq", "thường xuyên; báo cáo tiến độ hằng quý, ngày 20 tháng cuối quý"),
        ("nang-cao-nhan-thuc", "thường xuyên; báo cáo tiến độ 6 tháng một lần, ngày 15/06 và 15/12"),
        ("bao-cao-hang-nam", "hằng năm, trước ngày 01/11"),  # as the plan says it: "trước 01/11"
        ("bao-cao-theo-yeu-cau", "khi có yêu cầu, trong 5 ngày làm việc kể từ ngày nhận yêu cầu"),
    ])
    def test_the_rhythm_of_a_recurring_task(self, seed_plan, step, text):
        assert recurrence(seed_plan.step_by_id[step]) == text


class TestOutcomesAndFigures:
    def test_outcomes(self):
        assert outcome_sentence(item(LATE, 5, done_on=date(2023, 4, 5))) == \
            "Hoàn thành ngày 05/04/2023, chậm 5 ngày so với hạn."
        assert outcome_cell(item(LATE, 5, done_on=date(2023, 4, 5))) == "05/04/2023 (chậm 5 ngày)"
        assert outcome_cell(item(OVERDUE, 12)) == "Chưa hoàn thành (quá hạn 12 ngày)"

    def test_the_figures_as_an_official_writes_them(self):
        day = date(2023, 12, 1)
        items = ([item(done_on=date(2023, 3, 30))] * 18 + [item(LATE, 2, done_on=date(2023, 4, 2))] * 3
                 + [item(OVERDUE, 10)] * 2 + [item(NOT_DUE, due=date(2024, 1, 5))])
        assert figures(items, day) == ("21/23 nhiệm vụ đến hạn đã hoàn thành, trong đó 18 đúng hạn, 3 chậm hạn; "
                                       "2 nhiệm vụ quá hạn chưa hoàn thành; 1 nhiệm vụ đang thực hiện, chưa đến hạn")
        assert figures(items[:18], day) == "18/18 nhiệm vụ đến hạn đã hoàn thành, tất cả đúng hạn"
        assert figures([], day, noun="lần") == "chưa có lần đến hạn"


def test_the_rhythm_names_the_periods_left_out(tmp_path):
    from engine.plan import load_plan
    from tests.engine.state_helpers import write_plan

    path = write_plan(tmp_path / "quy.yaml", """\
  - id: bao-cao-quy
    kind: report
    title: Báo cáo quý
    owner: vp
    recipient: ld
    timing: {quarterly: {month: 3, before: 20}, except: [Q1]}
""")
    assert recurrence(load_plan(path).step_by_id["bao-cao-quy"]) == "hằng quý, trước ngày 20 tháng cuối quý, trừ quý I"
