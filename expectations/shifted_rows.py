"""Rows inserted into or deleted from a template's sheet, told from the locked cells that moved.

A clerk who inserts a row (to add a key task, say) pushes every locked cell below it down: cell
by cell that reads as dozens of changed cells. When the changed cells of a sheet are mostly the
handed-out values found a fixed number of rows lower (or higher), the clerk is told once where
the rows moved, and the cells below that point are not reported one by one.
"""

from __future__ import annotations

import re
from collections import Counter

from reporting.findings import ERROR, Finding
from reporting.identity import TemplateIdentity

RULE_INSERTED = "structure.rows_inserted"
RULE_DELETED = "structure.rows_deleted"
RULES = (RULE_INSERTED, RULE_DELETED)
# Farther than this, a value equal to one handed out elsewhere is a coincidence, not a shift.
MAX_SHIFT = 200
CELL = re.compile(r"^([A-Z]+)([0-9]+)$")


def split_shifted(
    submission_id: str, changed: list[list], identity: TemplateIdentity
) -> tuple[list[list], list[Finding]]:
    """The changed locked cells a shift does not explain, and one finding per shifted sheet.

    `changed` rows are (submission_id, sheet, cell, found, expected, found_shown, expected_shown),
    as the reader lists the locked cells that differ from what was handed out."""
    by_sheet: dict[str, list[list]] = {}
    for row in changed:
        by_sheet.setdefault(row[1], []).append(row)
    kept, findings = [], []
    for sheet, rows in by_sheet.items():
        shift = _shift(rows, identity, sheet) if len(rows) >= 2 else None
        if shift is None:
            kept.extend(rows)
            continue
        start, moved, example = shift
        kept.extend(r for r in rows if _row(r[2]) < start)
        findings.append(_finding(submission_id, sheet, start, moved, example))
    return kept, findings


def shifted_from(findings: list[Finding]) -> dict[tuple[str, str], int]:
    """(submission, sheet) -> the first row a shift moved, from the findings `split_shifted` made."""
    return {(f.submission_id, f.sheet): _row(f.cell) for f in findings if f.rule_id in RULES}


def below_shift(finding: Finding, shifted: dict[tuple[str, str], int]) -> bool:
    """Whether a finding is about a cell (or a whole row) of a sheet at or below where its rows moved."""
    start = shifted.get((finding.submission_id, finding.sheet))
    if start is None or finding.rule_id in RULES:
        return False
    return finding.cell is None or _row(finding.cell) >= start


def _shift(rows: list[list], identity: TemplateIdentity, sheet: str) -> tuple[int, int, list] | None:
    """(first row moved, rows moved down (> 0) or up (< 0), a moved cell's row) when most of the
    sheet's changed cells hold a handed-out value from the same number of rows away."""
    handed_out: dict[tuple[str, str], list[int]] = {}
    for name, cell, expected in identity.locked:
        if name == sheet and expected != "" and (where := CELL.match(cell)):
            handed_out.setdefault((where[1], expected), []).append(int(where[2]))
    votes: Counter[int] = Counter()
    for row in rows:
        where = CELL.match(row[2])
        if where is None or row[3] == "":
            continue
        for origin in handed_out.get((where[1], row[3]), ()):
            if 0 < abs(int(where[2]) - origin) <= MAX_SHIFT:
                votes[int(where[2]) - origin] += 1
    if not votes:
        return None
    moved = max(votes, key=lambda k: (votes[k], -abs(k)))
    explained = [r for r in rows if r[3] != "" and _row(r[2]) - moved in handed_out.get((_column(r[2]), r[3]), ())]
    if len({_row(r[2]) for r in explained}) < 2:
        return None  # one row typed over with its neighbour's labels is not a shift
    first = min(_row(r[2]) for r in explained)
    start = first - moved if moved > 0 else first
    example = min(explained, key=lambda r: (_row(r[2]), -len(r[3])))
    return start, moved, example


def _finding(submission_id: str, sheet: str, start: int, moved: int, example: list) -> Finding:
    cell, found = example[2], example[5]
    handed_at = f"{_column(cell)}{_row(cell) - moved}"
    if moved > 0:
        return Finding(
            submission_id, RULE_INSERTED, ERROR, sheet, f"A{start}", None,
            f'Sheet "{sheet}" có {moved} dòng được chèn thêm: từ dòng {start} trở xuống, các dòng của mẫu '
            f'bị đẩy xuống {moved} dòng (ô {cell} ghi "{found}", mẫu đã cấp ghi ở ô {handed_at}), nên số '
            "liệu không đọc được đúng chỗ. Không chèn hay xóa dòng trong mẫu: hãy xóa dòng đã chèn (hoặc "
            "nhập lại số liệu vào tệp mẫu gốc), lưu lại và gửi lại.",
        )
    return Finding(
        submission_id, RULE_DELETED, ERROR, sheet, f"A{start}", None,
        f'Sheet "{sheet}" có {-moved} dòng bị xóa: từ dòng {start} trở xuống, các dòng của mẫu bị kéo '
        f'lên {-moved} dòng (ô {cell} ghi "{found}", mẫu đã cấp ghi ở ô {handed_at}), nên số liệu không '
        "đọc được đúng chỗ. Không chèn hay xóa dòng trong mẫu: hãy nhập lại số liệu vào tệp mẫu gốc "
        "đã được cấp, lưu lại và gửi lại.",
    )


def _row(cell: str) -> int:
    where = CELL.match(cell)
    return int(where[2]) if where else 0


def _column(cell: str) -> str:
    where = CELL.match(cell)
    return where[1] if where else ""
