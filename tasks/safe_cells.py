"""Writing text that came from outside (file names, clerks' text) into a workbook, safely."""

from __future__ import annotations

from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet.worksheet import Worksheet

# Text a spreadsheet would run as a formula if it began a cell.
FORMULA_PREFIXES = ("=", "+", "-", "@")


def safe_text(value: object) -> object:
    """Control characters removed (openpyxl would refuse them); other values unchanged."""
    if not isinstance(value, str):
        return value
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def put(ws: Worksheet, row: int, column: int, value: object):
    """Set a cell so that text stays text: never a formula, never an error value like #N/A."""
    cell = ws.cell(row=row, column=column, value=safe_text(value))
    if isinstance(cell.value, str) and (cell.value.startswith(FORMULA_PREFIXES) or cell.value in ERROR_CODES):
        cell.data_type = "s"
    return cell


def put_at(ws: Worksheet, coordinate: str, value: object):
    """`put` by A1 coordinate."""
    cell = ws[coordinate]
    return put(ws, cell.row, cell.column, value)
