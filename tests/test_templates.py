"""Templates: pre-filled, protected where they must not change, with lists and formats."""

from __future__ import annotations

import datetime as dt

from openpyxl import load_workbook
from typer.testing import CliRunner

from flows.cli import app
from reporting import layout as L
from reporting.identity import SHEET_IDENTITY, VALID, read_identity
from reporting.periods import Period
from tasks.templates import CarriedTask, CarryOver, build_template
from tests.workbooks import PROGRAMME, REGISTRY

Q2 = Period(2023, 2)


def _template(tmp_path, code="DN005", carry=None):
    unit = REGISTRY.version_on(code, Q2.ends_on)
    path = tmp_path / f"{code}.xlsx"
    build_template(PROGRAMME, unit, Q2, carry).save(path)
    return load_workbook(path)


def test_identity_is_prefilled_and_locked(tmp_path):
    wb = _template(tmp_path)
    info = wb[L.SHEET_INFO]
    assert wb.sheetnames == [L.SHEET_GUIDE, L.SHEET_INFO, L.SHEET_INDICATORS, L.SHEET_TASKS, L.SHEET_LISTS, SHEET_IDENTITY]
    assert wb[L.SHEET_LISTS].sheet_state == "hidden"
    assert wb[SHEET_IDENTITY].sheet_state == "veryHidden"
    assert info[L.INFO["unit_code"].cell].value == "DN005"
    assert info[L.INFO["template_version"].cell].value == PROGRAMME.template_version
    assert (info[L.INFO["year"].cell].value, info[L.INFO["quarter"].cell].value) == (2023, 2)
    assert all(wb[name].protection.sheet for name in wb.sheetnames)
    for key in ("unit_code", "unit_name", "year", "quarter", "template_version"):
        assert info[L.INFO[key].cell].protection.locked
    assert not info[L.INFO["reporter"].cell].protection.locked


def test_the_template_prints_each_sheets_width_on_a4_and_its_guide_unclipped(tmp_path):
    wb = _template(tmp_path)
    for name, orientation in ((L.SHEET_GUIDE, "portrait"), (L.SHEET_INFO, "portrait"),
                              (L.SHEET_INDICATORS, "landscape"), (L.SHEET_TASKS, "landscape")):
        ws = wb[name]
        assert (int(ws.page_setup.paperSize), ws.page_setup.orientation) == (int(ws.PAPERSIZE_A4), orientation), name
        assert ws.sheet_properties.pageSetUpPr.fitToPage and int(ws.page_setup.fitToWidth) == 1, name
        assert int(ws.page_setup.fitToHeight) == 0, "rows run on to further pages"
    assert wb[L.SHEET_INDICATORS].print_title_rows == f"${L.HEADER_ROW}:${L.HEADER_ROW}"
    guide = wb[L.SHEET_GUIDE]
    longest = max(range(1, guide.max_row + 1), key=lambda r: len(guide.cell(r, 1).value or ""))
    # LibreOffice prints a wrapped row at the height saved: one line's height cut the text off.
    assert guide.row_dimensions[longest].height >= 15 * 5


def test_the_template_knows_whom_it_was_handed_out_to(tmp_path):
    carry = CarryOver(tasks=(CarriedTask("NV07", "Kiện toàn tổ chức", "unit", "in_progress"),))
    wb = _template(tmp_path, "CQ003", carry)
    rows = [[c.value for c in row] for row in wb[SHEET_IDENTITY].iter_rows()]
    state, identity = read_identity(rows)
    assert state == VALID
    assert (identity.unit_code, identity.unit_name, identity.year, identity.quarter, identity.programme_code) == (
        "CQ003", "Đảng bộ Sở Tài chính", 2023, 2, PROGRAMME.code)
    locked = {(c.sheet, c.cell): c.value for c in identity.locked}
    assert locked[(L.SHEET_INFO, "B11")] == PROGRAMME.deadlines[2].isoformat()
    assert locked[(L.SHEET_INFO, "B9")] == "2023"
    assert locked[(L.SHEET_TASKS, "B5")] == "NV07", "a carried-over task code is locked"
    assert (L.SHEET_TASKS, "C5") not in locked and (L.SHEET_INFO, "B13") not in locked, "open cells are the clerk's"
    assert locked[(L.SHEET_INDICATORS, "F5")] == "", "a locked empty cell stays empty"
    # Any edit of the identity sheet breaks its digest.
    rows[4][1] = "CQ004"
    assert read_identity(rows) == ("altered", None)
    assert read_identity(None) == ("missing", None)


def test_indicator_rows_follow_the_group_and_plans_only_where_due(tmp_path):
    agency = _template(tmp_path, "CQ003")[L.SHEET_INDICATORS]
    enterprise = _template(tmp_path, "DN005")[L.SHEET_INDICATORS]

    def codes(ws):
        return [ws[f"B{r}"].value for r in range(L.FIRST_DATA_ROW, L.FIRST_DATA_ROW + 30) if ws[f"B{r}"].value]

    assert codes(agency) == [i.code for i in PROGRAMME.indicators_for("agencies")]
    assert codes(enterprise) == [i.code for i in PROGRAMME.indicators_for("enterprises")]
    for row, code in enumerate(codes(enterprise), start=L.FIRST_DATA_ROW):
        ind = PROGRAMME.indicator(code)
        assert not enterprise[f"E{row}"].protection.locked
        assert enterprise[f"G{row}"].protection.locked is (not ind.has_plan)
        assert enterprise[f"F{row}"].protection.locked is (not ind.has_ytd)
        assert enterprise[f"B{row}"].protection.locked
        assert enterprise[f"E{row}"].number_format == ("#,##0" if ind.decimals == 0 else "#,##0." + "0" * ind.decimals)
    # The codes are how the file is read, not words for the clerk: kept in the file, not shown.
    assert enterprise.column_dimensions["B"].hidden and not enterprise.column_dimensions["C"].hidden


def test_sources_and_statuses_are_dropdowns(tmp_path):
    tasks = _template(tmp_path)[L.SHEET_TASKS]
    lists = {dv.type: dv for dv in tasks.data_validations.dataValidation}
    formulas = sorted(dv.formula1 for dv in tasks.data_validations.dataValidation if dv.type == "list")
    assert formulas == [f"'{L.SHEET_LISTS}'!$A$2:$A$4", f"'{L.SHEET_LISTS}'!$B$2:$B$5"]
    assert "date" in lists


def test_key_tasks_and_plans_carry_over(tmp_path):
    carry = CarryOver(
        tasks=(CarriedTask("NV07", "Kiện toàn tổ chức", "unit", "completed", dt.date(2023, 3, 20)),),
        plans={"avg_income_m_vnd": 12.5, "social_insurance_bn_vnd": 3.2},
    )
    wb = _template(tmp_path, carry=carry)
    tasks, ind = wb[L.SHEET_TASKS], wb[L.SHEET_INDICATORS]
    row = L.FIRST_DATA_ROW
    assert [tasks[f"{c}{row}"].value for c in "BCDE"] == ["NV07", "Kiện toàn tổ chức", "Do cơ quan, đơn vị xác định", "Đã hoàn thành"]
    assert tasks[f"F{row}"].value.date() == dt.date(2023, 3, 20)
    assert tasks[f"B{row}"].protection.locked and not tasks[f"B{row + 1}"].protection.locked
    plans = {ind[f"B{r}"].value: ind[f"G{r}"].value for r in range(L.FIRST_DATA_ROW, L.FIRST_DATA_ROW + 20)}
    assert plans["avg_income_m_vnd"] == 12.5 and plans["social_insurance_bn_vnd"] == 3.2


def test_a_year_to_date_cell_tells_last_quarters_figure_when_selected(tmp_path):
    """A clerk had to find last quarter's file to add this quarter to: the cell's input message
    says it (Excel and LibreOffice show it when the cell is selected), and still takes numbers only."""
    carry = CarryOver(ytd={"revenue_bn_vnd": 66.447, "inspections": 2.0}, ytd_quarter=1)
    ind = _template(tmp_path, carry=carry)[L.SHEET_INDICATORS]
    rows = {ind[f"B{r}"].value: r for r in range(L.FIRST_DATA_ROW, L.FIRST_DATA_ROW + 20) if ind[f"B{r}"].value}
    prompts = {str(r): dv for dv in ind.data_validations.dataValidation for r in dv.sqref.ranges}
    revenue = prompts[f"F{rows['revenue_bn_vnd']}"]
    assert revenue.showInputMessage and revenue.promptTitle == "Lũy kế từ đầu năm"
    assert revenue.prompt == ("Lũy kế đến hết Quý I/2023 (báo cáo đã được chấp nhận): 66,447 tỷ đồng. "
                              "Lũy kế quý này = số đó + số thực hiện trong quý.")
    assert (revenue.type, revenue.operator, revenue.formula1) == ("decimal", "greaterThanOrEqual", "0")
    assert not prompts[f"F{rows['budget_paid_bn_vnd']}"].prompt, "no figure last quarter: no message"
    # Q1 accepted, Q2 not: the Q3 template says Q2's figures belong in too.
    from tasks.templates import ytd_hint_vi
    from tests.workbooks import PROGRAMME as P

    hint = ytd_hint_vi(14.445, P.indicator("revenue_bn_vnd"), Period(2023, 1), Period(2023, 3))
    assert hint == ("Lũy kế đến hết Quý I/2023 (báo cáo đã được chấp nhận): 14,445 tỷ đồng. Quý II/2023 chưa có báo "
                    "cáo được chấp nhận: lũy kế quý này phải cộng cả số của quý đó và số trong quý."), hint
    assert len(hint) <= 255
    # Q1 accepted, Q2 and Q3 not: "các quý từ Quý 2 đến Quý 3" began a sentence in lower case.
    hint = ytd_hint_vi(1234567.5, P.indicator("avg_income_m_vnd"), Period(2023, 1), Period(2023, 4))
    assert ". Các quý từ Quý II/2023 đến Quý III/2023 chưa có báo cáo được chấp nhận: lũy kế quý này phải cộng cả số của " \
        "các quý đó và số trong quý." in hint, hint
    assert len(hint) <= 255


def test_the_templates_command_writes_one_per_unit(tmp_path, monkeypatch):
    monkeypatch.delenv("P135_WAREHOUSE_URL", raising=False)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["templates", "--year", "2023", "--quarter", "1", "--out", str(out), "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted(f"{u.unit_code}_2023-Q1.xlsx" for u in REGISTRY.in_force_on(dt.date(2023, 3, 31)))
    # The reporting month's daily collects find the quarter's inbox empty, not missing (a failed run).
    inbox = tmp_path / "data" / "inbox" / "2023-Q1"
    assert inbox.is_dir() and not list(inbox.iterdir())
    collected = CliRunner().invoke(app, ["collect", "--year", "2023", "--quarter", "1", "--data-dir", str(tmp_path / "data")])
    assert collected.exit_code == 0, collected.output


def test_the_year_to_date_handed_on_is_last_accepted_quarters(warehouse):
    from flows.collect import collect_quarter
    from tasks.handout import fetch_carry_over
    from tests.workbooks import default_values, save, submission

    q1 = Period(2023, 1)
    values = dict(default_values("enterprises"), revenue_bn_vnd=66.447)
    save(submission("DN005", q1, values=values), warehouse.data_dir / "inbox" / q1.key / "DN005.xlsx")
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    carry = fetch_carry_over(warehouse.data_dir, Q2)["DN005"]

    assert (carry.ytd_quarter, carry.ytd["revenue_bn_vnd"]) == (1, 66.447)
    assert "avg_income_m_vnd" not in carry.ytd, "a figure without a year-to-date hands none on"
