"""Drafts as a clerk sees them: each kind rendered once by LibreOffice (Times New Roman is Liberation Serif here,
with the same letter widths) and read back from the PDF with its layout (tests/engine/pdf_pages.py); and the
page-1 previews in docs/ kept up to date with the renderer."""

from __future__ import annotations

import json
import re
from io import BytesIO

import pytest
from docx import Document

from engine.reports.content import MOTTO, NATIONAL_TITLE
from engine.reports.previews import DOCS, FINGERPRINTS, KINDS, PREVIEWS, docx_of, fingerprint, soffice, to_pdf
from engine.reports.sections import ITEM_HEADERS, SUMMARY_HEADERS, Para, Table, headings
from tests.engine.pdf_pages import MM, pages

DATE = re.compile(r"\b\d{2}/\d{2}/\d{4}\b")
# The end of a line that holds the first part of a date broken across lines ('15/12/202', '15/12/', '15/').
BROKEN_DATE = re.compile(r"(?<![\d/])\d{1,2}/(?:\d{1,2}/\d{0,3})?$")
HEADER_WORDS = {w for h in (*ITEM_HEADERS, *SUMMARY_HEADERS) for w in h.split()}
PERIOD_LABEL = re.compile(r"^(tháng \d{1,2}/\d{4}|quý [IV]+/\d{4}|6 tháng (đầu|cuối) năm \d{4}|năm \d{4}|"
                          r"theo yêu cầu ngày .*)$")
REGENERATE = "python -m engine.reports.previews"


@pytest.fixture(scope="module")
def rendered(drafts_of_every_kind, tmp_path_factory):
    """Every kind of draft as (Draft, DOCX, PDF pages): one LibreOffice run for all of them."""
    if soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    documents = {kind: docx_of(d) for kind, d in drafts_of_every_kind.items()}
    pdfs = to_pdf(documents, tmp_path_factory.mktemp("pdf"))
    return {kind: (drafts_of_every_kind[kind], documents[kind], pages(pdfs[kind])) for kind in documents}


def docx_text(data: bytes) -> str:
    """Every paragraph of the document body, tables included, one a line."""
    doc = Document(BytesIO(data))
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    return "\n".join("".join(t.text or "" for t in p.iter(f"{w}t")) for p in doc.element.body.iter(f"{w}p"))


def squeeze(text: str) -> str:
    return " ".join(text.split())


def body(page) -> list:
    return [line for line in page.lines if line.y0 > 20 * MM]  # below the page number


def row_starts(page) -> list:
    """The first cells of table rows: a period ('tháng 5/2023') or a row number, in the leftmost column."""
    return [line for line in body(page) if line.x0 < 30 * MM + 20
            and (PERIOD_LABEL.match(line.text) or re.fullmatch(r"\d+", line.text))]


def continued(doc) -> list:
    """The pages that open with a table's (repeated) heading row."""
    return [page for page in doc if body(page) and body(page)[0].text in ("Kỳ", "TT") and row_starts(page)]


KIND_NAMES = list(KINDS)


@pytest.mark.parametrize("kind", KIND_NAMES)
class TestOnPaper:
    def test_the_national_title_and_each_agency_name_on_one_line(self, rendered, kind):
        _, _, doc = rendered[kind]
        first = doc[0].texts
        for line in (NATIONAL_TITLE, MOTTO, "UBND TỈNH THÁI NGUYÊN", "SỞ KHOA HỌC VÀ CÔNG NGHỆ"):
            assert line in first, (line, first[:8])

    def test_no_date_is_broken_across_lines(self, rendered, kind):
        _, data, doc = rendered[kind]
        lines = [line for page in doc for line in page.texts]
        assert not [t for t in lines if BROKEN_DATE.search(t)]
        assert len(DATE.findall("\n".join(lines))) == len(DATE.findall(docx_text(data)))

    def test_page_numbers_from_page_two(self, rendered, kind):
        _, _, doc = rendered[kind]
        assert len(doc) > 2
        assert doc[0].running_head() is None
        assert [page.running_head() for page in doc[1:]] == [str(page.number) for page in doc[1:]]

    def test_every_section_heading_is_there(self, rendered, kind):
        draft, _, doc = rendered[kind]
        lines = {line for page in doc for line in page.texts}
        review = draft.summary.startswith(("Sơ kết", "Tổng kết"))
        assert [h for h in headings(review) if h not in lines] == []
        wanted = [squeeze(b.text) for b in draft.blocks if isinstance(b, Para) and b.style in ("heading", "subheading")]
        whole = {squeeze(block.text) for page in doc for block in page.blocks}
        assert [h for h in wanted if h not in whole] == []

    def test_no_heading_is_left_at_the_foot_of_a_page(self, rendered, kind):
        draft, _, doc = rendered[kind]
        titles = {squeeze(b.text) for b in draft.blocks if isinstance(b, Para)
                  and b.style in ("heading", "subheading", "minor")}
        for page in doc[:-1]:
            body = [b for b in page.blocks if b.y0 > 20 * MM]
            last = max(body, key=lambda b: b.y1)
            assert squeeze(last.text) not in titles, (page.number, last.text)
            starts = [t for t in titles if t.startswith(squeeze(last.text))]
            assert not starts, (page.number, last.text)  # nor its first lines

    def test_the_table_heading_on_every_page_a_table_spans(self, rendered, kind):
        _, _, doc = rendered[kind]
        for page in doc:
            starts = row_starts(page)
            if starts:
                heads = [line for line in page.lines if line.text in ("Kỳ", "TT")]
                assert heads and min(h.y0 for h in heads) < starts[0].y0, page.number
        if kind in ("bao-cao", "tong-ket"):
            assert continued(doc)  # a table runs over a page break here

    def test_rows_are_kept_whole(self, rendered, kind):
        """On a page a table continues on, the repeated heading row comes first, then a whole row: nothing of a
        row split at the page break sits above the first row's label."""
        _, _, doc = rendered[kind]
        for page in continued(doc):
            first = row_starts(page)[0]
            above = [line.text for line in body(page) if line.y0 < first.y0 - 1]
            assert above and all(set(t.split()) <= HEADER_WORDS for t in above), (page.number, above)

    def test_full_titles_and_no_working_details(self, rendered, kind):
        _, _, doc = rendered[kind]
        text = "\n".join(line for page in doc for line in page.texts)
        assert "…" not in text and "http" not in text and "Người xác nhận" not in text

    def test_the_signer_block_with_room_for_signature_and_seal(self, rendered, kind):
        _, _, doc = rendered[kind]
        page = doc[-1]
        lines = {line.text: line for line in page.lines}
        assert {"Nơi nhận:", "KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "[Họ và tên người ký]"} <= set(lines)
        assert lines["[Họ và tên người ký]"].y0 - lines["PHÓ GIÁM ĐỐC"].y1 > 25 * MM
        assert "- Lưu: VT, VP." in lines


class TestPreviews:
    """The PNGs of page 1 in docs/ show what the renderer makes now (regenerate: python -m engine.reports.previews)."""

    def test_the_previews_are_those_of_the_current_renderer(self, drafts_of_every_kind):
        recorded = json.loads(FINGERPRINTS.read_text(encoding="utf-8"))
        assert set(recorded) == set(PREVIEWS)
        for kind, png in PREVIEWS.items():
            assert (DOCS / png).is_file(), f"docs/{png} is missing: run {REGENERATE}"
            current = fingerprint(docx_of(drafts_of_every_kind[kind]))
            assert recorded[kind]["docx"] == current, f"docs/{png} is older than the renderer: run {REGENERATE}"

    def test_the_readme_shows_them(self):
        readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
        for png in PREVIEWS.values():
            assert f"(docs/{png})" in readme
        assert REGENERATE in readme
