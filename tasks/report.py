"""The year-end data workbook (xlsxwriter, row by row: a national year's sources sheet holds a
quarter of a million rows): printable sheets, one number format per indicator, charts inside
worksheets, written so that the same figures give the same bytes."""

from __future__ import annotations

import datetime as dt
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import xlsxwriter
from xlsxwriter.utility import _preserve_whitespace, xl_col_to_name

from reporting.findings import STATUS_VI
from reporting.narrative import DRAFT_MARK, draft_note
from reporting.periods import LOCAL_TZ, ROMAN
from reporting.programme import Programme
from reporting.vn_format import percent_decimals, round_half_up, upper_keeping_symbols
from tasks.safe_cells import safe_text
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
# A % of plan that would show 100% while short of (or over) plan: "99,6%" in any locale.
PERCENT_ONE_DECIMAL = "[$-42A]0.0%"
# Vietnamese locale in the number format: LibreOffice then prints 9.899,4 whatever its own locale
# (Excel takes the separators from the reader's system, Vietnamese on the bloc's computers).
VI_LOCALE = "[$-42A]"

TITLE = {"bold": True, "font_size": 13, "font_color": "#1F4E79"}
DRAFT_FONT = {"bold": True, "font_size": 13, "font_color": "#C00000"}
HEADER = {"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F4E79", "pattern": 1, "text_wrap": True,
          "align": "center", "valign": "vcenter"}
BOX = {"border": 1, "border_color": "#A6A6A6"}
BOLD = {"bold": True}
HASH_FONT = {"font_name": "Courier New", "font_size": 8}
# Width of a column nobody sized (openpyxl's default, which the row heights were fitted with).
DEFAULT_WIDTH = 13
# centimetres to pixels at 96 dpi, for the charts' size.
PX_PER_CM = 96 / 2.54


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


def write_report(
    programme: Programme,
    figures: WorkbookFigures,
    path: Path,
    stamp: dt.datetime,
    *,
    version: int | None = None,
    quarters_not_approved: tuple[int, ...] = (),
    constant_memory: bool = True,
    dated: dt.date | None = None,
) -> Path:
    """Write the printable workbook to `path`: headline, groups, key tasks, enterprises, party
    building, annex, data quality, charts and sources; a draft names the quarters not approved in
    every title. Every timestamp inside is `stamp`, so equal content gives an equal sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    draft = draft_note(programme.year, quarters_not_approved)
    wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": constant_memory, "strings_to_numbers": False,
                                        "strings_to_formulas": False, "strings_to_urls": False})
    try:
        annex_of = _annex_of(programme, draft, dated or stamp.astimezone(LOCAL_TZ).date())
        ctx = _Context(programme, draft, version, _Formats(wb), annex_of=annex_of)
        _headline_sheet(_Sheet(wb, SHEET_HEADLINE, ctx), ctx, figures.headline,
                        units_count=figures.sources["unit_code"].nunique())
        _groups_sheet(_Sheet(wb, SHEET_GROUPS, ctx), ctx, figures.groups, figures.group_tasks)
        _tasks_sheet(_Sheet(wb, SHEET_TASKS, ctx), ctx, figures.tasks_by_source)
        _enterprises_sheet(_Sheet(wb, SHEET_ENTERPRISES, ctx), ctx, figures.enterprises, figures.groups,
                           figures.in_force)
        _party_sheet(_Sheet(wb, SHEET_PARTY, ctx), ctx, figures.groups, figures.bloc)
        _annex_sheet(_Sheet(wb, SHEET_ANNEX, ctx), ctx, figures.sources, figures.lineage, figures.in_force)
        _quality_sheet(_Sheet(wb, SHEET_QUALITY, ctx), ctx, figures.findings, figures.sources, figures.in_force)
        _charts_sheet(_Sheet(wb, SHEET_CHARTS, ctx), ctx, figures)
        _sources_sheet(_Sheet(wb, SHEET_SOURCES, ctx), ctx, figures.sources)
        wb.set_properties({
            "title": f"Báo cáo kết quả thực hiện {programme.code}" + (f" ({DRAFT_MARK})" if draft else ""),
            "author": "p135",
            "created": stamp.astimezone(dt.timezone.utc).replace(tzinfo=None),
        })
    finally:
        wb.close()
    tmp.replace(path)
    return path


def _annex_of(programme: Programme, draft: str, dated: dt.date) -> str:
    """The report an issued workbook is the annex of: its number and date, as its heading gives them."""
    if draft or programme.publication is None:
        return ""
    return (f"Phụ lục số liệu kèm theo Báo cáo số {programme.publication.document_number} "
            f"ngày {dated:%d/%m/%Y} (bản chính thức). ")


class _Formats:
    """One xlsxwriter format per distinct set of properties, made once."""

    def __init__(self, wb: xlsxwriter.Workbook):
        self._wb = wb
        self._made: dict[tuple, object] = {}
        self._cells: dict[tuple, object] = {}

    def get(self, **props):
        key = tuple(sorted(props.items()))
        if key not in self._made:
            self._made[key] = self._wb.add_format(props)
        return self._made[key]

    def cell(self, number_format: str | None, wrap: bool, **font):
        """A boxed, top-aligned cell's format (a hundred thousand rows ask for the same few)."""
        key = (number_format, wrap, *sorted(font.items()))
        made = self._cells.get(key)
        if made is None:
            props = dict(BOX, valign="top", **font)
            if number_format:
                props["num_format"] = number_format
            if wrap:
                props["text_wrap"] = True
            made = self._cells[key] = self.get(**props)
        return made


@dataclass(frozen=True)
class _Context:
    programme: Programme
    draft: str
    version: int | None
    formats: _Formats | None = None
    annex_of: str = ""

    def indicator_format(self, code: str) -> str:
        return number_format(self.programme.display_decimals(code))

    def rounded(self, code: str, value) -> float | None:
        """A value as written: rounded to the indicator's decimals, no float noise."""
        v = _num(value)
        return None if v is None else _clean(round_half_up(v, self.programme.indicator(code).decimals))


class _Sheet:
    """A worksheet written row by row (rows in increasing order, as constant-memory mode needs),
    with 1-based rows and columns; wrapped text makes its row tall enough to show."""

    def __init__(self, wb: xlsxwriter.Workbook, name: str, ctx: _Context):
        self.ws = wb.add_worksheet(name)
        self.book = wb
        self.name = name
        self.formats = ctx.formats
        self.widths: dict[int, float] = {}
        self.heights: dict[int, float] = {}
        self.breaks: list[int] = []

    def width(self, col: int, width: float) -> None:
        self.widths[col] = width
        self.ws.set_column(col - 1, col - 1, width)

    def height(self, row: int, height: float) -> None:
        self.heights[row] = height
        self.ws.set_row(row - 1, height)

    def fit_height(self, row: int, col: int, value) -> None:
        """Tall enough for wrapped text: spreadsheet programs do not grow rows written by a library."""
        if not isinstance(value, str) or not value:
            return
        height = _wrapped_height(value, self.widths.get(col, DEFAULT_WIDTH))
        if self.heights.get(row, 15) < height:
            self.height(row, height)

    def write(self, row: int, col: int, value, fmt) -> None:
        """Text always as text (never a formula or an error value), numbers and dates as such."""
        r, c = row - 1, col - 1
        if value is None or (isinstance(value, float) and math.isnan(value)):
            self.ws.write_blank(r, c, None, fmt)
        elif isinstance(value, str):
            self.ws.write_string(r, c, safe_text(value), fmt)
        elif isinstance(value, bool):
            self.ws.write_boolean(r, c, value, fmt)
        elif isinstance(value, (dt.datetime, dt.date)):
            self.ws.write_datetime(r, c, value, fmt)
        elif isinstance(value, numbers.Number):
            self.ws.write_number(r, c, float(value) if not isinstance(value, int) else value, fmt)
        else:
            self.ws.write_string(r, c, safe_text(str(value)), fmt)

    def write_columns(self, first_row: int, columns: list[list], formats: list, wrapped: set[int]) -> None:
        """Rows from `first_row` down, one list per column (1-based column = index + 1), as `write`
        and `fit_height` would write them cell by cell, with the per-cell work done once per
        distinct value: a national year's sources sheet holds two million cells."""
        ws = self.ws
        # Floats (NaN is a blank), booleans and anything else go through `write`.
        by_type = {str: ws.write_string, int: ws.write_number, dt.datetime: ws.write_datetime, dt.date: ws.write_datetime}
        prepared = []
        for index, values in enumerate(columns):
            kinds = {type(v) for v in values}
            writer = by_type.get(kinds.pop()) if len(kinds) == 1 else None
            if writer == ws.write_string:
                cleaned = {v: safe_text(v) for v in set(values)}
                values = [cleaned[v] for v in values]
            prepared.append((index, values, writer))
        heights = {
            index: {v: _wrapped_height(v, self.widths.get(index + 1, DEFAULT_WIDTH)) for v in set(columns[index])
                    if isinstance(v, str) and v}
            for index in sorted(i - 1 for i in wrapped)
        }
        if _rows_in_bulk(ws, prepared, by_type):
            self._write_rows_in_bulk(first_row, prepared, formats, columns, heights)
            return
        for n in range(len(columns[0]) if columns else 0):
            row = first_row + n
            for index, values, writer in prepared:
                if writer is None:
                    self.write(row, index + 1, values[n], formats[index])
                else:
                    writer(row - 1, index, values[n], formats[index])
                known = heights.get(index)
                if known is not None:
                    height = known.get(columns[index][n])
                    if height is not None and self.heights.get(row, 15) < height:
                        self.height(row, height)

    def _write_rows_in_bulk(self, first_row: int, prepared: list, formats: list, columns: list[list],
                            heights: dict[int, dict]) -> None:
        """The rows `write_columns` describes, as the XML xlsxwriter's constant-memory mode would
        write for them cell by cell (tests/test_publication.py holds the two to the same bytes):
        each distinct text escaped once, each row one string, instead of some thirty Python calls
        per cell. Relies on xlsxwriter's row writer and its escaping, kept at the locked version."""
        ws = self.ws
        first, count, last_col = first_row - 1, len(columns[0]), len(columns) - 1
        # The pending row (the header) goes out first, as a write to the next row would send it.
        ws._write_single_row(first)
        cells = []
        for index, values, writer in prepared:
            if writer == ws.write_string:
                texts = {}
                for v in set(values):
                    text = ws._escape_control_characters(v)
                    if text.startswith("<r>") and text.endswith("</r>"):
                        texts[v] = f' t="inlineStr"><is>{text}</is></c>'
                    else:
                        space = ' xml:space="preserve"' if _preserve_whitespace(text) else ""
                        texts[v] = f' t="inlineStr"><is><t{space}>{ws._escape_data(text)}</t></is></c>'
                cells.append((index, [texts[v] for v in values]))
            elif writer == ws.write_datetime:
                cells.append((index, [f"><v>{ws._convert_date_time(v):.16G}</v></c>" for v in values]))
            else:
                cells.append((index, [f"><v>{v:.16G}</v></c>" for v in values]))
        # Format indices in the order the cells of the first row would take them.
        heads = [(f'<c r="{xl_col_to_name(index)}', f'" s="{formats[index]._get_xf_index()}"') for index, _ in cells]
        fh = ws.fh
        for n in range(count):
            r = first + n
            for index, known in heights.items():
                height = known.get(columns[index][n])
                if height is not None and self.heights.get(r + 1, 15) < height:
                    self.height(r + 1, height)
            ws._write_row(r, None, ws.row_info.get(r))
            number = str(r + 1)
            fh.write("".join([f"{a}{number}{b}{values[n]}" for (a, b), (_, values) in zip(heads, cells)]) + "</row>")
        if count:
            ws._check_dimensions(first + count - 1, 0)
            ws._check_dimensions(first + count - 1, last_col)
            # Every row is out: the row the workbook flushes at its close must not be sent twice.
            ws.previous_row = first + count


def _rows_in_bulk(ws, prepared: list, by_type: dict) -> bool:
    """The bulk path takes columns of one plain type each (text within Excel's cell length) in a
    constant-memory sheet; anything else goes cell by cell."""
    if not ws.constant_memory or not prepared or not prepared[0][1]:
        return False
    for _, values, writer in prepared:
        if writer is None or writer not in by_type.values():
            return False
        if writer == ws.write_string and any(len(v) > ws.xls_strmax // 2 for v in values):
            return False
    return True


def _wrapped_height(value: str, width: float) -> int:
    """Points a row needs to show `value` wrapped in a column of `width`."""
    # A column of width w holds about 1.15·w characters of ordinary text (widths count "0"s).
    lines = sum(max(1, math.ceil(len(part) / max(width * 1.15, 1))) for part in value.split("\n"))
    return 15 * lines + 2


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
    return None if v is None or not p else _clean(round_half_up(v / p, 3))


def _title(ws: _Sheet, ctx: _Context, title: str, subtitle: str, last_col: int) -> None:
    f = ctx.formats
    note = subtitle + (f" {ctx.draft}." if ctx.draft else "")
    lines = (
        # The body that issues the report (as the document's heading names it), else the bloc.
        ((ctx.programme.publication.issuer if ctx.programme.publication else ctx.programme.organisation_vi).upper(),
         f.get(**BOLD)),
        ((f"{DRAFT_MARK} – " if ctx.draft else "") + title, f.get(**(DRAFT_FONT if ctx.draft else TITLE))),
        (note, f.get(italic=True, text_wrap=True, valign="top", **({"font_color": "#C00000"} if ctx.draft else {}))),
    )
    for row, (text, fmt) in enumerate(lines, start=1):
        if row == 3:
            ws.height(3, 30)
        ws.ws.merge_range(row - 1, 0, row - 1, last_col - 1, "", fmt)
        ws.ws.write_string(row - 1, 0, safe_text(text), fmt)


def _header(ws: _Sheet, row: int, names: list[str], widths: list[float]) -> None:
    fmt = ws.formats.get(**HEADER, **BOX)
    for col, width in enumerate(widths[:len(names)], start=1):
        ws.width(col, width)
    for col, name in enumerate(names, start=1):
        ws.write(row, col, name, fmt)
        ws.fit_height(row, col, name)
    ws.ws.freeze_panes(row, 0)


def _print_setup(ws: _Sheet, header_row: int | None, *, landscape: bool, one_page: bool = False) -> None:
    """A4, one page wide (and one tall for the headline), header rows repeated, pages numbered."""
    sheet = ws.ws
    sheet.set_paper(9)
    if landscape:
        sheet.set_landscape()
    else:
        sheet.set_portrait()
    sheet.fit_to_pages(1, 1 if one_page else 0)
    sheet.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    sheet.center_horizontally()
    if header_row:
        sheet.repeat_rows(header_row - 1)
    sheet.set_footer("&L&A&CTrang &P/&N")
    if ws.breaks:
        sheet.set_h_pagebreaks(ws.breaks)


def _put(ws: _Sheet, row: int, col: int, value, fmt: str | None = None, *, wrap: bool = False, **font) -> None:
    ws.write(row, col, value, ws.formats.cell(fmt, wrap, **font))
    if wrap:
        ws.fit_height(row, col, value)


def _headline_sheet(ws: _Sheet, ctx: _Context, headline: pd.DataFrame, units_count: int) -> None:
    p = ctx.programme
    _title(
        ws, ctx,
        f"KẾT QUẢ THỰC HIỆN {upper_keeping_symbols(p.title_vi)} NĂM {p.year}",
        f"{ctx.annex_of}Tổng hợp từ báo cáo quý của {units_count} tổ chức cơ sở đảng trong Khối"
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
            # As the headline view gives them (rounded to 3 decimals there): rounding them again to
            # the indicator's 2 made a plan of 10.0046 a 10.01.
            value, plan = (None if v is None else _clean(v) for v in (_num(r["value"]), _num(r["plan"])))
        else:
            fmt = number_format(0)
            value, plan = _num(r["value"]), _num(r["plan"])
            value, plan = (None if v is None else int(round_half_up(v)) for v in (value, plan))
        pct = _num(r["pct_of_plan"])
        for col, v in enumerate((n, r["label_vi"], r["display_unit_vi"]), start=1):
            _put(ws, row, col, v, wrap=col == 2)
        _put(ws, row, 4, value, fmt)
        _put(ws, row, 5, plan, fmt)
        _put(ws, row, 6, None if pct is None else _clean(round_half_up(pct / 100, 3)),
             PERCENT if pct is None or not percent_decimals(pct) else PERCENT_ONE_DECIMAL)
        _put(ws, row, 7, r["metric_code"])
    _print_setup(ws, HEADER_ROW, landscape=True, one_page=True)


def _groups_sheet(ws: _Sheet, ctx: _Context, groups: pd.DataFrame, group_tasks: pd.DataFrame) -> None:
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
            for col, v in enumerate((label, p.indicator(code).year_label, r["unit_vi"]), start=1):
                _put(ws, row, col, v, wrap=col == 2)
            _put(ws, row, 4, ctx.rounded(code, r["value"]), fmt)
            _put(ws, row, 5, ctx.rounded(code, r["plan_value"]), fmt)
            _put(ws, row, 6, _fraction(r["value"], r["plan_value"]), PERCENT)
            _put(ws, row, 7, code)
            row += 1
    _print_setup(ws, HEADER_ROW, landscape=True)


def _tasks_sheet(ws: _Sheet, ctx: _Context, by_source: pd.DataFrame) -> None:
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


def _fitting(header: str, width: int) -> int:
    """A column at least as wide as its header's longest word: "(triệu đồng/người/tháng)" was cut
    mid-word ("thá | ng") when printed."""
    return max(width, max(len(word) for word in header.split()) + 2)


def _enterprises_sheet(ws: _Sheet, ctx: _Context, enterprises: pd.DataFrame, groups: pd.DataFrame,
                       in_force: pd.DataFrame | None = None) -> None:
    p = ctx.programme
    # A unit that ended during the year (dissolved) has no year-end stock: its workers were not
    # in the total row, and its line made the rows add up to more than the total.
    at_year_end = (None if in_force is None or in_force.empty
                   else set(in_force.loc[in_force["quarter"].astype(int) == 4, "unit_code"]))
    indicators = [i for i in p.indicators if i.group == "enterprises"]
    headers, widths, columns = ["STT", "Doanh nghiệp"], [5, 46], []
    for ind in indicators:
        headers.append(f"{ind.year_label} ({ind.unit_vi})")
        widths.append(_fitting(headers[-1], 14))
        columns.append((ind, "value"))
        if ind.has_plan:
            # Two planned indicators side by side: each "% kế hoạch" says whose.
            label = f"{ind.year_label[:1].lower()}{ind.year_label[1:]}"
            headers += [f"Kế hoạch {label} ({ind.unit_vi})", f"% kế hoạch {label}"]
            widths += [_fitting(headers[-2], 14), _fitting(headers[-1], 12)]
            columns += [(ind, "plan"), (ind, "pct")]
    headers.append("Mã đơn vị")
    widths.append(11)
    _title(
        ws, ctx, f"KẾT QUẢ SẢN XUẤT, KINH DOANH NĂM {p.year} CỦA CÁC DOANH NGHIỆP TRONG KHỐI",
        "Mỗi dòng là một doanh nghiệp theo danh sách đơn vị cuối năm (số liệu và kế hoạch của đơn vị đã hợp nhất trong năm tính vào đơn vị tiếp nhận; "
        "doanh nghiệp thôi hoạt động trong năm chỉ có số phát sinh, không có số cuối năm); kế hoạch là kế hoạch năm đơn vị báo cáo gần nhất.",
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
        ended = at_year_end is not None and code not in at_year_end
        _put(ws, row, 1, n)
        _put(ws, row, 2, names[code] + (" (thôi hoạt động trong năm)" if ended else ""), wrap=True)
        for col, (ind, what) in enumerate(columns, start=3):
            r = {} if ended and ind.aggregation == "latest" else wide.get((code, ind.code), {})
            if what == "value":
                _put(ws, row, col, ctx.rounded(ind.code, r.get("value")), ctx.indicator_format(ind.code))
            elif what == "plan":
                _put(ws, row, col, ctx.rounded(ind.code, r.get("plan_value")), ctx.indicator_format(ind.code))
            else:
                _put(ws, row, col, _fraction(r.get("value"), r.get("plan_value")), PERCENT)
        _put(ws, row, len(headers), code)
    # The group's figures, as the group sheet gives them: what the rows add up to (a mean weighted).
    total = {r["indicator_code"]: r for r in groups[groups["unit_group"] == "enterprises"].to_dict("records")}
    row = HEADER_ROW + len(names) + 1
    _put(ws, row, 2, f"Tổng cộng ({len(names)} doanh nghiệp)", bold=True)
    for col, (ind, what) in enumerate(columns, start=3):
        r = total.get(ind.code, {})
        if what == "value":
            _put(ws, row, col, ctx.rounded(ind.code, r.get("value")), ctx.indicator_format(ind.code), bold=True)
        elif what == "plan":
            _put(ws, row, col, ctx.rounded(ind.code, r.get("plan_value")), ctx.indicator_format(ind.code), bold=True)
        else:
            _put(ws, row, col, _fraction(r.get("value"), r.get("plan_value")), PERCENT, bold=True)
    _print_setup(ws, HEADER_ROW, landscape=True)


def _party_sheet(ws: _Sheet, ctx: _Context, groups: pd.DataFrame, bloc: pd.DataFrame) -> None:
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
        _put(ws, row, 1, ind.year_label, wrap=True)
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


def _annex_sheet(ws: _Sheet, ctx: _Context, sources: pd.DataFrame, lineage: pd.DataFrame, in_force: pd.DataFrame) -> None:
    p = ctx.programme
    headers = ["STT", "Tổ chức cơ sở đảng", "Khối", *[f"Quý {ROMAN[q]}" for q in (1, 2, 3, 4)], "Ghi chú", "Mã đơn vị"]
    _title(
        ws, ctx, f"PHỤ LỤC: BÁO CÁO QUÝ CỦA TỪNG TỔ CHỨC CƠ SỞ ĐẢNG NĂM {p.year}",
        "Mỗi ô: lần nộp được dùng để tổng hợp và ngày nhận; \"trễ hạn\" khi lần nộp đầu tiên đạt yêu cầu đến sau hạn; "
        "đơn vị đã hợp nhất được xếp ngay dưới đơn vị tiếp nhận.",
        len(headers),
    )
    _header(ws, HEADER_ROW, headers, [5, 44, 16, 23, 23, 23, 23, 30, 10])
    # Each used file's cell text made column-wise: a national year has a quarter of a million.
    received = pd.to_datetime(sources["received_at"], utc=True).dt.tz_convert(LOCAL_TZ).dt.strftime("%d/%m/%Y")
    texts = [
        f"lần {int(v)}, nhận {day}{'' if on_time else ' (trễ hạn)'}"
        for v, day, on_time in zip(sources["version"], received, sources["is_unit_on_time"])
    ]
    quarters = sources["quarter"].astype(int).tolist()
    used = dict(zip(zip(sources["unit_code"].tolist(), quarters), texts))
    expected = set(zip(in_force["unit_code"].tolist(), in_force["quarter"].astype(int).tolist()))
    codes = sorted({c for c, _ in used} | {c for c, _ in expected})
    info = {r["unit_code"]: r for r in lineage.to_dict("records")}
    names = dict(zip(sources["unit_code"].tolist(), sources["unit_name"].tolist()))

    def current(code: str) -> str:
        return info.get(code, {}).get("current_unit_code") or code

    order = sorted(codes, key=lambda c: (current(c), c != current(c), c))
    rows = []
    for n, code in enumerate(order, start=1):
        meta = info.get(code, {})
        merged = current(code) != code
        name = names.get(code) or meta.get("unit_name") or code
        quarters = []
        for quarter in (1, 2, 3, 4):
            text = used.get((code, quarter))
            if text is None:
                text = "chưa có báo cáo được chấp nhận" if (code, quarter) in expected else ""
            quarters.append(text)
        note = ""
        until = meta.get("valid_to")
        ended = until is not None and not pd.isna(until)
        since = f" từ {(pd.Timestamp(until) + pd.Timedelta(days=1)):%d/%m/%Y}" if ended else ""
        if merged:
            note = f"Đã hợp nhất vào {meta.get('current_unit_name') or current(code)} ({current(code)}){since}"
        elif ended:
            # Its empty quarters after that are not a missing report.
            note = f"Thôi hoạt động (giải thể){since}, không phải báo cáo các quý sau"
        rows.append((n, f"↳ {name}" if merged else name, p.groups.get(meta.get("unit_group"), meta.get("unit_group")),
                     *quarters, note, code))
    wrapped = {2, 4, 5, 6, 7, 8}
    formats = [ws.formats.cell(None, col in wrapped) for col in range(1, len(headers) + 1)]
    ws.write_columns(HEADER_ROW + 1, [list(c) for c in zip(*rows)] if rows else [[] for _ in headers], formats, wrapped)
    _print_setup(ws, HEADER_ROW, landscape=True)


def _quality_sheet(ws: _Sheet, ctx: _Context, findings: pd.DataFrame, sources: pd.DataFrame,
                   in_force: pd.DataFrame) -> None:
    p = ctx.programme
    headers = ["STT", "Tổ chức cơ sở đảng", "Quý", "Tình trạng bản mới nhất", "Lần nộp", "Lỗi", "Cảnh báo", "Một phát hiện", "Mã đơn vị"]
    with_warnings = int((sources["status"] == "accepted_with_warnings").sum()) if not sources.empty else 0
    # A unit not due that quarter (merged into another, dissolved) has nothing to send again.
    expected = set(zip(in_force["unit_code"].tolist(), in_force["quarter"].astype(int).tolist()))
    due = [(u, int(q)) in expected for u, q in zip(findings["unit_code"], findings["quarter"])]
    rejected = (findings["status"] == "rejected").tolist()
    open_rejected = sum(r and d for r, d in zip(rejected, due))
    not_due = sum(r and not d for r, d in zip(rejected, due))
    _title(
        ws, ctx, f"CHẤT LƯỢNG SỐ LIỆU NĂM {p.year}",
        f"{len(sources)} báo cáo quý được dùng để tổng hợp, {with_warnings} báo cáo có cảnh báo; "
        f"{open_rejected} bản gửi mới nhất bị từ chối (đơn vị cần gửi lại)"
        + (f"; {not_due} bản bị từ chối của đơn vị không phải báo cáo quý đó (đã hợp nhất hoặc giải thể: không cần "
           "gửi lại)" if not_due else "")
        + ". Bảng dưới: các bản mới nhất còn lỗi hoặc cảnh báo.",
        len(headers),
    )
    _header(ws, HEADER_ROW, headers, [5, 40, 7, 20, 8, 7, 9, 60, 10])
    for n, (r, is_due) in enumerate(zip(findings.to_dict("records"), due), start=1):
        row = HEADER_ROW + n
        values = [
            n, r["unit_name"] or r["unit_code"], f"Quý {ROMAN[int(r['quarter'])]}",
            STATUS_VI.get(r["status"], r["status"]) + ("" if is_due else " (không phải báo cáo quý này)"),
            int(r["version"]), int(r["errors"] or 0), int(r["warnings"] or 0), r["a_message"], r["unit_code"],
        ]
        for col, v in enumerate(values, start=1):
            _put(ws, row, col, v, wrap=col in (2, 8))
    _print_setup(ws, HEADER_ROW, landscape=True)


def _charts_sheet(ws: _Sheet, ctx: _Context, figures: WorkbookFigures) -> None:
    """Three charts, each beside the small table it draws."""
    p = ctx.programme
    _title(ws, ctx, f"BIỂU ĐỒ KẾT QUẢ NĂM {p.year}", "Số liệu của mỗi biểu đồ nằm ở bảng bên trái biểu đồ.", 10)
    for col, width in enumerate((34, 14, 14, 14), start=1):
        ws.width(col, width)
    row = HEADER_ROW

    code = figures.quarterly_indicator
    if code and not figures.quarterly.empty:
        ind = p.indicator(code)
        _put(ws, row, 1, "Quý", bold=True)
        _put(ws, row, 2, f"{ind.label_vi} ({ind.unit_vi})", bold=True)
        for n, r in enumerate(figures.quarterly.to_dict("records"), start=1):
            _put(ws, row + n, 1, f"Quý {ROMAN[int(r['quarter'])]}")
            _put(ws, row + n, 2, ctx.rounded(code, r["value"]), ctx.indicator_format(code))
        last = row + len(figures.quarterly)
        chart = _bar(ws, f"{ind.label_vi} theo quý năm {p.year} ({ind.unit_vi})", ind.unit_vi,
                     num_format=number_format(0), legend=False)
        _series(ws, chart, 2, row, last)
        ws.ws.insert_chart(f"F{row}", chart)
        row = max(last, row + 16) + 2
        ws.breaks.append(row - 1)

    planned = [r for r in figures.headline.to_dict("records") if _num(r["pct_of_plan"]) is not None]
    if planned:
        _put(ws, row, 1, "Chỉ tiêu", bold=True)
        _put(ws, row, 2, "% kế hoạch", bold=True)
        for n, r in enumerate(planned, start=1):
            _put(ws, row + n, 1, r["label_vi"], wrap=True)
            _put(ws, row + n, 2, _clean(round_half_up(float(r["pct_of_plan"]) / 100, 3)), PERCENT)
        last = row + len(planned)
        chart = _bar(ws, f"Mức thực hiện so với kế hoạch năm {p.year}", "% kế hoạch", horizontal=True, num_format=PERCENT,
                     legend=False)
        _series(ws, chart, 2, row, last)
        ws.ws.insert_chart(f"F{row}", chart)
        row = max(last, row + 16) + 2
        ws.breaks.append(row - 1)

    tasks = figures.tasks_by_source
    if not tasks.empty:
        groups = [g for g in p.groups if g in set(tasks["unit_group"])]
        sources = list(dict.fromkeys(tasks["source"]))
        labels = dict(zip(tasks["source"], tasks["source_label_vi"]))
        _put(ws, row, 1, "Nguồn nhiệm vụ", bold=True)
        for col, g in enumerate(groups, start=2):
            _put(ws, row, col, p.groups[g], bold=True)
        counts = {(r["unit_group"], r["source"]): int(r["identified"] or 0) for r in tasks.to_dict("records")}
        for n, s in enumerate(sources, start=1):
            _put(ws, row + n, 1, labels.get(s) or s, wrap=True)
            for col, g in enumerate(groups, start=2):
                _put(ws, row + n, col, counts.get((g, s), 0), number_format(0))
        last = row + len(sources)
        chart = _bar(ws, f"Nhiệm vụ trọng tâm năm {p.year} theo nguồn", "nhiệm vụ", stacked=True)
        for col in range(2, 2 + len(groups)):
            _series(ws, chart, col, row, last, overlap=100)
        ws.ws.insert_chart(f"F{row}", chart)
    _print_setup(ws, None, landscape=True)
    # A chart a page: each page carries the sheet's title (and a draft's DỰ THẢO line).
    ws.ws.repeat_rows(0, 2)


def _bar(ws: _Sheet, title: str, axis_title: str, *, horizontal: bool = False, stacked: bool = False,
         num_format: str | None = None, legend: bool = True):
    """A bar (or column) chart 16 × 7.5 cm, values labelled, the value axis from 0 in Vietnamese
    number format, legend below (none for one series: the title and axis already name it)."""
    options = {"type": "bar" if horizontal else "column"}
    if stacked:
        options["subtype"] = "stacked"
    chart = ws.book.add_chart(options)
    chart.set_title({"name": title})
    value_axis = {"name": axis_title, "min": 0, **({"num_format": num_format} if num_format else {})}
    # In a bar chart xlsxwriter's x axis is the value axis (drawn horizontally).
    (chart.set_x_axis if horizontal else chart.set_y_axis)(value_axis)
    chart.set_size({"width": round(16 * PX_PER_CM), "height": round(7.5 * PX_PER_CM)})
    chart.set_legend({"position": "bottom"} if legend else {"none": True})
    return chart


def _series(ws: _Sheet, chart, col: int, header_row: int, last: int, **extra) -> None:
    """The values of column `col` below its header (the series name), categories in column A."""
    chart.add_series({
        "name": [ws.name, header_row - 1, col - 1],
        "categories": [ws.name, header_row, 0, last - 1, 0],
        "values": [ws.name, header_row, col - 1, last - 1, col - 1],
        "data_labels": {"value": True},
        **extra,
    })


def _sources_sheet(ws: _Sheet, ctx: _Context, sources: pd.DataFrame) -> None:
    headers = ["Tổ chức cơ sở đảng", "Quý", "Lần nộp", "Tình trạng", "Thời điểm nhận (giờ Việt Nam)", "Hạn nộp", "Tệp nhận trong hạn", "Tên tệp", "Mã băm SHA-256", "Mã đơn vị"]
    _title(
        ws, ctx, "NGUỒN SỐ LIỆU",
        "Báo cáo quý được dùng để tổng hợp: mỗi dòng là một tệp đã được chấp nhận (bản mới nhất của đơn vị trong quý). "
        "Bản sửa gửi sau hạn không làm đơn vị thành nộp muộn khi lần nộp đầu tiên đạt yêu cầu đã đúng hạn.",
        len(headers),
    )
    _header(ws, HEADER_ROW, headers, [40, 6, 8, 20, 17, 11, 9, 32, 58, 10])
    received = pd.to_datetime(sources["received_at"], utc=True).dt.tz_convert(LOCAL_TZ).dt.tz_localize(None)
    deadlines = pd.to_datetime(sources["deadline"]).dt.date
    columns = [
        sources["unit_name"].tolist(), sources["quarter"].astype(int).tolist(), sources["version"].astype(int).tolist(),
        [STATUS_VI.get(s, s) for s in sources["status"]], received.dt.to_pydatetime().tolist(), deadlines.tolist(),
        ["Có" if v else "Không" for v in sources["is_on_time"]], sources["original_name"].tolist(),
        sources["file_sha256"].tolist(), sources["unit_code"].tolist(),
    ]
    extra = {5: {"num_format": "dd/mm/yyyy hh:mm"}, 6: {"num_format": "dd/mm/yyyy"}, 9: HASH_FONT}
    formats = {
        col: ws.formats.get(**BOX, valign="top", **({"text_wrap": True} if col in (1, 8) else {}), **extra.get(col, {}))
        for col in range(1, len(headers) + 1)
    }
    ws.write_columns(HEADER_ROW + 1, columns, [formats[col] for col in range(1, len(headers) + 1)], wrapped={1, 8})
    _print_setup(ws, HEADER_ROW, landscape=True)
