"""Mergers: a merged unit's figures stay under its own name, and roll up under its successor
when asked (v_unit_year_indicator_rollup), each indicator by its own rule."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from flows.collect import collect_quarter
from reporting.periods import LOCAL_TZ, Period
from reporting.programme import PROGRAMMES_DIR
from reporting.units import load_registry
from tests.conftest import Warehouse, make_warehouse
from tests.conftest import _point_at as point_at
from tests.workbooks import default_values, save, submission

UNITS = """unit_code,name_vi,unit_group,unit_type,valid_from,valid_to,successor_code
CQ901,Chi bộ Hội Văn học Nghệ thuật,agencies,chi_bo_co_so,2020-01-01,2023-06-30,CQ903
CQ902,Chi bộ Hội Nhà báo,agencies,chi_bo_co_so,2020-01-01,2023-06-30,CQ903
CQ903,Chi bộ Liên hiệp các hội đặc thù,agencies,chi_bo_co_so,2023-07-01,,
CQ904,Chi bộ Ban Quản lý dự án giải thể,agencies,chi_bo_co_so,2020-01-01,2023-06-30,
"""


def _collect_merged_bloc(found: Warehouse, programmes: Path) -> None:
    """Two cells merged on 1 July 2023 into a third, each reporting its own quarters; a fourth
    dissolved on 30 June 2023 without a successor."""
    programmes.mkdir()
    shutil.copy(PROGRAMMES_DIR / "ctr135-2023.toml", programmes)
    (programmes / "units.csv").write_text(UNITS, encoding="utf-8")
    registry = load_registry()
    reports = {
        1: {"CQ901": (1, 10), "CQ902": (2, 20), "CQ904": (3, 25)},
        2: {"CQ901": (1, 11), "CQ902": (2, 21), "CQ904": (3, 26)},
        3: {"CQ903": (5, 30), "CQ901": (9, 99)},
        4: {"CQ903": (5, 31)},
    }
    for quarter, units in reports.items():
        period = Period(2023, quarter)
        inbox = found.data_dir / "inbox" / period.key
        for code, (inspections, members) in units.items():
            values = {**default_values("agencies", 0), "inspections": inspections, "party_members_end": members}
            arrived = dt.datetime.combine(period.ends_on + dt.timedelta(days=2), dt.time(9), tzinfo=LOCAL_TZ)
            save(submission(code, period, values=values, registry=registry), inbox / f"{code}.xlsx", arrived)
        collect_quarter(year=2023, quarter=quarter, data_dir=str(found.data_dir))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def merged_bloc_built(request, tmp_path_factory, postgres_databases):
    """The merged bloc collected once per backend for this module's tests, each of which changes
    a copy of it (merged_bloc): four collects per test were most of this file's time."""
    from warehouse.engine import dispose_engines

    root = tmp_path_factory.mktemp(f"merged-bloc-{request.param}")
    with pytest.MonkeyPatch.context() as mp:
        found = make_warehouse(request.param, root / "data", postgres_databases, mp)
        mp.setenv("P135_PROGRAMMES_DIR", str(root / "programmes"))
        _collect_merged_bloc(found, root / "programmes")
    dispose_engines()
    yield found
    if found.backend == "postgresql":
        postgres_databases.drop(found.url)
    dispose_engines()


@pytest.fixture
def merged_bloc(merged_bloc_built, tmp_path, postgres_databases, monkeypatch):
    """A private copy of the merged bloc (its data folder, warehouse and programmes folder, side by
    side as `data` and `programmes`), the environment pointing at it."""
    from sqlalchemy.engine import make_url

    from warehouse.engine import dispose_engines

    source = merged_bloc_built
    shutil.copytree(source.data_dir.parent / "programmes", tmp_path / "programmes")
    shutil.copytree(source.data_dir, tmp_path / "data", ignore=shutil.ignore_patterns("prefect"))
    if source.backend == "postgresql":
        dispose_engines()
        url = postgres_databases.create(template=make_url(source.url).database)
    else:
        url = f"sqlite:///{(tmp_path / 'data' / 'warehouse.db').as_posix()}"
    copy = Warehouse(source.backend, tmp_path / "data", url)
    point_at(copy, monkeypatch)
    monkeypatch.setenv("P135_PROGRAMMES_DIR", str(tmp_path / "programmes"))
    yield copy
    if copy.backend == "postgresql":
        postgres_databases.drop(copy.url)
    dispose_engines()


def _rows(engine, sql):
    with engine.connect() as conn:
        return {tuple(r[:-1]): float(r[-1]) for r in conn.execute(text(sql)).all()}


def test_figures_stay_under_their_own_unit(merged_bloc):
    found = _rows(merged_bloc.engine, """
        SELECT unit_code, indicator_code, value FROM v_unit_year_indicator
        WHERE year = 2023 AND indicator_code IN ('inspections', 'party_members_end')""")
    assert found == {
        ("CQ901", "inspections"): 2, ("CQ902", "inspections"): 4, ("CQ903", "inspections"): 10,
        ("CQ901", "party_members_end"): 11, ("CQ902", "party_members_end"): 21, ("CQ903", "party_members_end"): 31,
        ("CQ904", "inspections"): 6, ("CQ904", "party_members_end"): 26,
    }


def test_figures_roll_up_under_the_successor_when_asked(merged_bloc):
    found = _rows(merged_bloc.engine, """
        SELECT unit_code, indicator_code, value FROM v_unit_year_indicator_rollup
        WHERE year = 2023 AND indicator_code IN ('inspections', 'party_members_end')""")
    # A flow adds up over the whole group; a stock is the group's latest quarter, not a sum.
    assert found == {("CQ903", "inspections"): 16, ("CQ903", "party_members_end"): 31,
                     ("CQ904", "inspections"): 6, ("CQ904", "party_members_end"): 26}


def test_a_unit_dissolved_during_the_year_adds_its_flows_but_not_its_stock(merged_bloc):
    """CQ904's members moved to other cells when it was dissolved: at year end they are counted
    there, not again under CQ904's last quarter. Its inspections happened, and count."""
    from warehouse import queries

    views = _rows(merged_bloc.engine, """
        SELECT 'bloc', indicator_code, units_reporting, value FROM v_year_indicator
        WHERE year = 2023 AND indicator_code IN ('inspections', 'party_members_end')
        UNION ALL
        SELECT unit_group, indicator_code, units_reporting, value FROM v_year_group_indicator
        WHERE year = 2023 AND indicator_code IN ('inspections', 'party_members_end')""")
    expected = {
        ("inspections", 4): 22.0,
        ("party_members_end", 2): 31.0,
    }
    assert views == {(where, *key): value for where in ("bloc", "agencies") for key, value in expected.items()}

    published = queries.year_aggregates(merged_bloc.engine, 2023)
    groups = published["groups"].set_index("indicator_code")
    assert float(groups.loc["party_members_end", "value"]) == 31.0
    assert int(groups.loc["party_members_end", "units_reporting"]) == 2
    bloc = published["bloc"].set_index("indicator_code")
    assert float(bloc.loc["party_members_end", "value"]) == 31.0
    assert float(bloc.loc["inspections", "value"]) == 22.0


def test_lineage_names_the_successor_and_a_merged_unit_cannot_report_after(merged_bloc):
    with merged_bloc.engine.connect() as conn:
        lineage = {r[0]: (r[1], bool(r[2])) for r in conn.execute(text(
            "SELECT unit_code, current_unit_code, is_merged FROM v_unit_lineage")).all()}
        late = conn.execute(text(
            "SELECT rule_id FROM v_validation_findings WHERE unit_code = 'CQ901' AND quarter = 3")).scalars().all()
    assert lineage == {"CQ901": ("CQ903", True), "CQ902": ("CQ903", True), "CQ903": ("CQ903", False),
                       "CQ904": ("CQ904", False)}
    assert late == ["identity.unit_merged"]
    from openpyxl import load_workbook

    feedback = load_workbook(merged_bloc.data_dir / "feedback" / "2023-Q3" / "CQ901.xlsx").active
    unit = next(row[2] for row in feedback.iter_rows(values_only=True) if row[0] == "Đơn vị")
    assert unit == "CQ901 - Chi bộ Hội Văn học Nghệ thuật", "a merged unit's feedback names it, not its code alone"


def test_status_names_the_file_of_a_unit_no_longer_due(merged_bloc):
    """CQ901 merged into CQ903 on 1 July and still sent its own Q3 file: counted for no one and in
    no unit's state (CQ901 is not due, CQ903 reported), it was listed nowhere by p135 status."""
    from typer.testing import CliRunner

    from flows.cli import app

    status = CliRunner().invoke(app, ["status", "--year", "2023", "--quarter", "3",
                                      "--data-dir", str(merged_bloc.data_dir)])

    said = " ".join(status.output.split())
    assert status.exit_code == 0, status.output
    assert ("Tệp của đơn vị không phải báo cáo riêng Quý III/2023 (1), không được tính cho đơn vị nào: "
            "CQ901 – Chi bộ Hội Văn học Nghệ thuật: tệp CQ901.xlsx: Đơn vị \"CQ901\" (ô B5) đã hợp nhất vào") in said, said
    quiet = CliRunner().invoke(app, ["status", "--year", "2023", "--quarter", "2", "--data-dir", str(merged_bloc.data_dir)])
    assert "không phải báo cáo riêng" not in quiet.output, "every file of Q2 came from a unit due"


def test_a_registry_change_makes_a_new_version_saying_why(merged_bloc, monkeypatch):
    """The same submissions under a changed registry give other figures: the version says so."""
    from flows.publish import publish_year

    data_dir = str(merged_bloc.data_dir)
    first = publish_year(year=2023, data_dir=data_dir)
    assert publish_year(year=2023, data_dir=data_dir)["changed"] is False
    units = load_registry().source_sha256
    registry_file = merged_bloc.data_dir.parent / "programmes" / "units.csv"
    # The next year's events (a new cell, CQ903 merged into it in July 2024) leave the issued 2023
    # report as it is: a new version would have named them in it.
    next_year = UNITS.replace("CQ903,Chi bộ Liên hiệp các hội đặc thù,agencies,chi_bo_co_so,2023-07-01,,",
                              "CQ903,Chi bộ Liên hiệp các hội đặc thù,agencies,chi_bo_co_so,2023-07-01,2024-06-30,CQ905") \
        + "CQ905,Chi bộ Văn học Nghệ thuật và Báo chí,agencies,chi_bo_co_so,2024-04-01,,\n"
    registry_file.write_text(next_year, encoding="utf-8")
    assert load_registry().source_sha256 != units
    kept = publish_year(year=2023, data_dir=data_dir)
    assert (kept["version"], kept["changed"]) == (first["version"], False)

    registry_file.write_text(next_year.replace("Chi bộ Liên hiệp các hội đặc thù", "Chi bộ Liên hiệp các hội"),
                             encoding="utf-8")
    again = publish_year(year=2023, data_dir=data_dir)

    assert (again["version"], again["changed"]) == (first["version"] + 1, True)
    assert any("danh sách đơn vị (units.csv) đã thay đổi đối với năm 2023" in line for line in again["status"]), \
        again["status"]


def test_explain_gives_a_dissolved_unit_no_share_of_a_stock(merged_bloc):
    """The rows explain reads for a stock add up to the views' figure: CQ904's last quarter
    contributes nothing and carries the day it ended."""
    from warehouse.explain import _INDICATOR_ROWS, _with_contributions

    with merged_bloc.engine.connect() as conn:
        raw = [r._asdict() for r in conn.execute(text(_INDICATOR_ROWS), {"year": 2023, "code": "party_members_end"})]
    rows = _with_contributions(raw, "latest")
    assert sum(r.contribution for r in rows) == 31.0
    shares = {(r.unit_code, r.quarter): (r.contribution, r.ended_on) for r in rows if r.unit_code == "CQ904"}
    assert shares == {("CQ904", 1): (0.0, dt.date(2023, 6, 30)), ("CQ904", 2): (0.0, dt.date(2023, 6, 30))}


# 2023's views and published figures, every row (what an analyst or the report reads of the year).
_YEAR_READS = {
    "unit": "SELECT unit_code, unit_name, unit_group, current_unit_code, indicator_code, value "
            "FROM v_unit_year_indicator WHERE year = 2023",
    "rollup": "SELECT unit_code, unit_name, unit_group, units_reporting, indicator_code, value "
              "FROM v_unit_year_indicator_rollup WHERE year = 2023",
    "group": "SELECT unit_group, indicator_code, units_reporting, value FROM v_year_group_indicator WHERE year = 2023",
    "bloc": "SELECT indicator_code, units_reporting, value FROM v_year_indicator WHERE year = 2023",
    "tasks": "SELECT unit_group, source, identified, completed FROM v_key_tasks_by_source WHERE year = 2023",
    "task rows": "SELECT unit_code, unit_name, unit_group, current_unit_code, task_code, status_code "
                 "FROM v_key_task_latest WHERE year = 2023",
}


def _year_2023(engine):
    from warehouse import queries
    from warehouse.explain import _INDICATOR_ROWS

    with engine.connect() as conn:
        found = {name: sorted(tuple(map(str, r)) for r in conn.execute(text(sql))) for name, sql in _YEAR_READS.items()}
        found["explain"] = sorted(
            tuple(map(str, r)) for r in conn.execute(text(_INDICATOR_ROWS), {"year": 2023, "code": "party_members_end"}))
    for name, frame in queries.year_aggregates(engine, 2023).items():
        found[f"publish {name}"] = sorted(tuple(map(str, r)) for r in frame.itertuples(index=False))
    found["annex"] = sorted(tuple(map(str, r)) for r in queries.unit_year(engine, 2023).itertuples(index=False))
    return found


def _send_cq903_tasks(warehouse) -> None:
    """CQ903 corrects its third quarter with two key tasks (the fixture's files have none)."""
    q3 = Period(2023, 3)
    inbox = warehouse.data_dir / "inbox" / q3.key
    values = {**default_values("agencies", 0), "inspections": 5, "party_members_end": 30}
    tasks = [("NV01", "Sắp xếp tổ chức bộ máy", "ctr135", "completed", dt.date(2023, 9, 15)),
             ("NV02", "Chuyển đổi số", "unit", "in_progress", None)]
    arrived = dt.datetime.combine(q3.ends_on + dt.timedelta(days=3), dt.time(9), tzinfo=LOCAL_TZ)
    save(submission("CQ903", q3, values=values, tasks=tasks, registry=load_registry()), inbox / "CQ903_sua.xlsx", arrived)
    collect_quarter(year=2023, quarter=3, data_dir=str(warehouse.data_dir))


def test_a_later_years_registry_leaves_the_year_as_it_was(merged_bloc):
    """CQ903 renamed and moved to the enterprises in 2024, then merged into a new cell in July
    2024: 2023's views, published figures and annex still show CQ903 as it stood at the end of
    2023, its own unit, an agency, under its 2023 name."""
    from tasks.prepare import bring_up_to_date

    _send_cq903_tasks(merged_bloc)
    before = _year_2023(merged_bloc.engine)
    assert len(before["task rows"]) == 2, "the key tasks' view is compared on rows, not on nothing"
    assert ("CQ903", "Chi bộ Liên hiệp các hội đặc thù", "agencies", "2", "party_members_end", "31.0") in before["rollup"]
    registry_file = merged_bloc.data_dir.parent / "programmes" / "units.csv"
    registry_file.write_text(UNITS.replace(
        "CQ903,Chi bộ Liên hiệp các hội đặc thù,agencies,chi_bo_co_so,2023-07-01,,",
        "CQ903,Chi bộ Liên hiệp các hội đặc thù,agencies,chi_bo_co_so,2023-07-01,2023-12-31,\n"
        "CQ903,Đảng bộ Công ty Văn hóa Nghệ thuật,enterprises,dang_bo_co_so,2024-01-01,2024-06-30,CQ905",
    ) + "CQ905,Chi bộ Văn học Nghệ thuật và Báo chí,agencies,chi_bo_co_so,2024-04-01,,\n", encoding="utf-8")
    bring_up_to_date(merged_bloc.data_dir)
    with merged_bloc.engine.connect() as conn:
        assert conn.execute(text("SELECT unit_name, unit_group FROM v_unit_lineage WHERE unit_code = 'CQ903'")).one() \
            == ("Đảng bộ Công ty Văn hóa Nghệ thuật", "enterprises"), "the registry change was loaded"

    after = _year_2023(merged_bloc.engine)

    assert {name: rows for name, rows in after.items() if rows != before[name]} == {}


def test_a_unit_counts_in_a_year_under_its_group_at_the_years_end(merged_bloc):
    """CQ903 moved to the enterprises on 1 October 2023: its year (indicators and key tasks) is an
    enterprise's, in the views and in what is published, alike. Its key tasks were last reported
    in the third quarter, when it was still an agency."""
    from tasks.prepare import bring_up_to_date
    from warehouse import queries

    _send_cq903_tasks(merged_bloc)
    registry_file = merged_bloc.data_dir.parent / "programmes" / "units.csv"
    registry_file.write_text(UNITS.replace(
        "CQ903,Chi bộ Liên hiệp các hội đặc thù,agencies,chi_bo_co_so,2023-07-01,,",
        "CQ903,Chi bộ Liên hiệp các hội đặc thù,agencies,chi_bo_co_so,2023-07-01,2023-09-30,\n"
        "CQ903,Đảng bộ Công ty Văn hóa Nghệ thuật,enterprises,dang_bo_co_so,2023-10-01,,",
    ), encoding="utf-8")
    bring_up_to_date(merged_bloc.data_dir)
    engine = merged_bloc.engine
    with engine.connect() as conn:
        groups = dict(conn.execute(text(
            "SELECT unit_code, unit_group FROM v_unit_year_indicator WHERE year = 2023 AND indicator_code = 'inspections'")).all())
        tasks = {r.unit_group: int(r.identified) for r in conn.execute(text(
            "SELECT unit_group, SUM(identified) AS identified FROM v_key_tasks_by_source WHERE year = 2023 GROUP BY unit_group"))}
        cq903_tasks = conn.execute(text(
            "SELECT COUNT(*) FROM v_key_task_latest WHERE year = 2023 AND unit_code = 'CQ903' "
            "AND unit_group = 'enterprises' AND unit_name = 'Đảng bộ Công ty Văn hóa Nghệ thuật'")).scalar_one()
    assert groups["CQ903"] == "enterprises" and groups["CQ901"] == "agencies"
    assert cq903_tasks == 2 and tasks == {"enterprises": 2}
    published = queries.year_aggregates(engine, 2023)["group_tasks"]
    assert {r.unit_group: int(r.identified) for r in published.itertuples()} == tasks


def test_last_quarters_file_of_a_merged_or_dissolved_unit_is_told_not_to_be_sent_again(merged_bloc):
    """CQ901 (merged into CQ903 on 1 July) and CQ904 (dissolved on 30 June) send their second
    quarter's file again in the third quarter: refused as counted for Q2, with advice they can
    follow (filling the third quarter's template is not theirs to do)."""
    data = merged_bloc.data_dir
    q2, q3 = data / "inbox" / "2023-Q2", data / "inbox" / "2023-Q3"
    for code in ("CQ901", "CQ904"):
        (q3 / f"{code}_gui_lai.xlsx").write_bytes((q2 / f"{code}.xlsx").read_bytes())

    summary = collect_quarter(year=2023, quarter=3, data_dir=str(data))

    reasons = {r["name"]: r["reason"] for r in summary["refusals"]}
    assert reasons["CQ901_gui_lai.xlsx"].endswith(
        "Đơn vị CQ901 đã hợp nhất vào CQ903 (Chi bộ Liên hiệp các hội đặc thù) từ 01/07/2023: báo cáo Quý III/2023 do "
        "CQ903 nộp theo mẫu của CQ903; không cần gửi lại tệp này.")
    assert reasons["CQ904_gui_lai.xlsx"].endswith(
        "Đơn vị CQ904 đã thôi hoạt động từ 01/07/2023 nên không phải báo cáo Quý III/2023; không cần gửi lại tệp này.")
    assert all("Hãy điền mẫu báo cáo" not in r for r in reasons.values())


@pytest.mark.parametrize("edit", ["deleted", "ended-before-its-last-report"])
def test_a_registry_that_would_drop_counted_reports_is_refused(merged_bloc, edit):
    """CQ904's first- and second-quarter reports are accepted (it was dissolved on 30 June). A
    registry without CQ904 (someone "closing" it by deleting its line), or ending it on 31 March,
    would drop them from every figure without a word: refused, naming the unit and the quarters,
    and the warehouse keeps the registry it had."""
    from typer.testing import CliRunner

    from flows.cli import app

    line = "CQ904,Chi bộ Ban Quản lý dự án giải thể,agencies,chi_bo_co_so,2020-01-01,2023-06-30,"
    edited = {"deleted": UNITS.replace(line + "\n", ""),
              "ended-before-its-last-report": UNITS.replace(line, line.replace("2023-06-30", "2023-03-31"))}[edit]
    registry_file = merged_bloc.data_dir.parent / "programmes" / "units.csv"
    registry_file.write_text(edited, encoding="utf-8")
    lost = {"deleted": "CQ904: Quý I/2023, Quý II/2023", "ended-before-its-last-report": "CQ904: Quý II/2023"}[edit]

    status = CliRunner().invoke(app, ["status", "--year", "2023", "--quarter", "4", "--data-dir", str(merged_bloc.data_dir)])
    state = collect_quarter(year=2023, quarter=4, data_dir=str(merged_bloc.data_dir), return_state=True)

    said = " ".join(status.output.split())
    assert status.exit_code == 2 and "Traceback" not in status.output, status.output
    assert (f"Lỗi cấu hình: tệp danh sách đơn vị không dùng được: {registry_file}: các đơn vị sau đã có báo cáo được "
            "chấp nhận") in said, said
    assert lost in said and "Các báo cáo ấy sẽ mất khỏi mọi số liệu" in said
    assert state.is_failed() and lost in state.message
    with merged_bloc.engine.connect() as conn:
        assert conn.execute(text(
            "SELECT valid_to FROM unit WHERE unit_code = 'CQ904'")).scalar_one() in (dt.date(2023, 6, 30), "2023-06-30"), \
            "the registry loaded before stays"
        assert conn.execute(text(
            "SELECT COUNT(*) FROM v_current_submission WHERE unit_code = 'CQ904'")).scalar_one() == 2


ENTERPRISES = """unit_code,name_vi,unit_group,unit_type,valid_from,valid_to,successor_code
DN901,Đảng bộ Công ty Cổ phần Cấp thoát nước,enterprises,dang_bo_co_so,2020-01-01,,
DN902,Chi bộ Công ty Cổ phần Môi trường đô thị,enterprises,chi_bo_co_so,2020-01-01,2023-06-30,DN901
"""


@pytest.fixture
def merged_enterprises(warehouse, tmp_path, monkeypatch):
    """DN902 merged into DN901 on 1 July 2023: both report Q1 and Q2 with plans of their own, DN901
    alone Q3 and Q4. Social insurance (a flow) planned 10 and 30; income (a weighted mean) planned
    10 for 100 workers and 20 for 300."""
    programmes = tmp_path / "programmes"
    programmes.mkdir()
    shutil.copy(PROGRAMMES_DIR / "ctr135-2023.toml", programmes)
    (programmes / "units.csv").write_text(ENTERPRISES, encoding="utf-8")
    monkeypatch.setenv("P135_PROGRAMMES_DIR", str(programmes))
    registry = load_registry()
    figures = {"DN901": (1, 10, 10, 100, 10), "DN902": (2, 30, 20, 300, 20)}
    for quarter in (1, 2, 3, 4):
        period = Period(2023, quarter)
        inbox = warehouse.data_dir / "inbox" / period.key
        for code, (insurance, insurance_plan, income, workers, income_plan) in figures.items():
            if code == "DN902" and quarter > 2:
                continue
            values = {**default_values("enterprises", 1), "social_insurance_bn_vnd": insurance,
                      "avg_income_m_vnd": income, "workers": workers}
            plans = {"social_insurance_bn_vnd": insurance_plan, "avg_income_m_vnd": income_plan,
                     "new_members_admitted": 1}
            arrived = dt.datetime.combine(period.ends_on + dt.timedelta(days=2), dt.time(9), tzinfo=LOCAL_TZ)
            save(submission(code, period, values=values, plans=plans, registry=registry), inbox / f"{code}.xlsx", arrived)
        collect_quarter(year=2023, quarter=quarter, data_dir=str(warehouse.data_dir))
    return warehouse


def test_a_successor_plans_what_the_units_merged_into_it_planned(merged_enterprises):
    """The helper's 2024: the successor's row showed both units' figures against its own plan alone
    (the 134% of a group at 83%), and the enterprises' plans no longer added up to the group's."""
    from warehouse import queries

    indicators = "('social_insurance_bn_vnd', 'avg_income_m_vnd')"
    rollup = _rows(merged_enterprises.engine, f"""
        SELECT unit_code, indicator_code, units_reporting, value, plan_value FROM v_unit_year_indicator_rollup
        WHERE year = 2023 AND indicator_code IN {indicators}""")
    values = _rows(merged_enterprises.engine, f"""
        SELECT unit_code, indicator_code, units_reporting, value FROM v_unit_year_indicator_rollup
        WHERE year = 2023 AND indicator_code IN {indicators}""")
    group = _rows(merged_enterprises.engine, f"""
        SELECT indicator_code, plan_value FROM v_year_group_indicator
        WHERE year = 2023 AND unit_group = 'enterprises' AND indicator_code IN {indicators}""")
    # Income: (10 × 400 + 20 × 600) / 1,000 workers-quarters, for the value and the plan alike.
    assert values == {("DN901", "social_insurance_bn_vnd", 2): 8.0, ("DN901", "avg_income_m_vnd", 2): 16.0}
    assert {key[:2]: value for key, value in rollup.items()} == {
        ("DN901", "social_insurance_bn_vnd"): 40.0, ("DN901", "avg_income_m_vnd"): pytest.approx(16.0)}
    assert group == {("social_insurance_bn_vnd",): 40.0, ("avg_income_m_vnd",): pytest.approx(16.0)}

    published = queries.year_aggregates(merged_enterprises.engine, 2023)["enterprises"].set_index("indicator_code")
    assert float(published.loc["social_insurance_bn_vnd", "plan_value"]) == 40.0
    assert float(published.loc["avg_income_m_vnd", "plan_value"]) == pytest.approx(16.0)
    assert float(published.loc["new_members_admitted", "plan_value"]) == 2.0, "the two units planned one each"


def test_a_collect_says_a_rejected_unit_is_not_due_that_quarter(merged_bloc):
    """CQ902, merged into CQ903 on 1 July, sends a Q3 file: the collect said '0 bị từ chối' for the
    quarter, then listed CQ902 under 'Đơn vị bị từ chối' with nothing to reconcile the two."""
    from typer.testing import CliRunner

    from flows.cli import app

    period = Period(2023, 3)
    values = {**default_values("agencies", 0), "inspections": 1, "party_members_end": 20}
    arrived = dt.datetime.combine(period.ends_on + dt.timedelta(days=3), dt.time(9), tzinfo=LOCAL_TZ)
    save(submission("CQ902", period, values=values, registry=load_registry()),
         merged_bloc.data_dir / "inbox" / period.key / "CQ902.xlsx", arrived)

    result = CliRunner().invoke(app, ["collect", "--year", "2023", "--quarter", "3", "--data-dir", str(merged_bloc.data_dir)])

    said = " ".join(result.output.split())
    assert "Đơn vị bị từ chối (1): CQ902 (đơn vị không phải nộp báo cáo quý này)" in said, said


def test_the_quality_sheet_asks_no_merged_unit_to_resend(merged_bloc, tmp_path):
    """CQ901's Q3 file, sent after it merged into CQ903, is rejected: the data-quality sheet counted
    it among the latest rejected files "đơn vị cần gửi lại", which CQ901 must not do."""
    import datetime as dt

    from python_calamine import CalamineWorkbook

    from reporting.programme import programme_for_year
    from tasks.publishing import fetch_year_figures
    from tasks.report import SHEET_QUALITY, write_report

    programme = programme_for_year(2023)
    figures = fetch_year_figures.fn(merged_bloc.data_dir, 2023, programme).workbook
    path = write_report(programme, figures, tmp_path / "r.xlsx", dt.datetime(2024, 1, 20, tzinfo=dt.timezone.utc))
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(SHEET_QUALITY).to_python(skip_empty_area=False)
    said = " ".join(str(c) for r in rows[:3] for c in r)
    assert "0 bản gửi mới nhất bị từ chối (đơn vị cần gửi lại)" in said, said
    assert "1 bản bị từ chối của đơn vị không phải báo cáo quý đó" in said, said
    late = next(r for r in rows if r[-1] == "CQ901" and r[2] == "Quý III")
    assert late[3] == "Từ chối (không phải báo cáo quý này)", late
