"""The year-end report as the bloc's Party Committee issues it: a Word document (python-docx)
laid out by Hướng dẫn 36-HD/VPTW (2018) — A4, heading block, BÁO CÁO, body, Nơi nhận, signature."""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from reporting.narrative import DRAFT_MARK, draft_note
from reporting.periods import LOCAL_TZ
from reporting.programme import Programme
from reporting.vn_format import vn_number, vn_percent

FONT = "Times New Roman"
# Hướng dẫn 36-HD/VPTW: top and bottom 20–25 mm, left 30–35 mm, right 15–20 mm.
MARGINS_MM = {"top": 20, "bottom": 20, "left": 30, "right": 15}
BODY_PT = 14
TABLE_PT = 12
RED = RGBColor(0xC0, 0x00, 0x00)
HEADLINE_TABLE_HEADERS = ("STT", "Chỉ tiêu", "Đơn vị tính", "Thực hiện năm", "Kế hoạch", "% kế hoạch")


class PublicationMissing(ValueError):
    """The programme file has no [publication] section, so no document can be signed."""


@dataclass(frozen=True)
class DocumentContent:
    """Everything the document prints, already decided."""

    headline: list[dict[str, Any]]
    paragraphs: list[str]
    chart_png: bytes | None
    published_at: dt.datetime
    version: int
    changes: list[str]
    units_count: int
    workbook_name: str
    # The date on the document (p135 publish --date, else the day it was made).
    dated: dt.date | None = None


def date_line(place: str, when: dt.date) -> str:
    """'Bình Định, ngày 05 tháng 01 năm 2024' (days and months under 10, and January and
    February, keep their leading zero, as the guide writes them)."""
    month = f"{when.month:02d}" if when.month <= 2 else str(when.month)
    return f"{place}, ngày {when.day:02d} tháng {month} năm {when.year}"


def _fonts(run, size: int | None = None, bold: bool | None = None, italic: bool | None = None,
           underline: bool | None = None) -> None:
    run.font.name = FONT
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    if size:
        run.font.size = Pt(size)
    if bold is not None:
        run.bold = bold
    if italic is not None:
        run.italic = italic
    if underline is not None:
        run.underline = underline


def _paragraph(container, text: str = "", *, size: int = BODY_PT, bold: bool = False, italic: bool = False,
               underline: bool = False, align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent_mm: float | None = None,
               after: float = 6, color: RGBColor | None = None):
    p = container.add_paragraph()
    p.alignment = align
    fmt = p.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(after)
    if indent_mm is not None:
        fmt.first_line_indent = Mm(indent_mm)
    if text:
        run = p.add_run(text)
        _fonts(run, size, bold, italic, underline)
        if color is not None:
            run.font.color.rgb = color
    return p


def _no_borders(table) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.append(borders)


def recipient_lines(recipients: list[str]) -> list[str]:
    """"Nơi nhận" as Hướng dẫn 36-HD/VPTW writes it: each line a dash, a comma after each, a full stop
    after the last (a line the office ended with its own punctuation is left as written)."""
    return [f"- {r}" if r.rstrip()[-1:] in ",.;:" else f"- {r}{'.' if n == len(recipients) - 1 else ','}"
            for n, r in enumerate(recipients)]


def _row_kept_whole(row) -> None:
    """The row never breaks across pages (w:cantSplit)."""
    row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))


def _widths(table, widths_mm: list[float]) -> None:
    """Widths in the grid (what LibreOffice reads) and in every cell (what Word reads)."""
    table.autofit = False
    for column, width in zip(table.columns, widths_mm):
        column.width = Mm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm):
            cell.width = Mm(width)


def _cell_text(cell, lines: list[tuple[str, dict]], align=WD_ALIGN_PARAGRAPH.CENTER) -> None:
    cell.paragraphs[0]._element.getparent().remove(cell.paragraphs[0]._element)
    for text, style in lines:
        _paragraph(cell, text, align=style.pop("align", align), after=style.pop("after", 0), **style)


def _page_number_header(section) -> None:
    """Page numbers at the top centre from page 2 on, as the guide places them."""
    section.different_first_page_header_footer = True
    p = section.header.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run()
    _fonts(run, 13)
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._element.append(element)


def _draft_footer(section, text: str) -> None:
    """The draft mark at the foot of every page: a page printed on its own still says it is no issued report."""
    for footer in (section.first_page_footer, section.footer):
        p = footer.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run(text)
        _fonts(run, 11, True, True)
        run.font.color.rgb = RED


def _headline_table(doc, programme: Programme, rows: list[dict[str, Any]]) -> None:
    table = doc.add_table(rows=1, cols=len(HEADLINE_TABLE_HEADERS))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    headers = list(HEADLINE_TABLE_HEADERS)
    headers[3] = f"Năm {programme.year}"
    for cell, text in zip(table.rows[0].cells, headers):
        _cell_text(cell, [(text, {"size": TABLE_PT, "bold": True})])
    # The header row repeats on the next page; no row is split between two pages.
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    table.rows[0]._tr.get_or_add_trPr().append(header)
    for n, r in enumerate(rows, start=1):
        decimals = int(r["display_decimals"])
        values = [
            str(n), r["label_vi"], r["display_unit_vi"], vn_number(_f(r["value"]), decimals),
            vn_number(_f(r["plan"]), decimals), vn_percent(_f(r["pct_of_plan"])),
        ]
        added = table.add_row()
        added._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
        cells = added.cells
        for col, (cell, text) in enumerate(zip(cells, values)):
            align = WD_ALIGN_PARAGRAPH.LEFT if col == 1 else WD_ALIGN_PARAGRAPH.RIGHT if col >= 3 else WD_ALIGN_PARAGRAPH.CENTER
            _cell_text(cell, [(text, {"size": TABLE_PT, "align": align})])
    _widths(table, [12, 68, 25, 22, 22, 16])
    # The table stays whole on one page (a few rows): every row but the last keeps with the next.
    for row in table.rows[:-1]:
        for cell in row.cells:
            for paragraph in cell.paragraphs:
                paragraph.paragraph_format.keep_with_next = True


def _f(value) -> float | None:
    if value is None:
        return None
    v = float(value)
    return None if v != v else v


def build_document(
    programme: Programme, content: DocumentContent, *, quarters_not_approved: tuple[int, ...] = (),
):
    """The report as a python-docx Document; a draft says DỰ THẢO and names the quarters not approved."""
    pub = programme.publication
    if pub is None:
        raise PublicationMissing(programme.code)
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
    section.left_margin, section.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    _vietnamese(doc)
    _page_number_header(section)

    local_date = content.dated or content.published_at.astimezone(LOCAL_TZ).date()
    draft = draft_note(programme.year, quarters_not_approved)
    # A number is given when the report is issued: a draft leaves it blank ("Số    -BC/ĐUK").
    number = re.sub(r"^\d+", "    ", pub.document_number) if draft else pub.document_number
    if draft:
        _draft_footer(section, f"{DRAFT_MARK} – {draft}")
    heading = doc.add_table(rows=1, cols=2)
    _no_borders(heading)
    left, right = heading.rows[0].cells
    _cell_text(left, [
        (pub.issuer_parent.upper(), {"size": BODY_PT}),
        (pub.issuer.upper(), {"size": BODY_PT, "bold": True}),
        ("*", {"size": BODY_PT}),
        (f"Số {number}", {"size": BODY_PT}),
    ])
    _cell_text(right, [
        ("ĐẢNG CỘNG SẢN VIỆT NAM", {"size": 15, "bold": True, "underline": True, "after": 6}),
        (date_line(pub.place, local_date), {"size": BODY_PT, "italic": True}),
    ])
    _widths(heading, [80, 85])

    _paragraph(doc, "", after=6)
    if draft:
        _paragraph(doc, DRAFT_MARK, size=BODY_PT, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0, color=RED)
    _paragraph(doc, "BÁO CÁO", size=16, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    # A no-break space: the year never wraps onto a line of its own.
    subject = f"kết quả thực hiện {programme.title_vi} năm\u00a0{programme.year}"
    _paragraph(doc, subject[:1].upper() + subject[1:], size=BODY_PT, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    if draft:
        _paragraph(doc, f"({draft})", size=13, italic=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0, color=RED)
    _paragraph(doc, "-----", align=WD_ALIGN_PARAGRAPH.CENTER, after=12)

    for text in content.paragraphs:
        _paragraph(doc, text, indent_mm=12.7)
    _paragraph(doc, f"Kết quả chủ yếu năm {programme.year}:", bold=True, indent_mm=12.7).paragraph_format.keep_with_next = True
    _headline_table(doc, programme, content.headline)
    if content.chart_png:
        picture = _paragraph(doc, "", align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
        picture.paragraph_format.space_before = Pt(8)
        picture.add_run().add_picture(io.BytesIO(content.chart_png), width=Mm(160))
    for n, line in enumerate(content.changes):
        _paragraph(doc, line, bold=n == 0, indent_mm=12.7, after=2)
    closing = _paragraph(
        doc,
        f"Trên đây là báo cáo kết quả thực hiện {programme.title_vi} năm {programme.year} "
        f"của {programme.organisation_vi}.",
        indent_mm=12.7,
    )
    # An issued report names its annex as a Party document does; a draft, the file to check it against.
    annex = (f"chi tiết theo đơn vị tại tệp {content.workbook_name} (phiên bản {content.version})" if draft
             else "chi tiết theo đơn vị tại phụ lục số liệu kèm theo")
    source = _paragraph(
        doc,
        f"Số liệu tổng hợp từ báo cáo quý của {content.units_count} tổ chức cơ sở đảng; {annex}.",
        size=12, italic=True, indent_mm=12.7, after=12,
    )
    # The closing lines go to the signature's page: a page holding only a name cannot be signed.
    closing.paragraph_format.keep_with_next = source.paragraph_format.keep_with_next = True

    signature = doc.add_table(rows=1, cols=2)
    _no_borders(signature)
    _row_kept_whole(signature.rows[0])
    left, right = signature.rows[0].cells
    _cell_text(left, [("Nơi nhận:", {"size": 12, "bold": True, "italic": True, "underline": True})]
               + [(line, {"size": 11}) for line in recipient_lines(pub.recipients)], align=WD_ALIGN_PARAGRAPH.LEFT)
    _cell_text(right, [
        (pub.signer_on_behalf.upper(), {"size": BODY_PT, "bold": True}),
        (pub.signer_title.upper(), {"size": BODY_PT, "bold": True, "after": 60}),
        (pub.signer_name, {"size": BODY_PT, "bold": True}),
    ])
    _widths(signature, [80, 85])

    props = doc.core_properties
    props.title = f"Báo cáo kết quả thực hiện {programme.code}" + (f" ({DRAFT_MARK})" if draft else "")
    props.author = pub.issuer
    props.created = props.modified = content.published_at.astimezone(dt.timezone.utc).replace(tzinfo=None)
    props.last_modified_by = "p135"
    props.revision = content.version
    props.comments = f"Phiên bản {content.version}"
    props.language = LANGUAGE
    _application_properties(doc, pub.issuer)
    return doc


APP_PROPERTIES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>p135</Application><Company>{company}</Company><DocSecurity>0</DocSecurity>"
    "<ScaleCrop>false</ScaleCrop><LinksUpToDate>false</LinksUpToDate><SharedDoc>false</SharedDoc>"
    "<HyperlinksChanged>false</HyperlinksChanged></Properties>"
)


def _application_properties(doc, company: str) -> None:
    """Replace the template's docProps/app.xml, which names "Microsoft Macintosh Word" and a one-page,
    empty document, with what is true: written by p135, for the issuing committee. Word and
    LibreOffice show these in the file's properties, and recount pages and words themselves."""
    for part in doc.part.package.iter_parts():
        if str(part.partname) == "/docProps/app.xml":
            part._blob = APP_PROPERTIES.format(company=escape(company)).encode("utf-8")


# The text's language: Word checks the spelling of Vietnamese text marked as English as misspelt.
LANGUAGE = "vi-VN"


def _vietnamese(doc) -> None:
    """Mark the document's text as Vietnamese: the default of every run, and the theme fonts' language."""
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    r_pr = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}") if defaults is not None else None
    if r_pr is not None:
        lang = r_pr.find(qn("w:lang"))
        if lang is None:
            lang = OxmlElement("w:lang")
            r_pr.append(lang)
        lang.set(qn("w:val"), LANGUAGE)
    theme = doc.settings.element.find(qn("w:themeFontLang"))
    if theme is not None:
        theme.set(qn("w:val"), LANGUAGE)


def save_document(doc, path: Path) -> Path:
    """Write beside the target and rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    doc.save(str(tmp))
    tmp.replace(path)
    return path
