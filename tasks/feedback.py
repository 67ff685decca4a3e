"""Feedback for the unit clerk: one workbook per unit and quarter saying what to fix, and where."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import text

from expectations.gate import CheckedBatch
from reporting.findings import ERROR, STATUS_VI, Finding
from reporting.periods import LOCAL_TZ, Period
from reporting.programme import Programme
from reporting.units import Registry
from tasks.safe_cells import put
from warehouse.engine import engine_for
from warehouse.load import Arrival

SHEET = "Kết quả kiểm tra"
NEXT_STEP_VI = {
    "accepted": "Báo cáo đã được tiếp nhận, không có lỗi.",
    "accepted_with_warnings": "Báo cáo đã được tiếp nhận. Đề nghị xem lại các cảnh báo dưới đây; "
    "nếu số liệu đúng thì không cần gửi lại.",
    "rejected": "Báo cáo CHƯA được tiếp nhận. Sửa các lỗi dưới đây ngay trong tệp đã gửi, lưu lại "
    "và gửi lại trước hạn nộp.",
}
SEVERITY_VI = {"error": "Lỗi", "warning": "Cảnh báo"}
HEADER_ROW = 12
COLUMNS = (("STT", 6), ("Mã quy tắc", 34), ("Mức độ", 10), ("Sheet", 20), ("Ô", 8),
           ("Giá trị đã nhập", 24), ("Cần sửa thế nào", 100))
def feedback_name(unit_code: str | None, sha256: str) -> str:
    return f"{unit_code}.xlsx" if unit_code else f"khong-ro-don-vi_{sha256[:12]}.xlsx"


def build_feedback(
    programme: Programme,
    period: Period,
    unit_label: str,
    arrival: Arrival,
    status: str,
    findings: list[Finding],
    next_step: str | None = None,
) -> Workbook:
    """The clerk's result: verdict, what to do next, then one row per finding with its cell."""
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws["A1"] = f"KẾT QUẢ KIỂM TRA BÁO CÁO {period.label_vi.upper()}"
    ws["A1"].font = Font(bold=True, size=13, color="1F4E79")
    ws["A2"] = f"{programme.title_vi} - {programme.organisation_vi}"
    received = arrival.received_at.astimezone(LOCAL_TZ)
    errors = sum(1 for f in findings if f.severity == ERROR)
    facts = [
        ("Đơn vị", unit_label),
        ("Tệp đã nhận", arrival.original_name),
        ("Thời điểm nhận", f"{received:%d/%m/%Y %H:%M}"),
        ("Mã tệp (SHA-256)", arrival.sha256),
        ("Kết quả", STATUS_VI[status]),
        ("Số lỗi / cảnh báo", f"{errors} lỗi, {len(findings) - errors} cảnh báo"),
        ("Việc cần làm", next_step or NEXT_STEP_VI[status]),
    ]
    for row, (label, value) in enumerate(facts, start=4):
        ws.cell(row=row, column=1, value=label).font = Font(bold=True)
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=2)
        put(ws, row, 3, value)
        ws.merge_cells(start_row=row, start_column=3, end_row=row, end_column=7)
    verdict = ws.cell(row=8, column=3)
    verdict.font = Font(bold=True, color="C00000" if status == "rejected" else "1E7B34")
    thin = Side(style="thin", color="A6A6A6")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    for col, (name, width) in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=HEADER_ROW, column=col, value=name)
        cell.font, cell.border = Font(bold=True, color="FFFFFF"), box
        cell.fill = PatternFill("solid", fgColor="1F4E79")
        ws.column_dimensions[cell.column_letter].width = width
    ordered = sorted(findings, key=lambda f: (f.severity != ERROR, f.sheet or "", _cell_order(f.cell), f.rule_id))
    for n, f in enumerate(ordered, start=1):
        row = HEADER_ROW + n
        values = (n, f.rule_id, SEVERITY_VI[f.severity], f.sheet, f.cell, f.value, f.message_vi)
        for col, value in enumerate(values, start=1):
            cell = put(ws, row, col, value)
            cell.border = box
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    if not findings:
        ws.cell(row=HEADER_ROW + 1, column=1, value="Không có lỗi hay cảnh báo.")
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=1)
    return wb


def _cell_order(cell: str | None) -> tuple[int, str]:
    if not cell:
        return (0, "")
    letters = "".join(c for c in cell if c.isalpha())
    digits = "".join(c for c in cell if c.isdigit())
    return (int(digits or 0), letters)


@task(cache_policy=NO_CACHE)
def write_feedback(
    data_dir: Path,
    programme: Programme,
    registry: Registry,
    period: Period,
    arrivals: list[Arrival],
    checked: CheckedBatch,
    closed_note: str | None = None,
) -> list[Path]:
    """Write data/feedback/<year>-Q<q>/<unit_code>.xlsx for each unit's latest file in this batch.

    A file held because the quarter is approved is told so in `closed_note` (whom to contact).
    """
    latest = _latest_per_unit(data_dir, period, {c for c in checked.unit_code.values() if c})
    out_dir = data_dir / "feedback" / period.key
    out_dir.mkdir(parents=True, exist_ok=True)
    by_sha: dict[str, list[Finding]] = {}
    for f in checked.findings:
        by_sha.setdefault(f.submission_id, []).append(f)
    written = []
    for arrival in arrivals:
        code = checked.unit_code.get(arrival.sha256)
        if code and latest.get(code) != arrival.sha256:
            continue  # a later file of this unit has its own feedback
        unit = registry.version_on(code, period.ends_on) if code else None
        label = f"{code} - {unit.name_vi}" if unit else (code or "(không đọc được mã đơn vị)")
        status = checked.status[arrival.sha256]
        wb = build_feedback(programme, period, label, arrival, status, by_sha.get(arrival.sha256, []),
                            closed_note if status == "held" else None)
        path = out_dir / feedback_name(code, arrival.sha256)
        wb.save(path)
        written.append(path)
    return written


def _latest_per_unit(data_dir: Path, period: Period, unit_codes: set[str]) -> dict[str, str]:
    """Per unit: the file hash of its latest received submission of the quarter."""
    if not unit_codes:
        return {}
    with engine_for(data_dir).connect() as conn:
        rows = conn.execute(
            text("SELECT unit_code, file_sha256 FROM v_submission_status "
                 "WHERE year = :year AND quarter = :quarter AND is_latest"),
            {"year": period.year, "quarter": period.quarter},
        ).all()
    return {code: sha for code, sha in rows if code in unit_codes}
