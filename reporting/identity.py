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
import json
import math
import re
import unicodedata
from dataclasses import dataclass

SHEET_IDENTITY = "p135_identity"
FORMAT = "p135-template-identity/1"
FIELDS = ("programme_code", "template_version", "unit_code", "unit_name", "year", "quarter")
# Rows of the identity sheet: a title, the format, the fields, the digest, then the locked cells.
TITLE = "p135: nhận diện mẫu báo cáo (không sửa)"
DIGEST_KEY = "digest"
LOCKED_HEADER = ("sheet", "cell", "value")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

VALID = "valid"
MISSING = "missing"
ALTERED = "altered"


@dataclass(frozen=True)
class LockedCell:
    """A cell the template fills and locks, with its value as canonical text ("" when empty)."""

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
        payload = [FORMAT, *(str(getattr(self, f)) for f in FIELDS), [[c.sheet, c.cell, c.value] for c in self.locked]]
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(unicodedata.normalize("NFC", text).encode("utf-8")).hexdigest()

    def rows(self) -> list[list[str]]:
        """The identity sheet's rows, every value as text."""
        out = [[TITLE, ""], ["format", FORMAT]]
        out += [[f, str(getattr(self, f))] for f in FIELDS]
        out.append([DIGEST_KEY, self.digest])
        out.append(list(LOCKED_HEADER))
        out += [[c.sheet, c.cell, c.value] for c in self.locked]
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
    # Padded: a program may drop the empty cells at a row's end.
    text = [([cell_text(v) for v in row] + ["", "", ""])[:3] for row in rows]
    try:
        start = next(n for n, row in enumerate(text) if tuple(row) == LOCKED_HEADER)
        fields = {row[0]: row[1] for row in text[1:start] if row[0]}
        if fields.get("format") != FORMAT:
            return ALTERED, None
        locked = tuple(LockedCell(*row) for row in text[start + 1:] if row[0])
        identity = TemplateIdentity(
            programme_code=fields["programme_code"], template_version=fields["template_version"],
            unit_code=fields["unit_code"], unit_name=fields["unit_name"],
            year=int(fields["year"]), quarter=int(fields["quarter"]), locked=locked,
        )
    except (KeyError, ValueError, StopIteration, TypeError):
        return ALTERED, None
    if identity.digest != fields.get(DIGEST_KEY):
        return ALTERED, None
    return VALID, identity
