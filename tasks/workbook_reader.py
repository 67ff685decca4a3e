"""Read submitted workbooks into frames keyed by submission and cell (python-calamine).

Pure functions without Prefect. Every file is first inspected by `tasks.file_guard`, then
parsed in a separate process with a memory cap and a time limit: a file that makes the parser
crash or run away costs only itself (it is rejected with a reason) and the batch goes on.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import itertools
import os
import re
import resource
import threading
import time
import unicodedata
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import pandas as pd
from python_calamine import CalamineWorkbook

from expectations.shifted_rows import moved_alone, moved_columns, split_shifted
from reporting import layout as L
from reporting.findings import ERROR, WARNING, Finding, shown
from reporting.frames import (
    HEADER_COLUMNS,
    INDICATOR_COLUMNS,
    INFO_COLUMNS,
    LOCKED_COLUMNS,
    SUMMARY_COLUMNS,
    TASK_COLUMNS,
    ParsedBatch,
    concat_batches,
)
from reporting.identity import ISO_DATE, SHEET_IDENTITY, VALID, TemplateIdentity, cell_text, display, read_identity
from reporting.vn_format import legacy_encoding
from tasks.child_processes import exit_with_owner
from tasks.file_guard import MAX_CELL_CHARS, MAX_COLUMN, MAX_ROW, Inspection, Refused, read_guarded

DATE_TEXT = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CELL_NAME = re.compile(r"^([A-Z])([0-9]{1,7})$")
CHUNK_FILES = 100
# Limits of a parsing process: memory (address space) and wall time per file.
PARSE_MEMORY_MB = int(os.environ.get("P135_PARSE_MEMORY_MB", "2048"))
SECONDS_PER_FILE = 20
EXCEL_EPOCH = {False: dt.date(1899, 12, 30), True: dt.date(1904, 1, 1)}


def read_workbooks(items: list[tuple[str, Path]], workers: int = 1) -> ParsedBatch:
    """Read (submission_id, path) pairs in parsing processes; a file that kills one is rejected."""
    return read_workbooks_measured(items, workers)[0]


def read_workbooks_measured(
    items: list[tuple[str, Path]], workers: int = 1, *, keep_pool: str | None = None
) -> tuple[ParsedBatch, float]:
    """`read_workbooks`, and the seconds the file guard took, summed over the parsing processes.

    With `keep_pool` (a name for the run) the calling thread keeps its parsing processes for its
    next batch of that run, without starting new ones, until `close_parsing_pools(name)`; a pool
    that failed is never reused.
    """
    # Parsing is all processor: more processes than this machine has cores only add their memory
    # (P135_READ_WORKERS=100 started a hundred on 2 cores, 9 GB, and took longer).
    workers = max(1, min(workers, os.cpu_count() or 1))
    size = max(1, min(CHUNK_FILES, -(-len(items) // workers)))
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    parts: list[ParsedBatch] = []
    guard_seconds = 0.0
    retry: list[tuple[str, Path]] = []
    if chunks:
        pool = _thread_pool(workers, keep_pool) if keep_pool else _pool(min(workers, len(chunks)))
        try:
            futures = [(chunk, pool.submit(read_chunk_measured, chunk)) for chunk in chunks]
            for chunk, future in futures:
                try:
                    part, seconds = future.result(timeout=60 + SECONDS_PER_FILE * len(chunk))
                except (BrokenProcessPool, FutureTimeout, MemoryError, OSError):
                    retry.extend(chunk)
                    continue
                parts.append(part)
                guard_seconds += seconds
        finally:
            if retry or not keep_pool:
                _forget(pool)
                if retry:
                    _kill(pool)
                else:
                    pool.shutdown(wait=True)
    if retry:
        _check_parsing_starts()
    for item in retry:
        parts.append(_read_alone(item))
    return concat_batches(parts), guard_seconds


# Parsing processes kept between batches: each thread's own pool, and every kept pool by run name.
_kept = threading.local()
_kept_pools: dict[str, set[ProcessPoolExecutor]] = {}
_kept_lock = threading.Lock()


def _thread_pool(workers: int, name: str) -> ProcessPoolExecutor:
    pool = getattr(_kept, "pool", None)
    if pool is not None and getattr(_kept, "name", None) == name and pool._max_workers == workers \
            and not (pool._broken or pool._shutdown_thread):
        return pool
    if pool is not None:
        _forget(pool)
        pool.shutdown(wait=False, cancel_futures=True)
    pool = _kept.pool = _pool(workers)
    _kept.name = name
    with _kept_lock:
        _kept_pools.setdefault(name, set()).add(pool)
    return pool


def _forget(pool: ProcessPoolExecutor) -> None:
    with _kept_lock:
        for pools in _kept_pools.values():
            pools.discard(pool)
    if getattr(_kept, "pool", None) is pool:
        _kept.pool = None


def close_parsing_pools(name: str) -> None:
    """Stop the parsing processes kept for run `name` by the threads of this process."""
    with _kept_lock:
        pools = _kept_pools.pop(name, set())
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


class ParsingUnavailable(RuntimeError):
    """No parsing process can run at all: a fault of this host, not of any file."""


def _check_parsing_starts() -> None:
    """Before blaming files for a crash, make sure an empty parse succeeds in a fresh process."""
    pool = _pool(1)
    try:
        pool.submit(read_chunk, []).result(timeout=120)
    except Exception as exc:
        raise ParsingUnavailable(f"a parsing process cannot start on this host: {exc!r}") from exc
    finally:
        _kill(pool)


def _pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=_limit_resources,
                               initargs=(os.getpid(),))


def _limit_resources(owner: int) -> None:
    """Cap the parsing process's memory, so a runaway parser dies alone instead of the host, and
    end it with process `owner` (the command).

    Its standard error goes nowhere: a native parser dying prints a backtrace there, and the
    file's rejection already says what happened.
    """
    exit_with_owner(owner)
    limit = int(os.environ.get("P135_PARSE_MEMORY_MB", PARSE_MEMORY_MB)) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)


def _kill(pool: ProcessPoolExecutor) -> None:
    for process in list(getattr(pool, "_processes", {}).values()):
        process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def _read_alone(item: tuple[str, Path]) -> ParsedBatch:
    """One file in a fresh process: the batch's fallback when a chunk crashed or hung."""
    pool = _pool(1)
    try:
        return pool.submit(read_chunk, [item]).result(timeout=SECONDS_PER_FILE)
    except FutureTimeout:
        reason = ("file.parser_timeout", "Tệp đọc quá lâu (có thể là tệp bất thường) nên bị dừng. "
                  "Hãy mở tệp mẫu gốc, nhập lại số liệu, lưu lại và gửi lại.")
    except (BrokenProcessPool, MemoryError, OSError):
        reason = ("file.parser_crashed", "Tệp làm chương trình đọc bảng tính dừng đột ngột (tệp bị hỏng "
                  "hoặc bất thường). Hãy mở tệp mẫu gốc, nhập lại số liệu, lưu lại và gửi lại.")
    finally:
        _kill(pool)
    return ParsedBatch(problems=[Finding(item[0], reason[0], ERROR, None, None, None, reason[1])])


def read_chunk(items: list[tuple[str, Path]]) -> ParsedBatch:
    """Inspect and read a chunk of workbooks in this process into one set of frames."""
    return read_chunk_measured(items)[0]


def read_chunk_measured(items: list[tuple[str, Path]]) -> tuple[ParsedBatch, float]:
    """`read_chunk`, and the seconds its file guard took.

    Each file is read from disk once: the guard inspects those bytes and calamine parses the same
    bytes. The chunk's rows are gathered in lists and become frames once, at the end.
    """
    info, indicators, tasks, headers, summary, locked, problems = [], [], [], [], [], [], []
    attributed: dict[str, str] = {}
    guard_seconds = 0.0
    for submission_id, path in items:
        started = time.perf_counter()
        try:
            try:
                data, inspection = read_guarded(Path(path))
            finally:
                guard_seconds += time.perf_counter() - started
            sheets, identity_rows = _sheets(io.BytesIO(inspection.stored or data), submission_id, inspection)
            inspection.stored = None
        except Refused as exc:
            problems.append(Finding(submission_id, exc.rule_id, ERROR, None, None, None, exc.message_vi))
            state, identity = read_identity(getattr(exc, "identity_rows", None) or _identity_rows_within(exc))
            if state == VALID:
                attributed[submission_id] = identity.unit_code
            continue
        del data
        problems.extend(_notes(submission_id, inspection))
        state, identity = read_identity(identity_rows)
        info.append(_info_row(submission_id, sheets[L.SHEET_INFO], state, identity))
        changed = _locked_rows(submission_id, sheets, identity, inspection.is_1904)
        if len(changed) >= 2:
            changed, shifts = split_shifted(submission_id, changed, identity)
            problems.extend(shifts)
        if changed:
            changed, shifts = moved_alone(submission_id, changed, identity,
                                          lambda name, cell: _text_at(sheets, name, cell))
            problems.extend(shifts)
        locked.extend(changed)
        indicators.extend(_indicator_rows(submission_id, sheets[L.SHEET_INDICATORS]))
        tasks.extend(_task_rows(submission_id, sheets[L.SHEET_TASKS], inspection.is_1904))
        found_headers = _header_rows(submission_id, sheets)
        problems.extend(moved_columns(submission_id, found_headers))
        headers.extend(found_headers)
        summary.extend(_summary_rows(submission_id, sheets[L.SHEET_TASKS]))
        for sheet in sheets.values():
            problems.extend(sheet.problems)
    return ParsedBatch(
        info=pd.DataFrame(info, columns=INFO_COLUMNS),
        indicators=pd.DataFrame(indicators, columns=INDICATOR_COLUMNS),
        tasks=pd.DataFrame(tasks, columns=TASK_COLUMNS),
        headers=pd.DataFrame(headers, columns=HEADER_COLUMNS),
        locked=pd.DataFrame(locked, columns=LOCKED_COLUMNS),
        summary=pd.DataFrame(summary, columns=SUMMARY_COLUMNS),
        problems=problems,
        peak_memory_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        attributed=attributed,
    ), guard_seconds


def _notes(submission_id: str, inspection: Inspection) -> list[Finding]:
    notes = []
    if inspection.has_macros:
        notes.append(Finding(submission_id, "file.macros_ignored", WARNING, None, None, None,
                             "Tệp có macro (.xlsm): macro không được chạy và đã được bỏ qua. "
                             "Nên dùng mẫu .xlsx đã được cấp."))
    if inspection.kind == "xls":
        notes.append(Finding(submission_id, "file.legacy_xls", WARNING, None, None, None,
                             "Tệp .xls (Excel 97-2003): số liệu được đọc theo giá trị đã lưu của các ô, "
                             "kể cả ô có công thức. Nên dùng mẫu .xlsx đã được cấp."))
    return notes


class Unusable:
    """A cell that holds no usable value (already reported on its own): skipped by type checks."""


UNUSABLE = Unusable()
# Raw text -> its clean reading, for texts found to hold nothing to report (not too long, no
# control character, not in a legacy encoding): this process's recent ones, bounded.
_CLEAN_TEXT: dict[str, str] = {}
CLEAN_TEXT_ENTRIES = 50_000


@dataclass
class Sheet:
    """One sheet's rows (within the template's extent) and the per-cell problems found in it."""

    name: str
    submission_id: str
    rows: list[list]
    uncached: set[str]
    errors: dict[str, str]
    problems: list[Finding] = field(default_factory=list)
    reported: set[str] = field(default_factory=set)

    def get(self, row: int, column: int, record: bool = True):
        """Value at 1-based `row` and 0-based `column`: clean text, a number, a date, None.

        An unusable cell is reported once, however many reads meet it. A read that only compares
        the cell with what was handed out passes `record=False`: text in a legacy encoding is then
        not reported (the change itself is).
        """
        if self.uncached or self.errors:
            unusable = self._formula_problem(f"{chr(ord('A') + column)}{row}")
            if unusable is not None:
                return unusable
        rows = self.rows
        if row - 1 < len(rows):
            cells = rows[row - 1]
            value = cells[column] if column < len(cells) else None
        else:
            value = None
        if not isinstance(value, str):
            return value
        if not value:
            return None
        # Most texts (labels, lists' choices) recur from file to file: read once, they are known clean.
        clean = _CLEAN_TEXT.get(value)
        if clean is not None:
            return clean or None
        cell = f"{chr(ord('A') + column)}{row}"
        if len(value) > MAX_CELL_CHARS:
            return self._unusable(cell, value[:40] + "…", "cell.too_long",
                                  f"Ô {cell} dài hơn {MAX_CELL_CHARS} ký tự, vượt giới hạn của một ô Excel.")
        if CONTROL.search(value):
            return self._unusable(cell, CONTROL.sub("", value)[:80], "cell.control_character",
                                  f"Ô {cell} chứa ký tự điều khiển không nhìn thấy (thường do sao chép từ "
                                  "phần mềm khác). Xóa nội dung ô và gõ lại.")
        if not record:
            return unicodedata.normalize("NFC", value).translate(LOOKALIKES).strip() or None
        raw, value = value, unicodedata.normalize("NFC", value).translate(LOOKALIKES).strip()
        encoding = None if value.isascii() else legacy_encoding(value)
        if encoding:
            return self._unusable(cell, value[:80], "text.legacy_encoding",
                                  f"Ô {cell} được gõ bằng bảng mã {encoding}, không phải Unicode. Hãy chuyển "
                                  "sang Unicode (ví dụ công cụ chuyển mã của Unikey) rồi gửi lại.")
        if len(_CLEAN_TEXT) >= CLEAN_TEXT_ENTRIES:
            _CLEAN_TEXT.clear()
        _CLEAN_TEXT[raw] = value
        return value or None

    def values(self, row: int, columns: tuple[int, ...]) -> list:
        """`get` of each of `columns` of 1-based `row`, read in that order; the common cells (a
        number, an empty cell, a text already found clean) without a call each."""
        if self.uncached or self.errors:
            return [self.get(row, column) for column in columns]
        rows = self.rows
        cells = rows[row - 1] if row - 1 < len(rows) else ()
        width = len(cells)
        out = []
        for column in columns:
            value = cells[column] if column < width else None
            if isinstance(value, str):
                clean = _CLEAN_TEXT.get(value) if value else ""
                value = (clean or None) if clean is not None else self.get(row, column)
            out.append(value)
        return out

    def raw(self, row: int, column: int):
        """The value calamine gave at 1-based `row` and 0-based `column`, unread."""
        cells = self.rows[row - 1] if row - 1 < len(self.rows) else ()
        return cells[column] if column < len(cells) else None

    def _formula_problem(self, cell: str) -> Unusable | None:
        if cell in self.uncached:
            return self._unusable(cell, None, "cell.formula_not_calculated",
                                  f"Ô {cell} có công thức nhưng chưa có kết quả (tệp được lưu bởi phần mềm "
                                  "không tính công thức). Mở tệp bằng Excel hoặc LibreOffice, tính lại (F9), "
                                  "lưu rồi gửi lại; hoặc nhập số trực tiếp.")
        if cell in self.errors:
            return self._unusable(cell, self.errors[cell], "cell.error_value",
                                  f"Ô {cell} có lỗi công thức {self.errors[cell]}. Sửa công thức hoặc nhập "
                                  "số trực tiếp.")
        return None

    def _unusable(self, cell: str, value, rule_id: str, message_vi: str) -> Unusable:
        if cell in self.reported:
            return UNUSABLE
        self.reported.add(cell)
        self.problems.append(Finding(self.submission_id, rule_id, ERROR, self.name, cell,
                                     None if value is None else str(value), message_vi))
        return UNUSABLE


class SheetMissing(Refused):
    """A sheet of the template was renamed or deleted: refused, with the identity sheet's rows (None
    without one), so that a file whose identity is intact is recorded under its unit."""

    def __init__(self, sheet: str, identity_rows: list[list] | None):
        super().__init__(
            "file.sheet_missing",
            f'Thiếu sheet "{sheet}" của mẫu báo cáo. Không đổi tên hay xóa các sheet; '
            "hãy dùng đúng tệp mẫu đã được cấp.",
        )
        self.identity_rows = identity_rows


def _sheets(handle, submission_id: str, inspection: Inspection) -> tuple[dict[str, Sheet], list[list] | None]:
    """The template's sheets by name, and the rows of its identity sheet (None without one).

    From the content, not a path: calamine picks its reader by the file name's extension.
    """
    try:
        workbook = CalamineWorkbook.from_filelike(handle)
    except Exception as exc:  # calamine raises several unrelated types for damaged files
        raise Refused(
            "file.damaged",
            "Không đọc được tệp: tệp bị hỏng hoặc không phải bảng tính theo mẫu. "
            "Hãy lưu lại tệp mẫu dưới dạng .xlsx và gửi lại.",
        ) from exc
    try:
        names = {unicodedata.normalize("NFC", n): n for n in workbook.sheet_names}
        identity = names.get(SHEET_IDENTITY)
        identity_rows = _rows(workbook.get_sheet_by_name(identity)) if identity else None
        sheets = {}
        for wanted in L.REQUIRED_SHEETS:
            if wanted not in names:
                raise SheetMissing(wanted, identity_rows)
            found = workbook.get_sheet_by_name(names[wanted])
            sheets[wanted] = Sheet(
                wanted, submission_id, _rows(found),
                set(inspection.uncached_formulas.get(names[wanted], [])),
                inspection.error_values.get(names[wanted], {}),
            )
            if wanted in MERGES_TOLD:
                sheets[wanted].problems.extend(_merged(submission_id, wanted, _merged_ranges(found)))
        return sheets, identity_rows
    except Refused:
        raise
    except Exception as exc:
        raise Refused("file.damaged", "Không đọc được nội dung tệp: tệp có thể đã bị hỏng.") from exc
    finally:
        workbook.close()


# The sheets whose cells the clerk fills: a merge there (the template has none below its titles)
# keeps only its first cell's value, and the others read as empty.
MERGES_TOLD = (L.SHEET_INFO, L.SHEET_INDICATORS, L.SHEET_TASKS)


def _merged(submission_id: str, sheet: str, ranges: list) -> list[Finding]:
    """One warning per range of cells merged below the sheet's headers, at its first cell."""
    told = []
    for (top, left), (bottom, right) in sorted(ranges or ()):
        if top < L.FIRST_DATA_ROW - 1 or (top, left) == (bottom, right) or right >= MAX_COLUMN or bottom >= MAX_ROW:
            continue
        first, last = _a1(top, left), _a1(bottom, right)
        told.append(Finding(
            submission_id, "cell.merged", WARNING, sheet, first, f"{first}:{last}",
            f"Các ô {first}:{last} bị gộp thành một ô (Gộp ô, Merge): chỉ ô {first} còn giữ nội dung, các ô còn "
            "lại được đọc là để trống. Hãy bỏ gộp (Trang đầu > Gộp & Căn giữa > Bỏ gộp Ô; bản tiếng Anh: Home > "
            "Merge & Center > Unmerge Cells) rồi nhập lại số liệu vào từng ô.",
        ))
    return told


def _merged_ranges(sheet) -> list:
    """The sheet's merged ranges as calamine reads them; none where its reader of that format has
    no such list (a merge is worth a warning, never a refusal)."""
    try:
        return list(sheet.merged_cell_ranges or ())
    except Exception:  # calamine's readers differ by format
        return []


def _a1(row: int, column: int) -> str:
    """The A1 name of a 0-based cell."""
    letters = ""
    column += 1
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"{letters}{row + 1}"


def _identity_rows_within(refused: Refused) -> list[list] | None:
    """The identity sheet's rows of a file refused for data outside another sheet (None otherwise):
    that sheet passed the guard, and it alone is parsed."""
    if SHEET_IDENTITY not in [unicodedata.normalize("NFC", n) for n in getattr(refused, "sheets_within", ())]:
        return None
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(refused.package))
    except Exception:  # calamine raises several unrelated types for damaged files
        return None
    try:
        names = {unicodedata.normalize("NFC", n): n for n in workbook.sheet_names}
        return _rows(workbook.get_sheet_by_name(names[SHEET_IDENTITY]))
    except Exception:
        return None
    finally:
        workbook.close()


def _rows(sheet) -> list[list]:
    """The sheet from A1, never past the template's extent whatever the sheet declares."""
    start = sheet.start
    if start is None:
        return []
    width = max(0, MAX_COLUMN - start[1])
    if not start[1]:
        rows = list(itertools.islice(sheet.iter_rows(), MAX_ROW))
        if max(map(len, rows), default=0) <= width:
            return rows  # the template's sheets are narrower than the extent: nothing to cut
        return [row[:width] for row in rows]
    pad = [""] * start[1]
    return [pad + row[:width] for row in itertools.islice(sheet.iter_rows(), MAX_ROW)]


def _info_row(submission_id: str, sheet: Sheet, state: str, identity: TemplateIdentity | None) -> list:
    out = [submission_id]
    column = ord(L.INFO_VALUE_COLUMN) - ord("A")
    for f in L.INFO_FIELDS:
        value = sheet.get(f.row, column)
        if isinstance(value, Unusable):
            value = None
        if f.key in ("year", "quarter") and isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, (dt.date, dt.datetime)) and f.key not in ("deadline", "reported_on"):
            value = value.isoformat()
        out += [value, f.cell]
    issued = [None] * 6 if identity is None else [
        identity.programme_code, identity.template_version, identity.unit_code, identity.unit_name,
        identity.year, identity.quarter,
    ]
    return out + [state, *issued]


def _locked_rows(
    submission_id: str, sheets: dict[str, Sheet], identity: TemplateIdentity | None, is_1904: bool
) -> list[list]:
    """Each locked cell the identity lists that the file no longer holds as handed out: as found,
    beside what was handed out (equal ones, some 200 a file, cannot fail any check)."""
    if identity is None:
        return []
    out = []
    known_clean = _CLEAN_TEXT
    name = sheet = rows = None
    clean = False
    for sheet_name, cell, expected in identity.locked:
        if sheet_name != name:
            name, sheet = sheet_name, sheets.get(sheet_name)
            if sheet is not None:
                rows, clean = sheet.rows, not (sheet.uncached or sheet.errors)
        where = _position(cell)
        if sheet is None or where is None:
            continue
        if clean:
            # Sheet.raw and _as_handed_out, inlined for the common cases: this runs some 200 times a file.
            cells = rows[where[0] - 1] if where[0] <= len(rows) else ()
            raw = cells[where[1]] if where[1] < len(cells) else None
            kind = type(raw)
            if kind is str:
                if raw == expected and (
                    raw in known_clean or (len(raw) <= MAX_CELL_CHARS and not CONTROL.search(raw))
                ):
                    continue
            elif kind is float:
                if raw.is_integer() and expected == str(int(raw)):
                    continue
            elif _as_handed_out(raw, expected):
                continue
        value = sheet.get(*where, record=False)
        if isinstance(value, Unusable):
            continue  # reported for what is wrong with it
        if ISO_DATE.match(expected) and isinstance(value, (int, float)) and not isinstance(value, bool):
            value, _, _ = _date(value, is_1904)
        found = cell_text(value)
        if found != expected:
            out.append([submission_id, sheet_name, cell, found, expected, display(found), display(expected)])
    return out


@functools.lru_cache(maxsize=4096)
def _position(cell: str) -> tuple[int, int] | None:
    """(1-based row, 0-based column) of a one-letter cell name such as B11."""
    where = CELL_NAME.match(cell)
    return (int(where[2]), ord(where[1]) - ord("A")) if where else None


def _as_handed_out(raw, expected: str) -> bool:
    """Whether a cell's raw value certainly reads as the canonical text handed out: the common
    case, decided without the full reading (anything else takes it)."""
    if raw is None or raw == "":
        return expected == ""
    kind = type(raw)
    if kind is str:
        return raw == expected and len(raw) <= MAX_CELL_CHARS and not CONTROL.search(raw)
    if kind is float:
        return raw.is_integer() and expected == str(int(raw))
    if kind is int:
        return expected == str(raw)
    return False


def _number(value) -> tuple[float | None, str, str | None]:
    """(number, kind, text) where kind is number, missing, text or unusable."""
    if isinstance(value, Unusable):
        return None, "unusable", None
    if value is None:
        return None, "missing", None
    if isinstance(value, bool) or isinstance(value, (dt.date, dt.datetime, dt.time, dt.timedelta)):
        return None, "text", shown(value)
    if isinstance(value, (int, float)):
        return float(value), "number", None
    return None, "text", str(value)


def _date(value, is_1904: bool) -> tuple[dt.date | None, str, str | None]:
    """(date, kind, text): a date cell, an Excel serial number, or dd/mm/yyyy typed as text."""
    if isinstance(value, Unusable):
        return None, "unusable", None
    if value is None:
        return None, "missing", None
    if isinstance(value, dt.datetime):
        return value.date(), "date", None
    if isinstance(value, dt.date):
        return value, "date", None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 <= value < 2958466:
        return EXCEL_EPOCH[is_1904] + dt.timedelta(days=int(value)), "date", None
    text = shown(value)
    match = DATE_TEXT.match(text)
    if match:
        day, month, year = (int(g) for g in match.groups())
        try:
            return dt.date(year, month, day), "date", None
        except ValueError:
            pass
    return None, "text", text


# Letters no Vietnamese text holds that look exactly like its own: Ð/ð (Icelandic eth, what a
# Windows-1258 "Đ" becomes read as Latin-1) for Đ/đ. A status "Ðã hoàn thành" was refused beside
# an allowed "Đã hoàn thành" that looked the same.
LOOKALIKES = str.maketrans({"\u00d0": "\u0110", "\u00f0": "\u0111"})


def _text(value):
    return None if isinstance(value, Unusable) else value


def _indicator_rows(submission_id: str, sheet: Sheet) -> list[list]:
    out = []
    col = L.IND
    code_at, label_at, unit_at = col["indicator_code"].index, col["label"].index, col["unit"].index
    value_at, ytd_at, plan_at, note_at = col["value"].index, col["ytd"].index, col["plan"].index, col["note"].index
    read_after_code = (value_at, ytd_at, plan_at, label_at, unit_at, note_at)
    for row in range(L.FIRST_DATA_ROW, min(len(sheet.rows), L.FIRST_DATA_ROW + 200) + 1):
        code = _text(sheet.get(row, code_at))
        if code is None:
            break
        c_code, c_label, c_unit, c_value, c_ytd, c_plan = _indicator_cells(row)
        # Read in this order (numbers first): a cell's problem is reported when first read.
        value, ytd, plan, label, unit, note = sheet.values(row, read_after_code)
        out.append([
            submission_id, row, str(code), c_code,
            _text(label), c_label,
            _text(unit), c_unit,
            *_number(value), c_value, *_number(ytd), c_ytd, *_number(plan), c_plan,
            _text(note),
        ])
    return out


@functools.lru_cache(maxsize=512)
def _indicator_cells(row: int) -> tuple[str, ...]:
    return tuple(f"{L.IND[key].letter}{row}" for key in ("indicator_code", "label", "unit", "value", "ytd", "plan"))


def _text_at(sheets: dict[str, Sheet], name: str, cell: str) -> str | None:
    """The text a sheet's cell holds, compared with a locked cell's handed-out text."""
    where = _position(cell)
    if name not in sheets or where is None:
        return None
    found = _text(sheets[name].get(where[0], where[1], record=False))
    return None if found is None else str(found)


def _header_rows(submission_id: str, sheets: dict[str, Sheet]) -> list[list]:
    """The table headers as found, to tell a clerk who renamed or moved a column."""
    out = []
    for name, columns in ((L.SHEET_INDICATORS, L.INDICATOR_COLUMNS), (L.SHEET_TASKS, L.TASK_COLUMNS)):
        for col in columns:
            found = _text(sheets[name].get(L.HEADER_ROW, col.index))
            out.append([submission_id, name, f"{col.letter}{L.HEADER_ROW}", found, col.header_vi])
    summary_col = ord(L.SUMMARY_LABEL_COLUMN) - ord("A")
    found = _text(sheets[L.SHEET_TASKS].get(L.HEADER_ROW, summary_col))
    out.append([submission_id, L.SHEET_TASKS, f"{L.SUMMARY_LABEL_COLUMN}{L.HEADER_ROW}", found, L.SUMMARY_HEADER])
    return out


def _summary_rows(submission_id: str, sheet: Sheet) -> list[list]:
    """The clerk's own totals beside the task table, as (label, number) in row order."""
    out = []
    label_col = ord(L.SUMMARY_LABEL_COLUMN) - ord("A")
    value_col = ord(L.SUMMARY_VALUE_COLUMN) - ord("A")
    row = L.FIRST_DATA_ROW
    while (label := _text(sheet.get(row, label_col))) is not None and row < L.FIRST_DATA_ROW + 50:
        out.append([submission_id, str(label), *_number(sheet.get(row, value_col)), f"{L.SUMMARY_VALUE_COLUMN}{row}"])
        row += 1
    return out


def _task_rows(submission_id: str, sheet: Sheet, is_1904: bool) -> list[list]:
    out = []
    last = min(len(sheet.rows), L.FIRST_DATA_ROW + L.MAX_TASK_ROWS - 1)
    # Most of the table's rows hold only their pre-printed number: a row whose cells are all
    # empty is passed over without reading them one by one (the columns are side by side).
    first, end = min(_TASK_INDEXES), max(_TASK_INDEXES) + 1
    clean = not (sheet.uncached or sheet.errors)
    values = sheet.values
    for row in range(L.FIRST_DATA_ROW, last + 1):
        if clean:
            cells = sheet.rows[row - 1][first:end]
            if cells.count("") + cells.count(None) == len(cells):
                continue
        code, content, source, status, completed, note = values(row, _TASK_INDEXES)
        if code is None and content is None and source is None and status is None and completed is None:
            if _text(note) is not None:
                sheet.problems.append(_note_without_task(submission_id, sheet.name, _task_cells(row)[-1], note))
            continue
        completed_on, date_kind, date_text = _date(completed, is_1904)
        code = _text(code)
        if isinstance(code, float) and code.is_integer():
            code = str(int(code))
        c_code, c_content, c_source, c_status, c_date, c_note = _task_cells(row)
        out.append([
            submission_id, row,
            None if code is None else str(code), c_code,
            _text(content), c_content,
            _text(source), c_source,
            _text(status), c_status,
            completed_on, date_kind, date_text, c_date,
            _text(note), c_note,
        ])
    return out


_TASK_KEYS = ("task_code", "content", "source", "status", "completed_on", "note")
_TASK_INDEXES = tuple(L.TASK[key].index for key in _TASK_KEYS)
assert max(_TASK_INDEXES) - min(_TASK_INDEXES) == 5, "the task table's filled columns are side by side"


def _note_without_task(submission_id: str, sheet: str, cell: str, note) -> Finding:
    """A note typed on a row that holds no task: nothing in the warehouse would keep it."""
    return Finding(
        submission_id, "task.note_without_task", WARNING, sheet, cell, shown(note),
        f'Ô {cell} có ghi chú "{shown(note)}" nhưng dòng này không có nhiệm vụ nào, nên ghi chú không '
        "được lưu. Nếu ghi chú thuộc một nhiệm vụ, hãy ghi vào cột Ghi chú ở dòng của nhiệm vụ đó.",
    )


@functools.lru_cache(maxsize=512)
def _task_cells(row: int) -> tuple[str, ...]:
    return tuple(f"{L.TASK[key].letter}{row}" for key in _TASK_KEYS)
