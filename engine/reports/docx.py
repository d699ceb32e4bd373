"""A draft rendered as DOCX in the layout of Decree 30/2020/NĐ-CP (Phụ lục I), with python-docx.

A4; margins top and bottom 20 mm, left 30 mm, right 15 mm; Times New Roman, body 14 pt; the issuing body and the
national title side by side at the top, each name on the lines a clerk would give it; page numbers centred in the
header from page 2. The layout is decided here from the letters' widths (engine.reports.layout): table columns as
wide as their content needs (a date never breaks), heading rows repeated on each page, rows never split,
headings kept with what follows, the signer's block whole with room for the signature and the seal.
"""

from __future__ import annotations

import re
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
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Length, Mm, Pt
from docx.text.paragraph import Paragraph

from engine.reports.content import MOTTO, NAME_HERE, NATIONAL_TITLE, Draft, Para, Table
from engine.reports.layout import break_name, column_widths, row_wraps
from engine.reports.metrics import width

FONT = "Times New Roman"
BODY_STYLE, CELL_STYLE, HEAD_STYLE = "Kehoach Body", "Kehoach Table", "Kehoach Table Heading"
LEAD_STYLE = "Kehoach Lead"  # body text kept on the page of what follows it
HEADING_STYLES = {"heading": ("Kehoach Heading 1", 0, False), "subheading": ("Kehoach Heading 2", 1, False),
                  "minor": ("Kehoach Heading 3", 2, True)}  # style, outline level, italic
BODY = Pt(14)
PAGE_SIZE = (Mm(210), Mm(297))
MARGINS = {"top": Mm(20), "bottom": Mm(20), "left": Mm(30), "right": Mm(15)}
TEXT_MM = 165.0  # 210 - 30 - 15
TEXT_WIDTH = Mm(TEXT_MM)
# The heading block reaches 10 mm into the left margin and 3 mm into the right one, as official templates do:
# the national title in 13 pt bold needs 96 mm and a department's name about 70 mm.
HEAD_MM, HEAD_INDENT_MM = (78.0, 100.0), -10.0
HEAD_SIZE = 13
SIGN_MM = (78.0, 87.0)  # recipients | signer
SIGN_ROOM = Pt(84)  # between the signer's title and name: the signature and the seal (about 30 mm)
CELL_SIZE, CELL_MARGIN_MM = 12, 1.4
# Elements that follow w:pBdr inside w:pPr (the schema fixes their order).
_AFTER_PBDR = ("w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
               "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid",
               "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
               "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId",
               "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange")
_AFTER_TBLIND = ("w:tblBorders", "w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook", "w:tblCaption",
                 "w:tblDescription")
_AFTER_CELLMAR = ("w:tblLook", "w:tblCaption", "w:tblDescription")


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
    head.paragraph_format.keep_with_next = True  # Word: the heading row stays with the first row
    lead = doc.styles.add_style(LEAD_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    lead.base_style = body
    lead.paragraph_format.keep_with_next = True
    for name, level, italic in HEADING_STYLES.values():
        heading = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        heading.base_style = body
        heading.font.bold = True
        heading.font.italic = italic or None
        heading.paragraph_format.keep_with_next = heading.paragraph_format.keep_together = True
        heading.paragraph_format.space_before = Pt(6)
        outline = OxmlElement("w:outlineLvl")
        outline.set(qn("w:val"), str(level))
        heading.element.get_or_add_pPr().append(outline)  # Word's navigation pane shows the sections


_W_P, _W_R, _W_T, _W_PPR = qn("w:p"), qn("w:r"), qn("w:t"), qn("w:pPr")
_DATE = re.compile(r"^\d{2}/\d{2}/\d{4}$")
GRID_STYLE = "TableGrid"  # the id of the "Table Grid" style of python-docx's default template


def _id(style_name: str) -> str:
    return style_name.replace(" ", "")  # how python-docx names the id of a style it adds


# The styles a draft refers to (page headers take "Header"); the default styles, and those the template's
# other parts refer to (its list numbering), are kept too.
_USED_STYLES = (_id(BODY_STYLE), _id(CELL_STYLE), _id(HEAD_STYLE), _id(LEAD_STYLE),
                *(_id(name) for name, _, _ in HEADING_STYLES.values()), GRID_STYLE, "Header")
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
               align: Any = WD_ALIGN_PARAGRAPH.CENTER, before: int = 0, highlight: bool = False) -> Any:
    p = container.add_paragraph()
    p.alignment = align
    p.paragraph_format.space_before = Pt(before)
    p.paragraph_format.first_line_indent = 0
    if text:
        run = _run(p, text)
        run.font.size, run.bold, run.italic = size, bold or None, italic or None
        if highlight:
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW
    return p


def _rule(container: Any, length: float, room: float) -> None:
    """A centred horizontal line `length` mm long in `room` mm (the bottom border of an empty paragraph,
    narrowed by indents), as Decree 30 draws under the issuing body, the motto and the summary."""
    p = _paragraph(container, size=Pt(2))
    side = Mm(max((room - length) / 2, 0))
    p.paragraph_format.left_indent = p.paragraph_format.right_indent = side
    p.paragraph_format.line_spacing = Pt(2)
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "auto")):
        bottom.set(qn(key), value)
    border.append(bottom)
    p._p.get_or_add_pPr().insert_element_before(border, *_AFTER_PBDR)


def _twips(mm: float) -> str:
    return str(round(mm / 25.4 * 1440))


def _sized_table(container: Any, rows: int, widths: list[float], *, indent: float = 0.0,
                 cell_margin: float = 0.0) -> Any:
    """A table with fixed column widths in mm (set on the grid, read by LibreOffice, and on each cell, read by
    Word), its left edge `indent` mm from the margin, `cell_margin` mm of room left and right in each cell."""
    table = container.add_table(rows=rows, cols=len(widths))
    table.autofit = False
    for column, w in zip(table.columns, widths):
        column.width = Mm(w)
    for row in table.rows:
        for cell, w in zip(row.cells, widths):
            cell.width = Mm(w)
    tblPr = table._tbl.tblPr
    if indent:
        ind = OxmlElement("w:tblInd", {qn("w:w"): _twips(indent), qn("w:type"): "dxa"})
        tblPr.insert_element_before(ind, *_AFTER_TBLIND)
    margins = OxmlElement("w:tblCellMar")
    for side in ("w:left", "w:right"):
        margins.append(OxmlElement(side, {qn("w:w"): _twips(cell_margin), qn("w:type"): "dxa"}))
    tblPr.insert_element_before(margins, *_AFTER_CELLMAR)
    return table


def _emptied(cell: Any) -> Any:
    """A cell without the empty paragraph it starts with (its text is added after)."""
    cell._tc.remove(cell.paragraphs[0]._p)
    return cell


def _lines(container: Any, text: str, room: float, size: int, bold: bool = False) -> float:
    """`text` on the lines a clerk would break it into (one paragraph each); returns the widest line's width."""
    lines = break_name(text, room, size, bold)
    for line in lines:
        _paragraph(container, line, size=Pt(size), bold=bold)
    return max(width(line, size, bold) for line in lines)


def _heading(doc: Any, draft: Draft) -> None:
    left_mm, right_mm = HEAD_MM
    table = _sized_table(doc, 2, list(HEAD_MM), indent=HEAD_INDENT_MM)
    (left, right), (number, place) = ([_emptied(c) for c in r.cells] for r in table.rows)
    if draft.parent:
        _lines(left, draft.parent.upper(), left_mm, HEAD_SIZE)
    widest = _lines(left, draft.issuer.upper(), left_mm, HEAD_SIZE, bold=True)
    _rule(left, widest * 0.4, left_mm)  # 1/3 to 1/2 of the name's length
    _paragraph(right, NATIONAL_TITLE, size=Pt(HEAD_SIZE), bold=True)
    _paragraph(right, MOTTO, size=Pt(14), bold=True)
    _rule(right, width(MOTTO, 14, bold=True), right_mm)  # as long as the motto
    _paragraph(number, draft.number, size=Pt(13), before=6)
    _paragraph(place, draft.place_date, size=Pt(14), italic=True, before=6)


def _title(doc: Any, draft: Draft) -> None:
    _paragraph(doc, draft.doc_type, bold=True, before=18)
    _paragraph(doc, draft.summary, bold=True)
    _rule(doc, min(width(draft.summary, 14, bold=True), TEXT_MM) * 0.4, TEXT_MM)
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
    """Give a new, unstyled paragraph a style by id: python-docx's setter looks the style up among all styles on
    every call, and places the element by searching its schema successors - most of the time of a table."""
    p = paragraph._p
    pPr = p.find(_W_PPR)
    if pPr is None:
        pPr = OxmlElement("w:pPr")
        p.insert(0, pPr)
    pPr.insert(0, OxmlElement("w:pStyle", {qn("w:val"): style_id}))  # the first child of w:pPr
    return paragraph


@cache
def _styled_p(style_id: str) -> Any:
    return parse_xml(f'<w:p {nsdecls("w")}><w:pPr><w:pStyle w:val="{style_id}"/></w:pPr></w:p>')


def _body_paragraph(doc: Any, style_id: str) -> Paragraph:
    """A new paragraph of the body in a style, made from a copy (`doc.add_paragraph()` looks for the section
    properties among all the body's paragraphs each time, and the style setter for the paragraph properties)."""
    p = deepcopy(_styled_p(style_id))
    doc.element.body.sectPr.addprevious(p)
    return Paragraph(p, doc._body)


def _body(doc: Any, p: Para) -> None:
    if p.style in HEADING_STYLES:
        _run(_body_paragraph(doc, _id(HEADING_STYLES[p.style][0])), p.text)
        return
    run = _run(_body_paragraph(doc, _id(LEAD_STYLE if p.style == "lead" else BODY_STYLE)), p.text)
    if p.style == "fill":
        run.italic = True
        run.font.highlight_color = WD_COLOR_INDEX.YELLOW


def _row_properties(tr: Any, heading: bool = False) -> None:
    """A row never split across pages; the heading row repeated at the top of each page."""
    trPr = tr.get_or_add_trPr()
    trPr.append(OxmlElement("w:cantSplit"))
    if heading:
        trPr.append(OxmlElement("w:tblHeader"))


def _table(doc: Any, t: Table) -> None:
    """A result table: a heading row, then one row per entry, each copied from a prototype row that already
    carries the column widths, the cell style and a run to hold the text (python-docx would otherwise insert
    them, cell by cell, at their schema places - most of the time a draft takes).

    Rows of several lines are marked never to split across pages. A row of one line cannot split anyway, and
    LibreOffice (7.4) loses the rest of a table that breaks below such a row when it is marked: so it is not.
    """
    widths = column_widths([t.headers, *t.rows], TEXT_MM, CELL_SIZE, 2 * CELL_MARGIN_MM, nowrap=t.nowrap)
    table = _sized_table(doc, 2, widths, cell_margin=CELL_MARGIN_MM)
    table._tbl.tblStyle_val = GRID_STYLE  # by id: python-docx's setter compares it with the default style
    head, proto = table.rows
    _row_properties(head._tr, heading=True)
    for cell, value in zip(head.cells, t.headers):
        _run(_styled(cell.paragraphs[0], _id(HEAD_STYLE)), value)
    for cell in proto.cells:
        _run(_styled(cell.paragraphs[0], _id(CELL_STYLE)), " ")  # kept spaces: a value may start with one
    prototype = proto._tr
    for values in t.rows:
        tr = deepcopy(prototype)
        prototype.addprevious(tr)
        if row_wraps(values, widths, CELL_SIZE, 2 * CELL_MARGIN_MM):
            _row_properties(tr)
        for tc, value in zip(tr.tc_lst, values):
            _cell_text(tc.find(_W_P), value)
    table._tbl.remove(prototype)


def _cell_text(p: Any, value: str) -> None:
    """Fill a copied prototype cell's paragraph (style and run already there): counts centred, the text in the
    run's `w:t`; text with tabs or line breaks, or none, goes through python-docx."""
    if len(value) <= 3 or _DATE.match(value):  # counts, dates; pPr holds only the style, so jc goes last
        p.pPr.append(OxmlElement("w:jc", {qn("w:val"): "center"}))
    run = p.find(_W_R)
    if value and _plain(value):
        run.find(_W_T).text = value
        return
    p.remove(run)
    if value:
        Paragraph(p, None).add_run(value)


def _signature(doc: Any, draft: Draft) -> None:
    """Recipients on the left; on the right the signer's authority and title, room for the signature and the
    seal, the name (or a marked place for it). One row that never splits: the block stays on one page."""
    _paragraph(doc).paragraph_format.keep_with_next = True
    table = _sized_table(doc, 1, list(SIGN_MM))
    _row_properties(table.rows[0]._tr)
    receivers, signer = (_emptied(c) for c in table.rows[0].cells)
    _paragraph(receivers, "Nơi nhận:", size=Pt(12), bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    for r in draft.receivers:
        _paragraph(receivers, f"- {r}", size=Pt(11), align=WD_ALIGN_PARAGRAPH.LEFT)
    for line in draft.signer:
        _paragraph(signer, line, bold=True)
    if draft.signer_name:
        name = _paragraph(signer, draft.signer_name, bold=True)
    else:
        name = _paragraph(signer, NAME_HERE, italic=True, highlight=True)
    name.paragraph_format.space_before = SIGN_ROOM


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
    # The digest in the document's properties, which hold at most 255 characters.
    props.last_modified_by = "kehoach"
    props.comments = draft.digest if len(draft.digest) <= 255 else draft.digest[:254].rsplit(" ", 1)[0] + "…"
    if drafted_on is not None:
        props.created = props.modified = datetime.combine(drafted_on, time())
    buf = BytesIO()
    doc.save(buf)
    return buf.getvalue()
