"""The year-end publication as the Party Committee receives it: the document, its PDF, the data
workbook, versions and provenance, each read back the way a person or an analyst would."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import text
from typer.testing import CliRunner

from flows.cli import app
from flows.collect import collect_quarter
from flows.publish import publish_year
from reporting import layout as L
from reporting.programme import programme_for_year
from reporting.vn_format import number_readings
from tasks import report as R
from tasks.report_document import MARGINS_MM
from tests.test_golden import check_golden, year_end_2023
from warehouse.explain import CSV_COLUMNS, explain, headline_codes
from warehouse.locks import publish_lock
from warehouse.publications import count_publications, latest_publication

SOFFICE_ENV = "P135_TEST_SOFFICE"
REPORTS = "reports"


def vn(textual: str) -> float:
    """A number as a Vietnamese reader writes it ('9.899,4' is 9899.4)."""
    readings = number_readings(textual.strip())
    assert readings, f"not a number: {textual!r}"
    return readings[0]


def docx_text(path: Path) -> tuple[list[str], list[list[list[str]]]]:
    doc = Document(str(path))
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in doc.tables]
    return [p.text for p in doc.paragraphs], tables


def headline_from_table(rows: list[list[str]], codes: list[str]) -> dict[str, tuple]:
    """The document's headline table (STT, label, unit, value, plan, %) keyed by metric code."""
    out = {}
    for code, row in zip(codes, rows[1:]):
        value, plan, pct = row[3], row[4], row[5]
        out[code] = (vn(value), vn(plan) if plan else None, vn(pct.rstrip("%")) if pct else None)
    return out


@pytest.fixture(scope="module")
def soffice() -> str:
    path = os.environ.get(SOFFICE_ENV)
    if not path:
        pytest.skip(f"{SOFFICE_ENV} is not set: LibreOffice conversions skipped")
    return path


# -- the document -------------------------------------------------------------------------------

def test_the_document_is_laid_out_as_the_party_issues_it(demo):
    reports = demo.warehouse.data_dir / REPORTS
    assert demo.result["document"] == str(reports / "bao-cao-ctr135-2023.docx")
    doc = Document(demo.result["document"])
    section = doc.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert [round(getattr(section, f"{side}_margin").mm) for side in MARGINS_MM] == list(MARGINS_MM.values())
    assert doc.styles["Normal"].font.name == "Times New Roman"

    pub = programme_for_year(2023).publication
    heading = doc.tables[0]
    left, right = (cell.text for cell in heading.rows[0].cells)
    # The demo is a draft (no quarter approved): its number is left for the issue.
    assert left.splitlines() == [pub.issuer_parent, pub.issuer, "*", "Số     -BC/ĐUK"]
    assert right.splitlines()[0] == "ĐẢNG CỘNG SẢN VIỆT NAM"
    assert heading.rows[0].cells[1].paragraphs[0].runs[0].underline
    assert re.fullmatch(rf"{pub.place}, ngày \d\d tháng (0[12]|[3-9]|1[0-2]) năm \d{{4}}", right.splitlines()[1])
    borders = heading._tbl.tblPr.xml
    assert 'w:val="nil"' in borders, "the heading block is a borderless table"
    assert not any(p.text for p in section.header.paragraphs if p.text.strip() and not p.text.strip().isdigit())

    paragraphs = [p.text for p in doc.paragraphs]
    # The demo's quarters are not approved: a draft, marked above the title.
    assert paragraphs[paragraphs.index("BÁO CÁO") - 1] == "DỰ THẢO"
    signature = doc.tables[-1].rows[0].cells
    assert signature[0].text.splitlines() == [
        "Nơi nhận:", *(f"- {r}," for r in pub.recipients[:-1]), f"- {pub.recipients[-1]}."]
    assert signature[1].text.split("\n")[0:2] == [pub.signer_on_behalf, pub.signer_title]
    assert signature[1].text.rstrip().endswith(pub.signer_name)
    with zipfile.ZipFile(demo.result["document"]) as z:
        assert any(n.startswith("word/media/") and n.endswith(".png") for n in z.namelist()), "the chart is in"


def test_the_document_is_marked_vietnamese_and_says_nothing_of_its_tools(demo):
    from docx import Document
    from docx.oxml.ns import qn

    document = Document(demo.result["document"])
    lang = document.styles.element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:lang')}")
    assert lang.get(qn("w:val")) == "vi-VN", "Word would mark every Vietnamese word as misspelt English"
    assert document.settings.element.find(qn("w:themeFontLang")).get(qn("w:val")) == "vi-VN"
    assert document.core_properties.language == "vi-VN"
    assert "python-docx" not in document.core_properties.comments
    with zipfile.ZipFile(demo.result["document"]) as z:
        app = z.read("docProps/app.xml").decode("utf-8")
    assert "<Application>p135</Application>" in app and "Microsoft" not in app
    assert f"<Company>{programme_for_year(2023).publication.issuer}</Company>" in app
    # The version's own workbook, which later versions leave as it is (the unversioned one is replaced).
    # A draft names the version's own workbook, which later versions leave as it is (the unversioned
    # one is replaced); an issued report names its annex as a Party document does.
    assert any("chi tiết theo đơn vị tại tệp bao-cao-ctr135-2023-v1.xlsx (phiên bản 1)" in p.text
               for p in document.paragraphs)


def test_the_year_names_a_stock_for_the_year_not_the_quarter(demo):
    text = " ".join(p.text for p in Document(demo.result["document"]).paragraphs)
    assert "số đảng viên cuối năm:" in text and "cuối quý" not in text
    workbook = load_workbook(demo.result["report"], read_only=True)
    party = [row[0] for row in workbook[R.SHEET_PARTY].iter_rows(values_only=True)]
    assert "Số đảng viên cuối năm" in party and "Số đảng viên cuối quý" not in party
    headers = {v for row in workbook[R.SHEET_ENTERPRISES].iter_rows(values_only=True) for v in row}
    assert "Số lao động bình quân quý cuối năm (người)" in headers
    workbook.close()


def test_the_documents_table_holds_the_golden_figures(demo):
    _, tables = docx_text(Path(demo.result["document"]))
    codes = [r["metric_code"] for r in demo.result["headline"]]
    table = next(t for t in tables if t[0][0] == "STT")
    assert [row[1] for row in table[1:]] == [r["label_vi"] for r in demo.result["headline"]]
    check_golden(headline_from_table(table, codes))
    assert table[5][3] == "9.899,4"


def test_the_narrative_says_the_golden_figures_in_the_articles_words(demo):
    paragraphs, _ = docx_text(Path(demo.result["document"]))
    body = " ".join(paragraphs)
    tasks = re.search(r"hoàn thành toàn bộ ([\d.]+) nhiệm vụ trọng tâm năm 2023, trong đó: ([\d.]+) nhiệm vụ theo "
                      r"Chương trình hành động số 135-CTr/TU và ([\d.]+) nhiệm vụ do ngành dọc", body)
    assert tasks, body
    assert [vn(g) for g in tasks.groups()] == [1966, 365, 1601]
    revenue = re.search(r"Tổng doanh thu các doanh nghiệp trong Khối đạt trên ([\d.,]+) tỷ đồng", body)
    income = re.search(r"thu nhập bình quân của người lao động đạt ([\d.,]+) triệu đồng/tháng \(đạt (\d+)% kế hoạch", body)
    budget = re.search(r"nộp ngân sách nhà nước đạt ([\d.,]+) tỷ đồng", body)
    insurance = re.search(r"nộp bảo hiểm xã hội đạt trên ([\d.,]+) tỷ đồng \(đạt (\d+)% kế hoạch", body)
    assert all((revenue, income, budget, insurance)), body
    assert vn(revenue[1]) == 9899
    assert (vn(income[1]), vn(income[2])) == (10.6, 106)
    assert vn(budget[1]) == 870 and "đạt trên 870" not in body
    assert (vn(insurance[1]), vn(insurance[2])) == (60.8, 135)


# -- the PDF ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pdf_pages(soffice, demo_session) -> list[str]:
    """The demo's PDF, page by page (made by the publish run itself, with P135_SOFFICE set)."""
    pdf = demo_session.result["pdf"]
    assert pdf and Path(pdf).is_file(), demo_session.result.get("pdf_note")
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", pdf], capture_output=True, text=True, check=True).stdout)[1])
    return [
        subprocess.run(["pdftotext", "-layout", "-f", str(n), "-l", str(n), pdf, "-"], capture_output=True, text=True, check=True).stdout
        for n in range(1, pages + 1)
    ]


def test_the_pdf_holds_the_golden_figures_with_the_table_on_its_first_pages(pdf_pages):
    first = "\n".join(pdf_pages[:2])
    assert "BÁO CÁO" in pdf_pages[0] and "ĐẢNG CỘNG SẢN VIỆT NAM" in pdf_pages[0]
    assert len(pdf_pages) <= 3, "the report is a few pages, not an annex"
    assert re.search(r"Nộp\s+bảo\s+hiểm\s+xã\s+hội", first) and "Kết quả chủ yếu năm 2023" in first
    # The headline table is on one page, its heading with it; the title's year is not alone on a line.
    [table_page] = [page for page in pdf_pages if "Kết quả chủ yếu năm 2023" in page]
    assert "Nhiệm vụ trọng tâm đã xác định" in table_page and re.search(r"Nộp\s+bảo\s+hiểm\s+xã\s+hội", table_page)
    assert not any(line.strip() == "2023" for line in pdf_pages[0].splitlines())
    flat = re.sub(r"\s+", " ", first)
    for pattern, expected in (
        (r"toàn bộ ([\d.]+) nhiệm vụ", 1966), (r"([\d.]+) nhiệm vụ theo Chương trình", 365),
        (r"đạt trên ([\d.]+) tỷ đồng", 9899), (r"đạt ([\d,]+) triệu đồng/tháng", 10.6),
        (r"nộp ngân sách nhà nước đạt ([\d.,]+) tỷ", 870), (r"đạt trên ([\d,]+) tỷ đồng \(đạt 135%", 60.8),
    ):
        found = re.search(pattern, flat)
        assert found and vn(found[1]) == expected, pattern
    for figure in ("9.899,4", "1.966", "1.601", "870,0", "60,8", "106%", "135%"):
        assert figure in flat, figure


def test_the_signature_never_stands_on_a_page_without_the_closing_lines(soffice, demo, tmp_path):
    """A corrected report's list of changes pushed the end down: page 3 held only the last recipient
    and the signer's name, which no one can sign. The document, lengthened line by line over a page
    turn, always ends on a page with its closing lines."""
    import copy

    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    for lines in range(16):
        document = Document(demo.result["document"])
        closing = next(p for p in document.paragraphs if p.text.startswith("Trên đây là"))
        body = next(p for p in document.paragraphs if len(p.text) > 150 and not p.paragraph_format.keep_with_next)
        for _ in range(lines):
            line = copy.deepcopy(body._p)
            for t in line.iter(f"{w}t"):
                t.text = "Chỉ tiêu đã điều chỉnh so với báo cáo trước."
            closing._p.addprevious(line)
        document.save(tmp_path / f"longer-{lines:02d}.docx")
    sources = sorted(str(path) for path in tmp_path.glob("longer-*.docx"))
    subprocess.run(["timeout", "-k", "10", "300", soffice, "--headless", "--norestore",
                    f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), *sources], capture_output=True, check=True)
    signer = programme_for_year(2023).publication.signer_name
    for source in sources:
        pdf = Path(source).with_suffix(".pdf")
        pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", pdf], capture_output=True, text=True,
                                                                   check=True).stdout)[1])
        last = subprocess.run(["pdftotext", "-layout", "-f", str(pages), "-l", str(pages), pdf, "-"],
                              capture_output=True, text=True, check=True).stdout
        assert signer in last and "Trên đây là báo cáo" in last and "Số liệu tổng hợp" in last, (pdf.name, last)


# -- the workbook -------------------------------------------------------------------------------

def test_every_sheet_prints_on_a4_one_page_wide_with_titles_and_page_numbers(demo):
    wb = load_workbook(demo.result["report"])
    assert wb.sheetnames == [
        R.SHEET_HEADLINE, R.SHEET_GROUPS, R.SHEET_TASKS, R.SHEET_ENTERPRISES, R.SHEET_PARTY,
        R.SHEET_ANNEX, R.SHEET_QUALITY, R.SHEET_CHARTS, R.SHEET_SOURCES,
    ]
    for ws in wb.worksheets:
        setup = ws.page_setup
        assert str(setup.paperSize) == str(ws.PAPERSIZE_A4), ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        # An absent fitToWidth / fitToHeight is 1 (the OOXML default; xlsxwriter writes only the others).
        fit = tuple(1 if v is None else int(v) for v in (setup.fitToWidth, setup.fitToHeight))
        assert fit == ((1, 1) if ws.title == R.SHEET_HEADLINE else (1, 0)), ws.title
        assert "&P" in ws.oddFooter.center.text, ws.title
        assert ws.print_title_rows == ("$1:$3" if ws.title == R.SHEET_CHARTS else f"${R.HEADER_ROW}:${R.HEADER_ROW}"), \
            ws.title
        if ws.title != R.SHEET_CHARTS:
            assert ws.cell(row=R.HEADER_ROW, column=ws.max_column).value in ("Mã chỉ tiêu", "Mã nguồn", "Mã đơn vị"), ws.title
    assert wb[R.SHEET_HEADLINE].page_setup.orientation == "landscape"


def test_values_carry_no_float_noise_and_one_format_per_indicator(demo):
    programme = programme_for_year(2023)
    wb = load_workbook(demo.result["report"])
    formats: dict[str, set[str]] = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows(min_row=R.HEADER_ROW + 1):
            for cell in row:
                if isinstance(cell.value, float):
                    assert abs(cell.value * 1000 - round(cell.value * 1000)) < 1e-6, (ws.title, cell.coordinate, cell.value)
            code = row[-1].value if ws.title in (R.SHEET_HEADLINE, R.SHEET_GROUPS, R.SHEET_PARTY) else None
            if isinstance(code, str) and code in {i.code for i in programme.indicators}:
                value_cells = [c for c in row[:-1] if isinstance(c.value, (int, float)) and c.number_format != R.PERCENT]
                formats.setdefault(code, set()).update(c.number_format for c in value_cells if c.column > 2)
    assert formats["revenue_bn_vnd"] == {"[$-42A]#,##0.0"}
    assert formats["avg_income_m_vnd"] == {"[$-42A]#,##0.0"}
    assert formats["profit_bn_vnd"] == {"[$-42A]#,##0.0"}, "tỷ đồng are shown alike, headline or not"
    assert all(len(f) == 1 for f in formats.values()), formats
    title = wb[R.SHEET_HEADLINE]
    assert title["A1"].value == programme.publication.issuer.upper(), "the issuer the document's heading names"
    assert "CHƯƠNG TRÌNH HÀNH ĐỘNG SỐ 135-CTr/TU CỦA TỈNH ỦY NĂM 2023" in title["A2"].value, "the symbol as written"
    by_group = wb[R.SHEET_GROUPS]
    revenue = next(r for r in by_group.iter_rows(min_row=R.HEADER_ROW + 1) if r[-1].value == "revenue_bn_vnd")
    assert revenue[0].value == "Khối doanh nghiệp" and revenue[1].value == "Tổng doanh thu"
    assert 9899 <= revenue[3].value < 9900


def test_key_tasks_sheet_is_the_view(demo):
    ws = load_workbook(demo.result["report"])[R.SHEET_TASKS]
    rows = {(r[0].value, r[-1].value): (r[2].value, r[3].value) for r in ws.iter_rows(min_row=R.HEADER_ROW + 1)}
    with demo.warehouse.engine.connect() as conn:
        view = conn.execute(text("SELECT unit_group, source, identified, completed FROM v_key_tasks_by_source WHERE year = 2023")).all()
    groups = programme_for_year(2023).groups
    assert rows == {(groups[g], s): (int(i), int(c)) for g, s, i, c in view}
    assert sum(v[0] for v in rows.values()) == 1966


def test_enterprise_party_annex_and_quality_sheets(demo):
    wb = load_workbook(demo.result["report"])
    enterprises = wb[R.SHEET_ENTERPRISES]
    headers = [c.value for c in enterprises[R.HEADER_ROW]]
    # Each planned indicator's "% kế hoạch" says whose: two stood side by side under one name.
    percents = [h for h in headers if h.startswith("% kế hoạch")]
    assert len(percents) == len(set(percents)) >= 2 and headers[-1] == "Mã đơn vị", headers
    assert "% kế hoạch thu nhập bình quân của người lao động" in percents, percents
    *rows, total = enterprises.iter_rows(min_row=R.HEADER_ROW + 1, values_only=True)
    assert len(rows) >= 20 and all(r[-1].startswith("DN") for r in rows)
    revenue_col = headers.index("Tổng doanh thu (tỷ đồng)")
    assert sum(r[revenue_col] for r in rows) == pytest.approx(9899.4, abs=0.01)
    assert total[1] == f"Tổng cộng ({len(rows)} doanh nghiệp)" and total[-1] is None
    assert total[revenue_col] == pytest.approx(9899.4, abs=0.01)
    income = headers.index("Thu nhập bình quân của người lao động (triệu đồng/người/tháng)")
    assert total[income] == pytest.approx(10.6, abs=0.05), "the mean weighted by workers, not a sum"
    assert "Kế hoạch thu nhập bình quân của người lao động (triệu đồng/người/tháng)" in headers
    party = wb[R.SHEET_PARTY]
    assert [c.value for c in party[R.HEADER_ROW]][2:5] == ["Khối cơ quan", "Khối doanh nghiệp", "Toàn Khối"]
    annex = list(wb[R.SHEET_ANNEX].iter_rows(min_row=R.HEADER_ROW + 1, values_only=True))
    assert re.fullmatch(r"lần \d+, nhận \d\d/\d\d/\d{4}( \(trễ hạn\))?", annex[0][3])
    assert any("lần 2" in (cell or "") for row in annex for cell in row[3:7]), "a corrected file shows its version"
    quality = wb[R.SHEET_QUALITY]
    assert "báo cáo quý được dùng" in quality["A3"].value
    with zipfile.ZipFile(demo.result["report"]) as z:
        names = z.namelist()
        charts = [n for n in names if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]
        assert len(charts) == 3 and not any(n.startswith("xl/chartsheets/") for n in names)
        xml = {n: z.read(n).decode() for n in charts}
    # One series needs no legend (it repeated the axis title); the axes read the Vietnamese way.
    assert sum("<c:legend>" in x for x in xml.values()) == 1, "only the stacked chart of two groups has one"
    assert any('formatCode="[$-42A]#,##0"' in x for x in xml.values())


def _written(programme, figures, path, **options):
    """The report workbook written to `path` and read back."""
    stamp = dt.datetime(2024, 1, 20, tzinfo=dt.timezone.utc)
    return load_workbook(R.write_report(programme, figures, path, stamp, **options))


def test_the_annex_puts_a_merged_unit_under_its_successor_with_a_note(demo, tmp_path):
    programme = programme_for_year(2023)
    figures = _workbook_figures(demo)
    # As if DN021 had been merged into DN022 on 1 July 2023 (it was, at the end of 2022), with a
    # first-quarter file: see where it lands.
    successor = figures.lineage[figures.lineage["unit_code"] == "DN022"].iloc[0]
    merged = {"unit_code": "DN021", "unit_name": "Chi bộ Công ty Cổ phần Giống cây trồng", "unit_group": "enterprises",
              "valid_to": dt.date(2023, 6, 30), "current_unit_code": "DN022",
              "current_unit_name": successor["unit_name"], "is_merged": True}
    figures.lineage = pd.concat([figures.lineage, pd.DataFrame([merged])], ignore_index=True)
    extra = figures.sources[figures.sources["unit_code"] == "DN022"].head(1).copy()
    extra["unit_code"], extra["unit_name"] = "DN021", "Chi bộ Công ty Cổ phần Giống cây trồng"
    figures.sources = pd.concat([figures.sources, extra])
    ws = _written(programme, figures, tmp_path / "r.xlsx")[R.SHEET_ANNEX]
    codes = [ws.cell(row=r, column=9).value for r in range(R.HEADER_ROW + 1, ws.max_row + 1)]
    at = codes.index("DN021")
    assert codes[at - 1] == "DN022"
    assert ws.cell(row=R.HEADER_ROW + 1 + at, column=2).value.startswith("↳ ")
    assert ws.cell(row=R.HEADER_ROW + 1 + at, column=8).value == \
        f"Đã hợp nhất vào {successor['unit_name']} (DN022) từ 01/07/2023"


def test_the_annex_says_a_unit_dissolved_during_the_year_owes_no_later_quarter(demo, tmp_path):
    """The helper's DN019, dissolved on 30 September: an empty Q4 and an empty note read as a
    unit that did not report."""
    figures = _workbook_figures(demo)
    lineage = figures.lineage
    at = lineage.index[lineage["unit_code"] == "DN005"][0]
    lineage.loc[at, "valid_to"] = dt.date(2023, 9, 30)
    ws = _written(programme_for_year(2023), figures, tmp_path / "r.xlsx")[R.SHEET_ANNEX]
    row = next(r for r in range(R.HEADER_ROW + 1, ws.max_row + 1) if ws.cell(row=r, column=9).value == "DN005")
    assert ws.cell(row=row, column=8).value == "Thôi hoạt động (giải thể) từ 01/10/2023, không phải báo cáo các quý sau"
    untouched = next(r for r in range(R.HEADER_ROW + 1, ws.max_row + 1) if ws.cell(row=r, column=9).value == "DN006")
    assert ws.cell(row=untouched, column=8).value in (None, "")


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_a_correction_sent_after_the_deadline_leaves_an_on_time_unit_on_time_in_the_annex(warehouse, tmp_path):
    """The file used is the late correction, but the unit reported on time (its first file that
    passed): the annex does not call it late, as status and v_unit_completeness do not; the
    sources sheet still says the file itself came after the deadline."""
    from reporting.periods import LOCAL_TZ, Period
    from tasks.publishing import fetch_year_figures
    from tests.workbooks import default_values, save, submission
    from warehouse import queries

    programme = programme_for_year(2023)
    q1 = Period(2023, 1)
    inbox = warehouse.data_dir / "inbox" / q1.key
    deadline = programme.deadlines[1]
    save(submission("CQ001", q1), inbox / "CQ001.xlsx",
         dt.datetime.combine(deadline - dt.timedelta(days=2), dt.time(9), tzinfo=LOCAL_TZ))
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
    save(submission("CQ001", q1, values={**default_values("agencies"), "party_members_end": 40}),
         inbox / "CQ001_sua.xlsx", dt.datetime.combine(deadline + dt.timedelta(days=5), dt.time(9), tzinfo=LOCAL_TZ))
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    [used] = queries.sources_used(warehouse.engine, 2023).to_dict("records")
    assert (used["version"], bool(used["is_on_time"]), bool(used["is_unit_on_time"])) == (2, False, True)

    figures = fetch_year_figures.fn(warehouse.data_dir, 2023, programme).workbook
    wb = _written(programme, figures, tmp_path / "r.xlsx")
    annex = next(r for r in wb[R.SHEET_ANNEX].iter_rows(min_row=R.HEADER_ROW + 1, values_only=True) if r[-1] == "CQ001")
    assert annex[3] == f"lần 2, nhận {deadline + dt.timedelta(days=5):%d/%m/%Y}"
    sheet = wb[R.SHEET_SOURCES]
    headers = [c.value for c in sheet[R.HEADER_ROW]]
    [row] = [r for r in sheet.iter_rows(min_row=R.HEADER_ROW + 1, values_only=True) if r[-1] == "CQ001"]
    assert row[headers.index("Tệp nhận trong hạn")] == "Không"


def _workbook_figures(demo):
    from tasks.publishing import fetch_year_figures

    return fetch_year_figures.fn(demo.warehouse.data_dir, 2023, programme_for_year(2023)).workbook


def test_text_from_units_stays_text_in_the_report(demo, tmp_path):
    figures = _workbook_figures(demo)
    figures.sources.loc[figures.sources.index[0], "original_name"] = '=HYPERLINK("http://x","bấm").xlsx'
    figures.sources.loc[figures.sources.index[1], "original_name"] = "#N/A"
    ws = _written(programme_for_year(2023), figures, tmp_path / "r.xlsx")[R.SHEET_SOURCES]
    cells = [ws.cell(row=R.HEADER_ROW + n, column=8) for n in (1, 2)]
    assert [c.value for c in cells] == ['=HYPERLINK("http://x","bấm").xlsx', "#N/A"]
    assert [c.data_type for c in cells] == ["s", "s"]


def test_the_bulk_rows_are_the_bytes_written_cell_by_cell(demo, tmp_path, monkeypatch):
    """The sources and annex sheets go out row by row as XML; cell by cell through xlsxwriter
    gives the same file, awkward text included (escapes, spaces kept, markup, control characters)."""
    figures = _workbook_figures(demo)
    awkward = [" lề trái", "lề phải ", "a & b < c > d", "<r>không phải rich</r>", "_x0041_ và \x07chuông",
               "dòng một\ndòng hai", "\ufffe"]
    for n, name in enumerate(awkward):
        figures.sources.loc[figures.sources.index[n], "original_name"] = name
        figures.sources.loc[figures.sources.index[n], "unit_name"] = name
    stamp = dt.datetime(2024, 1, 20, tzinfo=dt.timezone.utc)
    bulk = R.write_report(programme_for_year(2023), figures, tmp_path / "bulk.xlsx", stamp)
    monkeypatch.setattr(R, "_rows_in_bulk", lambda *args: False)
    cells = R.write_report(programme_for_year(2023), figures, tmp_path / "cells.xlsx", stamp)
    assert _sha(bulk) == _sha(cells)
    ws = load_workbook(bulk)[R.SHEET_SOURCES]
    assert [ws.cell(row=R.HEADER_ROW + 1 + n, column=8).value for n in range(2)] == awkward[:2]


def test_the_headline_sheet_prints_on_one_page(soffice, demo, tmp_path):
    wb = load_workbook(demo.result["report"])
    for name in wb.sheetnames[1:]:
        del wb[name]
    only = tmp_path / "headline.xlsx"
    wb.save(only)
    out = tmp_path / "out"
    subprocess.run(
        ["timeout", "-k", "10", "180", soffice, "--headless", "--norestore",
         f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--convert-to", "pdf", "--outdir", str(out), str(only)],
        check=True, capture_output=True,
    )
    info = subprocess.run(["pdfinfo", str(out / "headline.pdf")], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Pages:\s+1\n", info)
    page = subprocess.run(["pdftotext", "-layout", str(out / "headline.pdf"), "-"], capture_output=True, text=True).stdout
    assert "9.899,4" in page and "social_insurance_bn_vnd" in page


# -- versions and provenance --------------------------------------------------------------------

def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _send_dn005_correction(data_dir: Path) -> None:
    """DN005's Q4 file again with 100 tỷ more revenue, arriving a day after the first."""
    inbox = data_dir / "inbox" / "2023-Q4"
    wb = load_workbook(inbox / "BaoCao_2023-Q4_DN005.xlsx")
    sheet = wb[L.SHEET_INDICATORS]
    row = next(r for r in range(L.FIRST_DATA_ROW, 40) if sheet[f"B{r}"].value == "revenue_bn_vnd")
    sheet[f"E{row}"] = sheet[f"E{row}"].value + 100
    if sheet[f"F{row}"].value is not None:
        sheet[f"F{row}"] = sheet[f"F{row}"].value + 100
    corrected = inbox / "BaoCao_2023-Q4_DN005_bosung.xlsx"
    wb.save(corrected)
    later = (inbox / "BaoCao_2023-Q4_DN005.xlsx").stat().st_mtime + 86400
    os.utime(corrected, (later, later))


def test_republishing_keeps_the_version_and_a_correction_makes_the_next(demo_copy, monkeypatch):
    warehouse = demo_copy.warehouse
    reports = warehouse.data_dir / REPORTS
    engine = warehouse.engine
    v1 = latest_publication(engine, 2023)
    assert v1 is not None and v1.version == 1
    before = {p.name: (_sha(p), p.stat().st_mtime_ns) for p in reports.iterdir()}
    assert {"bao-cao-ctr135-2023-v1.docx", "bao-cao-ctr135-2023-v1.xlsx", "bao-cao-ctr135-2023.docx"} <= set(before)
    assert v1.docx_sha256 == _sha(reports / "bao-cao-ctr135-2023-v1.docx") == _sha(reports / "bao-cao-ctr135-2023.docx")
    assert v1.xlsx_sha256 == _sha(reports / "bao-cao-ctr135-2023.xlsx")

    again = publish_year(year=2023, data_dir=str(warehouse.data_dir))
    assert (again["version"], again["changed"]) == (1, False)
    assert "không thay đổi" in again["status"][0]
    assert {p.name: (_sha(p), p.stat().st_mtime_ns) for p in reports.iterdir()} == before
    assert count_publications(engine, 2023) == 1
    (reports / "bao-cao-ctr135-2023.docx").unlink()
    publish_year(year=2023, data_dir=str(warehouse.data_dir))
    assert _sha(reports / "bao-cao-ctr135-2023.docx") == before["bao-cao-ctr135-2023-v1.docx"][0], "restored, not remade"
    assert count_publications(engine, 2023) == 1

    # DN005 sends a corrected Q4 with 100 tỷ more revenue; LibreOffice is gone this time.
    _send_dn005_correction(warehouse.data_dir)
    collect_quarter(year=2023, quarter=4, data_dir=str(warehouse.data_dir))
    traced = CliRunner().invoke(app, ["explain", "--year", "2023", "revenue_bn_vnd", "--data-dir", str(warehouse.data_dir)])
    assert traced.exit_code == 0, traced.output
    assert ("Bản công bố mới nhất (phiên bản 1, lập ngày " in traced.output
            and ") ghi 9.899,4 tỷ đồng: số liệu đã thay đổi sau lần công bố đó; hãy chạy p135 publish --year 2023"
            in " ".join(traced.output.split()))
    monkeypatch.setenv("P135_SOFFICE", str(warehouse.data_dir / "no-libreoffice-here"))

    out = CliRunner().invoke(app, ["publish", "--year", "2023", "--data-dir", str(warehouse.data_dir)])
    assert out.exit_code == 0, out.output
    assert "Phiên bản 2" in out.output
    assert "Tổng doanh thu các doanh nghiệp trong Khối: 9.899,4 → 9.999,4 tỷ đồng (tăng 100,0 tỷ đồng)" in out.output
    assert "không lập bản PDF" in out.output

    v2 = latest_publication(engine, 2023)
    assert v2.version == 2 and v2.pdf_sha256 is None and count_publications(engine, 2023) == 2
    figures = {f["metric_code"]: f["value"] for f in v2.figures}
    assert figures["revenue_bn_vnd"] == pytest.approx(
        {f["metric_code"]: f["value"] for f in v1.figures}["revenue_bn_vnd"] + 100)
    for suffix in (".docx", ".xlsx"):
        assert _sha(reports / f"bao-cao-ctr135-2023-v1{suffix}") == before[f"bao-cao-ctr135-2023-v1{suffix}"][0]
        assert _sha(reports / f"bao-cao-ctr135-2023{suffix}") == _sha(reports / f"bao-cao-ctr135-2023-v2{suffix}")
    assert not (reports / "bao-cao-ctr135-2023.pdf").exists(), "the old PDF does not pass for the new version"
    paragraphs, _ = docx_text(reports / "bao-cao-ctr135-2023.docx")
    assert "So với phiên bản 1, các số liệu sau đã thay đổi:" in paragraphs
    assert "– Tổng doanh thu các doanh nghiệp trong Khối: 9.899,4 → 9.999,4 tỷ đồng (tăng 100,0 tỷ đồng)" in paragraphs
    with engine.connect() as conn:
        used = conn.execute(text(
            "SELECT ps.version FROM publication_submission ps JOIN publication p USING (publication_id) "
            "WHERE p.version = 2 AND ps.unit_code = 'DN005' AND ps.quarter = 4")).scalar_one()
    assert used == 2

    from prefect.artifacts import Artifact

    artifact = Artifact.get("ctr135-2023-headline")
    assert "Phiên bản 2" in artifact.data and "tăng 100,0 tỷ đồng" in artifact.data
    assert "hoàn thành toàn bộ 1.966 nhiệm vụ" in artifact.data and "| Nộp bảo hiểm xã hội |" in artifact.data


# -- p135 explain -------------------------------------------------------------------------------

def test_explain_adds_up_to_the_view_for_every_headline_metric(demo):
    engine = demo.warehouse.engine
    headline = year_end_2023(engine)
    codes = headline_codes(engine, 2023)
    assert codes == list(headline)
    for code in codes:
        found = explain(engine, 2023, code)
        assert found.rows, code
        assert found.total == pytest.approx(headline[code][0], abs=0.0006), code
        assert found.matches_view


def test_explain_cli_prints_vietnamese_and_writes_the_rows_as_csv(demo, tmp_path):
    out_csv = tmp_path / "doanh-thu.csv"
    env = {**os.environ, "P135_DATA_DIR": "", "PREFECT_API_URL": "http://127.0.0.1:9/api"}
    script = (
        "import sys\n"
        "from flows.cli import app\n"
        "try:\n"
        f"    app(['explain', '--year', '2023', 'revenue_bn_vnd', '--csv', {str(out_csv)!r}, '--data-dir', {str(demo.warehouse.data_dir)!r}])\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "print('PREFECT LOADED' if 'prefect' in sys.modules else 'no prefect', code)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("no prefect 0"), "explain is not a flow: it starts no Prefect server"
    assert "Tổng: 9.899,400 tỷ đồng, bằng số liệu của báo cáo (v_year_end_programme135): 9.899,4 tỷ đồng." in done.stdout
    assert "Bản công bố mới nhất (phiên bản 1, lập ngày " in done.stdout and "ghi cùng số liệu: 9.899,4 tỷ đồng." in done.stdout
    with open(out_csv, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert all(re.fullmatch(r"-?\d+(\.\d+)?", r["contribution"]) for r in rows), "dot decimals"
    assert sum(float(r["contribution"]) for r in rows) == pytest.approx(9899.4, abs=0.0005)
    assert all(r["unit_code"].startswith("DN") and r["file_name"].endswith(".xlsx") for r in rows), "no total row"
    assert {int(r["quarter"]) for r in rows} == {1, 2, 3, 4}


def test_explain_says_what_is_wrong_in_vietnamese(demo, tmp_path):
    runner = CliRunner()
    unknown = runner.invoke(app, ["explain", "--year", "2023", "doanh_thu", "--data-dir", str(demo.warehouse.data_dir)])
    assert unknown.exit_code == 2 and "không có chỉ tiêu doanh_thu" in unknown.output and "revenue_bn_vnd" in unknown.output
    if demo.warehouse.backend == "sqlite":
        empty = runner.invoke(app, ["explain", "--year", "2023", "revenue_bn_vnd", "--data-dir", str(tmp_path / "nothing")])
        assert empty.exit_code == 1 and "chưa có kho dữ liệu" in empty.output
        assert not (tmp_path / "nothing").exists(), "explain creates no warehouse"
    no_year = runner.invoke(app, ["explain", "--year", "2031", "revenue_bn_vnd", "--data-dir", str(demo.warehouse.data_dir)])
    assert no_year.exit_code == 2 and "chưa có chương trình của năm 2031" in no_year.output
    to_folder = runner.invoke(app, ["explain", "--year", "2023", "revenue_bn_vnd", "--csv", str(tmp_path),
                                    "--data-dir", str(demo.warehouse.data_dir)])
    assert to_folder.exit_code == 1
    assert f"không ghi được tệp {tmp_path}: đường dẫn là một thư mục, không phải tệp." in to_folder.output
    nowhere = runner.invoke(app, ["explain", "--year", "2023", "revenue_bn_vnd", "--csv", str(tmp_path / "khong-co" / "x.csv"),
                                  "--data-dir", str(demo.warehouse.data_dir)])
    assert nowhere.exit_code == 1 and "thư mục chứa tệp không tồn tại" in nowhere.output
    assert "Tổng:" not in nowhere.output, "the path is checked before the trace is printed"


def test_a_publish_without_libreoffice_says_so_and_goes_on(tmp_path):
    from tasks.pdf_export import convert_to_pdf

    source = tmp_path / "r.docx"
    Document().save(str(source))
    missing = convert_to_pdf(source, tmp_path / "r.pdf", None)
    assert missing.path is None and "Không tìm thấy LibreOffice" in missing.note_vi
    failing = tmp_path / "soffice"
    failing.write_text("#!/bin/sh\necho 'Error: no export filter' >&2\nexit 1\n")
    failing.chmod(0o755)
    broken = convert_to_pdf(source, tmp_path / "r.pdf", str(failing))
    assert broken.path is None and "thiếu LibreOffice Writer" in broken.note_vi
    assert not (tmp_path / "r.pdf").exists()


def test_a_pdf_switched_off_is_said_so_not_libreoffice_missing(tmp_path, monkeypatch):
    """P135_SOFFICE set empty is the README's way to ask for no PDF: the note said LibreOffice
    could not be found on a machine that has it."""
    from tasks.publishing import ReportFiles, convert_report_to_pdf

    source = tmp_path / "r.docx"
    Document().save(str(source))
    monkeypatch.setenv("P135_SOFFICE", " ")

    files = convert_report_to_pdf.fn(ReportFiles(docx=source, xlsx=tmp_path / "r.xlsx"))

    assert files.pdf is None and files.pdf_note == "Không lập bản PDF: P135_SOFFICE được đặt rỗng (tắt bản PDF)."


def test_a_draft_says_so_and_names_the_quarters_not_approved(demo, tmp_path):
    import datetime as dt_

    from tasks.publishing import fetch_year_figures, headline_records
    from tasks.report_document import DocumentContent, build_document, save_document

    programme = programme_for_year(2023)
    figures = fetch_year_figures.fn(demo.warehouse.data_dir, 2023, programme)
    headline = headline_records(figures)
    content = DocumentContent(headline, ["Đoạn."], None, dt_.datetime(2024, 1, 5, 3, tzinfo=dt_.timezone.utc), 1, [], 72, "x.xlsx")
    official = save_document(build_document(programme, content), tmp_path / "official.docx")
    draft = save_document(build_document(programme, content, quarters_not_approved=(3, 4)), tmp_path / "draft.docx")
    assert "DỰ THẢO" not in " ".join(docx_text(official)[0])
    paragraphs = docx_text(draft)[0]
    assert paragraphs[paragraphs.index("BÁO CÁO") - 1] == "DỰ THẢO"
    assert "(Số liệu Quý III/2023 và Quý IV/2023 chưa được phê duyệt)" in paragraphs
    # Every page's foot says so: the second page (the table, the signature) printed alone did not.
    section = Document(str(draft)).sections[0]
    for footer in (section.first_page_footer, section.footer):
        assert footer.paragraphs[0].text == "DỰ THẢO – Số liệu Quý III/2023 và Quý IV/2023 chưa được phê duyệt"
    assert not Document(str(official)).sections[0].footer.paragraphs[0].text
    assert "Bình Định, ngày 05 tháng 01 năm 2024" in docx_text(draft)[1][0][0][1]
    assert "Số 125-BC/ĐUK" in docx_text(official)[1][0][0][0]
    assert "Số     -BC/ĐUK" in docx_text(draft)[1][0][0][0], "a draft has no number yet"

    wb = _written(programme, figures.workbook, tmp_path / "draft.xlsx", quarters_not_approved=(4,))
    for ws in wb.worksheets:
        assert ws["A2"].value.startswith("DỰ THẢO – "), ws.title
        assert "Số liệu Quý IV/2023 chưa được phê duyệt" in ws["A3"].value, ws.title
    official_wb = _written(programme, figures.workbook, tmp_path / "official.xlsx")
    assert not official_wb[R.SHEET_HEADLINE]["A2"].value.startswith("DỰ THẢO")


def test_a_relative_path_converts_too(soffice, tmp_path, monkeypatch):
    """`make demo` publishes into data/reports, a path relative to the repository."""
    from tasks.pdf_export import convert_to_pdf

    monkeypatch.chdir(tmp_path)
    Path("reports").mkdir()
    doc = Document()
    doc.add_paragraph("Báo cáo thử: 9.899,4 tỷ đồng")
    doc.save("reports/r.docx")
    made = convert_to_pdf(Path("reports/r.docx"), Path("reports/r.pdf"), soffice)
    assert made.path is not None, made.note_vi
    assert "9.899,4 tỷ đồng" in subprocess.run(["pdftotext", "reports/r.pdf", "-"], capture_output=True, text=True).stdout


def test_a_programme_without_its_publication_section_is_refused_in_vietnamese(tmp_path, monkeypatch):
    from reporting.programme import PROGRAMMES_DIR

    programmes = tmp_path / "programmes"
    programmes.mkdir()
    source = (PROGRAMMES_DIR / "ctr135-2023.toml").read_text(encoding="utf-8")
    (programmes / "ctr135-2023.toml").write_text(source[: source.index("[publication]")], encoding="utf-8")
    shutil.copy(PROGRAMMES_DIR / "units.csv", programmes)
    monkeypatch.setenv("P135_PROGRAMMES_DIR", str(programmes))
    out = CliRunner().invoke(app, ["publish", "--year", "2023", "--data-dir", str(tmp_path / "data")])
    assert out.exit_code == 2
    assert "chưa có mục [publication]" in out.output


def test_contributions_follow_each_indicators_rule():
    from warehouse.explain import _with_contributions

    def row(unit, quarter, value, weight=None, current=None):
        return {"unit_code": unit, "unit_name": unit, "current_unit_code": current or unit, "quarter": quarter,
                "version": 1, "file_name": f"{unit}-{quarter}.xlsx", "submission_id": quarter, "value": value, "weight": weight}

    flows = _with_contributions([row("A", 1, 1.5), row("A", 2, 2.5), row("B", 1, None)], "sum")
    assert [r.contribution for r in flows] == [1.5, 2.5, 0.0]
    # B merged into C after Q2: its people live on in C's Q4 report and are counted there once.
    stocks = _with_contributions(
        [row("A", 3, 10), row("A", 4, 12), row("B", 2, 5, current="C"), row("C", 4, 20)], "latest")
    assert [r.contribution for r in stocks] == [0.0, 12.0, 0.0, 20.0]
    income = _with_contributions([row("A", 1, 10.0, 100), row("B", 1, 12.0, 300), row("C", 1, None, 50)], "weighted_mean")
    assert sum(r.contribution for r in income) == pytest.approx((10 * 100 + 12 * 300) / 400)


def test_the_workbook_written_again_is_the_same_bytes_in_either_memory_mode(demo, tmp_path):
    programme, figures = programme_for_year(2023), _workbook_figures(demo)
    first = R.write_report(programme, figures, tmp_path / "a.xlsx", dt.datetime(2024, 1, 20, tzinfo=dt.timezone.utc))
    again = R.write_report(programme, figures, tmp_path / "b.xlsx", dt.datetime(2024, 1, 20, tzinfo=dt.timezone.utc))
    assert _sha(first) == _sha(again)
    in_memory = R.write_report(programme, figures, tmp_path / "c.xlsx", dt.datetime(2024, 1, 20, tzinfo=dt.timezone.utc),
                               constant_memory=False)
    cells = [
        {ws.title: [[(c.value, c.number_format) for c in row] for row in ws.iter_rows()] for ws in load_workbook(path)}
        for path in (first, in_memory)
    ]
    assert cells[0] == cells[1]
    with zipfile.ZipFile(first) as z:
        assert "2024-01-20T00:00:00Z" in z.read("docProps/core.xml").decode()


def test_a_second_publish_of_the_year_waits_for_the_first_then_finds_its_version(demo_copy):
    warehouse = demo_copy.warehouse
    engine, data = warehouse.engine, str(warehouse.data_dir)
    approved = CliRunner().invoke(app, ["approve", "--year", "2023", "--quarter", "1", "--by", "Lê Thị Duyệt",
                                        "--data-dir", data])
    assert approved.exit_code == 0, approved.output  # the basis changes: the next publish is version 2

    with publish_lock(engine, 2023, "run-under-test-42"):
        state = publish_year(year=2023, data_dir=data, lock_wait_seconds=1, return_state=True)
    assert state.is_failed()
    assert "Không công bố năm 2023" in state.message and "run-under-test-42" in state.message
    assert count_publications(engine, 2023) == 1

    results, errors = [], []

    def publish() -> None:
        try:
            results.append(publish_year(year=2023, data_dir=data))
        except Exception as exc:  # a collision on the version number shows here
            errors.append(exc)

    runs = [threading.Thread(target=publish) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert errors == []
    assert sorted((r["version"], r["changed"]) for r in results) == [(2, False), (2, True)]
    assert count_publications(engine, 2023) == 2


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_the_year_before_is_compared_from_its_latest_official_version_only(warehouse):
    """A draft is not what the Party Committee received: the next year compares with the latest
    official version, whatever drafts came after it."""
    from tasks.prepare import bring_up_to_date
    from warehouse.publications import official_figures, record_publication

    bring_up_to_date(warehouse.data_dir)
    engine = warehouse.engine
    assert official_figures(engine, 2023) is None
    for version, drafts, revenue in ((1, (3, 4), 5000.0), (2, (), 9899.4), (3, (4,), 1.0)):
        record_publication(engine, {
            "year": 2023, "version": version, "programme_code": "CTr135-2023", "programme_sha256": "p" * 64,
            "published_at": dt.datetime(2024, 1, version, tzinfo=dt.timezone.utc), "basis_sha256": f"{version}" * 64,
            "draft_quarters": drafts, "file_stem": f"bao-cao-v{version}", "docx_sha256": "d" * 64,
            "xlsx_sha256": "x" * 64, "pdf_sha256": None,
        }, [{"metric_code": "revenue_bn_vnd", "label_vi": "Tổng doanh thu", "value": revenue, "plan": None,
             "pct_of_plan": None, "display_unit_vi": "tỷ đồng", "display_decimals": 1, "position": 1}], [])

    official = official_figures(engine, 2023)
    assert (official.version, official.values) == (2, {"revenue_bn_vnd": 9899.4})


def _own_programmes(tmp_path, monkeypatch) -> Path:
    """A copy of the programme files the office may edit, in force for the test."""
    import shutil

    from reporting.programme import PROGRAMMES_DIR

    programmes = tmp_path / "programmes"
    shutil.copytree(PROGRAMMES_DIR, programmes)
    monkeypatch.setenv("P135_PROGRAMMES_DIR", str(programmes))
    return programmes / "ctr135-2023.toml"


def _renumber(toml: Path, number: str) -> None:
    text = toml.read_text(encoding="utf-8")
    toml.write_text(re.sub(r'(?m)^document_number = ".*"$', f'document_number = "{number}"', text, count=1),
                    encoding="utf-8")


@pytest.mark.parametrize("demo_session", ["sqlite"], indirect=True)
def test_an_official_version_replacing_an_issued_one_says_what_moved_since_it(demo_copy, tmp_path, monkeypatch):
    """v2 official is issued; Q4 is reopened, corrected (v3 draft) and approved again: the v4
    document said "So với phiên bản 3" (the draft) had nothing of what moved since v2, the issued one;
    then it said "So với phiên bản 2" (a word of the system, not of the Committee) under v2's number."""
    data = str(demo_copy.warehouse.data_dir)
    reports = demo_copy.warehouse.data_dir / REPORTS
    toml = _own_programmes(tmp_path, monkeypatch)

    def cli(*args: str, code: int = 0):
        result = CliRunner().invoke(app, [*args, "--data-dir", data])
        assert result.exit_code == code, result.output
        return result

    for quarter in (1, 2, 3, 4):
        cli("approve", "--year", "2023", "--quarter", str(quarter), "--by", "Lê Thị Duyệt")
    assert "Phiên bản 2 (bản chính thức, Báo cáo số " in cli("publish", "--year", "2023", "--date", "20/01/2024").output
    cli("reopen", "--year", "2023", "--quarter", "4", "--reason", "DN005 sửa doanh thu", "--by", "Lê Thị Duyệt")
    _send_dn005_correction(demo_copy.warehouse.data_dir)
    collect_quarter(year=2023, quarter=4, data_dir=data)
    draft = " ".join(cli("publish", "--year", "2023", "--reissue").output.split())
    assert "Phiên bản 3 (dự thảo)" in draft
    assert ("Không phát hành lại bản chính thức (--reissue): Quý IV/2023 chưa được phê duyệt nên chỉ lập được bản "
            "dự thảo." in draft), "asked for an official version, told why it is a draft"
    assert ("Bản chính thức đang có hiệu lực vẫn là phiên bản 2 (Báo cáo số 125-BC/ĐUK): " in draft
            and "bao-cao-ctr135-2023-v2.docx" in draft), draft
    cli("approve", "--year", "2023", "--quarter", "4", "--by", "Lê Thị Duyệt")
    issued = (reports / "bao-cao-ctr135-2023.docx").read_bytes()

    same_number = " ".join(cli("publish", "--year", "2023", code=1).output.split())

    assert "Bản chính thức mới sẽ thay thế Báo cáo số 125-BC/ĐUK ngày" in same_number, same_number
    assert "cần số văn bản mới" in same_number and "Chưa phát hành gì." in same_number
    assert not list(reports.glob("*-v4.*")) and (reports / "bao-cao-ctr135-2023.docx").read_bytes() == issued
    _renumber(toml, "131-BC/ĐUK")

    official = cli("publish", "--year", "2023").output

    assert "Phiên bản 4 (bản chính thức, Báo cáo số " in official
    paragraphs, tables = docx_text(reports / "bao-cao-ctr135-2023.docx")
    assert "Số 131-BC/ĐUK" in " ".join(cell for row in tables[0] for cell in row), tables[0]
    replaces = next(p for p in paragraphs if p.startswith("Báo cáo này thay thế"))
    # The replaced report is named by the date it bears (--date), not the day it was made.
    assert replaces == "Báo cáo này thay thế Báo cáo số 125-BC/ĐUK ngày 20/01/2024; các số liệu sau đã được điều chỉnh:"
    assert "– Tổng doanh thu các doanh nghiệp trong Khối: 9.899,4 → 9.999,4 tỷ đồng (tăng 100,0 tỷ đồng)" in paragraphs
    assert not any("So với phiên bản" in p for p in paragraphs), "versions are the ops team's words, not the Committee's"
    assert not any("phiên bản" in p or ".xlsx" in p for p in paragraphs), "nor are versions and file names"
    assert any(p.endswith("chi tiết theo đơn vị tại phụ lục số liệu kèm theo.") for p in paragraphs), paragraphs
    annex = load_workbook(reports / "bao-cao-ctr135-2023.xlsx", read_only=True).worksheets[0]
    subtitle = next(row[0] for row in annex.iter_rows(min_row=3, max_row=3, values_only=True))
    assert re.match(r"Phụ lục số liệu kèm theo Báo cáo số 131-BC/ĐUK ngày \d\d/\d\d/\d{4} \(bản chính thức\)\. ",
                    subtitle), subtitle


def test_an_issued_year_is_reissued_only_when_asked(demo_copy, tmp_path, monkeypatch):
    """v2 is issued to the Committee; a label typo in the closed year's programme file is mended.
    `p135 publish` says the basis changed and keeps v2 (the document sent stays the latest);
    `--reissue` makes v3, official, saying why."""
    data = str(demo_copy.warehouse.data_dir)
    reports = demo_copy.warehouse.data_dir / REPORTS
    toml = _own_programmes(tmp_path, monkeypatch)

    def cli(*args: str):
        result = CliRunner().invoke(app, [*args, "--data-dir", data])
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())

    for quarter in (1, 2, 3, 4):
        cli("approve", "--year", "2023", "--quarter", str(quarter), "--by", "Lê Thị Duyệt")
    assert "Phiên bản 2 (bản chính thức, Báo cáo số " in cli("publish", "--year", "2023")
    issued = (reports / "bao-cao-ctr135-2023.docx").read_bytes()
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'label_vi = "Số buổi sinh hoạt chi bộ định kỳ"', 'label_vi = "Số buổi sinh hoạt chi bộ thường kỳ"', 1),
        encoding="utf-8")

    kept = cli("publish", "--year", "2023")

    assert ("Năm 2023 đã có bản chính thức (phiên bản 2, lập ngày" in kept
            and "Chưa phát hành lại: bản chính thức vẫn là phiên bản 2. Muốn phát hành phiên bản 3, chạy: "
                "p135 publish --year 2023 --reissue." in kept), kept
    assert "tệp chương trình đã thay đổi" in kept
    assert not list(reports.glob("*-v3.*")) and (reports / "bao-cao-ctr135-2023.docx").read_bytes() == issued

    _renumber(toml, "131-BC/ĐUK")
    reissued = cli("publish", "--year", "2023", "--reissue")

    assert "Phiên bản 3 (bản chính thức, Báo cáo số " in reissued and "tệp chương trình đã thay đổi" in reissued
    assert list(reports.glob("*-v3.docx"))
    paragraphs, _ = docx_text(reports / "bao-cao-ctr135-2023.docx")
    assert any(re.fullmatch(r"Báo cáo này thay thế Báo cáo số 125-BC/ĐUK ngày \d\d/\d\d/\d{4}\.", p) for p in paragraphs)
    assert not any("tệp chương trình" in p for p in paragraphs), "the system's reasons are not the Committee's"


def test_a_column_is_as_wide_as_its_headers_longest_word():
    """"(triệu đồng/người/tháng)" in a 14-wide column printed as "đồng/người/thá | ng"."""
    from tasks.report import _fitting

    assert _fitting("Thu nhập bình quân (triệu đồng/người/tháng)", 14) == len("đồng/người/tháng)") + 2
    assert _fitting("Doanh thu (tỷ đồng)", 14) == 14


@pytest.mark.parametrize("demo_session", ["sqlite"], indirect=True)
def test_a_report_file_that_cannot_be_replaced_fails_in_vietnamese_and_the_next_publish_mends_the_set(
        demo_copy, tmp_path, monkeypatch, caplog):
    """The helper's locked PDF: publish failed with two tracebacks, left a .tmp, and the un-suffixed
    files mixed two versions until the next real change. Here a folder stands where the workbook
    goes (a file that cannot be replaced), and a recipient is added (a new version)."""
    data = str(demo_copy.warehouse.data_dir)
    reports = demo_copy.warehouse.data_dir / REPORTS
    toml = _own_programmes(tmp_path, monkeypatch)
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        "recipients = [", 'recipients = [\n    "Ban Tổ chức Tỉnh ủy",', 1), encoding="utf-8")
    workbook = reports / "bao-cao-ctr135-2023.xlsx"
    workbook.unlink()
    workbook.mkdir()
    (workbook / "đang mở.txt").write_text("x", encoding="utf-8")

    failed = CliRunner().invoke(app, ["publish", "--year", "2023", "--data-dir", data])

    said = " ".join(failed.output.split())
    assert failed.exit_code == 1, failed.output
    assert "Không thay được tệp bao-cao-ctr135-2023.xlsx" in said and "Traceback" not in failed.output, said
    assert "Phiên bản 2 đã được ghi đủ ở các tệp bao-cao-ctr135-2023-v2.*" in said, said
    assert not any("Traceback" in r.getMessage() or r.exc_info for r in caplog.records if r.levelno >= 40)
    assert not list(reports.glob("*.tmp"))
    assert {p.name for p in reports.glob("*-v2.*")} >= {"bao-cao-ctr135-2023-v2.docx", "bao-cao-ctr135-2023-v2.xlsx"}

    shutil.rmtree(workbook)
    mended = CliRunner().invoke(app, ["publish", "--year", "2023", "--data-dir", data])

    assert mended.exit_code == 0, mended.output
    assert "Số liệu không thay đổi so với phiên bản 2" in " ".join(mended.output.split())
    for suffix in (".docx", ".xlsx"):
        assert (reports / f"bao-cao-ctr135-2023{suffix}").read_bytes() == \
            (reports / f"bao-cao-ctr135-2023-v2{suffix}").read_bytes(), suffix


@pytest.mark.parametrize("demo_session", ["sqlite"], indirect=True)
def test_the_document_bears_the_date_it_is_signed(demo_copy, tmp_path, monkeypatch):
    """The date line was always the day publish ran: a report signed on 20 January said the day it
    was made. --date sets it for the new version, in the document, its workbook and the warehouse."""
    data = str(demo_copy.warehouse.data_dir)
    reports = demo_copy.warehouse.data_dir / REPORTS

    def cli(*args: str, code: int = 0):
        result = CliRunner().invoke(app, [*args, "--data-dir", data])
        assert result.exit_code == code, result.output
        return " ".join(result.output.split())

    for quarter in (1, 2, 3, 4):
        cli("approve", "--year", "2023", "--quarter", str(quarter), "--by", "Lê Thị Duyệt")
    assert "ở trước năm 2023" in cli("publish", "--year", "2023", "--date", "31/12/2022", code=2)
    assert "không đọc được" in cli("publish", "--year", "2023", "--date", "32/01/2024", code=2)
    assert "Phiên bản 2 (bản chính thức, Báo cáo số 125-BC/ĐUK), văn bản ghi ngày 20/01/2024, lập ngày" in cli(
        "publish", "--year", "2023", "--date", "2024-01-20")

    paragraphs, tables = docx_text(reports / "bao-cao-ctr135-2023.docx")
    assert "Bình Định, ngày 20 tháng 01 năm 2024" in " ".join(cell for row in tables[0] for cell in row), tables[0]
    annex = load_workbook(reports / "bao-cao-ctr135-2023.xlsx", read_only=True).worksheets[0]
    assert "Báo cáo số 125-BC/ĐUK ngày 20/01/2024" in next(annex.iter_rows(min_row=3, max_row=3, values_only=True))[0]
    with demo_copy.warehouse.engine.connect() as conn:
        dated = conn.execute(text("SELECT document_date FROM publication WHERE version = 2")).scalar_one()
    assert str(dated) == "2024-01-20"

    again = cli("publish", "--year", "2023", "--date", "25/01/2024")
    assert "Số liệu không thay đổi so với phiên bản 2" in again
    assert "Ngày văn bản 25/01/2024 (--date, hay tham số document_date) chỉ dùng khi lập phiên bản mới: phiên bản 2 vẫn ghi ngày 20/01/2024." in again
