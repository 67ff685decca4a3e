"""The year-end data workbook (openpyxl): printable sheets, one number format per indicator,
charts inside worksheets, written so that the same figures give the same bytes."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from reporting.findings import STATUS_VI
from reporting.narrative import DRAFT_MARK, draft_note
from reporting.periods import LOCAL_TZ, ROMAN
from reporting.programme import Programme
from tasks.safe_cells import put
from tasks.templates import number_format as _plain_format

SHEET_HEADLINE = "Kết quả chính"
SHEET_GROUPS = "Theo khối"
SHEET_TASKS = "Nhiệm vụ trọng tâm"
SHEET_ENTERPRISES = "Sản xuất kinh doanh"
SHEET_PARTY = "Xây dựng Đảng"
SHEET_ANNEX = "Phụ lục đơn vị"
SHEET_QUALITY = "Chất lượng số liệu"
SHEET_CHARTS = "Biểu đồ"
SHEET_SOURCES = "Nguồn số liệu"
HEADER_ROW = 5
HEADLINE_HEADER_ROW = HEADER_ROW
HEADLINE_COLUMNS = ("STT", "Chỉ tiêu", "Đơn vị tính", "Thực hiện năm", "Kế hoạch", "% kế hoạch", "Mã chỉ tiêu")
PERCENT = "0%"
# Vietnamese locale in the number format: LibreOffice then prints 9.899,4 whatever its own locale
# (Excel takes the separators from the reader's system, Vietnamese on the bloc's computers).
VI_LOCALE = "[$-42A]"

TITLE = Font(bold=True, size=13, color="1F4E79")
DRAFT_FONT = Font(bold=True, size=13, color="C00000")
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
THIN = Side(style="thin", color="A6A6A6")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")


@dataclass
class WorkbookFigures:
    """What the workbook is made from, every frame read from an analyst view."""

    headline: pd.DataFrame
    groups: pd.DataFrame
    group_tasks: pd.DataFrame
    tasks_by_source: pd.DataFrame
    bloc: pd.DataFrame
    enterprises: pd.DataFrame
    quarterly: pd.DataFrame
    sources: pd.DataFrame
    lineage: pd.DataFrame
    in_force: pd.DataFrame
    findings: pd.DataFrame
    quarterly_indicator: str | None = None
    notes: list[str] = field(default_factory=list)


def number_format(decimals: int) -> str:
    """'[$-42A]#,##0.0' for one decimal: grouped thousands, Vietnamese separators."""
    return VI_LOCALE + _plain_format(decimals)


def report_file_name(year: int, version: int | None = None, suffix: str = ".xlsx") -> str:
    """bao-cao-ctr135-2023.xlsx (the latest), or bao-cao-ctr135-2023-v2.xlsx (one version)."""
    return f"bao-cao-ctr135-{year}{f'-v{version}' if version else ''}{suffix}"


def build_report(
    programme: Programme,
    figures: WorkbookFigures,
    *,
    version: int | None = None,
    quarters_not_approved: tuple[int, ...] = (),
) -> Workbook:
    """The printable workbook: headline, groups, key tasks, enterprises, party building, annex,
    data quality, charts and sources; a draft names the quarters not approved in every title."""
    wb = Workbook()
    draft = draft_note(programme.year, quarters_not_approved)
    context = _Context(programme, draft, version)
    _headline_sheet(wb.active, context, figures.headline, units_count=figures.sources["unit_code"].nunique())
    _groups_sheet(wb.create_sheet(SHEET_GROUPS), context, figures.groups, figures.group_tasks)
    _tasks_sheet(wb.create_sheet(SHEET_TASKS), context, figures.tasks_by_source)
    _enterprises_sheet(wb.create_sheet(SHEET_ENTERPRISES), context, figures.enterprises)
    _party_sheet(wb.create_sheet(SHEET_PARTY), context, figures.groups, figures.bloc)
    _annex_sheet(wb.create_sheet(SHEET_ANNEX), context, figures.sources, figures.lineage, figures.in_force)
    _quality_sheet(wb.create_sheet(SHEET_QUALITY), context, figures.findings, figures.sources)
    _charts_sheet(wb.create_sheet(SHEET_CHARTS), context, figures)
    _sources_sheet(wb.create_sheet(SHEET_SOURCES), context, figures.sources)
    wb.properties.title = f"Báo cáo kết quả thực hiện {programme.code}" + (f" ({DRAFT_MARK})" if draft else "")
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


@dataclass(frozen=True)
class _Context:
    programme: Programme
    draft: str
    version: int | None

    def indicator_format(self, code: str) -> str:
        return number_format(self.programme.display_decimals(code))

    def rounded(self, code: str, value) -> float | None:
        """A value as written: rounded to the indicator's decimals, no float noise."""
        v = _num(value)
        return None if v is None else _clean(round(v, self.programme.indicator(code).decimals))


def _num(value) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _clean(value: float) -> float | int:
    """0.1 + 0.2 as 0.3; a whole number as an int."""
    value = float(f"{value:.10g}")
    return int(value) if value.is_integer() else value


def _fraction(value, plan) -> float | None:
    """Value over plan as a fraction for a 0% cell, rounded to a tenth of a percent."""
    v, p = _num(value), _num(plan)
    return None if v is None or not p else _clean(round(v / p, 3))


def _title(ws: Worksheet, ctx: _Context, title: str, subtitle: str, last_col: int) -> None:
    ws.cell(row=1, column=1, value=ctx.programme.organisation_vi.upper()).font = Font(bold=True)
    heading = ws.cell(row=2, column=1, value=(f"{DRAFT_MARK} – " if ctx.draft else "") + title)
    heading.font = DRAFT_FONT if ctx.draft else TITLE
    note = subtitle + (f" {ctx.draft}." if ctx.draft else "")
    ws.cell(row=3, column=1, value=note).font = Font(italic=True, color="C00000" if ctx.draft else None)
    ws.cell(row=3, column=1).alignment = Alignment(wrap_text=True, vertical="top")
    ws.row_dimensions[3].height = 30
    for row in (1, 2, 3):
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last_col)


def _header(ws: Worksheet, row: int, names: list[str], widths: list[float]) -> None:
    for col, (name, width) in enumerate(zip(names, widths), start=1):
        cell = ws.cell(row=row, column=col, value=name)
        cell.font, cell.fill, cell.border = HEADER_FONT, HEADER_FILL, BOX
        cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
        ws.column_dimensions[get_column_letter(col)].width = width
    for col, name in enumerate(names, start=1):
        _fit_height(ws, row, col, name)
    ws.freeze_panes = ws.cell(row=row + 1, column=1)


def _print_setup(ws: Worksheet, header_row: int | None, *, landscape: bool, one_page: bool = False) -> None:
    """A4, one page wide (and one tall for the headline), header rows repeated, pages numbered."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1 if one_page else 0
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.print_options.horizontalCentered = True
    if header_row:
        ws.print_title_rows = f"{header_row}:{header_row}"
    ws.oddFooter.center.text = "Trang &P/&N"
    ws.oddFooter.left.text = "&A"


def _put(ws: Worksheet, row: int, col: int, value, fmt: str | None = None, *, wrap: bool = False):
    cell = put(ws, row, col, None if value is None or (isinstance(value, float) and math.isnan(value)) else value)
    cell.border = BOX
    if fmt:
        cell.number_format = fmt
    if wrap:
        cell.alignment = WRAP
        _fit_height(ws, row, col, cell.value)
    else:
        cell.alignment = TOP
    return cell


def _fit_height(ws: Worksheet, row: int, col: int, value) -> None:
    """Tall enough for wrapped text: spreadsheet programs do not grow rows written by openpyxl."""
    if not isinstance(value, str) or not value:
        return
    width = ws.column_dimensions[get_column_letter(col)].width or 10
    # A column of width w holds about 1.15·w characters of ordinary text (widths count "0"s).
    lines = sum(max(1, math.ceil(len(part) / max(width * 1.15, 1))) for part in value.split("\n"))
    height = 15 * lines + 2
    if (ws.row_dimensions[row].height or 15) < height:
        ws.row_dimensions[row].height = height


def _headline_sheet(ws: Worksheet, ctx: _Context, headline: pd.DataFrame, units_count: int) -> None:
    p = ctx.programme
    ws.title = SHEET_HEADLINE
    _title(
        ws, ctx,
        f"KẾT QUẢ THỰC HIỆN {p.title_vi.upper()} NĂM {p.year}",
        f"Tổng hợp từ báo cáo quý của {units_count} tổ chức cơ sở đảng trong Khối"
        + (f"; phiên bản {ctx.version}." if ctx.version else "."),
        len(HEADLINE_COLUMNS),
    )
    headers = list(HEADLINE_COLUMNS)
    headers[3] = f"Thực hiện năm {p.year}"
    _header(ws, HEADER_ROW, headers, [5, 52, 17, 15, 15, 10, 24])
    for n, r in enumerate(headline.to_dict("records"), start=1):
        row = HEADER_ROW + n
        metric = p.headline_metric(r["metric_code"])
        if metric.indicator:
            fmt = ctx.indicator_format(metric.indicator)
            value, plan = ctx.rounded(metric.indicator, r["value"]), ctx.rounded(metric.indicator, r["plan"])
        else:
            fmt = number_format(0)
            value, plan = _num(r["value"]), _num(r["plan"])
            value, plan = (None if v is None else int(round(v)) for v in (value, plan))
        pct = _num(r["pct_of_plan"])
        for col, v in enumerate((n, r["label_vi"], r["display_unit_vi"]), start=1):
            _put(ws, row, col, v, wrap=col == 2)
        _put(ws, row, 4, value, fmt)
        _put(ws, row, 5, plan, fmt)
        _put(ws, row, 6, None if pct is None else _clean(round(pct / 100, 3)), PERCENT)
        _put(ws, row, 7, r["metric_code"])
    _print_setup(ws, HEADER_ROW, landscape=True, one_page=True)


def _groups_sheet(ws: Worksheet, ctx: _Context, groups: pd.DataFrame, group_tasks: pd.DataFrame) -> None:
    p = ctx.programme
    _title(
        ws, ctx, f"KẾT QUẢ NĂM {p.year} THEO KHỐI",
        "Mỗi chỉ tiêu tổng hợp theo cách tính của chỉ tiêu đó (cộng các quý, số cuối kỳ, hoặc bình quân gia quyền theo số lao động).",
        7,
    )
    _header(ws, HEADER_ROW, ["Khối", "Chỉ tiêu", "Đơn vị tính", f"Thực hiện năm {p.year}", "Kế hoạch", "% kế hoạch", "Mã chỉ tiêu"],
            [18, 46, 20, 15, 15, 10, 28])
    row = HEADER_ROW + 1
    tasks = {r["unit_group"]: r for r in group_tasks.to_dict("records")}
    for group, label in p.groups.items():
        t = tasks.get(group)
        if t is not None:
            identified, completed = int(t["identified"] or 0), int(t["completed"] or 0)
            for code, name, value, plan in (
                ("key_tasks_identified", "Nhiệm vụ trọng tâm đã xác định", identified, None),
                ("key_tasks_completed", "Nhiệm vụ trọng tâm đã hoàn thành", completed, identified),
            ):
                for col, v in enumerate((label, name, "nhiệm vụ"), start=1):
                    _put(ws, row, col, v, wrap=col == 2)
                _put(ws, row, 4, value, number_format(0))
                _put(ws, row, 5, plan, number_format(0))
                _put(ws, row, 6, _fraction(value, plan) if plan is not None else None, PERCENT)
                _put(ws, row, 7, code)
                row += 1
        for r in groups[groups["unit_group"] == group].to_dict("records"):
            code = r["indicator_code"]
            fmt = ctx.indicator_format(code)
            for col, v in enumerate((label, r["label_vi"], r["unit_vi"]), start=1):
                _put(ws, row, col, v, wrap=col == 2)
            _put(ws, row, 4, ctx.rounded(code, r["value"]), fmt)
            _put(ws, row, 5, ctx.rounded(code, r["plan_value"]), fmt)
            _put(ws, row, 6, _fraction(r["value"], r["plan_value"]), PERCENT)
            _put(ws, row, 7, code)
            row += 1
    _print_setup(ws, HEADER_ROW, landscape=True)


def _tasks_sheet(ws: Worksheet, ctx: _Context, by_source: pd.DataFrame) -> None:
    p = ctx.programme
    _title(
        ws, ctx, f"NHIỆM VỤ TRỌNG TÂM NĂM {p.year} THEO NGUỒN VÀ THEO KHỐI",
        "Mỗi nhiệm vụ được tính một lần trong năm, theo tình trạng mới nhất đơn vị báo cáo.",
        6,
    )
    _header(ws, HEADER_ROW, ["Khối", "Nguồn nhiệm vụ", "Đã xác định", "Đã hoàn thành", "% hoàn thành", "Mã nguồn"],
            [18, 44, 13, 13, 12, 12])
    for n, r in enumerate(by_source.to_dict("records"), start=1):
        row = HEADER_ROW + n
        identified, completed = int(r["identified"] or 0), int(r["completed"] or 0)
        _put(ws, row, 1, p.groups.get(r["unit_group"], r["unit_group"]))
        _put(ws, row, 2, r["source_label_vi"] or r["source"], wrap=True)
        _put(ws, row, 3, identified, number_format(0))
        _put(ws, row, 4, completed, number_format(0))
        _put(ws, row, 5, _fraction(completed, identified), PERCENT)
        _put(ws, row, 6, r["source"])
    _print_setup(ws, HEADER_ROW, landscape=False)


def _enterprises_sheet(ws: Worksheet, ctx: _Context, enterprises: pd.DataFrame) -> None:
    p = ctx.programme
    indicators = [i for i in p.indicators if i.group == "enterprises"]
    headers, widths, columns = ["STT", "Doanh nghiệp"], [5, 46], []
    for ind in indicators:
        headers.append(f"{ind.label_vi} ({ind.unit_vi})")
        widths.append(14)
        columns.append((ind, "value"))
        if ind.has_plan:
            headers += [f"Kế hoạch {ind.label_vi[:1].lower()}{ind.label_vi[1:]}", "% kế hoạch"]
            widths += [14, 10]
            columns += [(ind, "plan"), (ind, "pct")]
    headers.append("Mã đơn vị")
    widths.append(11)
    _title(
        ws, ctx, f"KẾT QUẢ SẢN XUẤT, KINH DOANH NĂM {p.year} CỦA CÁC DOANH NGHIỆP TRONG KHỐI",
        "Mỗi doanh nghiệp như hiện nay (số liệu của đơn vị đã hợp nhất tính vào đơn vị tiếp nhận); kế hoạch là kế hoạch năm đơn vị báo cáo gần nhất.",
        len(headers),
    )
    _header(ws, HEADER_ROW, headers, widths)
    if enterprises.empty:
        _print_setup(ws, HEADER_ROW, landscape=True)
        return
    wide = {
        (r["unit_code"], r["indicator_code"]): r for r in enterprises.to_dict("records")
    }
    names = enterprises.drop_duplicates("unit_code").set_index("unit_code")["unit_name"]
    for n, code in enumerate(names.index, start=1):
        row = HEADER_ROW + n
        _put(ws, row, 1, n)
        _put(ws, row, 2, names[code], wrap=True)
        for col, (ind, what) in enumerate(columns, start=3):
            r = wide.get((code, ind.code), {})
            if what == "value":
                _put(ws, row, col, ctx.rounded(ind.code, r.get("value")), ctx.indicator_format(ind.code))
            elif what == "plan":
                _put(ws, row, col, ctx.rounded(ind.code, r.get("plan_value")), ctx.indicator_format(ind.code))
            else:
                _put(ws, row, col, _fraction(r.get("value"), r.get("plan_value")), PERCENT)
        _put(ws, row, len(headers), code)
    _print_setup(ws, HEADER_ROW, landscape=True)


def _party_sheet(ws: Worksheet, ctx: _Context, groups: pd.DataFrame, bloc: pd.DataFrame) -> None:
    p = ctx.programme
    indicators = [i for i in p.indicators if i.group == "all"]
    group_names = list(p.groups.items())
    headers = ["Chỉ tiêu", "Đơn vị tính", *[name for _, name in group_names], "Toàn Khối", "Kế hoạch toàn Khối", "% kế hoạch", "Mã chỉ tiêu"]
    _title(
        ws, ctx, f"CÔNG TÁC XÂY DỰNG ĐẢNG NĂM {p.year} THEO KHỐI",
        "Số liệu cả năm: hoạt động cộng các quý; số đảng viên là số cuối kỳ.",
        len(headers),
    )
    _header(ws, HEADER_ROW, headers, [44, 13, *[14] * len(group_names), 14, 14, 10, 28])
    by_group = {(r["unit_group"], r["indicator_code"]): r for r in groups.to_dict("records")}
    whole = {r["indicator_code"]: r for r in bloc.to_dict("records")}
    for n, ind in enumerate(indicators, start=1):
        row = HEADER_ROW + n
        fmt = ctx.indicator_format(ind.code)
        _put(ws, row, 1, ind.label_vi, wrap=True)
        _put(ws, row, 2, ind.unit_vi)
        col = 3
        for group, _ in group_names:
            _put(ws, row, col, ctx.rounded(ind.code, by_group.get((group, ind.code), {}).get("value")), fmt)
            col += 1
        total = whole.get(ind.code, {})
        _put(ws, row, col, ctx.rounded(ind.code, total.get("value")), fmt)
        _put(ws, row, col + 1, ctx.rounded(ind.code, total.get("plan_value")), fmt)
        _put(ws, row, col + 2, _fraction(total.get("value"), total.get("plan_value")), PERCENT)
        _put(ws, row, col + 3, ind.code)
    _print_setup(ws, HEADER_ROW, landscape=True)


def _local(ts) -> pd.Timestamp:
    stamp = pd.Timestamp(ts)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).tz_convert(LOCAL_TZ)


def _annex_sheet(ws: Worksheet, ctx: _Context, sources: pd.DataFrame, lineage: pd.DataFrame, in_force: pd.DataFrame) -> None:
    p = ctx.programme
    headers = ["STT", "Tổ chức cơ sở đảng", "Khối", *[f"Quý {ROMAN[q]}" for q in (1, 2, 3, 4)], "Ghi chú", "Mã đơn vị"]
    _title(
        ws, ctx, f"PHỤ LỤC: BÁO CÁO QUÝ CỦA TỪNG TỔ CHỨC CƠ SỞ ĐẢNG NĂM {p.year}",
        "Mỗi ô: lần nộp được dùng để tổng hợp và ngày nhận; đơn vị đã hợp nhất được xếp ngay dưới đơn vị tiếp nhận.",
        len(headers),
    )
    _header(ws, HEADER_ROW, headers, [5, 44, 16, 23, 23, 23, 23, 30, 10])
    used = {(r["unit_code"], int(r["quarter"])): r for r in sources.to_dict("records")}
    expected = {(r["unit_code"], int(r["quarter"])) for r in in_force.to_dict("records")}
    codes = sorted({c for c, _ in used} | {c for c, _ in expected})
    info = {r["unit_code"]: r for r in lineage.to_dict("records")}
    names = {r["unit_code"]: r["unit_name"] for r in sources.to_dict("records")}

    def current(code: str) -> str:
        return info.get(code, {}).get("current_unit_code") or code

    order = sorted(codes, key=lambda c: (current(c), c != current(c), c))
    for n, code in enumerate(order, start=1):
        row = HEADER_ROW + n
        meta = info.get(code, {})
        merged = current(code) != code
        name = names.get(code) or meta.get("unit_name") or code
        _put(ws, row, 1, n)
        _put(ws, row, 2, f"↳ {name}" if merged else name, wrap=True)
        _put(ws, row, 3, p.groups.get(meta.get("unit_group"), meta.get("unit_group")))
        for quarter in (1, 2, 3, 4):
            r = used.get((code, quarter))
            if r is not None:
                late = "" if r["is_on_time"] else " (trễ hạn)"
                text = f"lần {int(r['version'])}, nhận {_local(r['received_at']):%d/%m/%Y}{late}"
            elif (code, quarter) in expected:
                text = "chưa có báo cáo được chấp nhận"
            else:
                text = ""
            _put(ws, row, 3 + quarter, text, wrap=True)
        note = ""
        if merged:
            until = meta.get("valid_to")
            since = f" từ {(pd.Timestamp(until) + pd.Timedelta(days=1)):%d/%m/%Y}" if until is not None and not pd.isna(until) else ""
            note = f"Đã hợp nhất vào {meta.get('current_unit_name') or current(code)} ({current(code)}){since}"
        _put(ws, row, 8, note, wrap=True)
        _put(ws, row, 9, code)
    _print_setup(ws, HEADER_ROW, landscape=True)


def _quality_sheet(ws: Worksheet, ctx: _Context, findings: pd.DataFrame, sources: pd.DataFrame) -> None:
    p = ctx.programme
    headers = ["STT", "Tổ chức cơ sở đảng", "Quý", "Tình trạng bản mới nhất", "Lần nộp", "Lỗi", "Cảnh báo", "Một phát hiện", "Mã đơn vị"]
    with_warnings = int((sources["status"] == "accepted_with_warnings").sum()) if not sources.empty else 0
    open_rejected = int((findings["status"] == "rejected").sum()) if not findings.empty else 0
    _title(
        ws, ctx, f"CHẤT LƯỢNG SỐ LIỆU NĂM {p.year}",
        f"{len(sources)} báo cáo quý được dùng để tổng hợp, {with_warnings} báo cáo có cảnh báo; "
        f"{open_rejected} bản gửi mới nhất bị từ chối (đơn vị cần gửi lại). Bảng dưới: các bản mới nhất còn lỗi hoặc cảnh báo.",
        len(headers),
    )
    _header(ws, HEADER_ROW, headers, [5, 40, 7, 20, 8, 7, 9, 60, 10])
    for n, r in enumerate(findings.to_dict("records"), start=1):
        row = HEADER_ROW + n
        values = [
            n, r["unit_name"] or r["unit_code"], f"Quý {ROMAN[int(r['quarter'])]}", STATUS_VI.get(r["status"], r["status"]),
            int(r["version"]), int(r["errors"] or 0), int(r["warnings"] or 0), r["a_message"], r["unit_code"],
        ]
        for col, v in enumerate(values, start=1):
            _put(ws, row, col, v, wrap=col in (2, 8))
    _print_setup(ws, HEADER_ROW, landscape=True)


def _charts_sheet(ws: Worksheet, ctx: _Context, figures: WorkbookFigures) -> None:
    """Three charts, each beside the small table it draws."""
    p = ctx.programme
    _title(ws, ctx, f"BIỂU ĐỒ KẾT QUẢ NĂM {p.year}", "Số liệu của mỗi biểu đồ nằm ở bảng bên trái biểu đồ.", 10)
    for col, width in zip("ABCD", (34, 14, 14, 14)):
        ws.column_dimensions[col].width = width
    row = HEADER_ROW

    code = figures.quarterly_indicator
    if code and not figures.quarterly.empty:
        ind = p.indicator(code)
        _put(ws, row, 1, "Quý").font = Font(bold=True)
        _put(ws, row, 2, f"{ind.label_vi} ({ind.unit_vi})").font = Font(bold=True)
        for n, r in enumerate(figures.quarterly.to_dict("records"), start=1):
            _put(ws, row + n, 1, f"Quý {ROMAN[int(r['quarter'])]}")
            _put(ws, row + n, 2, ctx.rounded(code, r["value"]), ctx.indicator_format(code))
        last = row + len(figures.quarterly)
        chart = _bar(f"{ind.label_vi} theo quý năm {p.year} ({ind.unit_vi})", ind.unit_vi)
        chart.add_data(Reference(ws, min_col=2, min_row=row, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=row + 1, max_row=last))
        ws.add_chart(chart, f"F{row}")
        row = max(last, row + 16) + 2
        ws.row_breaks.append(Break(id=row - 1))

    planned = [r for r in figures.headline.to_dict("records") if _num(r["pct_of_plan"]) is not None]
    if planned:
        _put(ws, row, 1, "Chỉ tiêu").font = Font(bold=True)
        _put(ws, row, 2, "% kế hoạch").font = Font(bold=True)
        for n, r in enumerate(planned, start=1):
            _put(ws, row + n, 1, r["label_vi"], wrap=True)
            _put(ws, row + n, 2, _clean(round(float(r["pct_of_plan"]) / 100, 3)), PERCENT)
        last = row + len(planned)
        chart = _bar(f"Mức thực hiện so với kế hoạch năm {p.year}", "% kế hoạch", horizontal=True)
        chart.add_data(Reference(ws, min_col=2, min_row=row, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=row + 1, max_row=last))
        chart.y_axis.numFmt = PERCENT
        ws.add_chart(chart, f"F{row}")
        row = max(last, row + 16) + 2
        ws.row_breaks.append(Break(id=row - 1))

    tasks = figures.tasks_by_source
    if not tasks.empty:
        groups = [g for g in p.groups if g in set(tasks["unit_group"])]
        sources = list(dict.fromkeys(tasks["source"]))
        labels = dict(zip(tasks["source"], tasks["source_label_vi"]))
        _put(ws, row, 1, "Nguồn nhiệm vụ").font = Font(bold=True)
        for col, g in enumerate(groups, start=2):
            _put(ws, row, col, p.groups[g]).font = Font(bold=True)
        counts = {(r["unit_group"], r["source"]): int(r["identified"] or 0) for r in tasks.to_dict("records")}
        for n, s in enumerate(sources, start=1):
            _put(ws, row + n, 1, labels.get(s) or s, wrap=True)
            for col, g in enumerate(groups, start=2):
                _put(ws, row + n, col, counts.get((g, s), 0), number_format(0))
        last = row + len(sources)
        chart = _bar(f"Nhiệm vụ trọng tâm năm {p.year} theo nguồn", "nhiệm vụ")
        chart.grouping = "stacked"
        chart.overlap = 100
        chart.add_data(Reference(ws, min_col=2, max_col=1 + len(groups), min_row=row, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=row + 1, max_row=last))
        ws.add_chart(chart, f"F{row}")
    _print_setup(ws, None, landscape=True)


def _bar(title: str, axis_title: str, horizontal: bool = False) -> BarChart:
    chart = BarChart()
    chart.type = "bar" if horizontal else "col"
    chart.title = title
    chart.y_axis.title = axis_title
    chart.height, chart.width = 7.5, 16
    chart.dataLabels = DataLabelList()
    chart.dataLabels.showVal = True
    chart.dataLabels.showSerName = chart.dataLabels.showCatName = False
    chart.dataLabels.showLegendKey = chart.dataLabels.showPercent = False
    chart.y_axis.scaling.min = 0
    chart.legend.position = "b"
    # openpyxl 3.1 hides both axes unless told otherwise.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    return chart


def _sources_sheet(ws: Worksheet, ctx: _Context, sources: pd.DataFrame) -> None:
    headers = ["Tổ chức cơ sở đảng", "Quý", "Lần nộp", "Tình trạng", "Thời điểm nhận", "Hạn nộp", "Đúng hạn", "Tên tệp", "Mã băm SHA-256", "Mã đơn vị"]
    _title(
        ws, ctx, "NGUỒN SỐ LIỆU",
        "Báo cáo quý được dùng để tổng hợp: mỗi dòng là một tệp đã được chấp nhận (bản mới nhất của đơn vị trong quý).",
        len(headers),
    )
    _header(ws, HEADER_ROW, headers, [40, 6, 8, 20, 16, 11, 9, 32, 58, 10])
    for n, r in enumerate(sources.to_dict("records")):
        row = HEADER_ROW + 1 + n
        values = [
            r["unit_name"], int(r["quarter"]), int(r["version"]), STATUS_VI.get(r["status"], r["status"]),
            _local(r["received_at"]).to_pydatetime().replace(tzinfo=None), pd.Timestamp(r["deadline"]).date(),
            "Có" if r["is_on_time"] else "Không", r["original_name"], r["file_sha256"], r["unit_code"],
        ]
        for col, v in enumerate(values, start=1):
            cell = _put(ws, row, col, v, wrap=col in (1, 8))
            if col == 9:
                cell.font = Font(name="Courier New", size=8)
            if col == 5:
                cell.number_format = "dd/mm/yyyy hh:mm"
            if col == 6:
                cell.number_format = "dd/mm/yyyy"
    _print_setup(ws, HEADER_ROW, landscape=True)
