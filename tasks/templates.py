"""Pre-filled quarterly templates, one workbook per unit, derived from the programme."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import MergedCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from reporting import layout as L
from reporting.identity import SHEET_IDENTITY, LockedCell, TemplateIdentity, cell_text
from reporting.periods import Period
from reporting.programme import Programme
from reporting.units import UnitVersion
from reporting.vn_format import vn_number
from tasks.safe_cells import put, put_at

INPUT_FILL = PatternFill("solid", fgColor="FFF9E5")
LOCKED_FILL = PatternFill("solid", fgColor="EDEDED")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
HEADER_FONT = Font(bold=True, color="FFFFFF")
TITLE_FONT = Font(bold=True, size=14, color="1F4E79")
THIN = Side(style="thin", color="A6A6A6")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
UNLOCKED = Protection(locked=False)
DATE_FORMAT = "dd/mm/yyyy"


@dataclass(frozen=True)
class CarriedTask:
    task_code: str
    content_vi: str
    source_code: str
    status_code: str
    completed_on: dt.date | None = None


@dataclass(frozen=True)
class CarryOver:
    """What a unit's previous quarter hands to the next template."""

    tasks: tuple[CarriedTask, ...] = ()
    plans: dict[str, float] = field(default_factory=dict)
    # Each indicator's year-to-date in that quarter's accepted report, and which quarter it was.
    ytd: dict[str, float] = field(default_factory=dict)
    ytd_quarter: int | None = None


def number_format(decimals: int) -> str:
    return "#,##0" if decimals == 0 else "#,##0." + "0" * decimals


def template_file_name(unit: UnitVersion, period: Period) -> str:
    return f"{unit.unit_code}_{period.key}.xlsx"


def build_template(
    programme: Programme, unit: UnitVersion, period: Period, carry: CarryOver | None = None
) -> Workbook:
    """Build one unit's template for one quarter, pre-filled from the previous quarter."""
    if programme.year != period.year:
        raise ValueError(f"programme {programme.code} is not for {period.year}")
    carry = carry or CarryOver()
    wb = Workbook()
    _guide_sheet(wb.active, programme, period)
    _lists_sheet(wb.create_sheet(L.SHEET_LISTS), programme)
    _info_sheet(wb.create_sheet(L.SHEET_INFO, 1), programme, unit, period)
    _indicator_sheet(wb.create_sheet(L.SHEET_INDICATORS, 2), programme, unit, period, carry)
    _task_sheet(wb.create_sheet(L.SHEET_TASKS, 3), programme, unit, period, carry)
    for ws, landscape in ((wb[L.SHEET_GUIDE], False), (wb[L.SHEET_INFO], False),
                          (wb[L.SHEET_INDICATORS], True), (wb[L.SHEET_TASKS], True)):
        _print_setup(ws, landscape)
    stamp_identity(wb, programme, unit, period)
    wb.active = 1
    props = wb.properties
    props.title = f"Báo cáo {programme.code} {period.label_vi} - {unit.unit_code}"
    props.creator = "p135"
    props.keywords = programme.template_version
    return wb


def write_template(
    programme: Programme, unit: UnitVersion, period: Period, out_dir: Path, carry: CarryOver | None
) -> Path:
    """Write one unit's template into `out_dir` and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / template_file_name(unit, period)
    build_template(programme, unit, period, carry).save(path)
    return path


def stamp_identity(wb: Workbook, programme: Programme, unit: UnitVersion, period: Period) -> TemplateIdentity:
    """Seal a built template: whom it is for and what its locked cells say, in a very hidden sheet.

    Call it last, once every sheet is written: the locked cells are read from the workbook.
    """
    identity = TemplateIdentity(
        programme_code=programme.code, template_version=programme.template_version,
        unit_code=unit.unit_code, unit_name=unit.name_vi, year=period.year, quarter=period.quarter,
        locked=tuple(cell for name in L.REQUIRED_SHEETS for cell in locked_cells(wb[name])),
    )
    if SHEET_IDENTITY in wb.sheetnames:
        del wb[SHEET_IDENTITY]
    ws = wb.create_sheet(SHEET_IDENTITY)
    for row, values in enumerate(identity.rows(), start=1):
        for column, value in enumerate(values, start=1):
            if value != "":
                put(ws, row, column, value)
    ws.sheet_state = "veryHidden"
    _protect(ws)
    return identity


def locked_cells(ws: Worksheet) -> list[LockedCell]:
    """Every cell the template wrote or styled in a protected sheet and left locked."""
    if not ws.protection.sheet:
        return []
    # openpyxl has no public way to list the cells a sheet holds without creating the others.
    cells = sorted(ws._cells.values(), key=lambda c: (c.row, c.column))
    return [
        LockedCell(ws.title, c.coordinate, cell_text(c.value))
        for c in cells
        if not isinstance(c, MergedCell) and c.protection.locked
    ]


def _title(ws: Worksheet, text: str, subtitle: str, last_col: str) -> None:
    ws["A1"] = text
    ws["A1"].font = TITLE_FONT
    ws.merge_cells(f"A1:{last_col}1")
    ws["A2"] = subtitle
    ws["A2"].font = Font(italic=True)
    ws.merge_cells(f"A2:{last_col}2")


def _print_setup(ws: Worksheet, landscape: bool) -> None:
    """A4, the sheet's width on one page (rows run on to further pages), header rows on each:
    a clerk who prints the template gets its columns together, not one page per column."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_options.horizontalCentered = True
    if ws.title in (L.SHEET_INDICATORS, L.SHEET_TASKS):
        ws.print_title_rows = f"{L.HEADER_ROW}:{L.HEADER_ROW}"


def _protect(ws: Worksheet) -> None:
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False


# The guide's column is as wide as a portrait A4 page takes unscaled in LibreOffice (whose default
# font is wider than Excel's), about 70 characters a line; the height of a line in points.
GUIDE_CHARS_PER_LINE = 70
GUIDE_LINE_PT = 15.75
GUIDE_WIDTH = 65


def _guide_sheet(ws: Worksheet, programme: Programme, period: Period) -> None:
    ws.title = L.SHEET_GUIDE
    statuses = ", ".join(f'"{c.label_vi}"' for c in programme.task_statuses)
    sources = ", ".join(f'"{c.label_vi}"' for c in programme.task_sources)
    lines = [
        f"HƯỚNG DẪN LẬP BÁO CÁO {period.label_vi.upper()}",
        f"{programme.title_vi} - {programme.organisation_vi}",
        "",
        "1. Không đổi tên, thêm, xóa hay sắp xếp lại các sheet; không sửa các ô màu xám "
        "(mã đơn vị, tên đơn vị, kỳ báo cáo, phiên bản mẫu biểu đã được điền sẵn và khóa).",
        f"2. Sheet \"{L.SHEET_INFO}\": kiểm tra thông tin đơn vị, điền người lập báo cáo, "
        "số điện thoại và ngày lập báo cáo.",
        f"3. Sheet \"{L.SHEET_INDICATORS}\": nhập số liệu thực hiện trong quý (chỉ số phát sinh "
        "trong quý, không cộng dồn) vào cột \"Thực hiện trong quý\"; nhập 0 nếu không phát sinh. "
        "Cột \"Lũy kế từ đầu năm\" (chỉ các ô màu vàng) là tổng từ đầu năm đến hết quý này: bằng "
        "lũy kế quý trước cộng số trong quý. Với chỉ tiêu có kế hoạch, nhập kế hoạch cả năm vào cột "
        "\"Kế hoạch năm\" (đã điền sẵn theo báo cáo quý trước; sửa nếu kế hoạch được điều chỉnh).",
        "4. Nhập số dưới dạng số, không kèm chữ hay đơn vị tính. Số tiền tính bằng tỷ đồng, "
        "thu nhập bình quân tính bằng triệu đồng/người/tháng.",
        f"5. Sheet \"{L.SHEET_TASKS}\": mỗi dòng là một nhiệm vụ trọng tâm của năm. "
        "Nhiệm vụ của quý trước đã được điền sẵn: cập nhật trạng thái và ngày hoàn thành; "
        "thêm nhiệm vụ mới vào các dòng trống với mã nhiệm vụ do đơn vị đặt, không trùng nhau "
        "và giữ nguyên qua các quý. Không xóa nhiệm vụ đã báo cáo ở quý trước. Ghi số tổng hợp "
        f"vào bảng \"{L.SUMMARY_HEADER}\" bên phải; số này phải khớp với danh sách.",
        f"6. Nguồn nhiệm vụ chọn một trong: {sources}.",
        f"7. Trạng thái chọn một trong: {statuses}. Nhiệm vụ đã hoàn thành phải có ngày hoàn "
        "thành (dd/mm/yyyy); nhiệm vụ dừng thực hiện ghi rõ lý do ở cột Ghi chú.",
        f"8. Hạn nộp báo cáo {period.label_vi}: {programme.deadlines[period.quarter]:%d/%m/%Y}. "
        "Sau khi nộp, đơn vị sẽ nhận được kết quả kiểm tra: ô nào chưa đúng và cần sửa thế nào.",
    ]
    for row, text in enumerate(lines, start=1):
        cell = ws.cell(row=row, column=1, value=text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        # LibreOffice keeps a wrapped row at one line's height unless told: the lines overlapped.
        ws.row_dimensions[row].height = GUIDE_LINE_PT * max(1, -(-len(text) // GUIDE_CHARS_PER_LINE))
    ws["A1"].font = TITLE_FONT
    ws["A2"].font = Font(italic=True)
    ws.column_dimensions["A"].width = GUIDE_WIDTH
    _protect(ws)


def _lists_sheet(ws: Worksheet, programme: Programme) -> None:
    ws["A1"] = "Nguồn nhiệm vụ"
    ws["B1"] = "Trạng thái"
    for row, choice in enumerate(programme.task_sources, start=2):
        ws.cell(row=row, column=1, value=choice.label_vi)
    for row, choice in enumerate(programme.task_statuses, start=2):
        ws.cell(row=row, column=2, value=choice.label_vi)
    ws.sheet_state = "hidden"
    _protect(ws)


def _info_sheet(ws: Worksheet, programme: Programme, unit: UnitVersion, period: Period) -> None:
    _title(ws, "THÔNG TIN BÁO CÁO", programme.title_vi, "B")
    values = {
        "template_version": programme.template_version,
        "programme_code": programme.code,
        "unit_code": unit.unit_code,
        "unit_name": unit.name_vi,
        "unit_group": programme.groups[unit.unit_group],
        "unit_type": programme.unit_types[unit.unit_type],
        "year": period.year,
        "quarter": period.quarter,
        "deadline": programme.deadlines[period.quarter],
    }
    for f in L.INFO_FIELDS:
        label = ws[f"{L.INFO_LABEL_COLUMN}{f.row}"]
        label.value = f.label_vi
        label.font = Font(bold=True)
        cell = ws[f.cell]
        cell.value = values.get(f.key)
        cell.border = BOX
        if f.is_locked:
            cell.fill = LOCKED_FILL
        else:
            cell.fill = INPUT_FILL
            cell.protection = UNLOCKED
        if f.key in ("deadline", "reported_on"):
            cell.number_format = DATE_FORMAT
    ws.column_dimensions[L.INFO_LABEL_COLUMN].width = 30
    ws.column_dimensions[L.INFO_VALUE_COLUMN].width = 70
    _protect(ws)


def _header(ws: Worksheet, columns: tuple[L.Column, ...]) -> None:
    for col in columns:
        cell = ws[f"{col.letter}{L.HEADER_ROW}"]
        cell.value = col.header_vi
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
        cell.border = BOX
        ws.column_dimensions[col.letter].width = col.width
    ws.freeze_panes = f"A{L.FIRST_DATA_ROW}"


def _indicator_sheet(
    ws: Worksheet, programme: Programme, unit: UnitVersion, period: Period, carry: CarryOver
) -> None:
    _title(ws, "KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU", f"{unit.name_vi} - {period.label_vi}", "H")
    _header(ws, L.INDICATOR_COLUMNS)
    # The codes (revenue_bn_vnd) are how the file is read, not words for the clerk: kept, not shown.
    ws.column_dimensions[L.IND["indicator_code"].letter].hidden = True
    indicators = programme.indicators_for(unit.unit_group)
    first, last = L.FIRST_DATA_ROW, L.FIRST_DATA_ROW + len(indicators) - 1
    non_negative, signed = _validation(**NON_NEGATIVE), _validation(**SIGNED)
    ws.add_data_validation(non_negative)
    ws.add_data_validation(signed)
    for offset, ind in enumerate(indicators):
        row = first + offset
        ws[f"{L.IND['position'].letter}{row}"] = offset + 1
        ws[f"{L.IND['indicator_code'].letter}{row}"] = ind.code
        ws[f"{L.IND['label'].letter}{row}"] = ind.label_vi
        ws[f"{L.IND['unit'].letter}{row}"] = ind.unit_vi
        value = ws[f"{L.IND['value'].letter}{row}"]
        ytd = ws[f"{L.IND['ytd'].letter}{row}"]
        plan = ws[f"{L.IND['plan'].letter}{row}"]
        note = ws[f"{L.IND['note'].letter}{row}"]
        for cell in (value, ytd, plan):
            cell.number_format = number_format(ind.decimals)
        (signed if ind.signed else non_negative).add(value.coordinate)
        for cell in (value, note):
            cell.fill, cell.protection = INPUT_FILL, UNLOCKED
        if ind.has_ytd:
            ytd.fill, ytd.protection = INPUT_FILL, UNLOCKED
            if (before := carry.ytd.get(ind.code)) is not None and carry.ytd_quarter:
                # Shown when the clerk selects the cell: what to add the quarter to, without
                # looking for last quarter's file.
                hint = _validation(
                    **(SIGNED if ind.signed else NON_NEGATIVE), showInputMessage=True, promptTitle="Lũy kế từ đầu năm",
                    prompt=ytd_hint_vi(before, ind, Period(period.year, carry.ytd_quarter), period),
                )
                ws.add_data_validation(hint)
                hint.add(ytd.coordinate)
            else:
                (signed if ind.signed else non_negative).add(ytd.coordinate)
        else:
            ytd.fill = LOCKED_FILL
        if ind.has_plan:
            plan.fill, plan.protection = INPUT_FILL, UNLOCKED
            plan.value = carry.plans.get(ind.code)
            non_negative.add(plan.coordinate)
        else:
            plan.fill = LOCKED_FILL
        for col in L.INDICATOR_COLUMNS:
            ws[f"{col.letter}{row}"].border = BOX
    ws[f"A{last + 2}"] = (
        "Ghi chú: số liệu trong quý là số phát sinh trong quý; lũy kế là tổng từ đầu năm đến hết "
        "quý này. Riêng số đảng viên, số lao động và thu nhập bình quân là số cuối quý/bình quân "
        "của quý, không có lũy kế."
    )
    ws[f"A{last + 2}"].font = Font(italic=True)
    _protect(ws)


def _task_sheet(
    ws: Worksheet, programme: Programme, unit: UnitVersion, period: Period, carry: CarryOver
) -> None:
    _title(ws, "NHIỆM VỤ TRỌNG TÂM NĂM " + str(period.year), f"{unit.name_vi} - {period.label_vi}", "G")
    _header(ws, L.TASK_COLUMNS)
    n_rows = max(len(carry.tasks) + L.SPARE_TASK_ROWS, L.MIN_TASK_ROWS)
    first, last = L.FIRST_DATA_ROW, L.FIRST_DATA_ROW + n_rows - 1
    sources = {c.code: c.label_vi for c in programme.task_sources}
    statuses = {c.code: c.label_vi for c in programme.task_statuses}

    source_list = _validation(
        type="list", formula1=f"'{L.SHEET_LISTS}'!$A$2:$A${1 + len(sources)}",
        error="Chọn nguồn nhiệm vụ trong danh sách.",
    )
    status_list = _validation(
        type="list", formula1=f"'{L.SHEET_LISTS}'!$B$2:$B${1 + len(statuses)}",
        error="Chọn trạng thái trong danh sách.",
    )
    dates = _validation(
        type="date", operator="between",
        formula1=f"DATE({period.year},1,1)", formula2=f"DATE({period.year + 1},12,31)",
        error=f"Nhập ngày dạng dd/mm/yyyy trong năm {period.year}.",
    )
    for dv, key in ((source_list, "source"), (status_list, "status"), (dates, "completed_on")):
        letter = L.TASK[key].letter
        dv.add(f"{letter}{first}:{letter}{last}")
        ws.add_data_validation(dv)

    _summary_block(ws, programme)
    for offset in range(n_rows):
        row = first + offset
        ws[f"{L.TASK['position'].letter}{row}"] = offset + 1
        for col in L.TASK_COLUMNS[1:]:
            cell = ws[f"{col.letter}{row}"]
            cell.border = BOX
            cell.fill, cell.protection = INPUT_FILL, UNLOCKED
        ws[f"{L.TASK['completed_on'].letter}{row}"].number_format = DATE_FORMAT
        ws[f"{L.TASK['content'].letter}{row}"].alignment = Alignment(wrap_text=True)
        if offset < len(carry.tasks):
            task = carry.tasks[offset]
            # Carried-over text is the clerk's: it must come back as text, never as a formula.
            code = put_at(ws, f"{L.TASK['task_code'].letter}{row}", task.task_code)
            code.fill, code.protection = LOCKED_FILL, Protection(locked=True)
            put_at(ws, f"{L.TASK['content'].letter}{row}", task.content_vi)
            ws[f"{L.TASK['source'].letter}{row}"] = sources.get(task.source_code)
            ws[f"{L.TASK['status'].letter}{row}"] = statuses.get(task.status_code)
            ws[f"{L.TASK['completed_on'].letter}{row}"] = task.completed_on
    _protect(ws)


def _summary_block(ws: Worksheet, programme: Programme) -> None:
    """The clerk's own totals of the task table, which the checks compare with its rows."""
    header = ws[f"{L.SUMMARY_LABEL_COLUMN}{L.HEADER_ROW}"]
    header.value = L.SUMMARY_HEADER
    header.font, header.fill, header.border = HEADER_FONT, HEADER_FILL, BOX
    ws.merge_cells(f"{L.SUMMARY_LABEL_COLUMN}{L.HEADER_ROW}:{L.SUMMARY_VALUE_COLUMN}{L.HEADER_ROW}")
    counts = _validation(type="whole", operator="greaterThanOrEqual", formula1="0", error="Nhập số nhiệm vụ (số nguyên, không âm).")
    ws.add_data_validation(counts)
    for line in L.summary_lines([(c.code, c.label_vi) for c in programme.task_sources]):
        label = ws[f"{L.SUMMARY_LABEL_COLUMN}{line.row}"]
        label.value, label.border = line.label_vi, BOX
        cell = ws[line.cell]
        cell.border, cell.fill, cell.protection, cell.number_format = BOX, INPUT_FILL, UNLOCKED, "#,##0"
        counts.add(cell.coordinate)
    ws.column_dimensions[L.SUMMARY_LABEL_COLUMN].width = 44
    ws.column_dimensions[L.SUMMARY_VALUE_COLUMN].width = 12


NON_NEGATIVE = {"type": "decimal", "operator": "greaterThanOrEqual", "formula1": "0",
                "error": "Nhập một số không âm, không kèm chữ hay đơn vị tính."}
SIGNED = {"type": "decimal", "operator": "between", "formula1": "-1000000000", "formula2": "1000000000",
          "error": "Nhập một số, không kèm chữ hay đơn vị tính."}


def ytd_hint_vi(before: float, ind, earlier: Period, period: Period) -> str:
    """'Lũy kế đến hết Quý II/2023 (báo cáo đã được chấp nhận): 66,447 tỷ đồng. …' (at most 255
    characters); when a quarter between has no accepted report, it says its figures belong in too."""
    amount = vn_number(before, ind.decimals)
    hint = f"Lũy kế đến hết {earlier.label_vi} (báo cáo đã được chấp nhận): {amount} {ind.unit_vi}. "
    if earlier.quarter < period.quarter - 1:
        if earlier.quarter == period.quarter - 2:
            between, those = Period(period.year, period.quarter - 1).label_vi, "quý đó"
        else:
            between = (f"Các quý từ {Period(period.year, earlier.quarter + 1).label_vi} đến "
                       f"{Period(period.year, period.quarter - 1).label_vi}")
            those = "các quý đó"
        hint += f"{between} chưa có báo cáo được chấp nhận: lũy kế quý này phải cộng cả số của {those} và số trong quý."
    else:
        hint += "Lũy kế quý này = số đó + số thực hiện trong quý."
    return hint[:255]


def _validation(*, error: str, **kwargs) -> DataValidation:
    return DataValidation(
        allow_blank=True, showErrorMessage=True, errorTitle="Giá trị không hợp lệ", error=error,
        **kwargs,
    )
