"""The year-end report workbook (openpyxl), written so that the same figures give the same bytes."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from reporting.findings import STATUS_VI
from reporting.periods import LOCAL_TZ
from reporting.programme import Programme
from tasks.safe_cells import put
from tasks.templates import number_format

SHEET_HEADLINE = "Kết quả chính"
SHEET_GROUPS = "Theo khối"
SHEET_UNITS = "Phụ lục đơn vị"
SHEET_SOURCES = "Nguồn số liệu"
HEADLINE_HEADER_ROW = 5
HEADLINE_COLUMNS = ("STT", "Mã chỉ tiêu", "Chỉ tiêu", "Đơn vị tính", "Thực hiện năm", "Kế hoạch", "% kế hoạch")

TITLE = Font(bold=True, size=13, color="1F4E79")
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
THIN = Side(style="thin", color="A6A6A6")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


def report_file_name(year: int) -> str:
    return f"bao-cao-ctr135-{year}.xlsx"


def build_report(
    programme: Programme,
    headline: pd.DataFrame,
    groups: pd.DataFrame,
    tasks_by_unit: pd.DataFrame,
    units: pd.DataFrame,
    sources: pd.DataFrame,
    unapproved: list[str] | None = None,
) -> Workbook:
    """The four sheets: headline, breakdown by group, per-unit annex, sources of the figures.

    With quarters not approved (`unapproved`, their labels) the report is a draft (DỰ THẢO) and
    its headline sheet says which quarters.
    """
    wb = Workbook()
    _headline_sheet(wb.active, programme, headline, units_count=sources["unit_code"].nunique(), unapproved=unapproved)
    _groups_sheet(wb.create_sheet(SHEET_GROUPS), programme, groups, tasks_by_unit)
    _units_sheet(wb.create_sheet(SHEET_UNITS), programme, units, tasks_by_unit)
    _sources_sheet(wb.create_sheet(SHEET_SOURCES), programme, sources)
    wb.properties.title = f"Báo cáo kết quả thực hiện {programme.code}"
    wb.properties.creator = "p135"
    return wb


def save_reproducibly(wb: Workbook, path: Path, stamp: dt.datetime) -> Path:
    """Save with every timestamp set to `stamp`, so equal content gives an equal sha256."""
    buffer = io.BytesIO()
    wb.save(buffer)
    iso = stamp.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    when = stamp.astimezone(dt.timezone.utc).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)",
                    lambda m: m.group(1) + iso.encode() + m.group(2),
                    data,
                )
            info = zipfile.ZipInfo(item.filename, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = item.external_attr
            target.writestr(info, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(out.getvalue())
    tmp.replace(path)
    return path


def _title(ws: Worksheet, programme: Programme, title: str, subtitle: str, last_col: int) -> None:
    ws.cell(row=1, column=1, value=programme.organisation_vi.upper()).font = Font(bold=True)
    ws.cell(row=2, column=1, value=title).font = TITLE
    ws.cell(row=3, column=1, value=subtitle).font = Font(italic=True)
    for row in (1, 2, 3):
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last_col)


def _header(ws: Worksheet, row: int, names: list[str], widths: list[int]) -> None:
    for col, (name, width) in enumerate(zip(names, widths), start=1):
        cell = ws.cell(row=row, column=col, value=name)
        cell.font, cell.fill, cell.border = HEADER_FONT, HEADER_FILL, BOX
        cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = ws.cell(row=row + 1, column=1)


def _put(ws: Worksheet, row: int, col: int, value, fmt: str | None = None):
    cell = put(ws, row, col, None if pd.isna(value) else value)
    cell.border = BOX
    if fmt:
        cell.number_format = fmt
    return cell


def _headline_sheet(
    ws: Worksheet, programme: Programme, headline: pd.DataFrame, units_count: int, unapproved: list[str] | None = None
) -> None:
    ws.title = SHEET_HEADLINE
    draft = "DỰ THẢO – " if unapproved else ""
    not_approved = f" DỰ THẢO: chưa phê duyệt {', '.join(unapproved)}." if unapproved else ""
    _title(
        ws, programme,
        f"{draft}KẾT QUẢ THỰC HIỆN {programme.title_vi.upper()} NĂM {programme.year}",
        f"Tổng hợp từ báo cáo quý của {units_count} tổ chức cơ sở đảng trong Khối.{not_approved}",
        len(HEADLINE_COLUMNS),
    )
    headers = list(HEADLINE_COLUMNS)
    headers[4] = f"Thực hiện năm {programme.year}"
    _header(ws, HEADLINE_HEADER_ROW, headers, [6, 26, 58, 18, 20, 18, 12])
    for n, r in enumerate(headline.to_dict("records"), start=1):
        row = HEADLINE_HEADER_ROW + n
        fmt = number_format(int(r["display_decimals"]))
        _put(ws, row, 1, n)
        _put(ws, row, 2, r["metric_code"])
        _put(ws, row, 3, r["label_vi"])
        _put(ws, row, 4, r["display_unit_vi"])
        _put(ws, row, 5, _num(r["value"]), fmt)
        _put(ws, row, 6, _num(r["plan"]), fmt)
        pct = _num(r["pct_of_plan"])
        _put(ws, row, 7, None if pct is None else pct / 100, "0%")


def _num(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _groups_sheet(
    ws: Worksheet, programme: Programme, groups: pd.DataFrame, tasks_by_unit: pd.DataFrame
) -> None:
    _title(ws, programme, f"KẾT QUẢ NĂM {programme.year} THEO KHỐI", "Mỗi chỉ tiêu tổng hợp theo cách tính của chỉ tiêu đó (cộng các quý, số cuối kỳ, hoặc bình quân gia quyền theo số lao động).", 7)
    _header(ws, 5, ["Khối", "Mã chỉ tiêu", "Chỉ tiêu", "Đơn vị tính", "Thực hiện năm", "Kế hoạch", "% kế hoạch"], [20, 28, 50, 22, 18, 18, 12])
    row = 6
    sources = {c.code: c.label_vi for c in programme.task_sources}
    for group, label in programme.groups.items():
        t = tasks_by_unit[tasks_by_unit["unit_group"] == group]
        task_rows = [("key_tasks_total", "Nhiệm vụ trọng tâm đã xác định", t["identified"].sum())]
        task_rows += [
            (f"key_tasks_{code}", f"– {name}", t.loc[t["source_code"] == code, "identified"].sum())
            for code, name in sources.items()
        ]
        task_rows.append(("key_tasks_completed", "Nhiệm vụ trọng tâm đã hoàn thành", t["completed"].sum()))
        for code, name, value in task_rows:
            for col, v in enumerate((label, code, name, "nhiệm vụ"), start=1):
                _put(ws, row, col, v)
            _put(ws, row, 5, int(value), "#,##0")
            _put(ws, row, 6, None)
            _put(ws, row, 7, None)
            row += 1
        for r in groups[groups["unit_group"] == group].to_dict("records"):
            fmt = number_format(programme.indicator(r["indicator_code"]).decimals)
            for col, v in enumerate((label, r["indicator_code"], r["label_vi"], r["unit_vi"]), start=1):
                _put(ws, row, col, v)
            value, plan = _num(r["value"]), _num(r["plan_value"])
            _put(ws, row, 5, value, fmt)
            _put(ws, row, 6, plan, fmt)
            _put(ws, row, 7, value / plan if value is not None and plan else None, "0%")
            row += 1


def _units_sheet(ws: Worksheet, programme: Programme, units: pd.DataFrame, tasks_by_unit: pd.DataFrame) -> None:
    indicators = list(programme.indicators)
    last_col = 7 + len(indicators)
    _title(ws, programme, f"PHỤ LỤC: KẾT QUẢ NĂM {programme.year} CỦA TỪNG TỔ CHỨC CƠ SỞ ĐẢNG", "Số liệu năm của từng đơn vị, tính theo cách tính của từng chỉ tiêu.", last_col)
    headers = ["Mã đơn vị", "Tên đơn vị", "Khối", "Nhiệm vụ đã xác định", "– Theo CTr 135", "– Khác", "Đã hoàn thành"]
    headers += [f"{i.label_vi} ({i.unit_vi})" for i in indicators]
    _header(ws, 5, headers, [10, 48, 18, 12, 12, 12, 12] + [16] * len(indicators))
    wide = units.pivot_table(index=["unit_code", "unit_name", "unit_group"], columns="indicator_code", values="value", aggfunc="first")
    per_unit = tasks_by_unit.groupby("unit_code")
    identified = per_unit["identified"].sum()
    completed = per_unit["completed"].sum()
    ctr = tasks_by_unit[tasks_by_unit["source_code"] == "ctr135"].groupby("unit_code")["identified"].sum()
    for n, ((code, name, group), values) in enumerate(wide.iterrows()):
        row = 6 + n
        for col, v in enumerate((code, name, programme.groups.get(group, group)), start=1):
            _put(ws, row, col, v)
        total = int(identified.get(code, 0))
        _put(ws, row, 4, total, "#,##0")
        _put(ws, row, 5, int(ctr.get(code, 0)), "#,##0")
        _put(ws, row, 6, total - int(ctr.get(code, 0)), "#,##0")
        _put(ws, row, 7, int(completed.get(code, 0)), "#,##0")
        for col, ind in enumerate(indicators, start=8):
            _put(ws, row, col, _num(values.get(ind.code)), number_format(ind.decimals))


def _sources_sheet(ws: Worksheet, programme: Programme, sources: pd.DataFrame) -> None:
    _title(ws, programme, "NGUỒN SỐ LIỆU", "Báo cáo quý được dùng để tổng hợp: mỗi dòng là một tệp đã được chấp nhận (bản mới nhất của đơn vị trong quý).", 9)
    _header(ws, 5, ["Mã đơn vị", "Tên đơn vị", "Quý", "Tình trạng", "Thời điểm nhận", "Hạn nộp", "Đúng hạn", "Tên tệp", "Mã băm SHA-256"], [10, 48, 6, 22, 18, 12, 10, 36, 66])
    for n, r in enumerate(sources.to_dict("records")):
        row = 6 + n
        received = pd.Timestamp(r["received_at"])
        received = (received.tz_localize("UTC") if received.tzinfo is None else received).tz_convert(LOCAL_TZ)
        values = [
            r["unit_code"], r["unit_name"], int(r["quarter"]), STATUS_VI.get(r["status"], r["status"]),
            received.to_pydatetime().replace(tzinfo=None), pd.Timestamp(r["deadline"]).date(),
            "Có" if r["is_on_time"] else "Không", r["original_name"], r["file_sha256"],
        ]
        for col, v in enumerate(values, start=1):
            cell = _put(ws, row, col, v)
            if col == 5:
                cell.number_format = "dd/mm/yyyy hh:mm"
            if col == 6:
                cell.number_format = "dd/mm/yyyy"
