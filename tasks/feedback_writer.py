"""Writing the clerk's feedback workbooks fast: xlsxwriter, assembled in memory, in parallel worker
processes for a large batch.

Pure functions without Prefect or the warehouse: a `FeedbackJob` (plain text rows, picklable and
small) goes in, a workbook renamed into place comes out, and its size is handed back so that the
calling process records it. This module imports only xlsxwriter and tasks/feedback_sheet.py, so a worker starts quickly.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import xlsxwriter

from tasks.child_processes import exit_with_owner
from tasks.feedback_sheet import FastWriter

SHEET = "Kết quả kiểm tra"
HEADER_ROW = 12  # 1-based, as the clerk reads it; findings start on the row below
COLUMNS = (("STT", 6), ("Mã quy tắc", 34), ("Mức độ", 10), ("Sheet", 20), ("Ô", 8),
           ("Giá trị đã nhập", 24), ("Cần sửa thế nào", 100))
FIRST_FACT_ROW = 4
VERDICT_LABEL = "Kết quả"
NO_FINDINGS_VI = "Không có lỗi hay cảnh báo."
TITLE_BLUE, REJECTED_RED, ACCEPTED_GREEN, BORDER_GREY = "#1F4E79", "#C00000", "#1E7B34", "#A6A6A6"
# Control characters a workbook cannot hold (the set openpyxl refuses): dropped, as before.
ILLEGAL_CHARACTERS = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
# Batches up to this size are written in the calling process: starting worker processes costs more
# than it saves (measured on the 2-core machine, busy: the demo bloc's 72 files in 1.4 s here,
# 3.4 s through two new worker processes).
IN_PROCESS_UP_TO = 150
CHUNK_JOBS = 100
LANDING_THREADS = 4
DEFAULT_WORKERS = 2


@dataclass(frozen=True)
class FeedbackJob:
    """Everything one feedback workbook shows, as plain values: built by the caller, written anywhere."""

    path: str
    title: str
    subtitle: str
    facts: tuple[tuple[str, str], ...]
    is_rejected: bool
    # (STT, rule id, severity, sheet, cell, value entered, what to fix), already in the clerk's order.
    findings: tuple[tuple[object, ...], ...]


def write_workbook(job: FeedbackJob, path: str | Path) -> None:
    """Write the job's workbook to `path` (not atomically: `place` is the way into the feedback folder)."""
    Path(path).write_bytes(workbook_bytes(job))


def workbook_bytes(job: FeedbackJob) -> bytes:
    """The job's workbook as the bytes of an .xlsx file: the sheet as `_fill` writes it, serialised by
    tasks/feedback_sheet.py (a quarter of xlsxwriter's time: its XML for styles, theme and properties
    is the same in every workbook), or by xlsxwriter itself where that would not give the same parts."""
    return _FAST.workbook_bytes(job) or xlsxwriter_bytes(job)


def xlsxwriter_bytes(job: FeedbackJob) -> bytes:
    """The job's workbook as xlsxwriter writes it.

    Assembled in memory: xlsxwriter's constant-memory mode (and its default mode) stage every part of
    the package in a temporary file, which cost 8 times the whole write here (49 ms against 6 ms per
    workbook); a feedback sheet is a few hundred rows at most, so memory is no concern. Outside text
    is written with `write_string` anyway; the options only make sure nothing is ever converted.
    """
    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {
        "in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
    })
    try:
        _fill(wb, job)
    finally:
        wb.close()
    return out.getvalue()


def _fill(wb: xlsxwriter.Workbook, job: FeedbackJob) -> None:
    title = wb.add_format({"bold": True, "font_size": 13, "font_color": TITLE_BLUE})
    label = wb.add_format({"bold": True, "valign": "top"})
    verdict = wb.add_format({"bold": True, "font_color": REJECTED_RED if job.is_rejected else ACCEPTED_GREEN})
    box = {"border": 1, "border_color": BORDER_GREY}
    header = wb.add_format({"bold": True, "font_color": "#FFFFFF", "pattern": 1, "bg_color": TITLE_BLUE, **box})
    cell = wb.add_format({"text_wrap": True, "valign": "top", **box})
    fact = wb.add_format({"text_wrap": True, "valign": "top"})
    ws = wb.add_worksheet(SHEET)
    for col, (_, width) in enumerate(COLUMNS):
        # In pixels, so that the stored width is exactly the character width given (as openpyxl stored it).
        ws.set_column_pixels(col, col, width * 7)
    ws.freeze_panes(HEADER_ROW, 0)
    # Printed, the findings' columns stay on one A4 page's width (the fix column had a page of its own).
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(HEADER_ROW - 1)
    ws.write_string(0, 0, _text(job.title), title)
    ws.write_string(1, 0, _text(job.subtitle))
    for row, (name, value) in enumerate(job.facts, start=FIRST_FACT_ROW - 1):
        ws.merge_range(row, 0, row, 1, "", label)
        ws.write_string(row, 0, _text(name), label)
        style = verdict if name == VERDICT_LABEL else fact
        ws.merge_range(row, 2, row, 6, "", style)
        _put(ws, row, 2, value, style)
        _fit(ws, row, [(value, FACT_WIDTH)])
    for col, (name, _) in enumerate(COLUMNS):
        ws.write_string(HEADER_ROW - 1, col, name, header)
    for row, values in enumerate(job.findings, start=HEADER_ROW):
        for col, value in enumerate(values):
            _put(ws, row, col, value, cell)
        _fit(ws, row, [(value, width) for value, (_, width) in zip(values, COLUMNS)])
    if not job.findings:
        ws.write_string(HEADER_ROW, 0, NO_FINDINGS_VI)


# Looked up when called, so that the sheet is always what `_fill` writes now.
_FAST = FastWriter(lambda book, job: _fill(book, job), xlsxwriter_bytes)


# A row's height for its longest wrapped text: neither Excel nor LibreOffice fits it to a merged
# cell, and LibreOffice printed two lines of a five-line instruction. Pixels per line of the
# default 11-point font; a row is at most 409 points high.
LINE_PIXELS, MAX_ROW_PIXELS = 20, 545
FACT_WIDTH = sum(width for _, width in COLUMNS[2:])


def _fit(ws, row: int, texts: list[tuple[object, int]]) -> None:
    """Make the row tall enough for its longest text wrapped in its column's width (in characters)."""
    lines = max((_lines(str(value), width) for value, width in texts if isinstance(value, str)), default=1)
    if lines > 1:
        ws.set_row_pixels(row, min(lines * LINE_PIXELS, MAX_ROW_PIXELS))


def _lines(text: str, width: int) -> int:
    # A little narrower than the column: words wrap whole, and some letters are wider than the average.
    usable = max(width - 4, 1)
    return sum(max(1, -(-len(part) // usable)) for part in text.split("\n"))


def _text(value: str) -> str:
    return ILLEGAL_CHARACTERS.sub("", value)


def _put(ws, row: int, col: int, value: object, style) -> None:
    """Text stays text (never a formula, a link or an error value); numbers stay numbers."""
    if value is None:
        ws.write_blank(row, col, None, style)
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value, style)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value, style)
    else:
        text = _text(str(value))
        if text:
            ws.write_string(row, col, text, style)
        else:
            ws.write_blank(row, col, None, style)


def land(data: bytes, path: str | Path, partial_prefix: str) -> int:
    """Write `data` under a temporary name beside `path`, flush it to disk, then rename it into place;
    return its size. A run killed meanwhile leaves the earlier workbook (or none), never a truncated one."""
    path = Path(path)
    partial = path.with_name(f"{partial_prefix}{secrets.token_hex(6)}-{path.name}")
    try:
        with open(partial, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            size = os.fstat(handle.fileno()).st_size
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return size


def place_chunk(jobs: list[FeedbackJob], partial_prefix: str) -> list[int]:
    """Write and land each job's workbook; the sizes in job order.

    The flush to disk waits on the device, not the processor: it runs in threads while the next
    workbooks are built, and the disk takes concurrent flushes in one journal commit.
    """
    with ThreadPoolExecutor(max_workers=LANDING_THREADS) as landing:
        landed = [landing.submit(land, workbook_bytes(job), job.path, partial_prefix) for job in jobs]
        return [future.result() for future in landed]


def place_all(jobs: list[FeedbackJob], partial_prefix: str, workers: int = DEFAULT_WORKERS) -> list[int]:
    """Place every job's workbook, in `workers` processes for a large batch; the sizes in job order."""
    chunks = [jobs[i:i + CHUNK_JOBS] for i in range(0, len(jobs), CHUNK_JOBS)]
    if workers <= 1 or len(jobs) <= IN_PROCESS_UP_TO:
        return [size for chunk in chunks for size in place_chunk(chunk, partial_prefix)]
    with _pool(min(workers, len(chunks))) as pool:
        parts = pool.map(place_chunk, chunks, [partial_prefix] * len(chunks))
        return [size for part in parts for size in part]


def _pool(workers: int) -> ProcessPoolExecutor:
    # Workers fork from a server process, not from the caller: no copy of its database connections or
    # threads. Multiprocessing makes each worker import the caller's main module before its first
    # job; preloaded once in the server, it is not imported again by every worker of every batch.
    context = get_context("forkserver")
    context.set_forkserver_preload(["__main__", *_main_module_name(), __name__])
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=exit_with_owner,
                               initargs=(os.getpid(),))


def _main_module_name() -> list[str]:
    """The caller's main module when it was run by name (`python -m flows.cli`): the server imports
    one run by path (the `p135` script) itself, but not one run by name."""
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    name = getattr(spec, "name", None)
    return [name] if name and not name.endswith("__main__") else []
