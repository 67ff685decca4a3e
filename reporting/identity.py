"""A template's identity: whom it was handed out to, for which period and programme, and what
its locked cells said, kept in a very hidden sheet and sealed with a digest.

The identity travels inside the workbook, so it verifies without the warehouse that issued it:
any copy of p135 (a fresh warehouse, `p135 check` on a clerk's machine) reads the same verdict
from the same file. The sheet is very hidden (Excel shows it only through the VBA editor) and
its digest detects any edit of it; the digest is not a signature, and whoever rewrites both the
sheet and its digest by program is not a clerk typing in a cell. Cells, not defined names,
document properties or customXml parts: python-calamine reads neither of the first two,
openpyxl drops the third when it saves, and LibreOffice keeps a hidden sheet through xlsx, xls
and ods.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

SHEET_IDENTITY = "p135_identity"
FORMAT = "p135-template-identity/1"
FIELDS = ("programme_code", "template_version", "unit_code", "unit_name", "year", "quarter")
# Rows of the identity sheet, a key in A and text in B: a title, the format, the fields, the
# digest, then the locked cells as JSON ({sheet: [[cell, value], ...]}) cut into pieces that fit
# a cell, one `locked` row each.
TITLE = "p135: nhận diện mẫu báo cáo (không sửa)"
DIGEST_KEY = "digest"
LOCKED_KEY = "locked"
PIECE_CHARS = 30000
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

VALID = "valid"
MISSING = "missing"
ALTERED = "altered"


class LockedCell(NamedTuple):
    """A cell the template fills and locks, with its value as canonical text ("" when empty)."""

    # A tuple, not a frozen dataclass: a file's identity holds some 200 of them, built at every read.
    sheet: str
    cell: str
    value: str


@dataclass(frozen=True)
class TemplateIdentity:
    programme_code: str
    template_version: str
    unit_code: str
    unit_name: str
    year: int
    quarter: int
    locked: tuple[LockedCell, ...] = ()

    @property
    def digest(self) -> str:
        """sha256 over every field and locked cell, in a fixed order."""
        return self.digest_with(json.dumps(self.locked_by_sheet(), ensure_ascii=False, separators=(",", ":")))

    def digest_with(self, locked_json: str) -> str:
        """The digest, the locked cells given as the JSON text written for them."""
        head = json.dumps([FORMAT, *(str(getattr(self, f)) for f in FIELDS)], ensure_ascii=False, separators=(",", ":"))
        text = f"{head[:-1]},{locked_json}]"
        return hashlib.sha256(unicodedata.normalize("NFC", text).encode("utf-8")).hexdigest()

    def locked_by_sheet(self) -> dict[str, list[list[str]]]:
        by_sheet: dict[str, list[list[str]]] = {}
        for c in self.locked:
            by_sheet.setdefault(c.sheet, []).append([c.cell, c.value])
        return by_sheet

    def rows(self) -> list[list[str]]:
        """The identity sheet's rows, every value as text."""
        out = [[TITLE, ""], ["format", FORMAT]]
        out += [[f, str(getattr(self, f))] for f in FIELDS]
        out.append([DIGEST_KEY, self.digest])
        text = json.dumps(self.locked_by_sheet(), ensure_ascii=False, separators=(",", ":"))
        out += [[LOCKED_KEY, text[i:i + PIECE_CHARS]] for i in range(0, len(text), PIECE_CHARS)]
        return out


def cell_text(value: object) -> str:
    """A cell's value as canonical text, the same whichever program saved it last.

    LibreOffice turns 2023 into 2023.0 and a date into a datetime at midnight; text is compared
    as the reader sees it (NFC, without surrounding spaces).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        number = float(value)
        if math.isnan(number):
            return ""
        return str(int(number)) if number.is_integer() else format(number, ".15g")
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return unicodedata.normalize("NFC", str(value)).strip()


def display(text: str) -> str:
    """Canonical text as a clerk reads it: dates as dd/mm/yyyy."""
    if ISO_DATE.match(text):
        return dt.date.fromisoformat(text).strftime("%d/%m/%Y")
    return text


def read_identity(rows: list[list] | None) -> tuple[str, TemplateIdentity | None]:
    """(state, identity) from the identity sheet's rows: valid, missing (no sheet) or altered."""
    if not rows:
        return MISSING, None
    # A program may drop the empty cells at a row's end; text is compared through the digest,
    # which is taken over NFC text.
    pairs = [
        [v.strip() if isinstance(v, str) else cell_text(v) for v in (list(row[:2]) + ["", ""])[:2]]
        for row in rows
    ]
    fields = {key: value for key, value in pairs[1:] if key and key != LOCKED_KEY}
    try:
        if fields.get("format") != FORMAT:
            return ALTERED, None
        locked_json = "".join(value for key, value in pairs if key == LOCKED_KEY)
        by_sheet = json.loads(locked_json)
        locked = _locked_cells(by_sheet)
        identity = TemplateIdentity(
            programme_code=fields["programme_code"], template_version=fields["template_version"],
            unit_code=fields["unit_code"], unit_name=fields["unit_name"],
            year=int(fields["year"]), quarter=int(fields["quarter"]), locked=locked,
        )
    except (KeyError, ValueError, TypeError, AttributeError):
        return ALTERED, None
    # The JSON text as read is the text sealed when the template was written: taking the digest
    # over it spares writing the cells out again, the common case; text laid out otherwise (the
    # same cells) is judged by the digest over the cells.
    stated = fields.get(DIGEST_KEY)
    if identity.digest_with(locked_json) != stated and identity.digest != stated:
        return ALTERED, None
    return VALID, identity


def _locked_cells(by_sheet: dict) -> tuple[LockedCell, ...]:
    """The locked cells of {sheet: [[cell, value], ...]}; raises ValueError or TypeError when a
    cell is not a pair. Built without a Python call per cell: a file holds some 200 of them."""
    out: list[LockedCell] = []
    for sheet, cells in by_sheet.items():
        if not cells:
            iter(cells)  # the same TypeError for a value that is not a list
            continue
        if set(map(len, cells)) != {2}:
            raise ValueError("a locked cell is not a [cell, value] pair")
        names, values = zip(*cells)
        out += map(tuple.__new__, itertools.repeat(LockedCell), zip(itertools.repeat(sheet), names, values))
    return tuple(out)
