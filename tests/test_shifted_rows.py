"""A row inserted into (or deleted from) a template's sheet is told to the clerk once, where it
happened, not as every locked cell below it changed. Templates are handed out and filled as a
clerk does: unprotect the sheet, insert or delete a row, type, save."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import load_workbook

from expectations.shifted_rows import (
    RULE_COLUMNS_DELETED,
    RULE_COLUMNS_INSERTED,
    RULE_DELETED,
    RULE_INSERTED,
    RULE_REORDERED,
)
from reporting import layout as L
from reporting.periods import Period
from tasks.local_check import check_files
from tests.workbooks import hand_out, save, typed_cells

Q1 = Period(2023, 1)
INFO, IND, TSK = L.SHEET_INFO, L.SHEET_INDICATORS, L.SHEET_TASKS
TASKS = [(f"NV0{n}", f"Nhiệm vụ {n}", "ctr135", "completed", dt.date(2023, 2, n)) for n in range(1, 4)]


def _filled(folder):
    """The CQ003 template as handed out, filled in full as a clerk does."""
    wb = load_workbook(hand_out("CQ003", Q1, folder / "templates"))
    for (sheet_name, cell), value in typed_cells("agencies", tasks=TASKS).items():
        wb[sheet_name][cell] = value
    return wb


def _edited(folder, name: str, sheet: str, at: int, count: int, typed_after: dict | None = None):
    """The CQ003 template filled in full, then `count` rows inserted at row `at` (deleted if < 0)."""
    wb = _filled(folder)
    ws = wb[sheet]
    ws.protection.sheet = False
    if count > 0:
        ws.insert_rows(at, count)
    else:
        ws.delete_rows(at, -count)
    for (sheet_name, cell), value in (typed_after or {}).items():
        wb[sheet_name].protection.sheet = False
        wb[sheet_name][cell] = value
    return save(wb, folder / f"{name}.xlsx")


CASES = {
    "indicator-row-inserted": (IND, 10, 1, RULE_INSERTED, "A10", "có 1 dòng được chèn thêm"),
    "two-indicator-rows-inserted": (IND, 8, 2, RULE_INSERTED, "A8", "có 2 dòng được chèn thêm"),
    "indicator-row-deleted": (IND, 10, -1, RULE_DELETED, "A10", "có 1 dòng bị xóa"),
    "task-row-inserted": (TSK, 6, 1, RULE_INSERTED, "A6", "bị đẩy xuống 1 dòng"),
    "info-row-inserted": (INFO, 13, 1, RULE_INSERTED, "A13", "từ dòng 13 trở xuống"),
    # The helper's clerk: a row put between the last indicator and the note under the table moves
    # one locked cell only; it was told as the note "sửa thành (để trống)", to be typed again.
    "row-inserted-above-the-note": (IND, 15, 1, RULE_INSERTED, "A16", "có 1 dòng được chèn thêm"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_moved_rows_are_one_finding_where_they_moved(tmp_path, case):
    sheet, at, count, rule, cell, words = case
    verdict, = check_files([_edited(tmp_path, "moved", sheet, at, count)], tmp_path / "data").verdicts
    assert verdict.status == "rejected"
    on_sheet = [f for f in verdict.findings if f.sheet == sheet]
    assert [(f.rule_id, f.cell) for f in on_sheet] == [(rule, cell)]
    assert words in on_sheet[0].message_vi and "mẫu đã cấp ghi ở ô" in on_sheet[0].message_vi


def test_a_change_above_the_moved_rows_is_still_reported_on_its_own(tmp_path):
    path = _edited(tmp_path, "above", IND, 10, 1, typed_after={(IND, "C6"): "Đảng viên"})
    verdict, = check_files([path], tmp_path / "data").verdicts
    assert sorted((f.rule_id, f.cell) for f in verdict.findings if f.sheet == IND) == [
        ("structure.locked_cell_changed", "C6"), (RULE_INSERTED, "A10"),
    ]


def test_a_row_typed_over_with_its_neighbours_labels_is_not_a_shift(tmp_path):
    """One row's locked labels overwritten by the row above's: each changed cell, not moved rows."""
    wb = _filled(tmp_path)
    ws = wb[IND]
    ws.protection.sheet = False
    for column in "BCD":
        ws[f"{column}11"] = ws[f"{column}10"].value
    verdict, = check_files([save(wb, tmp_path / "typed.xlsx")], tmp_path / "data").verdicts
    rules = {f.rule_id for f in verdict.findings}
    assert rules.isdisjoint({RULE_INSERTED, RULE_DELETED})
    assert {f.cell for f in verdict.findings if f.rule_id == "structure.locked_cell_changed"} >= {"B11", "C11"}


SORTS = {
    # The intake helper's clerks sorted the indicator table: told as 3 rows deleted, or (descending)
    # as a row inserted, with "hãy xóa dòng đã chèn" advice that made the file worse.
    "by-label": lambda rows: sorted(rows, key=lambda r: str(r[2])),
    "descending": lambda rows: list(reversed(rows)),
    "two-rows-swapped": lambda rows: [rows[0], rows[1], rows[3], rows[2], *rows[4:]],
}


@pytest.mark.parametrize("order", SORTS.values(), ids=SORTS.keys())
def test_a_table_sorted_is_one_finding_saying_the_rows_were_reordered(tmp_path, order):
    wb = _filled(tmp_path)
    ws = wb[IND]
    ws.protection.sheet = False
    first, last = L.FIRST_DATA_ROW, L.FIRST_DATA_ROW + 9
    rows = [[ws.cell(r, c).value for c in range(1, 8)] for r in range(first, last + 1)]
    for r, values in zip(range(first, last + 1), order(rows)):
        for c, value in enumerate(values, start=1):
            ws.cell(r, c).value = value
    verdict, = check_files([save(wb, tmp_path / "sorted.xlsx")], tmp_path / "data").verdicts
    on_sheet = [f for f in verdict.findings if f.sheet == IND]
    assert [f.rule_id for f in on_sheet] == [RULE_REORDERED], [(f.rule_id, f.cell, f.message_vi) for f in on_sheet]
    assert "bị đổi thứ tự (sắp xếp lại)" in on_sheet[0].message_vi
    assert "chèn" not in on_sheet[0].message_vi and verdict.status == "rejected"


def test_an_untouched_template_has_no_moved_rows(tmp_path):
    wb = _filled(tmp_path)
    verdict, = check_files([save(wb, tmp_path / "clean.xlsx")], tmp_path / "data").verdicts
    assert verdict.status == "accepted", [f.message_vi for f in verdict.findings]


def _columns_edited(folder, name: str, sheet: str, at: int, count: int, typed: dict | None = None):
    """The CQ003 template filled in full, then `count` columns inserted before column `at` (deleted if < 0)."""
    wb = _filled(folder)
    ws = wb[sheet]
    ws.protection.sheet = False
    if count > 0:
        ws.insert_cols(at, count)
    else:
        ws.delete_cols(at, -count)
    for cell, value in (typed or {}).items():
        ws[cell] = value
    return save(wb, folder / f"{name}.xlsx")


COLUMN_CASES = {
    # The helper's clerks: STT deleted (62 findings, the first ten "Thiếu dòng chỉ tiêu"), and a
    # "Quý trước" column put before the quarter's figures (every figure "chưa có số liệu", in E).
    "first-column-deleted": (IND, 1, -1, None, RULE_COLUMNS_DELETED, "có 1 cột bị xóa", "từ cột A"),
    "column-inserted-before-the-figures": (IND, 5, 1, {f"{L.INDICATOR_COLUMNS[4].letter}{L.HEADER_ROW}": "Quý trước"},
                                           RULE_COLUMNS_INSERTED, "có 1 cột được chèn thêm", "hãy xóa cột đã chèn"),
    "task-column-deleted": (TSK, 2, -1, None, RULE_COLUMNS_DELETED, "có 1 cột bị xóa", "từ cột B"),
}


@pytest.mark.parametrize("case", COLUMN_CASES.values(), ids=COLUMN_CASES.keys())
def test_moved_columns_are_the_one_finding_of_their_sheet(tmp_path, case):
    sheet, at, count, typed, rule, words, more = case
    verdict, = check_files([_columns_edited(tmp_path, "moved", sheet, at, count, typed)], tmp_path / "data").verdicts
    assert verdict.status == "rejected"
    on_sheet = [f for f in verdict.findings if f.sheet == sheet or (f.sheet is None and f.cell is None
                                                                    and f.rule_id.startswith("indicator."))]
    assert [f.rule_id for f in on_sheet] == [rule], [(f.rule_id, f.cell, f.message_vi) for f in on_sheet]
    assert words in on_sheet[0].message_vi and more in on_sheet[0].message_vi, on_sheet[0].message_vi
    assert "mẫu đã cấp ghi tiêu đề này ở ô" in on_sheet[0].message_vi


def test_a_retyped_header_is_told_as_a_changed_header_not_a_moved_column(tmp_path):
    header = f"{L.INDICATOR_COLUMNS[4].letter}{L.HEADER_ROW}"
    wb = _filled(tmp_path)
    wb[IND].protection.sheet = False
    wb[IND][header] = "Số liệu"
    verdict, = check_files([save(wb, tmp_path / "retyped.xlsx")], tmp_path / "data").verdicts
    rules = {f.rule_id for f in verdict.findings}
    assert "structure.header_changed" in rules and rules.isdisjoint({RULE_COLUMNS_INSERTED, RULE_COLUMNS_DELETED})


def test_a_cleared_unit_beside_the_same_unit_is_a_changed_cell_not_a_moved_row(tmp_path):
    """Units repeat down the table: one cleared is that cell, whatever its neighbours hold."""
    wb = _filled(tmp_path)
    ws = wb[IND]
    ws.protection.sheet = False
    unit = L.IND["unit"].letter
    rows = [r for r in range(L.FIRST_DATA_ROW, L.FIRST_DATA_ROW + 8)
            if ws[f"{unit}{r}"].value and ws[f"{unit}{r}"].value == ws[f"{unit}{r + 1}"].value]
    assert rows, "the template has two rows with the same unit"
    ws[f"{unit}{rows[0]}"] = None
    verdict, = check_files([save(wb, tmp_path / "cleared.xlsx")], tmp_path / "data").verdicts
    assert [(f.rule_id, f.cell) for f in verdict.findings if f.sheet == IND] == [
        ("structure.locked_cell_changed", f"{unit}{rows[0]}")]


def test_cells_merged_by_the_clerk_are_named_beside_the_cell_read_as_empty(tmp_path):
    """A clerk merged E6:F6 of the indicators and C5:C6 of the tasks: only "F6 chưa có số liệu" was
    said, of a cell the clerk sees holding a value."""
    wb = _filled(tmp_path)
    for sheet, cells in ((IND, "E6:F6"), (TSK, "C5:C6"), (INFO, "B13:B14")):
        wb[sheet].protection.sheet = False
        wb[sheet].merge_cells(cells)
    verdict, = check_files([save(wb, tmp_path / "merged.xlsx")], tmp_path / "data").verdicts
    merged = sorted((f.sheet, f.cell, f.severity) for f in verdict.findings if f.rule_id == "cell.merged")
    assert merged == sorted([(IND, "E6", "warning"), (TSK, "C5", "warning"), (INFO, "B13", "warning")]), merged
    told = next(f.message_vi for f in verdict.findings if f.rule_id == "cell.merged")
    assert told.startswith("Các ô E6:F6 bị gộp thành một ô") and "Bỏ gộp Ô" in told
    assert any(f.cell == "F6" and f.severity == "error" for f in verdict.findings), "the empty cell is still told"
    untouched, = check_files([save(_filled(tmp_path), tmp_path / "clean.xlsx")], tmp_path / "data").verdicts
    assert not [f for f in untouched.findings if f.rule_id == "cell.merged"], "the template's own merged titles"
