"""Reports and reviews drafted from a simulated store: the DOCX layout of Decree 30/2020, the facts, the Markdown,
the drafts the tick stores, and the `kehoach report` command."""

from __future__ import annotations

import re
from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm, Pt
from sqlalchemy import select

from engine.errors import ReportError
from engine.reports.drafts import render, requested_draft
from engine.reports.layout import row_wraps
from engine.reports.metrics import width
from engine.reports.stored import document_bytes
from engine.runtime.simulate import ConfirmPolicy, simulate
from engine.state.db import open_store, session_factory
from engine.state.models import DocumentRecord
from tests.conftest import SEED
from tests.conftest import run_cli as run

DRAFTED = date(2023, 10, 25)
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _store(plan, folder: Path, end: date, policy: str) -> tuple[str, object]:
    url = f"sqlite:///{folder / 'state.db'}"
    sessions = session_factory(open_store(url))
    simulate(plan, sessions, plan.meta.period.start, end, ConfirmPolicy.parse(policy))
    return url, sessions


@pytest.fixture(scope="module")
def on_time(seed_plan, tmp_path_factory):
    """The seed plan run through 2023, everyone confirming on the due day."""
    return _store(seed_plan, tmp_path_factory.mktemp("on-time"), date(2023, 12, 31), "on-time")


@pytest.fixture(scope="module")
def never(seed_plan, tmp_path_factory):
    """The seed plan run to the 2023 report's opening, nobody ever confirming."""
    return _store(seed_plan, tmp_path_factory.mktemp("never"), date(2023, 10, 16), "never")


@pytest.fixture(scope="module")
def late(seed_plan, tmp_path_factory):
    """The seed plan's first months, everyone confirming five days late."""
    return _store(seed_plan, tmp_path_factory.mktemp("late"), date(2022, 10, 20), "late:5")


def _draft(plan, store, period: str | None = "2023", step: str | None = None, today: date = DRAFTED):
    _, sessions = store
    with sessions() as session:
        return requested_draft(plan, session, step, period, today)


@pytest.fixture(scope="module")
def report_2023(seed_plan, on_time):
    d = _draft(seed_plan, on_time)
    return render(d, "docx", DRAFTED), render(d, "md").decode("utf-8")


def blocks(doc) -> list[tuple[str, object]]:
    """The body in order: ('p', text) and ('t', rows of cell texts)."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    out: list[tuple[str, object]] = []
    for child in doc.element.body.iterchildren():
        if child.tag == f"{W}p":
            out.append(("p", Paragraph(child, doc).text))
        elif child.tag == f"{W}tbl":
            out.append(("t", [[c.text for c in r.cells] for r in Table(child, doc).rows]))
    return out


def table_after(doc, heading_start: str) -> list[list[str]]:
    seq = blocks(doc)
    i = next(n for n, (kind, v) in enumerate(seq) if kind == "p" and str(v).startswith(heading_start))
    kind, value = seq[i + 3]  # heading, owner and deadline, figures, then the table
    assert kind == "t", seq[i:i + 4]
    return value  # type: ignore[return-value]


def paragraph_runs(cell):
    return [(p.text, p.runs) for p in cell.paragraphs if p.text]


def text_of(doc) -> str:
    return "\n".join(p.text for p in doc.paragraphs)


def rule_length(p) -> float:
    """The length in mm of a rule paragraph (a bottom border narrowed by indents) in a cell of `room` mm."""
    assert p._p.xpath("./w:pPr/w:pBdr/w:bottom"), p.text
    return p.paragraph_format.left_indent.mm


class TestOfficialLayout:
    """Every element Decree 30/2020 (Phụ lục I) asks of an administrative document."""

    def test_issuing_body_top_left_with_its_parent_and_a_short_rule(self, report_2023):
        doc = Document(BytesIO(report_2023[0]))
        head = doc.tables[0]
        (parent, p_runs), (issuer, i_runs) = paragraph_runs(head.cell(0, 0))
        assert parent == "UBND TỈNH THÁI NGUYÊN" and not any(r.bold for r in p_runs)
        assert issuer == "SỞ KHOA HỌC VÀ CÔNG NGHỆ" and all(r.bold for r in i_runs)
        rule = head.cell(0, 0).paragraphs[-1]
        column, name = head.columns[0].width.mm, width("SỞ KHOA HỌC VÀ CÔNG NGHỆ", 13, bold=True)
        length = column - 2 * rule_length(rule)
        assert name / 3 <= length <= name / 2  # 1/3 to 1/2 of the name, under it
        assert head.cell(1, 0).text.strip() == "Số: .../BC-KHCN"

    def test_national_title_on_one_line_and_the_motto_with_its_rule(self, report_2023):
        doc = Document(BytesIO(report_2023[0]))
        head = doc.tables[0]
        (title, t_runs), (motto, m_runs) = paragraph_runs(head.cell(0, 1))
        assert title == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" and all(r.bold for r in t_runs)
        assert motto == "Độc lập - Tự do - Hạnh phúc" and all(r.bold for r in m_runs)
        column = head.columns[1].width.mm
        assert width(title, 13, bold=True) + 2 < column  # no cell margins: the title fits with room to spare
        rule = head.cell(0, 1).paragraphs[-1]
        assert abs(column - 2 * rule_length(rule) - width(motto, 14, bold=True)) < 0.5  # as long as the motto
        ((place, runs),) = paragraph_runs(head.cell(1, 1))
        assert place == "Thái Nguyên, ngày ... tháng ... năm 2023" and all(r.italic for r in runs)

    def test_document_type_summary_and_addressee(self, report_2023):
        doc = Document(BytesIO(report_2023[0]))
        paras = [p for p in doc.paragraphs if p.text]
        kind = next(i for i, p in enumerate(paras) if p.text == "BÁO CÁO")
        assert all(r.bold for r in paras[kind].runs)
        assert paras[kind + 1].text == "Kết quả thực hiện Kế hoạch số 28/KH-KHCN năm 2023"
        assert all(r.bold for r in paras[kind + 1].runs)
        assert paras[kind + 2].text == "Kính gửi: Sở Nội vụ tỉnh Thái Nguyên"

    def test_signer_block_with_room_for_signature_and_seal(self, report_2023):
        doc = Document(BytesIO(report_2023[0]))
        sign = doc.tables[-1]
        (head, h_runs), (title, t_runs), (name, n_runs) = paragraph_runs(sign.cell(0, 1))
        assert (head, title) == ("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC") and all(r.bold for r in h_runs + t_runs)
        assert name == "[Họ và tên người ký]" and all(r.font.highlight_color for r in n_runs)
        assert sign.cell(0, 1).paragraphs[-1].paragraph_format.space_before.mm >= 25
        assert sign.rows[0]._tr.xpath("./w:trPr/w:cantSplit")  # the block never splits across pages

    def test_recipients_with_the_drafting_units_abbreviation(self, report_2023):
        doc = Document(BytesIO(report_2023[0]))
        receivers = [t for t, _ in paragraph_runs(doc.tables[-1].cell(0, 0))]
        assert receivers == ["Nơi nhận:", "- Như trên;", "- Các phòng, đơn vị thuộc Sở;", "- Lưu: VT, VP."]

    def test_a4_with_the_decree_margins(self, report_2023):
        s = Document(BytesIO(report_2023[0])).sections[0]
        assert abs(s.page_width.mm - 210) < 0.5 and abs(s.page_height.mm - 297) < 0.5
        assert 20 <= round(s.top_margin.mm) <= 25 and 20 <= round(s.bottom_margin.mm) <= 25
        assert 30 <= round(s.left_margin.mm) <= 35 and 15 <= round(s.right_margin.mm) <= 20

    def test_times_new_roman_13_to_14_pt(self, report_2023):
        doc = Document(BytesIO(report_2023[0]))
        normal = doc.styles["Normal"]
        assert normal.font.name == "Times New Roman"
        assert Pt(13) <= normal.font.size <= Pt(14)
        fonts = normal.element.rPr.rFonts
        assert fonts.get(f"{W}eastAsia") == fonts.get(f"{W}cs") == "Times New Roman"
        runs = [r for p in doc.paragraphs for r in p.runs]
        assert runs and all(r.font.name in (None, "Times New Roman") for r in runs)

    def test_result_tables_read_on_paper(self, report_2023):
        doc = Document(BytesIO(report_2023[0]))
        results = doc.tables[1:-1]  # between the heading and the signature
        assert len(results) == 5  # the summary, four recurring tasks
        for table in results:
            assert table.style.name == "Table Grid"
            head, *rows = table.rows
            assert {p.style.name for c in head.cells for p in c.paragraphs} == {"Kehoach Table Heading"}
            assert rows and {p.style.name for r in rows for c in r.cells for p in c.paragraphs} == {"Kehoach Table"}
            assert head._tr.xpath("./w:trPr/w:tblHeader")  # repeated on every page
            columns = [c.width.mm for c in table.columns]
            wraps = [r for r in rows if row_wraps([c.text for c in r.cells], columns, 12, 2.8)]
            assert all(r._tr.xpath("./w:trPr/w:cantSplit") for r in wraps)  # a row of several lines never splits
            grid = [col.width for col in table.columns]
            assert all([c.width for c in r.cells] == grid for r in table.rows)
            assert abs(sum(grid) - Mm(165)) < Mm(1)  # the text width: 210 - 30 - 15 mm
            for c, column in enumerate(grid):  # no word, date or count is wider than its column
                words = [w for r in table.rows for w in r.cells[c].text.split()]
                assert max(width(w, 12, bold=True) for w in words) + 2.8 < column.mm
            counts = [c for r in rows for c in r.cells if c.text and len(c.text) <= 3]
            assert all(c.paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.CENTER for c in counts)

    def test_headings_stay_with_what_follows(self, report_2023):
        doc = Document(BytesIO(report_2023[0]))
        headings = [p for p in doc.paragraphs if p.style.name.startswith("Kehoach Heading")]
        assert {p.text for p in headings} >= {"I. KẾT QUẢ ĐẠT ĐƯỢC", "1. Kết quả chung"}
        assert all(p.style.paragraph_format.keep_with_next and p.style.paragraph_format.keep_together
                   for p in headings)
        before_tables = [p for p in doc.paragraphs if p.style.name == "Kehoach Lead"]
        assert before_tables and all(p.style.paragraph_format.keep_with_next for p in before_tables)

    def test_cell_text_keeps_line_breaks_tabs_and_spaces(self):
        from engine.reports.content import Draft, Para, Table
        from engine.reports.docx import render as render_docx

        rows = (("1", "Báo cáo\nlần 2", "  thụt lề", ""), ("12", "a\tb", "x", "01/02/2023"))
        draft = Draft(None, "SỞ KHCN", "01/BC", "Thái Nguyên, ngày 01 tháng 11 năm 2023", "BÁO CÁO", "Thử",
                      None, [Para("Mở đầu"), Table(("STT", "Nội dung", "Ghi chú", "Kết quả"), rows)],
                      ("GIÁM ĐỐC",), None, ["Lưu: VT"], "digest")
        table = Document(BytesIO(render_docx(draft))).tables[1]
        assert [[c.text for c in r.cells] for r in table.rows[1:]] == [list(r) for r in rows]
        breaks = [c for c in table.rows[1].cells if c._tc.xpath(".//w:br")]
        assert [c.text for c in breaks] == ["Báo cáo\nlần 2"]
        assert table.rows[2].cells[1]._tc.xpath(".//w:tab")
        centred = [c.text for r in table.rows[1:] for c in r.cells
                   if c.paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.CENTER]
        assert centred == ["1", "", "12", "a\tb", "x", "01/02/2023"]  # counts, short words, dates

    def test_every_style_referred_to_is_defined_and_no_other(self, report_2023):
        import re
        import zipfile

        package = zipfile.ZipFile(BytesIO(report_2023[0]))
        names = set(package.namelist())
        assert "word/stylesWithEffects.xml" not in names and "docProps/thumbnail.jpeg" not in names
        styles = package.read("word/styles.xml").decode("utf-8")
        defined = set(re.findall(r'<w:style [^>]*w:styleId="([^"]+)"', styles))
        used = {ref for name in names if name.startswith("word/") and name.endswith(".xml")
                for ref in re.findall(r'<w:(?:pStyle|rStyle|tblStyle|basedOn|link|next) w:val="([^"]+)"',
                                      package.read(name).decode("utf-8"))}
        assert {"Normal", "KehoachBody", "KehoachLead", "KehoachTable", "KehoachHeading1", "TableGrid",
                "Header"} <= used <= defined
        assert len(defined) < 25 and "LightShading-Accent1" not in defined  # not python-docx's 167
        assert "<w:latentStyles" in styles  # Word's built-in styles stay on offer

    def test_drafts_made_one_after_another_are_independent(self, seed_plan, on_time, report_2023):
        from engine.reports.content import Draft, Para

        small = Draft(None, "SỞ KHCN", "01/BC", "Thái Nguyên, ngày 01 tháng 11 năm 2023", "BÁO CÁO", "Thử",
                      None, [Para("Chỉ một đoạn")], ("GIÁM ĐỐC",), None, ["Lưu: VT"], "digest")
        first = Document(BytesIO(render(small, "docx", DRAFTED)))
        again = Document(BytesIO(render(_draft(seed_plan, on_time), "docx", DRAFTED)))
        assert [p.text for p in first.paragraphs if p.text] == ["BÁO CÁO", "Thử", "Chỉ một đoạn"]
        assert [p.text for p in again.paragraphs] == [p.text for p in Document(BytesIO(report_2023[0])).paragraphs]
        assert len(first.tables) == 2 and first.core_properties.title == "BÁO CÁO Thử"

    def test_page_number_in_the_header_from_page_two(self, report_2023):
        s = Document(BytesIO(report_2023[0])).sections[0]
        assert s.different_first_page_header_footer
        instr = [e.text for e in s.header._element.iter(f"{W}instrText")]
        assert [t.strip() for t in instr] == ["PAGE"]
        assert not list(s.first_page_header._element.iter(f"{W}instrText"))


class TestAgencySettings:
    """What the agency file sets: the signer's authority, the date line, the units' abbreviations."""

    @pytest.mark.parametrize("settings, lines", [
        ({"signer_title": "GIÁM ĐỐC"}, ("GIÁM ĐỐC",)),
        ({"signer_authority": "KT.", "head_title": "Giám đốc", "signer_title": "Phó Giám đốc"},
         ("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC")),
        ({"signer_authority": "TL.", "head_title": "GIÁM ĐỐC", "signer_title": "CHÁNH VĂN PHÒNG"},
         ("TL. GIÁM ĐỐC", "CHÁNH VĂN PHÒNG")),
        ({"signer_authority": "TUQ.", "head_title": "GIÁM ĐỐC", "signer_title": "TRƯỞNG PHÒNG KẾ HOẠCH - TÀI CHÍNH"},
         ("TUQ. GIÁM ĐỐC", "TRƯỞNG PHÒNG KẾ HOẠCH - TÀI CHÍNH")),
        ({"signer_authority": "Q.", "head_title": "GIÁM ĐỐC"}, ("Q. GIÁM ĐỐC",)),
        ({"signer_authority": "TM.", "collective": "ỦY BAN NHÂN DÂN", "signer_title": "CHỦ TỊCH"},
         ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH")),
        ({"signer_authority": "KT.", "collective": "ỦY BAN NHÂN DÂN", "head_title": "CHỦ TỊCH",
          "signer_title": "PHÓ CHỦ TỊCH"}, ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH")),
    ])
    def test_the_signer_block_follows_the_authority(self, settings, lines):
        from engine.language.models.plan import Issuer
        from engine.reports.content import signer_lines

        assert signer_lines(Issuer(name="Sở", **settings)) == lines

    @pytest.mark.parametrize("settings, message", [
        ({"signer_authority": "KT.", "signer_title": "PHÓ GIÁM ĐỐC"}, "'KT.' cần trường 'head_title'"),
        ({"signer_authority": "TL.", "head_title": "GIÁM ĐỐC"}, "'TL.' cần trường 'signer_title'"),
        ({"signer_authority": "TM.", "signer_title": "CHỦ TỊCH"}, "'TM.' cần trường 'collective'"),
        ({"collective": "ỦY BAN NHÂN DÂN", "signer_title": "CHỦ TỊCH"}, "'collective' được in sau TM."),
    ])
    def test_a_signer_block_that_cannot_be_printed_is_refused(self, settings, message):
        from pydantic import ValidationError

        from engine.language.models.plan import Issuer

        with pytest.raises(ValidationError, match=re.escape(message)):
            Issuer(name="Sở", **settings)

    @pytest.mark.parametrize("setting, line", [
        ("blank", "Thái Nguyên, ngày ... tháng ... năm 2023"),
        ("due", "Thái Nguyên, ngày 31 tháng 10 năm 2023"),
        ("drafted", "Thái Nguyên, ngày 02 tháng 11 năm 2023"),
    ])
    def test_the_date_line(self, seed_plan, on_time, setting, line):
        from dataclasses import replace

        plan = replace(seed_plan, issuer=seed_plan.issuer.model_copy(update={"date_line": setting}))
        assert _draft(plan, on_time, today=date(2023, 11, 2)).place_date == line

    def test_the_name_when_the_agency_file_gives_it(self, seed_plan, on_time):
        from dataclasses import replace

        plan = replace(seed_plan, issuer=seed_plan.issuer.model_copy(update={"signer_name": "Trần Văn Bình"}))
        sign = Document(BytesIO(render(_draft(plan, on_time), "docx", DRAFTED))).tables[-1].cell(0, 1)
        name = sign.paragraphs[-1]
        assert name.text == "Trần Văn Bình" and name.runs[0].bold and not name.runs[0].font.highlight_color

    def test_a_district_agency_name_breaks_where_a_clerk_breaks_it(self):
        from engine.reports.content import Draft

        draft = Draft(None, "Ủy ban nhân dân huyện Phú Bình", "Số: .../BC-UBND", "Phú Bình, ngày ... tháng ... năm 2024",
                      "BÁO CÁO", "Thử", None, [], ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"), None,
                      ["Lưu: VT, VP."], "digest")
        head = Document(BytesIO(render(draft, "docx"))).tables[0]
        assert [t for t, _ in paragraph_runs(head.cell(0, 0))] == ["ỦY BAN NHÂN DÂN", "HUYỆN PHÚ BÌNH"]


def md_of(draft) -> str:
    return render(draft, "md").decode("utf-8")


class TestResults:
    def test_window_and_basis_in_the_opening_with_dates_written_one_way(self, report_2023):
        text = text_of(Document(BytesIO(report_2023[0])))
        assert "Căn cứ Đề án số 02-ĐA/TU ngày 26/03/2021 của Ban Chấp hành Đảng bộ tỉnh Thái Nguyên" in text
        assert "Thực hiện Kế hoạch số 42/KH-UBND ngày 15/03/2022 của UBND tỉnh Thái Nguyên" in text
        assert "(số liệu tính từ ngày 16/10/2022 đến ngày 15/10/2023)" in text
        assert "26/3/2021" not in text and re.findall(r"\b\d/\d+/\d{4}|\b\d+/\d/\d{4}", text) == []

    def test_the_figures_as_an_official_writes_them(self, report_2023):
        text = text_of(Document(BytesIO(report_2023[0])))
        assert "Trong kỳ báo cáo, 21/21 nhiệm vụ đến hạn đã hoàn thành, tất cả đúng hạn." in text
        assert "Trong kỳ, 12/12 lần đến hạn đã hoàn thành, tất cả đúng hạn." in text

    def test_the_summary_lists_only_tasks_with_work_in_the_period(self, report_2023):
        summary = Document(BytesIO(report_2023[0])).tables[1]
        rows = [[c.text for c in r.cells] for r in summary.rows]
        assert rows[0] == ["TT", "Nhiệm vụ", "Đơn vị chủ\xa0trì", "Đến hạn", "Hoàn thành", "Đúng hạn", "Quá hạn"]
        assert [r[0] for r in rows[1:]] == ["1", "2", "3", "4", "5", ""]
        assert rows[-1] == ["", "Tổng cộng", "", "21", "21", "21", "0"]
        assert not any(r[3:] == ["0", "0", "0", "0"] for r in rows)  # no rows of zeros

    def test_each_monthly_check_in_of_the_period_done_on_time(self, report_2023):
        rows = table_after(Document(BytesIO(report_2023[0])), "2.6. Tiếp tục đẩy mạnh")
        assert rows[0] == ["Kỳ", "Hạn", "Hoàn thành"]  # nobody's name, no evidence column with nothing in it
        assert [r[0] for r in rows[1:]] == [f"tháng {m}/{y}" for y, m in
                                          [(2022, 10), (2022, 11), (2022, 12)] + [(2023, m) for m in range(1, 10)]]
        assert rows[-1][1:] == ["25/09/2023", "25/09/2023"]

    def test_one_deadline_per_task_and_why_it_moved(self, report_2023):
        text = text_of(Document(BytesIO(report_2023[0])))
        assert ("Thời hạn: 29/09/2023 (ngày 30/09/2023 là thứ Bảy nên hạn chuyển về ngày làm việc liền trước)."
                in text)
        assert text.count("30/09/2023") == 1
        assert ("Hạn các kỳ tháng 12/2022, tháng 1/2023, tháng 2/2023, tháng 3/2023, tháng 6/2023 rơi vào ngày nghỉ "
                "(Chủ nhật, ngày nghỉ mùng bốn Tết Nguyên Đán, thứ Bảy) nên được chuyển về ngày làm việc liền trước."
                in text)

    def test_a_one_off_step_done_before_the_period(self, report_2023):
        text = text_of(Document(BytesIO(report_2023[0])))
        assert ("Đã hoàn thành ngày 18/03/2022, trước kỳ báo cáo. Thực hiện ngày 18/03/2022, có 45 người tham dự."
                in text)
        assert "Thời hạn: 01/04/2022 (10 ngày làm việc sau khi hoàn thành nhiệm vụ tại mục 2.1)." in text

    def test_no_internal_ids_names_links_or_cut_titles(self, seed_plan, report_2023):
        docx_text = text_of(Document(BytesIO(report_2023[0])))
        for text in (docx_text, report_2023[1]):
            assert not [s.id for s in seed_plan.steps if s.id in text]
            assert "Mô phỏng" not in text and "Người xác nhận" not in text  # who clicked confirm stays inside
            assert "http" not in text and "…" not in text
            assert "(năm 2025) (năm 2025)" not in text and "(năm 2023) (năm 2023)" not in text

    def test_the_sections_of_a_report_and_the_places_to_fill(self, report_2023):
        from engine.reports.sections import headings

        doc = Document(BytesIO(report_2023[0]))
        text = text_of(doc)
        for heading in headings(is_review=False):
            assert heading in [p.text for p in doc.paragraphs]
        assert "Các nhiệm vụ đến hạn đều hoàn thành đúng hạn." in text
        assert "- Tổng kết việc triển khai, thực hiện Đề án (năm 2025): hạn 30/09/2025." in text
        fills = [p for p in doc.paragraphs if p.text.startswith("[Cần bổ sung")]
        assert len(fills) >= 4 and all(r.font.highlight_color for p in fills for r in p.runs)
        assert "[Cần bổ sung: đề xuất, kiến nghị với Sở Nội vụ tỉnh Thái Nguyên (nếu có).]" in text

    def test_the_markdown_carries_the_same_facts(self, report_2023):
        data, md = report_2023
        doc = Document(BytesIO(data))
        seq = blocks(doc)
        tables = [v for kind, v in seq if kind == "t"][1:-1]  # between the heading and the signature
        assert len(tables) == 5
        md_rows = [[c.strip() for c in line.strip()[1:-1].split("|")] for line in md.splitlines() if line.startswith("|")]
        for rows in tables:
            for row in rows:
                assert [" ".join(c.split()) for c in row] in md_rows, row
        for kind, text in seq:
            if kind == "p" and text:
                assert str(text) in md, text
        for cell in (doc.tables[0].cell(0, 0), doc.tables[0].cell(0, 1), doc.tables[-1].cell(0, 0),
                     doc.tables[-1].cell(0, 1)):
            for line in cell.text.split("\n"):
                assert line.lstrip("- ") in md, line

    def test_what_people_did_in_their_words_with_the_evidence_written_out(self, drafts_of_every_kind):
        from engine.reports.previews import BY

        md = md_of(drafts_of_every_kind["so-ket"])
        assert ("Hoàn thành ngày 17/03/2022, đúng hạn. Tổ chức Hội nghị quán triệt Đề án số 02-ĐA/TU và Kế hoạch số "
                "28/KH-KHCN tới toàn thể cán bộ, đảng viên, công chức, viên chức và người lao động của Sở. Biên bản số "
                "01/BB-KHCN ngày 17/03/2022; thực hiện ngày 17/03/2022 tại Hội trường Sở, có 52 người tham dự.") in md
        assert ("| quý III/2023 | 20/09/2023 | 19/09/2023 | Phối hợp với Ủy ban MTTQ tỉnh giám sát việc thực hiện "
                "chính sách hỗ trợ doanh nghiệp đổi mới công nghệ; tiếp thu, giải quyết 03 kiến nghị sau giám sát. |"
                in md)
        assert "Quy chế số 15/QC-KHCN ngày 28/06/2022." in md
        assert BY not in md and "khcn.thainguyen.gov.vn" not in md

    def test_an_extension_gives_the_deadline_in_force_and_why(self, drafts_of_every_kind):
        md = md_of(drafts_of_every_kind["qua-han"])
        assert ("Thời hạn: 20/10/2023 (gia hạn từ 29/09/2023 đến 20/10/2023: Chờ số liệu tổng hợp của các phòng, "
                "đơn vị thuộc Sở).\n\nĐang thực hiện.") in md
        assert "29/09/2023" not in md.replace("gia hạn từ 29/09/2023", "")  # the first deadline only as history
        assert "- Sơ kết việc triển khai, thực hiện Đề án (năm 2023): đang thực hiện, hạn 20/10/2023." in md

    def test_overdue_work_in_the_shortcomings(self, drafts_of_every_kind):
        md = md_of(drafts_of_every_kind["qua-han"])
        assert "Trong kỳ báo cáo, 16/20 nhiệm vụ đến hạn đã hoàn thành, tất cả đúng hạn; 4 nhiệm vụ quá hạn chưa hoàn thành." in md
        assert (": chưa hoàn thành tháng 7/2023 (hạn 25/07/2023, quá hạn 82 ngày), tháng 8/2023 (hạn 25/08/2023, quá "
                "hạn 51 ngày), tháng 9/2023 (hạn 25/09/2023, quá hạn 20 ngày).") in md
        assert "| tháng 9/2023 | 25/09/2023 | Chưa hoàn thành (quá hạn 20 ngày) |" in md
        assert "- Khẩn trương hoàn thành các nhiệm vụ còn quá hạn nêu trên." in md

    def test_overdue_steps_with_their_days(self, seed_plan, never):
        md = md_of(_draft(seed_plan, never))
        carried = (date(2023, 10, 15) - date(2022, 3, 18)).days
        assert f"hạn 18/03/2022, quá hạn {carried} ngày, chưa hoàn thành" in md
        assert "Các nhiệm vụ đến hạn đều hoàn thành đúng hạn." not in md

    def test_late_confirmations_count_as_done_late(self, seed_plan, late):
        md = md_of(_draft(seed_plan, late, period="2022", today=date(2022, 10, 20)))
        assert "Hoàn thành ngày 23/03/2022, chậm 5 ngày so với hạn." in md
        assert "| tháng 4/2022 | 25/04/2022 | 30/04/2022 (chậm 5 ngày) |" in md
        assert re.search(r"Trong kỳ báo cáo, (\d+)/\1 nhiệm vụ đến hạn đã hoàn thành, tất cả chậm hạn\.", md)
        assert "0 đúng hạn" not in md
        assert "(số liệu tính từ ngày 16/03/2022 đến ngày 15/10/2022)" in md

    def test_a_report_drafted_before_the_cut_off_says_so(self, seed_plan, on_time):
        md = md_of(_draft(seed_plan, on_time, today=date(2023, 6, 30)))
        assert "Số liệu ghi nhận đến ngày 30/06/2023" in md
        # Confirmed on 25/07/2023 in the store, but not yet on the day the facts are taken.
        assert "| tháng 7/2023 | 25/07/2023 | Chưa đến hạn |" in md
        assert "| tháng 6/2023 | 23/06/2023 | 23/06/2023 |" in md

    def test_the_interim_review_covers_the_work_steps_only(self, seed_plan, on_time):
        md = md_of(_draft(seed_plan, on_time, period=None, step="so-ket", today=date(2023, 9, 29)))
        assert "**Sơ kết việc thực hiện Kế hoạch số 28/KH-KHCN**" in md
        assert "(số liệu tính từ ngày 16/03/2022 đến ngày 29/09/2023)" in md
        assert "Tổng hợp, báo cáo kết quả" not in md and "Tổng kết việc triển khai" not in md
        assert "Mục đích, yêu cầu của Kế hoạch:" in md

    @pytest.mark.parametrize("kind", ["so-ket", "tong-ket"])
    def test_a_review_has_its_assessment_and_lessons(self, drafts_of_every_kind, kind):
        from engine.reports.sections import headings

        md = md_of(drafts_of_every_kind[kind])
        for heading in headings(is_review=True):
            assert f"### {heading}" in md
        for part in ("1. Ưu điểm", "2. Tồn tại, hạn chế và nguyên nhân", "3. Bài học kinh nghiệm"):
            assert f"#### {part}" in md
        assert "Từ khi triển khai Kế hoạch đến ngày" in md

    def test_a_report_on_request_covers_the_plan_to_the_request(self, drafts_of_every_kind):
        draft = drafts_of_every_kind["theo-yeu-cau"]
        md = md_of(draft)
        assert draft.place_date == "Thái Nguyên, ngày ... tháng ... năm 2024"
        assert "(số liệu tính từ ngày 16/03/2022 đến ngày 02/05/2024)" in md
        assert "Từ khi triển khai Kế hoạch đến ngày 02/05/2024, 48/48 nhiệm vụ đến hạn đã hoàn thành" in md
        assert "Báo cáo kết quả thực hiện Đề án khi có yêu cầu" not in md  # not a task of itself


class TestTickDrafts:
    def test_report_and_review_drafts_stored_when_they_open(self, seed_plan, on_time):
        _, sessions = on_time
        with sessions() as session:
            docs = session.scalars(select(DocumentRecord).where(DocumentRecord.plan_id == seed_plan.id)).all()
        by = {(d.step_id, d.occurrence_key, d.format): d for d in docs}
        assert set(by) == {(s, k, f) for s, k in [("bao-cao-hang-nam", "2022"), ("so-ket", "2023"),
                                                   ("bao-cao-hang-nam", "2023")] for f in ("md", "docx")}
        report = by[("bao-cao-hang-nam", "2023", "docx")]
        assert report.created_on == date(2023, 10, 16)
        doc = Document(BytesIO(document_bytes(report)))  # rendered when first read (engine.reports.stored)
        assert doc.tables[0].cell(1, 1).text == "Thái Nguyên, ngày ... tháng ... năm 2023"  # for the signer
        md = by[("bao-cao-hang-nam", "2023", "md")].content.decode("utf-8")
        assert md.startswith("> Dự thảo báo cáo kết quả thực hiện Kế hoạch số 28/KH-KHCN năm 2023 (số liệu từ ngày "
                             "16/10/2022 đến ngày 15/10/2023, ghi nhận đến ngày 15/10/2023)")
        review = by[("so-ket", "2023", "md")].content.decode("utf-8")
        assert "ghi nhận đến ngày 30/08/2023" in review


class TestPickingWhatToDraft:
    def test_a_plan_with_no_report_step(self, seed_plan, on_time, tmp_path):
        plan = _plan_without_reports(tmp_path)
        _, sessions = on_time
        with sessions() as session, pytest.raises(ReportError, match="không có bước báo cáo; dùng --step"):
            requested_draft(plan, session, None, "2024", DRAFTED)

    def test_a_step_that_is_not_a_report(self, seed_plan, on_time):
        with pytest.raises(ReportError, match="bước 'quan-triet' không phải bước báo cáo hay sơ kết/tổng kết; chọn một trong"):
            _draft(seed_plan, on_time, step="quan-triet")

    def test_an_unknown_step_with_a_close_match(self, seed_plan, on_time):
        with pytest.raises(ReportError, match="không có bước 'so-kett' - ý bạn là 'so-ket'"):
            _draft(seed_plan, on_time, step="so-kett")

    def test_a_store_without_the_plan(self, seed_plan, tmp_path):
        sessions = session_factory(open_store(f"sqlite:///{tmp_path / 'empty.db'}"))
        with sessions() as session, pytest.raises(ReportError, match="kho dữ liệu chưa có số liệu của kế hoạch"):
            requested_draft(seed_plan, session, None, "2023", DRAFTED)


NO_REPORTS = """\
plan:
  number: 3/KH-VP
  title: Kế hoạch không có báo cáo
  issuer: {name: Văn phòng, place: Hà Nội}
  issued_on: 01/01/2024
  period: {start: 01/01/2024, end: 31/12/2024}
units:
  vp: {name: Văn phòng}
steps:
  - id: quan-triet
    kind: disseminate
    title: Quán triệt
    owner: vp
    audience: [vp]
    timing: {due: 31/03/2024}
"""


def _plan_without_reports(folder: Path):
    from engine.language.plan import load_plan

    path = folder / "no-reports.yaml"
    path.write_text(NO_REPORTS, encoding="utf-8")
    return load_plan(path)




class TestReportCommand:
    def test_writes_the_docx(self, capsys, on_time, tmp_path):
        out = tmp_path / "bc-2023.docx"
        code, _, err = run(capsys, "report", SEED, "--period", "2023", "--db", on_time[0], "--at", "25/10/2023",
                           "-o", out)
        assert code == 0, err
        doc = Document(out)
        assert doc.tables[0].cell(1, 1).text == "Thái Nguyên, ngày ... tháng ... năm 2023"
        assert "Đã ghi" in err

    def test_markdown_to_stdout(self, capsys, on_time):
        code, out, _ = run(capsys, "report", SEED, "--period", "2023", "--format", "md", "--db", on_time[0],
                           "--at", "25/10/2023")
        assert code == 0
        assert out.startswith("> Dự thảo báo cáo") and "## BÁO CÁO" in out

    def test_format_follows_the_output_suffix(self, capsys, on_time, tmp_path):
        out = tmp_path / "bc.md"
        assert run(capsys, "report", SEED, "--period", "2023", "--db", on_time[0], "-o", out)[0] == 0
        assert out.read_text(encoding="utf-8").startswith("> Dự thảo")

    @pytest.mark.parametrize("args, message", [
        (("--period", "2023-Q5"), "kỳ báo cáo '2023-Q5' không hợp lệ"),
        (("--period", "2023-Q2", "--step", "bao-cao-hang-nam"), "báo cáo theo kỳ năm: viết --period như '2023'"),
        (("--period", "2031"), "không có bước báo cáo theo kỳ '2031'|nằm ngoài thời gian thực hiện kế hoạch"),
        (("--step", "tong-ket", "--period", "2024"), "bước 'tong-ket' không có lần '2024'"),
    ])
    def test_bad_input_exits_1_and_writes_nothing(self, capsys, on_time, tmp_path, args, message):
        out = tmp_path / "bc.docx"
        code, _, err = run(capsys, "report", SEED, *args, "--db", on_time[0], "-o", out)
        assert code == 1
        assert err.startswith("kehoach: ") and __import__("re").search(message, err), err
        assert list(tmp_path.iterdir()) == []

    def test_a_plan_with_no_report_step_exits_1(self, capsys, tmp_path):
        plan = tmp_path / "no-reports.yaml"
        plan.write_text(NO_REPORTS, encoding="utf-8")
        code, _, err = run(capsys, "report", plan, "--period", "2024", "--db", f"sqlite:///{tmp_path / 's.db'}",
                           "-o", tmp_path / "x.docx")
        assert code == 1 and "không có bước báo cáo" in err
        assert not (tmp_path / "x.docx").exists()

    @pytest.mark.parametrize("target", ["missing-dir/bc.docx", "."])
    def test_an_unwritable_output_path_exits_1(self, capsys, on_time, tmp_path, target):
        code, _, err = run(capsys, "report", SEED, "--period", "2023", "--db", on_time[0], "-o", tmp_path / target)
        assert code == 1 and "không ghi được" in err
        assert list(tmp_path.iterdir()) == []


class TestArtifacts:
    def test_stored_drafts_become_one_markdown_artifact_per_occurrence(self, seed_plan, on_time):
        from engine.reports.artifacts import draft_artifacts, draft_records

        _, sessions = on_time
        with sessions() as session:
            docs = draft_records(session, seed_plan.id, [("bao-cao-hang-nam", "2023"), ("so-ket", "2023")])
        assert sorted((d.step_id, d.format) for d in docs) == [("bao-cao-hang-nam", "docx"), ("bao-cao-hang-nam", "md"),
                                                               ("so-ket", "docx"), ("so-ket", "md")]
        made = {key: (markdown, description) for key, markdown, description in draft_artifacts(seed_plan, docs)}
        assert sorted(made) == ["kh-28-khcn-2022-draft-bao-cao-hang-nam-2023", "kh-28-khcn-2022-draft-so-ket-2023"]
        markdown, description = made["kh-28-khcn-2022-draft-bao-cao-hang-nam-2023"]
        assert markdown.startswith("# Dự thảo: Tổng hợp, báo cáo kết quả thực hiện Đề án hằng năm gửi Sở "
                                   "Nội vụ tỉnh (năm 2023)")
        assert "> Dự thảo báo cáo kết quả thực hiện Kế hoạch số 28/KH-KHCN năm 2023" in markdown
        assert description == ("Dự thảo báo cáo: Báo cáo kết quả hằng năm gửi Sở Nội vụ (năm 2023) - Kế hoạch số "
                               "28/KH-KHCN")  # no internal ids
        assert "Bản Word (DOCX) được gửi kèm thư cho đơn vị chủ trì." in markdown  # no drafts server here
        review, _ = made["kh-28-khcn-2022-draft-so-ket-2023"]
        assert review.startswith("# Dự thảo: Sơ kết việc triển khai, thực hiện Đề án (năm 2023)\n")  # one label


class TestStoredDocx:
    """The tick keeps a draft's content in its DOCX row; the DOCX is rendered when first read, as it would have
    been at once (engine.reports.stored)."""

    def test_the_first_read_renders_what_the_tick_would_have_rendered(self, seed_plan, on_time):
        from engine.reports import docx
        from engine.reports.drafts import draft, window_of
        from engine.reports.stored import is_pending

        _, sessions = on_time
        with sessions() as session:
            row = session.scalars(select(DocumentRecord).where(
                DocumentRecord.step_id == "bao-cao-hang-nam", DocumentRecord.occurrence_key == "2022",
                DocumentRecord.format == "docx")).one()
            assert is_pending(row.content)
            lazy, drafted_on = Document(BytesIO(document_bytes(row))), row.created_on
            session.rollback()  # leave the module's store as the tick left it
        with sessions() as session:
            occ = next(o for o in seed_plan.occurrences("bao-cao-hang-nam") if o.key == "2022")
            step = seed_plan.step_by_id["bao-cao-hang-nam"]
            window = window_of(seed_plan, step, occ.key, occ.due, occ.opens)
            # The store as it was on the opening day: the draft's facts are those as of its cut-off day.
            eager = Document(BytesIO(docx.render(draft(seed_plan, session, step, window, drafted_on, occ.due),
                                                 drafted_on)))
        assert [p.text for p in lazy.paragraphs] == [p.text for p in eager.paragraphs]
        assert [[c.text for c in r.cells] for t in lazy.tables for r in t.rows] == \
            [[c.text for c in r.cells] for t in eager.tables for r in t.rows]
        assert lazy.core_properties.created == eager.core_properties.created

    def test_a_pending_draft_is_the_json_of_its_content(self, on_time):
        """The content is written from each block's kept JSON: the text is what `json.dumps` writes of it."""
        import json
        import zlib

        from engine.reports.stored import MARKER, is_pending

        _, sessions = on_time
        with sessions() as session:
            rows = session.scalars(select(DocumentRecord).where(DocumentRecord.format == "docx")).all()
        pending = [zlib.decompress(r.content[len(MARKER):]).decode() for r in rows if is_pending(r.content)]
        assert pending
        for text in pending:
            data = json.loads(text)
            assert list(data) == ["drafted_on", "draft", "blocks", "meta"] and data["blocks"]
            assert text == json.dumps(data, ensure_ascii=False)

    def test_the_rendered_docx_is_kept(self, on_time):
        from engine.reports.stored import is_pending

        _, sessions = on_time
        with sessions() as session, session.begin():
            row = session.scalars(select(DocumentRecord).where(DocumentRecord.format == "docx")).first()
            first = document_bytes(row)
        with sessions() as session:
            stored = session.get(DocumentRecord, row.id).content
        assert not is_pending(stored) and stored == first and stored[:2] == b"PK"
