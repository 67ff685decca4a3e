"""Read submitted workbooks into frames keyed by submission and cell (python-calamine).

Pure functions without Prefect, so that a process pool can import them cheaply.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import pandas as pd
from python_calamine import CalamineWorkbook

from expectations.findings import ERROR, Finding
from tasks import layout as L

INFO_COLUMNS = ["submission_id"] + [c for f in L.INFO_FIELDS for c in (f.key, f"{f.key}_cell")]
INDICATOR_COLUMNS = [
    "submission_id", "row", "indicator_code", "indicator_code_cell",
    "label_found", "label_cell", "unit_found", "unit_cell",
    "value", "value_kind", "value_text", "value_cell",
    "ytd", "ytd_kind", "ytd_text", "ytd_cell",
    "plan", "plan_kind", "plan_text", "plan_cell", "note",
]
HEADER_COLUMNS = ["submission_id", "sheet", "cell", "found", "expected"]
SUMMARY_COLUMNS = ["submission_id", "key", "stated", "stated_kind", "stated_text", "stated_cell"]
TASK_COLUMNS = [
    "submission_id", "row", "task_code", "task_code_cell", "content", "content_cell",
    "source_label", "source_cell", "status_label", "status_cell",
    "completed_on", "completed_on_kind", "completed_on_text", "completed_on_cell", "note", "note_cell",
]
DATE_TEXT = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")
CHUNK_FILES = 100
# Below this many chunks, starting reader processes costs more than it saves.
MIN_POOLED_CHUNKS = 4


@dataclass
class ParsedBatch:
    """Frames of a batch of workbooks; every row names its submission and its cells."""

    info: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=INFO_COLUMNS))
    indicators: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=INDICATOR_COLUMNS))
    tasks: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TASK_COLUMNS))
    headers: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=HEADER_COLUMNS))
    summary: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SUMMARY_COLUMNS))
    problems: list[Finding] = field(default_factory=list)


def read_workbooks(items: list[tuple[str, Path]], workers: int = 1) -> ParsedBatch:
    """Read (submission_id, path) pairs, in a process pool when the batch is large."""
    chunks = [items[i:i + CHUNK_FILES] for i in range(0, len(items), CHUNK_FILES)]
    if workers <= 1 or len(chunks) < MIN_POOLED_CHUNKS:
        parts = [read_chunk(chunk) for chunk in chunks]
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            parts = list(pool.map(read_chunk, chunks))
    return concat_batches(parts)


def concat_batches(parts: list[ParsedBatch]) -> ParsedBatch:
    if not parts:
        return ParsedBatch()
    return ParsedBatch(
        info=_concat([p.info for p in parts], INFO_COLUMNS),
        indicators=_concat([p.indicators for p in parts], INDICATOR_COLUMNS),
        tasks=_concat([p.tasks for p in parts], TASK_COLUMNS),
        headers=_concat([p.headers for p in parts], HEADER_COLUMNS),
        summary=_concat([p.summary for p in parts], SUMMARY_COLUMNS),
        problems=[f for p in parts for f in p.problems],
    )


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)


def read_chunk(items: list[tuple[str, Path]]) -> ParsedBatch:
    """Read a chunk of workbooks in this process into one set of frames."""
    info, indicators, tasks, headers, summary, problems = [], [], [], [], [], []
    for submission_id, path in items:
        try:
            sheets = _open(Path(path))
        except _Unreadable as exc:
            problems.append(exc.finding(submission_id))
            continue
        info.append(_info_row(submission_id, sheets[L.SHEET_INFO]))
        indicators.extend(_indicator_rows(submission_id, sheets[L.SHEET_INDICATORS]))
        tasks.extend(_task_rows(submission_id, sheets[L.SHEET_TASKS]))
        headers.extend(_header_rows(submission_id, sheets))
        summary.extend(_summary_rows(submission_id, sheets[L.SHEET_TASKS]))
    return ParsedBatch(
        info=pd.DataFrame(info, columns=INFO_COLUMNS),
        indicators=pd.DataFrame(indicators, columns=INDICATOR_COLUMNS),
        tasks=pd.DataFrame(tasks, columns=TASK_COLUMNS),
        headers=pd.DataFrame(headers, columns=HEADER_COLUMNS),
        summary=pd.DataFrame(summary, columns=SUMMARY_COLUMNS),
        problems=problems,
    )


class _Unreadable(Exception):
    def __init__(self, rule_id: str, message_vi: str, sheet: str | None = None):
        super().__init__(message_vi)
        self.rule_id, self.message_vi, self.sheet = rule_id, message_vi, sheet

    def finding(self, submission_id: str) -> Finding:
        return Finding(submission_id, self.rule_id, ERROR, self.sheet, None, None, self.message_vi)


def _open(path: Path) -> dict[str, list[list]]:
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several unrelated types for damaged files
        raise _Unreadable(
            "file.unreadable",
            "Không đọc được tệp: tệp không phải là bảng tính Excel theo mẫu hoặc đã bị hỏng. "
            "Hãy lưu lại tệp mẫu dưới dạng .xlsx và gửi lại.",
        ) from exc
    try:
        names = {unicodedata.normalize("NFC", n): n for n in workbook.sheet_names}
        sheets = {}
        for wanted in L.REQUIRED_SHEETS:
            if wanted not in names:
                raise _Unreadable(
                    "file.sheet_missing",
                    f'Thiếu sheet "{wanted}" của mẫu báo cáo. Không đổi tên hay xóa các sheet; '
                    "hãy dùng đúng tệp mẫu đã được cấp.",
                    sheet=wanted,
                )
            sheets[wanted] = workbook.get_sheet_by_name(names[wanted]).to_python(
                skip_empty_area=False
            )
        return sheets
    except _Unreadable:
        raise
    except Exception as exc:
        raise _Unreadable(
            "file.unreadable", "Không đọc được nội dung tệp: tệp có thể đã bị hỏng."
        ) from exc
    finally:
        workbook.close()


def _cell(rows: list[list], row: int, column: int):
    """Value at 1-based `row` and 0-based `column`, or None where the sheet ends."""
    if row - 1 < len(rows) and column < len(rows[row - 1]):
        return _clean(rows[row - 1][column])
    return None


def _clean(value):
    if isinstance(value, str):
        value = unicodedata.normalize("NFC", value).strip()
        return value or None
    return value


def _info_row(submission_id: str, rows: list[list]) -> list:
    out = [submission_id]
    column = ord(L.INFO_VALUE_COLUMN) - ord("A")
    for f in L.INFO_FIELDS:
        value = _cell(rows, f.row, column)
        if f.key in ("year", "quarter") and isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, (dt.date, dt.datetime)) and f.key not in ("deadline", "reported_on"):
            value = value.isoformat()
        out += [value, f.cell]
    return out


def _number(value) -> tuple[float | None, str, str | None]:
    """(number, kind, text) where kind is number, missing or text."""
    if value is None:
        return None, "missing", None
    if isinstance(value, bool) or isinstance(value, (dt.date, dt.datetime, dt.time, dt.timedelta)):
        return None, "text", str(value)
    if isinstance(value, (int, float)):
        return float(value), "number", None
    return None, "text", str(value)


def _date(value) -> tuple[dt.date | None, str, str | None]:
    """(date, kind, text) where kind is date, missing or text; dd/mm/yyyy text is a date."""
    if value is None:
        return None, "missing", None
    if isinstance(value, dt.datetime):
        return value.date(), "date", None
    if isinstance(value, dt.date):
        return value, "date", None
    text = str(value)
    match = DATE_TEXT.match(text)
    if match:
        day, month, year = (int(g) for g in match.groups())
        try:
            return dt.date(year, month, day), "date", None
        except ValueError:
            pass
    return None, "text", text


def _indicator_rows(submission_id: str, rows: list[list]) -> list[list]:
    out = []
    col = L.IND
    for row in range(L.FIRST_DATA_ROW, min(len(rows), L.FIRST_DATA_ROW + 200) + 1):
        code = _cell(rows, row, col["indicator_code"].index)
        if code is None:
            break
        numbers = []
        for key in ("value", "ytd", "plan"):
            numbers += [*_number(_cell(rows, row, col[key].index)), f"{col[key].letter}{row}"]
        out.append([
            submission_id, row, str(code), f"{col['indicator_code'].letter}{row}",
            _cell(rows, row, col["label"].index), f"{col['label'].letter}{row}",
            _cell(rows, row, col["unit"].index), f"{col['unit'].letter}{row}",
            *numbers,
            _cell(rows, row, col["note"].index),
        ])
    return out


def _header_rows(submission_id: str, sheets: dict[str, list[list]]) -> list[list]:
    """The table headers as found, to tell a clerk who renamed or moved a column."""
    out = []
    for sheet, columns in ((L.SHEET_INDICATORS, L.INDICATOR_COLUMNS), (L.SHEET_TASKS, L.TASK_COLUMNS)):
        for col in columns:
            found = _cell(sheets[sheet], L.HEADER_ROW, col.index)
            out.append([submission_id, sheet, f"{col.letter}{L.HEADER_ROW}", found, col.header_vi])
    summary_col = ord(L.SUMMARY_LABEL_COLUMN) - ord("A")
    found = _cell(sheets[L.SHEET_TASKS], L.HEADER_ROW, summary_col)
    out.append([submission_id, L.SHEET_TASKS, f"{L.SUMMARY_LABEL_COLUMN}{L.HEADER_ROW}", found, L.SUMMARY_HEADER])
    return out


def _summary_rows(submission_id: str, rows: list[list]) -> list[list]:
    """The clerk's own totals beside the task table, as (key, number) by label row order."""
    out = []
    label_col = ord(L.SUMMARY_LABEL_COLUMN) - ord("A")
    value_col = ord(L.SUMMARY_VALUE_COLUMN) - ord("A")
    row = L.FIRST_DATA_ROW
    while (label := _cell(rows, row, label_col)) is not None and row < L.FIRST_DATA_ROW + 50:
        out.append([submission_id, str(label), *_number(_cell(rows, row, value_col)), f"{L.SUMMARY_VALUE_COLUMN}{row}"])
        row += 1
    return out


def _task_rows(submission_id: str, rows: list[list]) -> list[list]:
    out = []
    col = L.TASK
    last = min(len(rows), L.FIRST_DATA_ROW + L.MAX_TASK_ROWS - 1)
    for row in range(L.FIRST_DATA_ROW, last + 1):
        fields = {
            key: _cell(rows, row, col[key].index)
            for key in ("task_code", "content", "source", "status", "completed_on", "note")
        }
        if all(v is None for k, v in fields.items() if k != "note"):
            continue
        completed_on, date_kind, date_text = _date(fields["completed_on"])
        code = fields["task_code"]
        if isinstance(code, float) and code.is_integer():
            code = str(int(code))
        out.append([
            submission_id, row,
            None if code is None else str(code), f"{col['task_code'].letter}{row}",
            fields["content"], f"{col['content'].letter}{row}",
            fields["source"], f"{col['source'].letter}{row}",
            fields["status"], f"{col['status'].letter}{row}",
            completed_on, date_kind, date_text, f"{col['completed_on'].letter}{row}",
            fields["note"], f"{col['note'].letter}{row}",
        ])
    return out
