"""The demo year through the real flows reproduces the article's 2023 figures, everywhere."""

from __future__ import annotations

import datetime as dt
import hashlib
import os

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook
from sqlalchemy import text
from typer.testing import CliRunner

from flows.cli import app
from flows.collect import collect_quarter
from flows.demo import demo_year
from reporting import layout as L
from reporting.vn_format import headline_cells
from tasks.report import HEADLINE_HEADER_ROW, SHEET_HEADLINE
from tests.test_collect import snapshot


def check_golden(h: dict[str, tuple]) -> None:
    """The article's table (brief.md), as the issue states its tolerances."""
    assert h["key_tasks_total"][0] == 1966
    assert h["key_tasks_ctr135"][0] == 365
    assert h["key_tasks_other"][0] == 1601
    assert h["key_tasks_completed"][0] == 1966
    assert 9899 <= h["revenue_bn_vnd"][0] < 9900
    income, _, income_pct = h["avg_income_m_vnd"]
    assert income == pytest.approx(10.6, abs=0.05)
    assert income_pct == pytest.approx(106, abs=0.5)
    assert h["budget_paid_bn_vnd"][0] == pytest.approx(870)
    insurance, _, insurance_pct = h["social_insurance_bn_vnd"]
    assert 60.8 <= insurance < 60.85
    assert insurance_pct == pytest.approx(135, abs=0.5)


def year_end_2023(engine) -> dict[str, tuple]:
    """v_year_end_programme135 for 2023: metric -> (value, plan, pct_of_plan) as floats."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT metric_code, value, plan, pct_of_plan FROM v_year_end_programme135 WHERE year = 2023"
        )).all()
    return {code: tuple(None if v is None else float(v) for v in rest) for code, *rest in rows}


def test_the_view_holds_the_article_figures(demo):
    warehouse = demo.warehouse
    headline = year_end_2023(warehouse.engine)
    assert list(headline) == [
        "key_tasks_total", "key_tasks_ctr135", "key_tasks_other", "key_tasks_completed",
        "revenue_bn_vnd", "avg_income_m_vnd", "budget_paid_bn_vnd", "social_insurance_bn_vnd",
    ]
    check_golden(headline)


def test_the_published_workbook_holds_the_same_figures(demo):
    warehouse, result = demo.warehouse, demo.result
    assert result["report"] == str(warehouse.data_dir / "reports" / "bao-cao-ctr135-2023.xlsx")
    rows = CalamineWorkbook.from_path(result["report"]).get_sheet_by_name(SHEET_HEADLINE).to_python(skip_empty_area=False)
    # Labels first, the metric code in the last column; values rounded to the indicator's decimals.
    from_report = {
        r[6]: tuple(None if v == "" else float(v) for v in (r[3], r[4], r[5]))
        for r in rows[HEADLINE_HEADER_ROW:] if r[6]
    }
    # The workbook holds % of plan as a fraction formatted 0%.
    check_golden({k: (v, p, None if pct is None else pct * 100) for k, (v, p, pct) in from_report.items()})
    assert from_report == {
        k: (pytest.approx(v, abs=0.005), None if p is None else pytest.approx(p, abs=0.005),
            None if pct is None else pytest.approx(pct / 100, abs=0.0005))
        for k, (v, p, pct) in year_end_2023(warehouse.engine).items()
    }
    assert load_workbook(result["report"])[SHEET_HEADLINE]["F11"].number_format == "0%"


def test_the_terminal_table_speaks_vietnamese_numbers(demo):
    result = demo.result
    cells = {r["metric_code"]: headline_cells(r)[1:] for r in result["headline"]}
    assert cells["key_tasks_total"] == ("1.966 nhiệm vụ", "", "")
    assert cells["key_tasks_completed"] == ("1.966 nhiệm vụ", "1.966 nhiệm vụ", "100%")
    assert cells["revenue_bn_vnd"][0] == "9.899,4 tỷ đồng"
    assert cells["avg_income_m_vnd"] == ("10,6 triệu đồng/tháng", "10,0 triệu đồng/tháng", "106%")
    assert cells["budget_paid_bn_vnd"][0] == "870,0 tỷ đồng"
    assert cells["social_insurance_bn_vnd"][0] == "60,8 tỷ đồng"
    assert cells["social_insurance_bn_vnd"][2] == "135%"


def test_the_demo_is_realistic_not_just_right(demo):
    warehouse, result = demo.warehouse, demo.result
    with warehouse.engine.connect() as conn:
        plain_income = conn.execute(text(
            "SELECT AVG(value) FROM v_unit_quarter_indicator WHERE year = 2023 AND indicator_code = 'avg_income_m_vnd'"
        )).scalar_one()
        task_rows, tasks = conn.execute(text(
            "SELECT COUNT(*), COUNT(DISTINCT s.unit_code || '/' || k.task_code) FROM submission_key_task k "
            "JOIN v_current_submission s USING (submission_id)"
        )).one()
        on_time = conn.execute(text(
            "SELECT AVG(CASE WHEN is_on_time THEN 1.0 ELSE 0.0 END) FROM v_submission_status"
        )).scalar_one()
        statuses = dict(conn.execute(text("SELECT status, COUNT(*) FROM submission GROUP BY status")).all())
        units = conn.execute(text("SELECT COUNT(DISTINCT unit_code) FROM v_current_submission")).scalar_one()
    assert abs(float(plain_income) - 10.6) > 0.5, "a plain mean must not pass for the weighted one"
    assert tasks == 1966 and task_rows > 2 * tasks, "tasks carry over between quarters"
    assert 0.8 < float(on_time) < 1.0, "most files arrive before the deadline, a few after"
    assert statuses == {"accepted": 4 * units, "rejected": 1, "superseded": 1}
    assert 60 <= units <= 80
    assert [c["files_new"] for c in result["collected"]] == [units, units + 1, units + 1, units]


def test_the_cli_prints_the_headline(demo):
    warehouse = demo.warehouse
    out = CliRunner().invoke(app, ["publish", "--year", "2023", "--data-dir", str(warehouse.data_dir)])
    assert out.exit_code == 0, out.output
    for text_ in ("9.899,4 tỷ đồng", "10,6 triệu đồng/tháng", "106%", "1.966 nhiệm vụ", "60,8 tỷ đồng", "135%"):
        assert text_ in out.output
    assert "không thay đổi" in out.output


def test_running_the_demo_again_changes_nothing(demo_copy):
    warehouse = demo_copy.warehouse
    before = snapshot(warehouse.engine)
    reports = warehouse.data_dir / "reports"
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in reports.iterdir()}

    again = demo_year(year=2023, data_dir=str(warehouse.data_dir))

    assert [c["files_new"] for c in again["collected"]] == [0, 0, 0, 0]
    assert snapshot(warehouse.engine) == before
    assert (again["version"], again["changed"]) == (1, False)
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in reports.iterdir()} == files


def test_one_changed_cell_changes_the_headline(demo_copy):
    warehouse = demo_copy.warehouse
    inbox = warehouse.data_dir / "inbox" / "2023-Q4"
    original = inbox / "BaoCao_2023-Q4_DN005.xlsx"
    wb = load_workbook(original)
    before = year_end_2023(warehouse.engine)["revenue_bn_vnd"][0]
    sheet = wb[L.SHEET_INDICATORS]
    row = next(r for r in range(L.FIRST_DATA_ROW, 40) if sheet[f"B{r}"].value == "revenue_bn_vnd")
    sheet[f"E{row}"] = sheet[f"E{row}"].value + 100
    corrected = inbox / "BaoCao_2023-Q4_DN005_bosung.xlsx"
    wb.save(corrected)
    later = original.stat().st_mtime + dt.timedelta(days=1).total_seconds()
    os.utime(corrected, (later, later))

    collect_quarter(year=2023, quarter=4, data_dir=str(warehouse.data_dir))

    assert year_end_2023(warehouse.engine)["revenue_bn_vnd"][0] == pytest.approx(before + 100)


def test_the_demo_fills_an_indicator_a_later_years_programme_adds(tmp_path):
    """`p135 demo --year 2024` with a 2024 file adding an indicator ended in KeyError: the demo
    clerks now fill it too, and their files pass the checks."""
    from expectations.gate import check_batch
    from reporting.periods import Period
    from reporting.programme import PROGRAMMES_DIR, load_programme
    from reporting.units import load_registry
    from tasks.demo_data import write_demo_quarter
    from tasks.workbook_reader import read_workbooks

    text = (PROGRAMMES_DIR / "ctr135-2023.toml").read_text(encoding="utf-8")
    for old, new in (("year = 2023", "year = 2024"), ("CTr135-2023", "CTr135-2024"), ("2024-01-10", "2025-01-10"),
                     ("2023-04-10", "2024-04-10"), ("2023-07-10", "2024-07-10"), ("2023-10-10", "2024-10-10")):
        text = text.replace(old, new)
    added = ('[[indicators]]\ncode = "members_commended"\nlabel_vi = "Số đảng viên được khen thưởng"\n'
             'unit_vi = "đảng viên"\ngroup = "all"\naggregation = "sum"\ndecimals = 0\nhas_plan = true\n\n')
    at = text.index("[[indicators]]")
    (tmp_path / "ctr135-2024.toml").write_text(text[:at] + added + text[at:], encoding="utf-8")
    programme, registry, period = load_programme(tmp_path / "ctr135-2024.toml"), load_registry(), Period(2024, 1)

    files = write_demo_quarter(programme, registry, period, {}, tmp_path / "inbox")

    items = [(str(n), path) for n, path in enumerate(files)]
    checked = check_batch(read_workbooks(items), [sid for sid, _ in items], programme, registry, period)
    assert set(checked.status.values()) <= {"accepted", "accepted_with_warnings"}, \
        [f.message_vi for f in checked.findings if f.severity == "error"][:3]
    commended = checked.indicator_facts[checked.indicator_facts["indicator_code"] == "members_commended"]
    assert len(commended) == len(files) and commended["value"].notna().all()


def test_a_plan_in_the_workbook_is_the_views_not_rounded_twice(demo, tmp_path):
    """The 2024 helper's income plan, 10.0046 (the view's 10.005), stood in the workbook as 10.01:
    the view's 3 decimals rounded again to the indicator's 2."""
    import datetime as dt

    from reporting.programme import programme_for_year
    from tasks.publishing import fetch_year_figures
    from tasks.report import write_report

    programme = programme_for_year(2023)
    figures = fetch_year_figures.fn(demo.warehouse.data_dir, 2023, programme).workbook
    at = figures.headline.index[figures.headline["metric_code"] == "avg_income_m_vnd"][0]
    figures.headline["plan"] = figures.headline["plan"].astype(object)
    figures.headline.at[at, "plan"] = 10.005
    path = write_report(programme, figures, tmp_path / "r.xlsx", dt.datetime(2024, 1, 20, tzinfo=dt.timezone.utc))
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(SHEET_HEADLINE).to_python(skip_empty_area=False)
    plan = next(r[4] for r in rows[HEADLINE_HEADER_ROW:] if r[6] == "avg_income_m_vnd")
    assert plan == 10.005


def test_an_enterprise_that_ended_during_the_year_shows_its_flows_not_a_year_end_stock(demo, tmp_path):
    """The 2024 helper's DN020, dissolved on 30 September, stood on the enterprises sheet with its
    60 workers, which the total row (the year-end units') did not count: the rows added up to more."""
    import datetime as dt

    from reporting.programme import programme_for_year
    from tasks.publishing import fetch_year_figures
    from tasks.report import SHEET_ENTERPRISES, write_report

    programme = programme_for_year(2023)
    figures = fetch_year_figures.fn(demo.warehouse.data_dir, 2023, programme).workbook
    ended = sorted(figures.enterprises["unit_code"].unique())[0]
    figures.in_force = figures.in_force[~((figures.in_force["unit_code"] == ended) & (figures.in_force["quarter"] == 4))]
    path = write_report(programme, figures, tmp_path / "r.xlsx", dt.datetime(2024, 1, 20, tzinfo=dt.timezone.utc))
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(SHEET_ENTERPRISES).to_python(skip_empty_area=False)
    header = next(r for r in rows if r and r[0] == "STT")
    row = next(r for r in rows if r and r[-1] == ended)
    stocks = [i for i in programme.indicators if i.group == "enterprises" and i.aggregation == "latest"]
    flows = [i for i in programme.indicators if i.group == "enterprises" and i.aggregation == "sum"]
    assert stocks and flows
    assert row[1].endswith(" (thôi hoạt động trong năm)")
    for ind in stocks:
        assert row[header.index(f"{ind.year_label} ({ind.unit_vi})")] == ""
    for ind in flows:
        assert row[header.index(f"{ind.year_label} ({ind.unit_vi})")] != ""
