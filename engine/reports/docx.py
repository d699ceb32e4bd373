"""A draft rendered as DOCX in the layout of Decree 30/2020/NĐ-CP (Phụ lục I), with python-docx.

A4; margins top and bottom 20 mm, left 30 mm, right 15 mm; Times New Roman, body 14 pt; the issuing body and the
national title side by side at the top; page numbers centred in the header from page 2.
"""

from __future__ import annotations

from copy import deepcopy
from datetime import date, datetime, time
from functools import cache
from io import BytesIO
from typing import Any

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.part import XmlPart
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Length, Mm, Pt
from docx.text.paragraph import Paragraph

from engine.reports.content import SIGN_HERE, Draft, Para, Table

FONT = "Times New Roman"
BODY_STYLE, CELL_STYLE, HEAD_STYLE = "Kehoach Body", "Kehoach Table", "Kehoach Table Heading"
BODY = Pt(14)
PAGE_SIZE = (Mm(210), Mm(297))
MARGINS = {"top": Mm(20), "bottom": Mm(20), "left": Mm(30), "right": Mm(15)}
TEXT_WIDTH = Mm(165)  # 210 - 30 - 15
HEAD_COLUMNS = (Mm(68), Mm(97))  # issuing body | national title
SIGN_COLUMNS = (Mm(80), Mm(85))  # recipients | signer
NATIONAL_TITLE = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
# Relative column widths of the two kinds of tables a draft holds (by their column count).
TABLE_WIDTHS = {8: (9, 52, 30, 15, 15, 14, 15, 15), 6: (22, 23, 34, 23, 26, 37)}
# Elements that follow w:pBdr inside w:pPr (the schema fixes their order).
_AFTER_PBDR = ("w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
               "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid",
               "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
               "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId",
               "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange")


def _setup(doc: Any) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = PAGE_SIZE
    for side, length in MARGINS.items():
        setattr(section, f"{side}_margin", length)
    section.header_distance = Mm(10)
    style = doc.styles["Normal"]
    style.font.name = FONT
    style.font.size = BODY
    fonts = style.element.rPr.rFonts
    for attr in ("w:eastAsia", "w:cs"):  # Vietnamese letters must not fall back to a theme font anywhere
        fonts.set(qn(attr), FONT)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "vi-VN")
    style.element.rPr.append(lang)
    fmt = style.paragraph_format
    fmt.space_before, fmt.space_after, fmt.line_spacing = Pt(6), Pt(0), 1.15
    # Styles rather than direct formatting: a draft has hundreds of table cells, and the official can restyle them.
    body = doc.styles.add_style(BODY_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    body.base_style = style
    body.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    body.paragraph_format.first_line_indent = Cm(1.27)
    cell = doc.styles.add_style(CELL_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    cell.base_style = style
    cell.font.size = Pt(12)
    cell.paragraph_format.space_before = Pt(2)
    head = doc.styles.add_style(HEAD_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    head.base_style = cell
    head.font.bold = True
    head.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER


_W_P, _W_R, _W_T = qn("w:p"), qn("w:r"), qn("w:t")
GRID_STYLE = "TableGrid"  # the id of the "Table Grid" style of python-docx's default template


def _id(style_name: str) -> str:
    return style_name.replace(" ", "")  # how python-docx names the id of a style it adds


# The styles a draft refers to (page headers take "Header"); the default styles, and those the template's
# other parts refer to (its list numbering), are kept too.
_USED_STYLES = (_id(BODY_STYLE), _id(CELL_STYLE), _id(HEAD_STYLE), GRID_STYLE, "Header")
_STYLE_REFS = ("w:pStyle", "w:rStyle", "w:tblStyle", "w:numStyleLink", "w:styleLink")
_WORD_2010_STYLES = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"


@cache
def _template() -> bytes:
    """python-docx's default document set up for Decree 30 (`_setup`), without what a draft never uses.

    That template carries 167 styles (350 KB of XML, and 438 KB more in Word 2010's copy of them,
    `stylesWithEffects.xml`) and a thumbnail. Reading and writing them was a quarter of the time a draft took
    (10 ms of ~45), and every style lookup scanned them. A draft keeps the styles it refers to and what those
    are based on; Word and LibreOffice still offer their built-in styles (the latent styles stay). Made once
    per process.
    """
    doc = Document()
    _setup(doc)
    styles = doc.styles.element
    others = [p.element for p in doc.part.package.iter_parts() if isinstance(p, XmlPart) and p.element is not styles]
    referred = {ref.get(qn("w:val")) for element in others for ref in element.iter(*map(qn, _STYLE_REFS))}
    _prune_styles(styles, {*_USED_STYLES, *referred})
    for rId, rel in list(doc.part.rels.items()):
        if rel.reltype == _WORD_2010_STYLES:
            doc.part.drop_rel(rId)
    package_rels = doc.part.package.rels
    for rId, rel in list(package_rels.items()):
        if rel.reltype == RT.THUMBNAIL:
            del package_rels[rId]
    buf = BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _prune_styles(styles: Any, used: set[str]) -> None:
    """Remove every style but the defaults, `used`, and the styles they are based on, linked to or followed
    by."""
    by_id = {s.get(qn("w:styleId")): s for s in styles.findall(qn("w:style"))}
    todo = [i for i, s in by_id.items() if s.get(qn("w:default")) == "1"] + list(used)
    keep: set[str] = set()
    while todo:
        style_id = todo.pop()
        if style_id in keep or style_id not in by_id:
            continue
        keep.add(style_id)
        for tag in ("w:basedOn", "w:link", "w:next"):
            ref = by_id[style_id].find(qn(tag))
            if ref is not None:
                todo.append(ref.get(qn("w:val")))
    for style_id, style in by_id.items():
        if style_id not in keep:
            styles.remove(style)


def _paragraph(container: Any, text: str = "", *, size: Length = BODY, bold: bool = False, italic: bool = False,
               underline: bool = False, align: Any = WD_ALIGN_PARAGRAPH.CENTER, before: int = 0) -> Any:
    p = container.add_paragraph()
    p.alignment = align
    p.paragraph_format.space_before = Pt(before)
    p.paragraph_format.first_line_indent = 0
    if text:
        run = _run(p, text)
        run.font.size, run.bold, run.italic, run.underline = size, bold or None, italic or None, underline or None
    return p


def _rule(container: Any, width: Length, total: Length) -> None:
    """A short centred horizontal line (the paragraph's bottom border, narrowed by indents)."""
    p = _paragraph(container, size=Pt(2))
    side = max(int((total - width) / 2), 0)
    p.paragraph_format.left_indent = p.paragraph_format.right_indent = Length(side)
    p.paragraph_format.line_spacing = Pt(2)
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "auto")):
        bottom.set(qn(key), value)
    border.append(bottom)
    p._p.get_or_add_pPr().insert_element_before(border, *_AFTER_PBDR)


def _sized_table(container: Any, rows: int, widths: tuple[Length, ...] | list[Length], style: str | None = None) -> Any:
    """A table with fixed column widths (set on the grid, read by LibreOffice, and on each cell, read by Word)."""
    table = container.add_table(rows=rows, cols=len(widths), style=style)
    table.autofit = False
    for column, width in zip(table.columns, widths):
        column.width = width
    for row in table.rows:
        for cell, width in zip(row.cells, widths):
            cell.width = width
    return table


def _emptied(cell: Any) -> Any:
    """A cell without the empty paragraph it starts with (its text is added after)."""
    cell._tc.remove(cell.paragraphs[0]._p)
    return cell


def _heading(doc: Any, draft: Draft) -> None:
    table = _sized_table(doc, 2, HEAD_COLUMNS)
    (left, right), (number, place) = ([_emptied(c) for c in r.cells] for r in table.rows)
    if draft.parent:
        _paragraph(left, draft.parent.upper(), size=Pt(13))
    _paragraph(left, draft.issuer.upper(), size=Pt(13), bold=True)
    _rule(left, Mm(24), HEAD_COLUMNS[0])
    _paragraph(right, NATIONAL_TITLE, size=Pt(13), bold=True)
    _paragraph(right, MOTTO, size=Pt(14), bold=True, underline=True)
    _paragraph(number, draft.number, size=Pt(13), before=6)
    _paragraph(place, draft.place_date, size=Pt(14), italic=True, before=6)


def _title(doc: Any, draft: Draft) -> None:
    _paragraph(doc, draft.doc_type, bold=True, before=18)
    _paragraph(doc, draft.summary, bold=True)
    _rule(doc, Mm(55), TEXT_WIDTH)
    if draft.addressee:
        _paragraph(doc, draft.addressee, before=12)


def _plain(text: str) -> bool:
    """Text that goes in one `w:t` as it is: no tab or line break (python-docx makes those elements)."""
    return not ("\t" in text or "\n" in text or "\r" in text)


def _run(paragraph: Any, text: str) -> Any:
    """`paragraph.add_run(text)` without python-docx reading the text one character at a time, looking for
    tabs and line breaks (text that has them still goes through it)."""
    if not _plain(text):
        return paragraph.add_run(text)
    run = paragraph.add_run()
    if text:
        run._r.add_t(text)
    return run


def _styled(paragraph: Any, style_id: str) -> Any:
    """Set a paragraph's style by id: python-docx's setter looks the style up among all styles on every call,
    which made a draft with a few hundred table cells take most of a second."""
    paragraph._p.style = style_id
    return paragraph


def _body(doc: Any, p: Para) -> None:
    run = _run(_styled(doc.add_paragraph(), _id(BODY_STYLE)), p.text)
    if p.style in ("heading", "subheading"):
        run.bold = True
    elif p.style == "minor":
        run.bold = run.italic = True
    elif p.style == "fill":
        run.italic = True
        run.font.highlight_color = WD_COLOR_INDEX.YELLOW


def _table(doc: Any, t: Table) -> None:
    """A result table: a heading row, then one row per entry, each copied from a prototype row that already
    carries the column widths, the cell style and a run to hold the text (python-docx would otherwise insert
    them, cell by cell, at their schema places - most of the time a draft takes)."""
    weights = TABLE_WIDTHS.get(len(t.headers), (1,) * len(t.headers))
    widths = [Length(int(TEXT_WIDTH * w / sum(weights))) for w in weights]
    table = _sized_table(doc, 2, widths)
    table._tbl.tblStyle_val = GRID_STYLE  # by id: python-docx's setter compares it with the default style
    head, proto = table.rows
    for cell, value in zip(head.cells, t.headers):
        _run(_styled(cell.paragraphs[0], _id(HEAD_STYLE)), value)
    for cell in proto.cells:
        _run(_styled(cell.paragraphs[0], _id(CELL_STYLE)), " ")  # kept spaces: a value may start with one
    prototype = proto._tr
    for values in t.rows:
        tr = deepcopy(prototype)
        prototype.addprevious(tr)
        for tc, value in zip(tr.tc_lst, values):
            _cell_text(tc.find(_W_P), value)
    table._tbl.remove(prototype)


def _cell_text(p: Any, value: str) -> None:
    """Fill a copied prototype cell's paragraph (style and run already there): counts centred, the text in the
    run's `w:t`; text with tabs or line breaks, or none, goes through python-docx."""
    if len(value) <= 3:  # counts and numbers; the paragraph properties hold only the style, so jc goes last
        p.pPr.append(OxmlElement("w:jc", {qn("w:val"): "center"}))
    run = p.find(_W_R)
    if value and _plain(value):
        run.find(_W_T).text = value
        return
    p.remove(run)
    if value:
        Paragraph(p, None).add_run(value)


def _signature(doc: Any, draft: Draft) -> None:
    _paragraph(doc)
    table = _sized_table(doc, 1, SIGN_COLUMNS)
    receivers, signer = (_emptied(c) for c in table.rows[0].cells)
    _paragraph(receivers, "Nơi nhận:", size=Pt(12), bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    for r in draft.receivers:
        _paragraph(receivers, f"- {r}", size=Pt(11), align=WD_ALIGN_PARAGRAPH.LEFT)
    _paragraph(signer, draft.signer_title, bold=True)
    if draft.signer_name:
        for _ in range(4):
            _paragraph(signer)
        _paragraph(signer, draft.signer_name, bold=True)
    else:
        _paragraph(signer, SIGN_HERE, italic=True)


def _field(paragraph: Any, instruction: str, shown: str) -> None:
    """A Word field (e.g. PAGE): begin, instruction, separate, the last shown value, end."""
    def fld(kind: str) -> None:
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        paragraph.add_run()._r.append(el)

    fld("begin")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    paragraph.add_run()._r.append(instr)
    fld("separate")
    paragraph.add_run(shown)
    fld("end")


def _page_numbers(section: Any) -> None:
    """Page numbers centred at the top, from page 2: the first page gets its own, empty, header."""
    section.different_first_page_header_footer = True
    section.first_page_header.is_linked_to_previous = False
    p = section.header.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _field(p, "PAGE", "2")


def render(draft: Draft, drafted_on: date | None = None) -> bytes:
    """The DOCX bytes of a draft."""
    doc = Document(BytesIO(_template()))
    _heading(doc, draft)
    _title(doc, draft)
    for block in draft.blocks:
        if isinstance(block, Table):
            _table(doc, block)
        else:
            _body(doc, block)
    _signature(doc, draft)
    _page_numbers(doc.sections[0])
    props = doc.core_properties
    props.title, props.author, props.language = f"{draft.doc_type} {draft.summary}", draft.issuer, "vi-VN"
    props.last_modified_by, props.comments = "kehoach", draft.digest
    if drafted_on is not None:
        props.created = props.modified = datetime.combine(drafted_on, time())
    buf = BytesIO()
    doc.save(buf)
    return buf.getvalue()
