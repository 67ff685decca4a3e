"""The fast feedback writer (xlsxwriter, worker processes) gives the clerk the same workbook, cell
for cell, as the openpyxl build it replaced; text from outside stays text; files land whole."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

from reporting.findings import ERROR, STATUS_VI, Finding, reading_order
from reporting.periods import LOCAL_TZ, Period
from tasks import feedback_writer
from tasks.feedback import NEXT_STEP_VI, SEVERITY_VI, by_deadline_vi, feedback_job, feedback_name
from tasks.feedback_writer import COLUMNS, HEADER_ROW, SHEET, FeedbackJob, place_all, write_workbook
from tasks.intake import PARTIAL_PREFIX
from tasks.safe_cells import put
from tests.workbooks import PROGRAMME
from warehouse.load import Arrival

Q1 = Period(2023, 1)
RECEIVED = dt.datetime(2023, 4, 5, 2, 30, tzinfo=dt.timezone.utc)


def _openpyxl_reference(programme, period, unit_label, arrival, status, findings, next_step=None) -> Workbook:
    """The feedback workbook exactly as p135 built it with openpyxl before the fast writer, its facts
    since wrapped (they were cut off in print): kept here only as the reference the new writer is
    compared with."""
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws["A1"] = f"KẾT QUẢ KIỂM TRA BÁO CÁO {period.label_vi.upper()}"
    ws["A1"].font = Font(bold=True, size=13, color="1F4E79")
    ws["A2"] = f"{programme.title_vi} - {programme.organisation_vi}"
    received = arrival.received_at.astimezone(LOCAL_TZ)
    errors = sum(1 for f in findings if f.severity == ERROR)
    facts = [
        ("Đơn vị", unit_label),
        ("Tệp đã nhận", arrival.original_name),
        ("Thời điểm nhận", f"{received:%d/%m/%Y %H:%M}"),
        ("Mã tệp (SHA-256)", arrival.sha256),
        ("Kết quả", STATUS_VI[status]),
        ("Số lỗi / cảnh báo", f"{errors} lỗi, {len(findings) - errors} cảnh báo"),
        ("Việc cần làm", by_deadline_vi(next_step or NEXT_STEP_VI[status], programme.deadlines[period.quarter],
                                        dt.datetime.now(LOCAL_TZ).date())),
    ]
    for row, (label, value) in enumerate(facts, start=4):
        ws.cell(row=row, column=1, value=label).font = Font(bold=True)
        ws.cell(row=row, column=1).alignment = Alignment(vertical="top")
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=2)
        put(ws, row, 3, value)
        if label != "Kết quả":
            ws.cell(row=row, column=3).alignment = Alignment(wrap_text=True, vertical="top")
        ws.merge_cells(start_row=row, start_column=3, end_row=row, end_column=7)
    ws.cell(row=8, column=3).font = Font(bold=True, color="C00000" if status == "rejected" else "1E7B34")
    thin = Side(style="thin", color="A6A6A6")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    for col, (name, width) in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=HEADER_ROW, column=col, value=name)
        cell.font, cell.border = Font(bold=True, color="FFFFFF"), box
        cell.fill = PatternFill("solid", fgColor="1F4E79")
        ws.column_dimensions[cell.column_letter].width = width
    ordered = sorted(findings, key=reading_order)
    for n, f in enumerate(ordered, start=1):
        for col, value in enumerate((n, f.rule_id, SEVERITY_VI[f.severity], f.sheet, f.cell, f.value, f.message_vi),
                                    start=1):
            cell = put(ws, HEADER_ROW + n, col, value)
            cell.border = box
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    if not findings:
        ws.cell(row=HEADER_ROW + 1, column=1, value="Không có lỗi hay cảnh báo.")
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=1)
    return wb


def _arrival(name: str, sha: str = "ab" * 32) -> Arrival:
    return Arrival(sha, name, 12345, f"archive/{sha}", RECEIVED)


def _finding(rule: str, severity: str, sheet: str | None, cell: str | None, value: str | None, message: str):
    return Finding("s", rule, severity, sheet, cell, value, message)


MANY = [
    _finding(f"indicator.rule_{i % 7}", ERROR if i % 3 else "warning", ("Chỉ tiêu", "Nhiệm vụ", None)[i % 3],
             f"{'ABCDE'[i % 5]}{5 + (i * 7) % 40}" if i % 11 else None, None if i % 4 == 0 else f"giá trị {i}",
             f"Ô số {i}: nhập lại số liệu đúng theo hướng dẫn.")
    for i in range(60)
]
HOSTILE = [
    _finding("indicator.value_not_number", ERROR, "Chỉ tiêu", "E5", "=cmd|' /C calc'!A0", "Ô E5 không phải là số."),
    _finding("indicator.value_not_number", ERROR, "Chỉ tiêu", "E6", "@SUM(1)", "Ô E6 không phải là số."),
    _finding("indicator.value_not_number", ERROR, "Chỉ tiêu", "E7", "+1+2", "=HYPERLINK(\"http://x\",\"bấm\")"),
    _finding("indicator.value_not_number", ERROR, "Chỉ tiêu", "E8", "-5-5", "-chỉ là chữ"),
    _finding("cell.error_value", ERROR, "Chỉ tiêu", "E9", "#N/A", "Ô E9 có lỗi công thức #N/A."),
    _finding("text.link", "warning", "Nhiệm vụ", "C5", "https://evil.example/a?b=1", "mailto:x@example.com"),
    _finding("cell.control_character", ERROR, "Nhiệm vụ", "C6", "chuông\x07 và\x00 nul", "dòng 1\ndòng 2\tcột"),
    _finding("text.markup", "warning", "Nhiệm vụ", "C7", "<b>&amp;</b> & <", "  khoảng trắng hai đầu  "),
    _finding("text.number_like", "warning", "Nhiệm vụ", "C8", "0012", "1E5"),
    _finding("text.empty", "warning", "Nhiệm vụ", "C9", "", "\x07"),
    _finding("cell.too_long", ERROR, "Nhiệm vụ", "C10", "x" * 32767, "Rất dài " * 1000),
]
CASES = {
    "accepted": ("CQ003 - Chi bộ Văn phòng", _arrival("CQ003.xlsx"), "accepted", [], None),
    "warnings": ("CQ004 - Chi bộ 4", _arrival("CQ004 (bản 2).xlsx"), "accepted_with_warnings", [
        _finding("task.no_progress", "warning", "Nhiệm vụ", "D7", "0", "Nhiệm vụ chưa có tiến độ."),
        _finding("indicator.drop", "warning", "Chỉ tiêu", "E12", "3", "Giảm mạnh so với quý trước."),
    ], None),
    "rejected-many-findings": ("DN001 - Đảng bộ Doanh nghiệp", _arrival("DN001.xlsx"), "rejected", MANY, None),
    "hostile-text": ("=cmd|' /C calc'!A0", _arrival("=HYPERLINK(\"x\").xlsx"), "rejected", HOSTILE, None),
    "no-unit": ("(không đọc được mã đơn vị)", _arrival("@SUM(1).xlsx", "cd" * 32), "rejected", [
        _finding("identity.missing", ERROR, None, None, None, "Không đọc được mã đơn vị trong tệp."),
    ], None),
    "held": ("CQ002 - Chi bộ 2", _arrival("CQ002.xlsx"), "held", [],
             "Kỳ báo cáo đã khóa sổ; liên hệ Lê Thị Duyệt, +84 24 0000 0000."),
}


def _colour(colour) -> str | None:
    """A colour as the clerk sees it: its RGB, or the theme's text colour when none is set."""
    if colour is None or colour.type == "theme" and colour.theme == 1:
        return "text"
    return colour.rgb[-6:] if colour.type == "rgb" else f"{colour.type}:{colour.value}"


def _look(cell) -> tuple:
    """What the clerk sees of a cell: value, type, and the styles that show."""
    font, fill, border, align = cell.font, cell.fill, cell.border, cell.alignment
    return (
        # An empty cell has no type to see (openpyxl wrote an empty text as an empty inline string).
        cell.value, cell.data_type if cell.value is not None else None, cell.number_format,
        bool(font.b), bool(font.i), font.sz or 11, font.name or "Calibri", _colour(font.color),
        fill.fill_type, _colour(fill.fgColor) if fill.fill_type else None,
        tuple((side.style, _colour(side.color) if side.style else None)
              for side in (border.left, border.right, border.top, border.bottom)),
        bool(align.wrap_text), align.vertical, align.horizontal,
    )


def _sheets(path: Path) -> dict:
    wb = load_workbook(path)
    return {
        ws.title: {
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "freeze": ws.freeze_panes,
            "widths": {letter: (dim.width, bool(dim.customWidth)) for letter, dim in ws.column_dimensions.items()
                       if dim.customWidth},
            "size": (ws.max_row, ws.max_column),
            "cells": {cell.coordinate: _look(cell) for row in ws.iter_rows() for cell in row},
        }
        for ws in wb.worksheets
    }


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_the_fast_writer_gives_the_clerk_the_same_workbook_cell_for_cell(tmp_path, case):
    label, arrival, status, findings, next_step = CASES[case]
    before, after = tmp_path / "openpyxl.xlsx", tmp_path / "xlsxwriter.xlsx"
    _openpyxl_reference(PROGRAMME, Q1, label, arrival, status, findings, next_step).save(before)
    write_workbook(feedback_job(after, PROGRAMME, Q1, label, arrival, status, findings, next_step), after)

    expected, got = _sheets(before), _sheets(after)

    assert list(got) == list(expected) == [SHEET]
    for key in ("merged", "freeze", "widths", "size"):
        assert got[SHEET][key] == expected[SHEET][key], key
    assert got[SHEET]["cells"].keys() == expected[SHEET]["cells"].keys()
    for coordinate, look in expected[SHEET]["cells"].items():
        assert got[SHEET]["cells"][coordinate] == look, coordinate


def test_text_from_outside_stays_text_in_the_workbook_itself(tmp_path):
    """Read the sheet's XML, not a library's view of it: no formula, no link, no error value anywhere."""
    label, arrival, status, findings, next_step = CASES["hostile-text"]
    path = tmp_path / "f.xlsx"
    write_workbook(feedback_job(path, PROGRAMME, Q1, label, arrival, status, findings, next_step), path)
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet
    assert 't="e"' not in sheet
    assert "hyperlink" not in sheet and not any("externalLink" in n for n in names)
    ws = load_workbook(path)[SHEET]
    values = {ws.cell(row=HEADER_ROW + n, column=6).value for n in range(1, len(findings) + 1)}
    assert {"=cmd|' /C calc'!A0", "@SUM(1)", "+1+2", "-5-5", "#N/A", "https://evil.example/a?b=1"} <= values
    assert ws["C4"].value == "=cmd|' /C calc'!A0" and ws["C4"].data_type == "s"


def test_text_that_looks_like_an_excel_escape_is_shown_as_typed(tmp_path):
    """'_x0041_' in a shared string means 'A' to Excel: openpyxl wrote it unescaped (the clerk saw 'A'),
    xlsxwriter escapes it, so the clerk sees what was typed. The one intended difference from before."""
    from python_calamine import CalamineWorkbook

    typed = "_x0041_ và _x000D_"
    path = tmp_path / "f.xlsx"
    job = feedback_job(path, PROGRAMME, Q1, "CQ003", _arrival(f"{typed}.xlsx"), "rejected",
                       [_finding("text.escape_like", ERROR, "Nhiệm vụ", "C7", typed, typed)])
    write_workbook(job, path)
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(SHEET).to_python(skip_empty_area=False)
    assert rows[4][2] == f"{typed}.xlsx"
    assert rows[HEADER_ROW][5:7] == [typed, typed]


def _jobs(directory: Path, n: int) -> list[FeedbackJob]:
    label, arrival, status, findings, _ = CASES["rejected-many-findings"]
    return [
        feedback_job(directory / feedback_name(f"BN{i:04d}" if i % 5 else None, hashlib.sha256(b"%d" % i).hexdigest()), PROGRAMME, Q1,
                     f"BN{i:04d} - Chi bộ {i}", arrival, status, findings[: i % 9])
        for i in range(n)
    ]


@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "two-worker-processes"])
def test_every_workbook_lands_whole_with_the_size_handed_back(tmp_path, monkeypatch, workers):
    # Small enough batches to cross the in-process threshold and split into several chunks.
    monkeypatch.setattr(feedback_writer, "IN_PROCESS_UP_TO", 3)
    monkeypatch.setattr(feedback_writer, "CHUNK_JOBS", 4)
    out, alone = tmp_path / "out", tmp_path / "alone"
    out.mkdir(), alone.mkdir()
    jobs = _jobs(out, 11)

    sizes = place_all(jobs, PARTIAL_PREFIX, workers)

    assert sorted(p.name for p in out.iterdir()) == sorted(Path(j.path).name for j in jobs), "no partial file left"
    assert sizes == [Path(j.path).stat().st_size for j in jobs]
    for job in jobs:
        write_workbook(job, alone / "one.xlsx")
        assert _sheets(Path(job.path)) == _sheets(alone / "one.xlsx"), job.path


@pytest.mark.parametrize("fails", ["_fill", "fsync"], ids=["while-building", "while-flushing-to-disk"])
def test_a_failed_write_leaves_the_earlier_workbook_and_no_partial(tmp_path, monkeypatch, fails):
    job = _jobs(tmp_path, 1)[0]
    place_all([job], PARTIAL_PREFIX)
    before = Path(job.path).read_bytes()

    def broken(*_):
        raise OSError("disk full")

    monkeypatch.setattr(feedback_writer if fails == "_fill" else feedback_writer.os, fails, broken)
    with pytest.raises(OSError, match="disk full"):
        place_all([job], PARTIAL_PREFIX)
    monkeypatch.undo()
    assert Path(job.path).read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [Path(job.path).name]


EDGES = [
    _finding("text.edges", ERROR, "Nhiệm vụ", "C5", "  hai đầu  ", "\tđầu dòng"),
    _finding("text.edges", ERROR, "Nhiệm vụ", "C6", "_x0041_ và _x000d_", "cuối dòng\n"),
    _finding("text.edges", ERROR, "Nhiệm vụ", "C7", "\ufffe\uffff", "a\x1fb\x0bc"),
    _finding("text.edges", "warning", None, None, "", "&amp; <b> \"x\" 'y'"),
    _finding("text.edges", "warning", "Chỉ tiêu", "E30", "<r>như thẻ</r>", "<r>markup</r>"),
    _finding("text.edges", "warning", "Chỉ tiêu", "E31", "y" * 16384, "dài " * 5000),
    _finding("text.edges", "warning", "Chỉ tiêu", "E32", "😀 ngoài BMP", "ký tự ngoài BMP 😀" * 3),
]


@pytest.mark.parametrize("case", [*CASES, "edges", "edges-rich", "edges-long", "edges-many"])
def test_the_direct_serialisation_gives_the_workbook_xlsxwriter_gives(tmp_path, case):
    """tasks/feedback_sheet.py writes what xlsxwriter writes, part for part (but the moment of creation);
    where it cannot (xlsxwriter's rich-string markup, text it cuts), xlsxwriter writes the workbook."""
    from tasks.feedback_sheet import CORE_PART, SHEET_PART, STRINGS_PART, FastWriter, _members, same_workbook, zip_parts

    if case.startswith("edges"):
        plain = [f for f in EDGES if "<r>" not in f.value and len(f.value) < 100]
        # Thirty times as many rows: several blocks of 16 rows, repeated shared strings.
        findings = {"edges": plain, "edges-rich": EDGES[4:5], "edges-long": EDGES[5:6], "edges-many": plain * 30}[case]
        label, arrival, status, next_step = "CQ003", _arrival("  CQ003 .xlsx"), "rejected", None
    else:
        label, arrival, status, findings, next_step = CASES[case]
    job = feedback_job(tmp_path / "f.xlsx", PROGRAMME, Q1, label, arrival, status, findings, next_step)
    writer = FastWriter(feedback_writer._fill, feedback_writer.xlsxwriter_bytes)
    expected = feedback_writer.xlsxwriter_bytes(job)
    first, second = writer.workbook_bytes(job), writer.workbook_bytes(job)

    if case in ("edges-rich", "edges-long", "hostile-text"):  # markup-like or over 16,383 characters
        assert first is None and second is None and writer.packages == {}
        assert same_workbook(feedback_writer.workbook_bytes(job), expected)
    else:
        assert same_workbook(first, expected)  # the first of its kind is xlsxwriter's own
        assert list(writer.packages.values()) != [None], "the direct way was used"
        assert second is not None and same_workbook(second, expected)
        with zipfile.ZipFile(io.BytesIO(second)) as z:
            assert z.testzip() is None  # every member inflates to the checksum its headers state
            own = [(name, z.read(name)) for name in (SHEET_PART, STRINGS_PART, CORE_PART)]
        # The unit's own parts zipped as zip_parts zips them; the others as xlsxwriter zipped them.
        assert all(record in second for record, _ in _members(zip_parts(own)))
        write_workbook(job, tmp_path / "f.xlsx")
        assert same_workbook((tmp_path / "f.xlsx").read_bytes(), expected)


def test_long_instructions_get_rows_tall_enough_to_print_whole(tmp_path):
    """LibreOffice printed two lines of a five-line message, and cut "Việc cần làm" mid-word: the
    rows are as tall as their longest wrapped text, in the fast writer as in xlsxwriter."""
    message = "Tên tệp mang mã đơn vị khác với mẫu báo cáo đã cấp, nên tệp chưa được thu nhận. " * 5
    findings = [_finding("identity.file_name_other_unit", ERROR, None, None, "CQ012.xlsx", message)]
    step = "Báo cáo CHƯA được tiếp nhận: hãy làm theo hướng dẫn ở dòng lỗi dưới đây rồi gửi lại. " * 3
    job = feedback_job(tmp_path / "f.xlsx", PROGRAMME, Q1, "CQ011", _arrival("CQ012.xlsx"), "rejected", findings, step)
    for name, data in (("fast", None), ("xlsxwriter", feedback_writer.xlsxwriter_bytes(job))):
        path = tmp_path / f"{name}.xlsx"
        if data is None:
            write_workbook(job, path)
            write_workbook(job, path)  # the second of its kind: the direct serialisation
        else:
            path.write_bytes(data)
        ws = load_workbook(path)[SHEET]
        step_row = next(r for r in range(1, HEADER_ROW) if ws.cell(r, 1).value == "Việc cần làm")
        assert ws.cell(step_row, 3).alignment.wrap_text
        assert ws.row_dimensions[step_row].height >= 2 * 15, name
        assert ws.row_dimensions[HEADER_ROW + 1].height >= 5 * 15, name
        assert ws.row_dimensions[HEADER_ROW].height is None, "a one-line row keeps the default height"


def test_the_feedback_prints_its_findings_width_on_one_a4_page(tmp_path):
    label, arrival, status, findings, next_step = CASES[next(iter(CASES))]
    path = tmp_path / "f.xlsx"
    write_workbook(feedback_job(path, PROGRAMME, Q1, label, arrival, status, findings, next_step), path)
    ws = load_workbook(path)[SHEET]
    assert (int(ws.page_setup.paperSize), ws.page_setup.orientation) == (9, "landscape")
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert int(ws.page_setup.fitToWidth or 1) == 1 and int(ws.page_setup.fitToHeight) == 0  # width 1 is the default
    assert ws.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"


@pytest.mark.parametrize(("today", "said"), [
    (dt.date(2023, 4, 10), "gửi lại trước hạn nộp (10/04/2023)."),
    (dt.date(2023, 4, 11), "gửi lại càng sớm càng tốt (hạn nộp chung của quý, 10/04/2023, đã qua)."),
], ids=["on-the-deadline", "the-day-after"])
def test_a_rejected_file_is_told_the_deadline_or_that_it_has_passed(today, said):
    assert by_deadline_vi(NEXT_STEP_VI["rejected"], dt.date(2023, 4, 10), today).endswith(said)
    assert by_deadline_vi(NEXT_STEP_VI["accepted"], dt.date(2023, 4, 10), today) == NEXT_STEP_VI["accepted"]


@pytest.mark.parametrize(("rule", "said"), [
    ("identity.unit_ended", "đơn vị không còn nộp báo cáo riêng cho quý này"),
    ("identity.unit_merged", "đơn vị không còn nộp báo cáo riêng cho quý này"),
    ("identity.period_quarter", "tệp là mẫu báo cáo của kỳ khác (hoặc mẫu cũ)"),
    ("indicator.value_missing", None),
], ids=["dissolved", "merged", "another-quarter", "a-cell-to-fix"])
def test_what_to_do_next_says_when_the_file_is_not_to_be_mended(rule, said):
    """"Fix the errors in the file you sent" is wrong advice for a unit that reports no more, or a
    file that is another quarter's template."""
    from tasks.feedback import _next_step

    step = _next_step("rejected", None, None, None, [_finding(rule, ERROR, "Thông tin", "B5", "x", "…")])
    assert (step is None) if said is None else (said in step)
