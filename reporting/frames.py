"""The frames a batch of submitted workbooks is read into: every row names its submission and cells.

The reader (tasks/workbook_reader.py) fills them; the quality gate (expectations/) checks them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from reporting import layout as L
from reporting.findings import Finding

INFO_COLUMNS = ["submission_id"] + [c for f in L.INFO_FIELDS for c in (f.key, f"{f.key}_cell")] + [
    # The template's identity (reporting/identity.py): valid, missing or altered, and whom it was issued to.
    "identity", "issued_programme_code", "issued_template_version", "issued_unit_code", "issued_unit_name",
    "issued_year", "issued_quarter",
]
INDICATOR_COLUMNS = [
    "submission_id", "row", "indicator_code", "indicator_code_cell",
    "label_found", "label_cell", "unit_found", "unit_cell",
    "value", "value_kind", "value_text", "value_cell",
    "ytd", "ytd_kind", "ytd_text", "ytd_cell",
    "plan", "plan_kind", "plan_text", "plan_cell", "note",
]
HEADER_COLUMNS = ["submission_id", "sheet", "cell", "found", "expected"]
# Locked cells the template's identity lists that differ from what was handed out: as found and
# as handed out (canonical text).
LOCKED_COLUMNS = ["submission_id", "sheet", "cell", "found", "expected", "found_shown", "expected_shown"]
SUMMARY_COLUMNS = ["submission_id", "key", "stated", "stated_kind", "stated_text", "stated_cell"]
TASK_COLUMNS = [
    "submission_id", "row", "task_code", "task_code_cell", "content", "content_cell",
    "source_label", "source_cell", "status_label", "status_cell",
    "completed_on", "completed_on_kind", "completed_on_text", "completed_on_cell", "note", "note_cell",
]


@dataclass
class ParsedBatch:
    """Frames of a batch of workbooks; every row names its submission and its cells."""

    info: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=INFO_COLUMNS))
    indicators: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=INDICATOR_COLUMNS))
    tasks: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TASK_COLUMNS))
    headers: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=HEADER_COLUMNS))
    locked: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=LOCKED_COLUMNS))
    summary: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SUMMARY_COLUMNS))
    problems: list[Finding] = field(default_factory=list)
    peak_memory_mb: float = 0.0
    # Files refused unread whose template identity is intact (a sheet renamed or deleted): the unit
    # each was handed out to, which the refusal is recorded under.
    attributed: dict[str, str] = field(default_factory=dict)


def concat_batches(parts: list[ParsedBatch]) -> ParsedBatch:
    if not parts:
        return ParsedBatch()
    return ParsedBatch(
        info=_concat([p.info for p in parts], INFO_COLUMNS),
        indicators=_concat([p.indicators for p in parts], INDICATOR_COLUMNS),
        tasks=_concat([p.tasks for p in parts], TASK_COLUMNS),
        headers=_concat([p.headers for p in parts], HEADER_COLUMNS),
        locked=_concat([p.locked for p in parts], LOCKED_COLUMNS),
        summary=_concat([p.summary for p in parts], SUMMARY_COLUMNS),
        problems=[f for p in parts for f in p.problems],
        peak_memory_mb=max(p.peak_memory_mb for p in parts),
        attributed={sid: code for p in parts for sid, code in p.attributed.items()},
    )


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)
