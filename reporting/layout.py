"""Where things sit in the quarterly template: shared by the writer and the reader."""

from __future__ import annotations

from dataclasses import dataclass, field

SHEET_GUIDE = "Hướng dẫn"
SHEET_INFO = "Thông tin"
SHEET_INDICATORS = "Chỉ tiêu"
SHEET_TASKS = "Nhiệm vụ trọng tâm"
SHEET_LISTS = "Danh mục"
REQUIRED_SHEETS = (SHEET_INFO, SHEET_INDICATORS, SHEET_TASKS)


@dataclass(frozen=True)
class InfoField:
    key: str
    label_vi: str
    row: int
    is_locked: bool = True

    @property
    def cell(self) -> str:
        return f"{INFO_VALUE_COLUMN}{self.row}"


INFO_LABEL_COLUMN = "A"
INFO_VALUE_COLUMN = "B"
INFO_FIELDS = (
    InfoField("template_version", "Phiên bản mẫu biểu", 3),
    InfoField("programme_code", "Chương trình", 4),
    InfoField("unit_code", "Mã đơn vị", 5),
    InfoField("unit_name", "Tên đơn vị", 6),
    InfoField("unit_group", "Khối", 7),
    InfoField("unit_type", "Loại tổ chức cơ sở đảng", 8),
    InfoField("year", "Năm", 9),
    InfoField("quarter", "Quý", 10),
    InfoField("deadline", "Hạn nộp báo cáo", 11),
    InfoField("reporter", "Người lập báo cáo", 13, is_locked=False),
    InfoField("phone", "Số điện thoại liên hệ", 14, is_locked=False),
    InfoField("reported_on", "Ngày lập báo cáo", 15, is_locked=False),
)
INFO = {f.key: f for f in INFO_FIELDS}


@dataclass(frozen=True)
class Column:
    key: str
    letter: str
    header_vi: str
    width: int
    # Zero-based column index; a field, since the reader asks for it some 200 times a file.
    index: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", ord(self.letter) - ord("A"))


HEADER_ROW = 4
FIRST_DATA_ROW = 5

INDICATOR_COLUMNS = (
    Column("position", "A", "STT", 6),
    Column("indicator_code", "B", "Mã chỉ tiêu", 28),
    Column("label", "C", "Chỉ tiêu", 48),
    Column("unit", "D", "Đơn vị tính", 22),
    Column("value", "E", "Thực hiện trong quý", 20),
    Column("ytd", "F", "Lũy kế từ đầu năm", 20),
    Column("plan", "G", "Kế hoạch năm", 18),
    Column("note", "H", "Ghi chú", 30),
)
IND = {c.key: c for c in INDICATOR_COLUMNS}

TASK_COLUMNS = (
    Column("position", "A", "STT", 6),
    Column("task_code", "B", "Mã nhiệm vụ", 14),
    Column("content", "C", "Nội dung nhiệm vụ trọng tâm", 60),
    Column("source", "D", "Nguồn nhiệm vụ", 38),
    Column("status", "E", "Trạng thái", 28),
    Column("completed_on", "F", "Ngày hoàn thành", 16),
    Column("note", "G", "Ghi chú", 30),
)
TASK = {c.key: c for c in TASK_COLUMNS}

# The clerk's own totals of the task sheet, beside the table (checked against the rows).
SUMMARY_LABEL_COLUMN = "I"
SUMMARY_VALUE_COLUMN = "J"
SUMMARY_HEADER = "Tổng hợp (đơn vị tự kê)"


@dataclass(frozen=True)
class SummaryLine:
    key: str
    label_vi: str
    row: int
    source_code: str | None = None
    is_completed: bool = False

    @property
    def cell(self) -> str:
        return f"{SUMMARY_VALUE_COLUMN}{self.row}"


def summary_lines(sources: list[tuple[str, str]]) -> list[SummaryLine]:
    """Total, one line per source (code, label), then completed; from row FIRST_DATA_ROW."""
    lines = [SummaryLine("total", "Tổng số nhiệm vụ trọng tâm", FIRST_DATA_ROW)]
    lines += [
        SummaryLine(f"source:{code}", f"– {label}", FIRST_DATA_ROW + n, source_code=code)
        for n, (code, label) in enumerate(sources, start=1)
    ]
    lines.append(SummaryLine("completed", "Số nhiệm vụ đã hoàn thành", FIRST_DATA_ROW + len(sources) + 1, is_completed=True))
    return lines


# Empty task rows offered beyond the carried-over ones, and the floor of rows in the sheet.
SPARE_TASK_ROWS = 60
MIN_TASK_ROWS = 100
# The reader never looks further than this many task rows, whatever the sheet declares.
MAX_TASK_ROWS = 2000
