"""Reports and reviews drafted from a simulated store: the DOCX layout of Decree 30/2020, the facts, the Markdown,
the drafts the tick stores, and the `kehoach report` command."""

from __future__ import annotations

from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm, Pt
from sqlalchemy import select

from engine.reports import ReportError
from engine.reports.drafts import render, requested_draft
from engine.simulate import ConfirmPolicy, simulate
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
    kind, value = seq[i + 2]  # heading, owner line, then the table
    assert kind == "t", seq[i:i + 3]
    return value  # type: ignore[return-value]


def paragraph_runs(cell):
    return [(p.text, p.runs) for p in cell.paragraphs if p.text]


class TestOfficialLayout:
    """Every element Decree 30/2020 (Phụ lục I) asks of an administrative document."""

    def test_issuing_body_top_left_with_its_parent(self, report_2023):
        doc = Document(BytesIO(report_2023[0]))
        head = doc.tables[0]
        (parent, p_runs), (issuer, i_runs) = paragraph_runs(head.cell(0, 0))
        assert parent == "UBND TỈNH THÁI NGUYÊN" and not any(r.bold for r in p_runs)
        assert issuer == "SỞ KHOA HỌC VÀ CÔNG NGHỆ" and all(r.bold for r in i_runs)
        assert head.cell(1, 0).text.strip() == "Số: .../BC-KHCN"

    def test_national_title_and_motto_top_right(self, report_2023):
        doc = Document(BytesIO(report_2023[0]))
        head = doc.tables[0]
        (title, t_runs), (motto, m_runs) = paragraph_runs(head.cell(0, 1))
        assert title == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" and all(r.bold for r in t_runs)
        assert motto == "Độc lập - Tự do - Hạnh phúc" and all(r.bold and r.underline for r in m_runs)
        ((place, runs),) = paragraph_runs(head.cell(1, 1))
        assert place == "Thái Nguyên, ngày 25 tháng 10 năm 2023" and all(r.italic for r in runs)

    def test_document_type_summary_and_addressee(self, report_2023):
        doc = Document(BytesIO(report_2023[0]))
        paras = [p for p in doc.paragraphs if p.text]
        kind = next(i for i, p in enumerate(paras) if p.text == "BÁO CÁO")
        assert all(r.bold for r in paras[kind].runs)
        assert paras[kind + 1].text == "Kết quả thực hiện Kế hoạch số 28/KH-KHCN năm 2023"
        assert all(r.bold for r in paras[kind + 1].runs)
        assert paras[kind + 2].text == "Kính gửi: Sở Nội vụ tỉnh Thái Nguyên"

    def test_signer_and_recipients(self, report_2023):
        doc = Document(BytesIO(report_2023[0]))
        sign = doc.tables[-1]
        receivers = [t for t, _ in paragraph_runs(sign.cell(0, 0))]
        assert receivers[0] == "Nơi nhận:"
        assert "- Sở Nội vụ tỉnh Thái Nguyên;" in receivers
        assert receivers[-1] == "- Lưu: VT, Văn phòng Sở."
        (title, runs), (placeholder, _) = paragraph_runs(sign.cell(0, 1))
        assert title == "GIÁM ĐỐC" and all(r.bold for r in runs)
        assert placeholder == "(Ký, ghi rõ họ tên)"

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

    def test_result_tables_have_styled_cells_and_fixed_widths(self, report_2023):
        doc = Document(BytesIO(report_2023[0]))
        results = doc.tables[1:-1]  # between the heading and the signature
        assert len(results) > 5
        for table in results:
            assert table.style.name == "Table Grid"
            head, *rows = table.rows
            assert {p.style.name for c in head.cells for p in c.paragraphs} == {"Kehoach Table Heading"}
            assert rows and {p.style.name for r in rows for c in r.cells for p in c.paragraphs} == {"Kehoach Table"}
            grid = [col.width for col in table.columns]
            assert all([c.width for c in r.cells] == grid for r in table.rows)
            assert abs(sum(grid) - Mm(165)) < Mm(1)  # the text width: 210 - 30 - 15 mm
            counts = [c for r in rows for c in r.cells if c.text and len(c.text) <= 3]
            assert all(c.paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.CENTER for c in counts)

    def test_cell_text_keeps_line_breaks_tabs_and_spaces(self):
        from engine.reports.content import Draft, Para, Table
        from engine.reports.docx import render as render_docx

        rows = (("1", "Báo cáo\nlần 2", "  thụt lề", ""), ("12", "a\tb", "x", "Đạt"))
        draft = Draft(None, "SỞ KHCN", "01/BC", "Thái Nguyên, ngày 01 tháng 11 năm 2023", "BÁO CÁO", "Thử",
                      None, [Para("Mở đầu"), Table(("STT", "Nội dung", "Ghi chú", "Kết quả"), rows)],
                      "GIÁM ĐỐC", None, ["Lưu: VT"], "digest")
        table = Document(BytesIO(render_docx(draft))).tables[1]
        assert [[c.text for c in r.cells] for r in table.rows[1:]] == [list(r) for r in rows]
        breaks = [c for c in table.rows[1].cells if c._tc.xpath(".//w:br")]
        assert [c.text for c in breaks] == ["Báo cáo\nlần 2"]
        assert table.rows[2].cells[1]._tc.xpath(".//w:tab")
        centred = [c.text for r in table.rows[1:] for c in r.cells
                   if c.paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.CENTER]
        assert centred == ["1", "", "12", "a\tb", "x", "Đạt"]  # at most three characters: counts, short words

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
        assert {"Normal", "KehoachBody", "KehoachTable", "TableGrid", "Header"} <= used <= defined
        assert len(defined) < 20 and "LightShading-Accent1" not in defined  # not python-docx's 167
        assert "<w:latentStyles" in styles  # Word's built-in styles stay on offer

    def test_drafts_made_one_after_another_are_independent(self, seed_plan, on_time, report_2023):
        from engine.reports.content import Draft, Para

        small = Draft(None, "SỞ KHCN", "01/BC", "Thái Nguyên, ngày 01 tháng 11 năm 2023", "BÁO CÁO", "Thử",
                      None, [Para("Chỉ một đoạn")], "GIÁM ĐỐC", None, ["Lưu: VT"], "digest")
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


class TestResults:
    def test_window_and_basis_in_the_opening(self, report_2023):
        doc = Document(BytesIO(report_2023[0]))
        text = "\n".join(p.text for p in doc.paragraphs)
        assert "Căn cứ Đề án số 02-ĐA/TU ngày 26/03/2021 của Ban Chấp hành Đảng bộ tỉnh Thái Nguyên" in text
        assert "Thực hiện Kế hoạch số 42/KH-UBND ngày 15/03/2022 của UBND tỉnh Thái Nguyên" in text
        assert "(số liệu tính từ ngày 16/10/2022 đến ngày 15/10/2023)" in text

    def test_each_monthly_check_in_of_the_period_done_on_time(self, report_2023):
        rows = table_after(Document(BytesIO(report_2023[0])), "2.6. Tiếp tục đẩy mạnh")
        assert rows[0] == ["Kỳ", "Hạn", "Kết quả", "Ngày hoàn thành", "Người xác nhận", "Minh chứng"]
        assert [r[0] for r in rows[1:]] == [f"tháng {m}/{y}" for y, m in
                                          [(2022, 10), (2022, 11), (2022, 12)] + [(2023, m) for m in range(1, 10)]]
        assert {r[2] for r in rows[1:]} == {"Hoàn thành đúng hạn"}
        assert {r[4] for r in rows[1:]} == {"Mô phỏng"}
        assert rows[-1][1] == rows[-1][3] == "25/09/2023"

    def test_the_interim_review_with_its_evidence(self, report_2023):
        rows = table_after(Document(BytesIO(report_2023[0])), "2.8. Sơ kết")
        assert rows[1][:5] == ["năm 2023", "29/09/2023", "Hoàn thành đúng hạn", "29/09/2023", "Mô phỏng"]

    def test_a_one_off_step_done_before_the_period(self, report_2023):
        text = "\n".join(p.text for p in Document(BytesIO(report_2023[0])).paragraphs)
        assert ("Đã hoàn thành ngày 18/03/2022 (trước kỳ này); người xác nhận: Mô phỏng; minh chứng: "
                "ngày thực hiện: 18/03/2022; số người tham dự: 45.") in text

    def test_what_remains_and_the_places_to_fill(self, report_2023):
        doc = Document(BytesIO(report_2023[0]))
        text = "\n".join(p.text for p in doc.paragraphs)
        assert "Không có việc quá hạn." in text
        assert "(tháng 10/2023): hạn 25/10/2023." in text
        assert "Tổng kết việc triển khai, thực hiện Đề án (năm 2025) (năm 2025): hạn 30/09/2025." in text
        fills = [p for p in doc.paragraphs if p.text.startswith("[Cần bổ sung")]
        assert len(fills) == 2 and all(r.font.highlight_color for p in fills for r in p.runs)

    def test_the_markdown_carries_the_same_facts(self, report_2023):
        data, md = report_2023
        doc = Document(BytesIO(data))
        seq = blocks(doc)
        tables = [v for kind, v in seq if kind == "t"][1:-1]  # between the heading and the signature
        assert len(tables) > 5
        md_rows = [[c.strip() for c in line.strip()[1:-1].split("|")] for line in md.splitlines() if line.startswith("|")]
        for rows in tables:
            for row in rows:
                assert row in md_rows, row
        for kind, text in seq:
            if kind == "p" and text:
                assert str(text) in md, text
        for cell in (doc.tables[0].cell(0, 0), doc.tables[0].cell(0, 1), doc.tables[-1].cell(0, 0)):
            for line in cell.text.split("\n"):
                assert line.lstrip("- ") in md, line

    def test_overdue_steps_with_their_days(self, seed_plan, never):
        d = _draft(seed_plan, never)
        md = render(d, "md").decode("utf-8")
        doc = Document(BytesIO(render(d, "docx", DRAFTED)))
        rows = table_after(doc, "2.6. Tiếp tục đẩy mạnh")
        assert rows[-1][:3] == ["tháng 9/2023", "25/09/2023", "Quá hạn 20 ngày, chưa hoàn thành"]
        carried = (date(2023, 10, 15) - date(2022, 3, 18)).days
        assert f": hạn 18/03/2022, quá hạn {carried} ngày" in md
        assert "quá hạn chưa hoàn thành 0" not in md
        assert "Không có việc quá hạn." not in md

    def test_late_confirmations_count_as_done_late(self, seed_plan, late):
        d = _draft(seed_plan, late, period="2022", today=date(2022, 10, 20))
        md = render(d, "md").decode("utf-8")
        assert "|  | 18/03/2022 | Hoàn thành chậm 5 ngày | 23/03/2022 | Mô phỏng |" in md
        assert "(số liệu tính từ ngày 16/03/2022 đến ngày 15/10/2022)" in md

    def test_a_report_drafted_before_the_cut_off_says_so(self, seed_plan, on_time):
        md = render(_draft(seed_plan, on_time, today=date(2023, 6, 30)), "md").decode("utf-8")
        assert "Số liệu ghi nhận đến ngày 30/06/2023" in md
        # Confirmed on 25/07/2023 in the store, but not yet on the day the facts are taken.
        assert "| tháng 7/2023 | 25/07/2023 | Chưa đến hạn |" in md
        assert "| tháng 6/2023 | 23/06/2023 | Hoàn thành đúng hạn | 23/06/2023 | Mô phỏng |" in md

    def test_the_interim_review_covers_the_work_steps_only(self, seed_plan, on_time):
        md = render(_draft(seed_plan, on_time, period=None, step="so-ket", today=date(2023, 9, 29)), "md").decode()
        assert "**Sơ kết việc thực hiện Kế hoạch số 28/KH-KHCN**" in md
        assert "(số liệu tính từ ngày 16/03/2022 đến ngày 29/09/2023)" in md
        assert "Tổng hợp, báo cáo kết quả" not in md and "Tổng kết việc triển khai" not in md
        assert "Mục đích, yêu cầu của Kế hoạch:" in md


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
        doc = Document(BytesIO(report.content))
        assert doc.tables[0].cell(1, 1).text == "Thái Nguyên, ngày 16 tháng 10 năm 2023"
        md = by[("bao-cao-hang-nam", "2023", "md")].content.decode("utf-8")
        assert md.startswith("> Dự thảo báo cáo kết quả thực hiện Kế hoạch số 28/KH-KHCN năm 2023 (số liệu từ ngày "
                             "16/10/2022 đến ngày 15/10/2023, ghi nhận đến ngày 15/10/2023)")
        review = by[("so-ket", "2023", "md")].content.decode("utf-8")
        assert "ghi nhận đến ngày 30/08/2023" in review


class TestPickingWhatToDraft:
    def test_a_plan_with_no_report_step(self, seed_plan, on_time, tmp_path):
        plan = _plan_without_reports(tmp_path)
        _, sessions = on_time
        with sessions() as session, pytest.raises(ReportError, match="no step of kind 'report'"):
            requested_draft(plan, session, None, "2024", DRAFTED)

    def test_a_step_that_is_not_a_report(self, seed_plan, on_time):
        with pytest.raises(ReportError, match="'quan-triet'.*not a report or review step"):
            _draft(seed_plan, on_time, step="quan-triet")

    def test_an_unknown_step_with_a_close_match(self, seed_plan, on_time):
        with pytest.raises(ReportError, match="did you mean 'so-ket'"):
            _draft(seed_plan, on_time, step="so-kett")

    def test_a_store_without_the_plan(self, seed_plan, tmp_path):
        sessions = session_factory(open_store(f"sqlite:///{tmp_path / 'empty.db'}"))
        with sessions() as session, pytest.raises(ReportError, match="no records of this plan"):
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
    from engine.plan import load_plan

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
        assert doc.tables[0].cell(1, 1).text == "Thái Nguyên, ngày 25 tháng 10 năm 2023"
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
        (("--period", "2023-Q5"), "unknown period"),
        (("--period", "2023-Q2", "--step", "bao-cao-hang-nam"), "reports per year"),
        (("--period", "2031"), "no report step for a year period|outside the plan"),
        (("--step", "tong-ket", "--period", "2024"), "unknown occurrence"),
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
        assert description == "Dự thảo báo cáo bao-cao-hang-nam (năm 2023) - Kế hoạch số 28/KH-KHCN"
