"""What a check found: one problem in one cell of one submitted file, said in Vietnamese."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass

ERROR = "error"
WARNING = "warning"
# A file in one unit's template, named for another: refused, counted for neither (see expectations.gate).
FILE_NAME_OTHER_UNIT = "identity.file_name_other_unit"
# A file that is not this quarter's template of this programme: whatever its cells hold is read
# against the wrong quarter's rows and history, so these are all its clerk is told (see expectations.gate).
WRONG_TEMPLATE_RULES = (
    "identity.period_year", "identity.period_quarter", "identity.template_version", "identity.programme",
)
# A unit that no longer reports on its own (dissolved, or merged into another): told that, not
# what its cells hold, and not to mend the file.
NO_REPORT_DUE_RULES = ("identity.unit_ended", "identity.unit_merged")
# A submission's verdict as the clerk reads it.
STATUS_VI = {
    "accepted": "Chấp nhận",
    "accepted_with_warnings": "Chấp nhận, có cảnh báo",
    "rejected": "Từ chối",
    "superseded": "Đã được thay bằng bản sau",
    "held": "Đạt kiểm tra, tạm giữ (kỳ báo cáo đã khóa sổ)",
}


@dataclass(frozen=True)
class Finding:
    submission_id: str
    rule_id: str
    severity: str
    sheet: str | None
    cell: str | None
    value: str | None
    message_vi: str

    def as_row(self) -> dict:
        return asdict(self)


EMPTY_VI = "(để trống)"


def shown(value: object) -> str:
    """A value as a clerk would recognise it in a message: never None, nan, True or False."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # a numpy scalar
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return EMPTY_VI
    if isinstance(value, bool):
        # What a Vietnamese spreadsheet shows for a logical value.
        return "ĐÚNG" if value else "SAI"
    if isinstance(value, dt.datetime):
        return f"{value:%d/%m/%Y}" if value.time() == dt.time() else f"{value:%d/%m/%Y %H:%M}"
    if isinstance(value, dt.date):
        return f"{value:%d/%m/%Y}"
    if isinstance(value, dt.timedelta):
        seconds = int(value.total_seconds())
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        # Vietnamese decimal comma, no grouping: 1234,5 cannot be misread either way. A value too
        # small for six decimals keeps its significant digits: 1e-9 is not shown as "0,".
        text = f"{value:.6f}".rstrip("0").rstrip(".")
        if value and text in ("0", "-0"):
            text = f"{value:.15f}".rstrip("0")
            if text.endswith("."):
                text = format(value, ".3g")
        return text.replace(".", ",")
    return str(value)


def reading_order(finding: Finding) -> tuple:
    """The order a clerk reads a file's findings in: errors first, then by sheet and cell (row,
    then column), whole-sheet findings before cells."""
    cell = finding.cell or ""
    letters = "".join(c for c in cell if c.isalpha())
    digits = "".join(c for c in cell if c.isdigit())
    return (finding.severity != ERROR, finding.sheet or "", int(digits or 0), letters, finding.rule_id)


def status_for(findings: list[Finding]) -> str:
    """accepted, accepted_with_warnings or rejected, from one submission's findings."""
    severities = {f.severity for f in findings}
    if ERROR in severities:
        return "rejected"
    if WARNING in severities:
        return "accepted_with_warnings"
    return "accepted"
