"""What a check found: one problem in one cell of one submitted file, said in Vietnamese."""

from __future__ import annotations

from dataclasses import asdict, dataclass

ERROR = "error"
WARNING = "warning"
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


def shown(value: object) -> str:
    """A value as a clerk would recognise it in a message."""
    if value is None or value == "":
        return "(để trống)"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        # Vietnamese decimal comma, no grouping: 1234,5 cannot be misread either way.
        return f"{value:.6f}".rstrip("0").replace(".", ",")
    return str(value)


def status_for(findings: list[Finding]) -> str:
    """accepted, accepted_with_warnings or rejected, from one submission's findings."""
    severities = {f.severity for f in findings}
    if ERROR in severities:
        return "rejected"
    if WARNING in severities:
        return "accepted_with_warnings"
    return "accepted"
