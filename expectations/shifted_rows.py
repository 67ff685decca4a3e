"""Rows inserted into or deleted from a template's sheet, told from the locked cells that moved;
columns, from the table headers that moved.

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
RULE_COLUMNS_INSERTED = "structure.columns_inserted"
RULE_COLUMNS_DELETED = "structure.columns_deleted"
RULE_REORDERED = "structure.rows_reordered"
# Every cell of a sheet whose columns moved is read from the wrong column: nothing else of it is told.
COLUMN_RULES = (RULE_COLUMNS_INSERTED, RULE_COLUMNS_DELETED)
RULES = (RULE_INSERTED, RULE_DELETED, RULE_REORDERED, *COLUMN_RULES)
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
        if order := _reordered(rows, identity, sheet):
            findings.append(_reordered_finding(submission_id, sheet, *order))
            continue
        shift = _shift(rows, identity, sheet) if len(rows) >= 2 else None
        if shift is None:
            kept.extend(rows)
            continue
        start, moved, example = shift
        kept.extend(r for r in rows if _row(r[2]) < start)
        findings.append(_finding(submission_id, sheet, start, moved, example))
    return kept, findings


# How far from where it was handed out an emptied cell's text is looked for (moved_alone).
NEAR_ROWS = 3


def moved_alone(
    submission_id: str, changed: list[list], identity: TemplateIdentity, look
) -> tuple[list[list], list[Finding]]:
    """A sheet whose only changes are cells left empty, each one's handed-out text standing the same
    few rows away in its column where the template has no such text (a row inserted or deleted just
    above the note under a table): one shift finding for it, not "sửa thành (để trống)". A cleared
    unit beside another row's same unit is no shift. `look(sheet, cell)` is the text the file holds
    there (None when empty); `changed` rows as `split_shifted`'s."""
    handed_out = {(name, cell): expected for name, cell, expected in identity.locked}
    by_sheet: dict[str, list[list]] = {}
    for row in changed:
        by_sheet.setdefault(row[1], []).append(row)
    kept, findings = [], []
    for sheet, rows in by_sheet.items():
        moves: set[int] = set()
        for row in rows:
            column, at = _column(row[2]), _row(row[2])
            if row[3] != "" or row[4] == "" or not column:
                moves = set()
                break
            near = [k for k in range(-NEAR_ROWS, NEAR_ROWS + 1)
                    if k and at + k >= 1 and handed_out.get((sheet, f"{column}{at + k}")) != row[4]
                    and look(sheet, f"{column}{at + k}") == row[4]]
            if len(near) != 1:
                moves = set()
                break
            moves.add(near[0])
        if len(moves) != 1:
            kept.extend(rows)
            continue
        moved = moves.pop()
        top = min(rows, key=lambda r: _row(r[2]))
        now_at = f"{_column(top[2])}{_row(top[2]) + moved}"
        start = _row(now_at) - moved if moved > 0 else _row(now_at)
        findings.append(_finding(submission_id, sheet, start, moved,
                                 [submission_id, sheet, now_at, top[4], top[4], top[6], top[6]]))
    return kept, findings


def moved_columns(submission_id: str, headers: list[list]) -> list[Finding]:
    """One finding per sheet whose table headers are the template's, moved sideways: a column
    inserted (the headers pushed right) or deleted (pulled left). `headers` rows are
    (submission_id, sheet, cell, found, expected), as the reader lists them; a header merely
    retyped is the structure suite's to tell."""
    by_sheet: dict[str, list[tuple[str, str | None, str]]] = {}
    for _, sheet, cell, found, expected in headers:
        by_sheet.setdefault(sheet, []).append((cell, found, expected))
    findings = []
    for sheet, cells in by_sheet.items():
        handed_at = {_words(expected): cell for cell, _, expected in cells}
        for cell, found, expected in sorted(cells, key=lambda c: _column_number(c[0])):
            if found is None or _words(found) == _words(expected) or _words(found) not in handed_at:
                continue
            origin = handed_at[_words(found)]
            moved = _column_number(cell) - _column_number(origin)
            findings.append(_column_finding(submission_id, sheet, cell, str(found), origin, moved))
            break
    return findings


def _column_finding(submission_id: str, sheet: str, cell: str, found: str, origin: str, moved: int) -> Finding:
    told = f'tiêu đề ở ô {cell} là "{found}", mẫu đã cấp ghi tiêu đề này ở ô {origin}'
    if moved > 0:
        return Finding(
            submission_id, RULE_COLUMNS_INSERTED, ERROR, sheet, cell, None,
            f'Sheet "{sheet}" có {moved} cột được chèn thêm: {told}; từ cột {_column(origin)} trở sang phải, các '
            f"cột của mẫu bị đẩy sang phải {moved} cột nên số liệu không đọc được đúng chỗ. Không chèn hay xóa cột "
            "trong mẫu: hãy xóa cột đã chèn (hoặc nhập lại số liệu vào tệp mẫu gốc), lưu lại và gửi lại.",
        )
    return Finding(
        submission_id, RULE_COLUMNS_DELETED, ERROR, sheet, cell, None,
        f'Sheet "{sheet}" có {-moved} cột bị xóa: {told}; từ cột {_column(cell)} trở sang phải, các cột của mẫu '
        f"bị kéo sang trái {-moved} cột nên số liệu không đọc được đúng chỗ. Không chèn hay xóa cột trong mẫu: "
        "hãy nhập lại số liệu vào tệp mẫu gốc đã được cấp, lưu lại và gửi lại.",
    )


def shifted_from(findings: list[Finding]) -> dict[tuple[str, str], int]:
    """(submission, sheet) -> the first row a shift moved (0, the whole sheet, when its columns
    moved), from the findings `split_shifted`, `moved_alone` and `moved_columns` made."""
    shifted: dict[tuple[str, str], int] = {}
    for f in findings:
        if f.rule_id in RULES:
            start = 0 if f.rule_id in COLUMN_RULES else _row(f.cell)
            key = (f.submission_id, f.sheet)
            shifted[key] = min(start, shifted.get(key, start))
    return shifted


def below_shift(finding: Finding, shifted: dict[tuple[str, str], int]) -> bool:
    """Whether a finding is about a cell (or a whole row) of a sheet at or below where its rows moved."""
    start = shifted.get((finding.submission_id, finding.sheet))
    if start is None or finding.rule_id in RULES:
        return False
    return finding.cell is None or _row(finding.cell) >= start


def _handed_out_rows(identity: TemplateIdentity, sheet: str) -> dict[tuple[str, str], set[int]]:
    """(column, text) -> the rows of the sheet where the template was handed out with that text."""
    handed_out: dict[tuple[str, str], set[int]] = {}
    for name, cell, expected in identity.locked:
        if name == sheet and expected != "" and (where := CELL.match(cell)):
            handed_out.setdefault((where[1], expected), set()).add(int(where[2]))
    return handed_out


def _shift(rows: list[list], identity: TemplateIdentity, sheet: str) -> tuple[int, int, list] | None:
    """(first row moved, rows moved down (> 0) or up (< 0), a moved cell's row) when most of the
    sheet's changed cells hold a handed-out value from the same number of rows away."""
    handed_out = _handed_out_rows(identity, sheet)
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


def _reordered(rows: list[list], identity: TemplateIdentity, sheet: str) -> tuple[int, int, list, int] | None:
    """(first row, last row, a moved cell's row, where the template has it) when the sheet's changed
    locked cells are rows of the template put in another order (a table sorted): each changed row
    holds, in every changed cell, what one other row was handed out with, and the rows they came
    from are the very rows they went to. A shift moves rows into places no row came from."""
    handed_out = _handed_out_rows(identity, sheet)
    origins: dict[int, set[int]] = {}
    examples: dict[int, list] = {}
    rows_changed = set()
    for row in rows:
        where = CELL.match(row[2])
        if where is None or row[3] == "":
            return None
        at = int(where[2])
        rows_changed.add(at)
        if row[4] == "":
            continue  # a cell that must stay empty, now holding the figure a moved row brought
        came = handed_out.get((where[1], row[3]), set()) - {at}
        origins[at] = origins[at] & came if at in origins else came
        examples.setdefault(at, row)
    if len(origins) < 2 or set(origins) != rows_changed or any(len(came) != 1 for came in origins.values()):
        return None
    moved_from = {at: next(iter(came)) for at, came in origins.items()}
    if set(moved_from.values()) != set(moved_from):
        return None
    first = min(moved_from)
    return first, max(moved_from), examples[first], moved_from[first]


def _reordered_finding(submission_id: str, sheet: str, first: int, last: int, example: list, origin: int) -> Finding:
    cell, found = example[2], example[5]
    return Finding(
        submission_id, RULE_REORDERED, ERROR, sheet, f"A{first}", None,
        f'Sheet "{sheet}" có các dòng bị đổi thứ tự (sắp xếp lại) từ dòng {first} đến dòng {last}: ô {cell} ghi '
        f'"{found}", mẫu đã cấp ghi ở ô {_column(cell)}{origin}, nên số liệu không đọc được đúng chỗ. Không sắp '
        "xếp hay đổi thứ tự các dòng trong mẫu: hãy đưa các dòng về đúng thứ tự như mẫu đã cấp (hoặc nhập lại số "
        "liệu vào tệp mẫu gốc), lưu lại và gửi lại.",
    )


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


def _column_number(cell: str) -> int:
    number = 0
    for letter in _column(cell):
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def _words(text) -> str:
    return " ".join(str(text).split()).casefold() if text is not None else ""
