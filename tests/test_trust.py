"""Figures the Committee can trust: a report counts for the unit that sent it, once, in the order
it arrived, and every message agrees with its verdict. Templates are filled as clerks fill them:
the handed-out file opened in a spreadsheet program, typed into its open cells, saved."""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import text
from typer.testing import CliRunner

from flows.cli import app
from flows.collect import collect_quarter
from flows.publish import publish_year
from reporting import layout as L
from reporting.periods import LOCAL_TZ, Period
from reporting.programme import PROGRAMMES_DIR
from reporting.units import load_registry
from tasks.feedback import HEADER_ROW, SHEET
from warehouse.engine import dispose_engines
from tests.conftest import _point_at as point_at
from tests.conftest import make_warehouse
from tests.test_other_programs import soffice  # noqa: F401 (the LibreOffice fixture)
from tests.workbooks import default_values, fill_by_hand, hand_out, indicator_cell, typed_cells

Q1, Q2, Q3 = Period(2023, 1), Period(2023, 2), Period(2023, 3)
INFO, IND = L.SHEET_INFO, L.SHEET_INDICATORS
TASK = ("NV01", "Học tập nghị quyết", "unit", "completed", dt.date(2023, 2, 1))


def _at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=LOCAL_TZ)


def _collect(warehouse, period: Period) -> dict:
    return collect_quarter(year=period.year, quarter=period.quarter, data_dir=str(warehouse.data_dir))


def _inbox(warehouse, period: Period):
    return warehouse.data_dir / "inbox" / period.key


def _query(warehouse, sql: str, **params) -> list[tuple]:
    with warehouse.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params).all()]


def _sha(path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _feedback(warehouse, period: Period, unit_code: str) -> dict:
    """The clerk's feedback workbook: its facts (label -> value) and its finding rows."""
    rows = CalamineWorkbook.from_path(str(warehouse.data_dir / "feedback" / period.key / f"{unit_code}.xlsx")) \
        .get_sheet_by_name(SHEET).to_python(skip_empty_area=False)
    facts = {r[0]: r[2] for r in rows[3:10]}
    return {"facts": facts, "findings": [r for r in rows[HEADER_ROW:] if r[1]]}


# 1. A file carrying another unit's code --------------------------------------------------------


def test_a_swapped_unit_code_is_rejected_for_the_unit_it_was_issued_to(warehouse, tmp_path):
    templates = tmp_path / "templates"
    inbox = _inbox(warehouse, Q2)
    genuine = fill_by_hand(hand_out("CQ004", Q2, templates), inbox / "CQ004_quy2.xlsx",
                           typed_cells("agencies", values=default_values("agencies", 4), tasks=[TASK]),
                           arrived=_at(dt.date(2023, 7, 3)))
    _collect(warehouse, Q2)
    # CQ003's clerk unprotects the info sheet and types CQ004's code over its own.
    swapped = fill_by_hand(hand_out("CQ003", Q2, templates), inbox / "baocao_quy2.xlsx",
                           {**typed_cells("agencies", values=default_values("agencies", 3), tasks=[TASK]),
                            (INFO, "B5"): "CQ004"},
                           arrived=_at(dt.date(2023, 7, 5)), unprotect=(INFO,))
    summary = _collect(warehouse, Q2)

    assert (summary["accepted"], summary["rejected"]) == (0, 1)
    statuses = _query(warehouse, """
        SELECT s.unit_code, s.status, s.supersedes_submission_id IS NULL, v.is_latest, s.file_sha256
        FROM submission s JOIN v_submission_status v USING (submission_id) ORDER BY s.submission_id""")
    assert [(u, st, bool(alone), bool(latest)) for u, st, alone, latest, _ in statuses] == [
        ("CQ004", "accepted", True, True),
        ("CQ003", "rejected", True, True),
    ], "recorded under the unit it was issued to; the genuine file stays current"
    findings = _query(warehouse, """
        SELECT v.rule_id, v.severity, v.sheet, v.cell, v.value, v.message_vi FROM validation_finding v
        JOIN submission s USING (submission_id) WHERE s.file_sha256 = :sha""", sha=_sha(swapped))
    changed = [f for f in findings if f[0] == "identity.unit_code_changed"]
    assert [f[1:5] for f in changed] == [("error", INFO, "B5", "CQ004")]
    assert "CQ003 - Đảng bộ Sở Tài chính" in changed[0][5]
    assert ("identity.unit_name_other_unit", "error", INFO, "B6") in {f[:4] for f in findings}
    # CQ004's figures are its own; each unit's feedback describes its own file.
    assert _query(warehouse, "SELECT value FROM v_unit_quarter_indicator WHERE unit_code = 'CQ004' "
                             "AND indicator_code = 'inspections'") == [(4.0,)]
    assert _feedback(warehouse, Q2, "CQ004")["facts"]["Mã tệp (SHA-256)"] == _sha(genuine)
    mine = _feedback(warehouse, Q2, "CQ003")
    assert mine["facts"]["Mã tệp (SHA-256)"] == _sha(swapped)
    assert mine["facts"]["Kết quả"] == "Từ chối"


def test_a_workbook_without_identity_takes_no_units_place(warehouse, tmp_path):
    """A workbook built by hand with CQ004's code cannot say who sent it: it is rejected, recorded
    under no unit, and CQ004's own report and feedback stay as they were."""
    from tests.workbooks import submission

    inbox = _inbox(warehouse, Q2)
    genuine = fill_by_hand(hand_out("CQ004", Q2, tmp_path / "templates"), inbox / "CQ004_quy2.xlsx",
                           typed_cells("agencies", values=default_values("agencies", 4), tasks=[TASK]),
                           arrived=_at(dt.date(2023, 7, 3)))
    _collect(warehouse, Q2)
    rogue = inbox / "tu_lap.xlsx"
    submission("CQ004", Q2, values=default_values("agencies", 9), without_identity=True).save(rogue)
    summary = _collect(warehouse, Q2)

    assert (summary["accepted"], summary["rejected"]) == (0, 1)
    recorded = _query(warehouse, """
        SELECT s.unit_code, s.status, v.is_latest FROM submission s JOIN v_submission_status v USING (submission_id)
        ORDER BY s.submission_id""")
    assert [(u, st, bool(latest)) for u, st, latest in recorded] == [("CQ004", "accepted", True), (None, "rejected", True)]
    assert _feedback(warehouse, Q2, "CQ004")["facts"]["Mã tệp (SHA-256)"] == _sha(genuine)
    assert (warehouse.data_dir / "feedback" / Q2.key / f"khong-ro-don-vi_{_sha(rogue)[:12]}.xlsx").is_file()
    assert _query(warehouse, "SELECT value FROM v_unit_quarter_indicator WHERE unit_code = 'CQ004' "
                             "AND indicator_code = 'inspections'") == [(4.0,)]


# 2. Stocks after a mid-year merger ---------------------------------------------------------------

MERGED_UNITS = """unit_code,name_vi,unit_group,unit_type,valid_from,valid_to,successor_code
DN901,Chi bộ Công ty Cổ phần Vận tải,enterprises,chi_bo_co_so,2020-01-01,2023-06-30,DN902
DN902,Đảng bộ Tổng công ty Vận tải và Dịch vụ,enterprises,dang_bo_co_so,2020-01-01,,
"""
# (workers, party members, revenue, average income) by quarter; from Q3 DN902 reports DN901's
# people as its own.
MERGER_FIGURES = {
    Q2: {"DN901": (410, 47, 30.0, 8.0), "DN902": (460, 89, 70.0, 10.0)},
    Q3: {"DN902": (870, 136, 100.0, 9.0)},
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def merger_session(request, tmp_path_factory, postgres_databases):
    """Two enterprises merged on 30 June, collected once per backend for the tests that read them."""
    root = tmp_path_factory.mktemp("merger")
    programmes = root / "programmes"
    programmes.mkdir()
    shutil.copy(PROGRAMMES_DIR / "ctr135-2023.toml", programmes)
    (programmes / "units.csv").write_text(MERGED_UNITS, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        found = make_warehouse(request.param, root / "data", postgres_databases, mp)
        mp.setenv("P135_PROGRAMMES_DIR", str(programmes))
        registry = load_registry()
        for period, units in MERGER_FIGURES.items():
            for code, (workers, members, revenue, income) in units.items():
                values = {**default_values("enterprises", 0), "workers": workers, "party_members_end": members,
                          "revenue_bn_vnd": revenue, "avg_income_m_vnd": income}
                template = hand_out(code, period, root / "templates" / period.key, registry)
                fill_by_hand(template, _inbox(found, period) / f"{code}.xlsx", typed_cells("enterprises", values=values),
                             arrived=_at(period.ends_on + dt.timedelta(days=3)))
        # DN901's clerk, merged away, fills its Q2 template again with Q3's revenue and sends it.
        fill_by_hand(root / "templates" / Q2.key / "DN901_2023-Q2.xlsx", _inbox(found, Q3) / "DN901.xlsx",
                     typed_cells("enterprises", values={**default_values("enterprises", 0), "revenue_bn_vnd": 12.0}),
                     arrived=_at(Q3.ends_on + dt.timedelta(days=3)))
        for period in MERGER_FIGURES:
            _collect(found, period)
    yield found, programmes
    if found.backend == "postgresql":
        postgres_databases.drop(found.url)
    dispose_engines()


@pytest.fixture
def merged_mid_year(merger_session, monkeypatch):
    found, programmes = merger_session
    point_at(found, monkeypatch)
    monkeypatch.setenv("P135_PROGRAMMES_DIR", str(programmes))
    return found


def test_stocks_count_each_person_once_across_a_merger(merged_mid_year):
    wh = merged_mid_year
    bloc = {code: (value, units) for code, value, units in _query(wh, """
        SELECT indicator_code, value, units_reporting FROM v_year_indicator
        WHERE year = 2023 AND indicator_code IN ('workers', 'party_members_end', 'revenue_bn_vnd', 'avg_income_m_vnd')""")}
    assert bloc["workers"][0] == 870 and bloc["party_members_end"][0] == 136
    # Flows add up over both units; the income stays worker-weighted over units and quarters.
    assert bloc["revenue_bn_vnd"][0] == pytest.approx(200.0)
    assert bloc["avg_income_m_vnd"][0] == pytest.approx((410 * 8 + 460 * 10 + 870 * 9) / (410 + 460 + 870))
    groups = {code: value for code, value in _query(wh, """
        SELECT indicator_code, value FROM v_year_group_indicator
        WHERE year = 2023 AND unit_group = 'enterprises' AND indicator_code IN ('workers', 'party_members_end')""")}
    assert groups == {"workers": 870, "party_members_end": 136}
    # The docs' example question on members by group gives the same.
    from warehouse.docs import QUESTIONS

    sql = next(q for title, q, _ in QUESTIONS if "party members" in title)
    with wh.engine.connect() as conn:
        answer = {(r.unit_group, r.indicator_code): r.value for r in conn.execute(text(sql))}
    assert answer[("enterprises", "party_members_end")] == 136


def test_the_report_by_group_counts_stocks_once(merged_mid_year):
    result = publish_year(year=2023, data_dir=str(merged_mid_year.data_dir))
    rows = CalamineWorkbook.from_path(str(result["report"])).get_sheet_by_name("Theo khối").to_python()
    by_code = {r[6]: r[3] for r in rows if len(r) > 6 and r[0] == "Khối doanh nghiệp"}
    assert (by_code["workers"], by_code["party_members_end"]) == (870, 136)


def test_a_merged_units_late_file_is_named_in_the_submission_status(merged_mid_year):
    rows = _query(merged_mid_year, """
        SELECT quarter, status, unit_name FROM v_submission_status WHERE unit_code = 'DN901' ORDER BY quarter""")
    assert rows == [(2, "accepted", "Chi bộ Công ty Cổ phần Vận tải"), (3, "rejected", "Chi bộ Công ty Cổ phần Vận tải")]


# 3. Versions in the order p135 received them --------------------------------------------------------


def test_a_later_version_with_an_older_file_time_is_current(warehouse, tmp_path, monkeypatch):
    template = hand_out("CQ003", Q1, tmp_path / "templates")
    inbox = _inbox(warehouse, Q1)
    days = {1: dt.date(2023, 4, 3), 2: dt.date(2023, 4, 6), 3: dt.date(2023, 4, 5)}
    runs = []
    monkeypatch.setenv("P135_DATA_DIR", str(warehouse.data_dir))
    for version, day in days.items():
        fill_by_hand(template, inbox / f"CQ003_v{version}.xlsx",
                     typed_cells("agencies", values=default_values("agencies", version)), arrived=_at(day))
        runs.append(CliRunner().invoke(app, ["collect", "--year", "2023", "--quarter", "1",
                                             "--data-dir", str(warehouse.data_dir)]))
        assert runs[-1].exit_code == 0, runs[-1].output

    versions = _query(warehouse, """
        SELECT v.version, v.is_latest, v.status, f.original_name, v.received_at
        FROM v_submission_status v JOIN received_file f USING (file_sha256) ORDER BY v.version""")
    assert [(v, bool(latest), status, name) for v, latest, status, name, _ in versions] == [
        (1, False, "superseded", "CQ003_v1.xlsx"),
        (2, False, "superseded", "CQ003_v2.xlsx"),
        (3, True, "accepted", "CQ003_v3.xlsx"),
    ]
    received = pd.Timestamp(versions[2][4])  # SQLite hands a view's timestamp back as text
    received = received if received.tzinfo else received.tz_localize("UTC")
    assert received == _at(days[3]), "received_at stays the file's time: the on-time clock"
    assert _query(warehouse, "SELECT value FROM v_unit_quarter_indicator WHERE indicator_code = 'inspections'") == [(3.0,)]
    assert _feedback(warehouse, Q1, "CQ003")["facts"]["Mã tệp (SHA-256)"] == _sha(inbox / "CQ003_v3.xlsx")
    lines = runs[-1].output.splitlines()
    assert lines[0] == "2023-Q1: 3 tệp, 1 tệp mới (2 tệp đã nhận), 1 chấp nhận, 0 có cảnh báo, 0 từ chối"
    assert lines[1] == "  CQ003_v3.xlsx (CQ003): Chấp nhận (bản hiện hành)"


def test_a_file_time_in_the_future_is_capped_at_when_p135_saw_it(tmp_path):
    from tasks.intake import archive_originals, discover_workbooks

    template = hand_out("CQ003", Q1, tmp_path / "templates")
    fill_by_hand(template, tmp_path / "inbox" / "CQ003.xlsx", typed_cells("agencies"), arrived=_at(dt.date(2030, 1, 1)))
    before = dt.datetime.now(dt.timezone.utc)
    entries, _ = discover_workbooks.fn(tmp_path / "inbox")
    (arrival,), _ = archive_originals.fn(tmp_path / "inbox", entries, tmp_path / "archive", tmp_path)
    assert before <= arrival.received_at <= dt.datetime.now(dt.timezone.utc)


# 4. Messages that agree with the verdict --------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def slips_session(request, tmp_path_factory, postgres_databases):
    """DN001 reports Q1 cleanly; in Q2 it types a negative revenue beside an implausible income,
    a True where a count goes, leaves a completed task undated and edits the locked deadline."""
    root = tmp_path_factory.mktemp("slips")
    templates = root / "templates"
    with pytest.MonkeyPatch.context() as mp:
        found = make_warehouse(request.param, root / "data", postgres_databases, mp)
        base = {**default_values("enterprises", 0), "revenue_bn_vnd": 100.0, "budget_paid_bn_vnd": 5.0, "workers": 100}
        fill_by_hand(hand_out("DN001", Q1, templates), _inbox(found, Q1) / "DN001.xlsx",
                     typed_cells("enterprises", values=base, tasks=[TASK]), arrived=_at(dt.date(2023, 4, 3)))
        _collect(found, Q1)
        slips = {**base, "revenue_bn_vnd": -3.0, "avg_income_m_vnd": 95, "inspections": True}
        # Year-to-date as the clerk adds it up: Q1 plus this quarter.
        ytd = {code: base[code] + (0 if value is True else value) for code, value in slips.items()}
        typed = typed_cells("enterprises", values=slips, ytd=ytd, tasks=[TASK[:4] + (None,)])
        typed[(INFO, "B11")] = dt.date(2023, 7, 31)
        fill_by_hand(hand_out("DN001", Q2, templates), _inbox(found, Q2) / "DN001.xlsx", typed,
                     arrived=_at(dt.date(2023, 7, 4)), unprotect=(INFO,))
        _collect(found, Q2)
    yield found
    if found.backend == "postgresql":
        postgres_databases.drop(found.url)
    dispose_engines()


@pytest.fixture
def clerks_slips(slips_session, monkeypatch):
    point_at(slips_session, monkeypatch)
    return slips_session


def _q2_findings(warehouse) -> list[tuple]:
    return _query(warehouse, """
        SELECT v.rule_id, v.severity, v.sheet, v.cell, v.value, v.message_vi FROM validation_finding v
        JOIN submission s USING (submission_id) WHERE s.quarter = 2 ORDER BY v.rule_id, v.cell""")


def test_a_rejected_file_is_never_said_to_be_received(clerks_slips):
    findings = _q2_findings(clerks_slips)
    assert any(f[1] == "warning" for f in findings), "the implausible income is still worth a warning"
    for f in findings:
        assert "tiếp nhận" not in f[5], f
    assert _query(clerks_slips, "SELECT status FROM submission WHERE quarter = 2") == [("rejected",)]
    assert "CHƯA được tiếp nhận" in _feedback(clerks_slips, Q2, "DN001")["facts"]["Việc cần làm"]


def test_a_value_in_error_raises_no_warning_computed_from_it(clerks_slips):
    revenue = indicator_cell("enterprises", "revenue_bn_vnd")
    findings = _q2_findings(clerks_slips)
    assert [f[0] for f in findings if f[3] == revenue] == ["indicator.value_negative"]
    budget = indicator_cell("enterprises", "budget_paid_bn_vnd")
    rules = {f[0] for f in findings}
    # Neither "-3% of the previous quarter" nor "budget paid above revenue" from a negative revenue.
    assert not [f for f in findings if f[0].startswith("plausibility.") and f[3] in (revenue, budget)]
    assert "plausibility.budget_paid_bn_vnd_at_most_revenue_bn_vnd" not in rules
    assert "plausibility.out_of_band" in rules, "an income out of band, itself a number, is still flagged"


def test_no_english_word_reaches_the_clerk(clerks_slips):
    findings = _q2_findings(clerks_slips)
    values = {(f[2], f[3]): f[4] for f in findings}
    assert values[(IND, indicator_cell("enterprises", "inspections"))] == "ĐÚNG"
    assert values[(L.SHEET_TASKS, "F5")] == "(để trống)"
    everything = _query(clerks_slips, "SELECT value FROM validation_finding")
    assert not {v for (v,) in everything} & {"None", "nan", "NaN", "True", "False", "missing"}
    shown = [r[5] for r in _feedback(clerks_slips, Q2, "DN001")["findings"]]
    assert "(để trống)" in shown and not set(shown) & {"None", "nan", "True", "False", "missing"}


def test_the_locked_deadline_is_checked_like_every_locked_cell(clerks_slips):
    deadline = [f for f in _q2_findings(clerks_slips) if f[3] == "B11"]
    assert [f[:5] for f in deadline] == [("structure.locked_cell_changed", "error", INFO, "B11", "31/07/2023")]
    assert "10/07/2023" in deadline[0][5]


# The identity verifies anywhere: without a warehouse, and after LibreOffice saves the file again.


def _clerk_files(folder) -> dict[str, tuple]:
    """Three CQ003 files of Q1 -> (path, expected status, expected rules outside file.*)."""
    template = hand_out("CQ003", Q1, folder / "templates")
    typed = typed_cells("agencies", tasks=[TASK])
    return {
        "clean": (fill_by_hand(template, folder / "clean.xlsx", typed), "accepted", set()),
        "swapped": (fill_by_hand(template, folder / "swapped.xlsx", {**typed, (INFO, "B5"): "CQ004"}, unprotect=(INFO,)),
                    "rejected", {"identity.unit_code_changed", "identity.unit_name_other_unit"}),
        "deadline": (fill_by_hand(template, folder / "deadline.xlsx", {**typed, (INFO, "B11"): dt.date(2023, 5, 10)},
                                  unprotect=(INFO,)), "rejected", {"structure.locked_cell_changed"}),
    }


def _verdicts(paths: list, data_dir) -> list[tuple[str, set[str]]]:
    from tasks.local_check import check_files

    report = check_files(paths, data_dir)
    return [(v.status, {f.rule_id for f in v.findings if not f.rule_id.startswith("file.")}) for v in report.verdicts]


def test_the_identity_verifies_without_a_warehouse(warehouse, tmp_path, monkeypatch):
    files = _clerk_files(tmp_path)
    _inbox(warehouse, Q1).mkdir(parents=True)
    for path, _, _ in files.values():
        shutil.copy(path, _inbox(warehouse, Q1) / path.name)
    _collect(warehouse, Q1)
    collected = dict(_query(warehouse, """
        SELECT f.original_name, s.status FROM submission s JOIN received_file f USING (file_sha256)"""))
    monkeypatch.delenv("P135_WAREHOUSE_URL", raising=False)
    no_warehouse = _verdicts([p for p, _, _ in files.values()], tmp_path / "no-warehouse")
    for (case, (path, status, rules)), (found, found_rules) in zip(files.items(), no_warehouse):
        assert collected[path.name] == found == status, case
        assert found_rules == rules, case


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "ods"], ids=["xlsx", "xls", "ods"])
def test_the_identity_survives_a_libreoffice_save(soffice, fmt, tmp_path):
    import subprocess

    files = _clerk_files(tmp_path)
    out = tmp_path / fmt
    subprocess.run(
        ["timeout", "-k", "10", "300", soffice, "--headless", "--norestore",
         f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}", "--convert-to", fmt, "--outdir", str(out),
         *(str(p) for p, _, _ in files.values())],
        check=True, capture_output=True,
    )
    resaved = [out / f"{p.stem}.{fmt}" for p, _, _ in files.values()]
    expected = [(status, rules) for _, status, rules in files.values()]
    if fmt == "xls":  # read from cached values, which is worth a warning and no more
        expected[0] = ("accepted_with_warnings", set())
    assert _verdicts(resaved, tmp_path / "no-warehouse") == expected
