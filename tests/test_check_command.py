"""`p135 check`: a clerk's dry run with the same rules and messages, writing nothing."""

from __future__ import annotations

import datetime as dt

from typer.testing import CliRunner

from flows.cli import app
from flows.collect import collect_quarter
from reporting.periods import LOCAL_TZ, Period
from tests.test_collect import snapshot
from tests.workbooks import default_values, save, submission

Q1, Q2 = Period(2023, 1), Period(2023, 2)


def _run(*args):
    return CliRunner().invoke(app, ["check", *map(str, args)])


def test_an_accepted_file_exits_0_and_nothing_is_written(tmp_path):
    good = save(submission("CQ003", Q1), tmp_path / "good.xlsx")
    data = tmp_path / "data"
    result = _run(good, "--data-dir", data)
    assert result.exit_code == 0, result.output
    assert "good.xlsx (CQ003, Quý I/2023): Chấp nhận" in result.output
    assert "bỏ qua các kiểm tra so với quý trước" in result.output
    assert not data.exists()


def test_a_rejected_file_exits_1_naming_cell_and_value(tmp_path):
    values = default_values("agencies")
    values["inspections"] = "hai cuộc"
    bad = save(submission("CQ003", Q1, values=values), tmp_path / "bad.ods")
    good = save(submission("CQ004", Q1), tmp_path / "good.xlsx")
    result = _run(bad, good, "--data-dir", tmp_path / "data")
    assert result.exit_code == 1, result.output
    assert "bad.ods (CQ003, Quý I/2023): Từ chối" in result.output
    assert "Chỉ tiêu!E10" in result.output and "hai cuộc" in result.output
    assert "good.xlsx (CQ004, Quý I/2023): Chấp nhận" in result.output
    assert "Traceback" not in result.output


def test_usage_errors_exit_2(tmp_path):
    good = save(submission("CQ003", Q1), tmp_path / "good.xlsx")
    assert _run(tmp_path / "missing.xlsx").exit_code == 2
    assert _run(good, "--year", "2023").exit_code == 2
    assert _run().exit_code == 2


def test_the_period_can_be_forced_and_is_checked(tmp_path):
    good = save(submission("CQ003", Q1), tmp_path / "good.xlsx")
    result = _run(good, "--year", "2023", "--quarter", "2", "--data-dir", tmp_path / "data")
    assert result.exit_code == 1
    assert "identity.period_quarter" in result.output


def test_earlier_quarters_come_from_the_warehouse_read_only(warehouse):
    inbox = warehouse.data_dir / "inbox" / Q1.key
    values = default_values("agencies", 2)
    save(submission("CQ003", Q1, values=values), inbox / "CQ003.xlsx", dt.datetime(2023, 4, 3, tzinfo=LOCAL_TZ))
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))
    before = snapshot(warehouse.engine, skip=())
    q2 = save(submission("CQ003", Q2, values=default_values("agencies", 1)), warehouse.data_dir / "q2.xlsx")

    result = _run(q2, "--data-dir", warehouse.data_dir)

    assert result.exit_code == 1, result.output
    assert "crossq.ytd_decreased" in result.output
    assert snapshot(warehouse.engine, skip=()) == before


def test_a_file_named_for_another_unit_is_refused_saying_how_to_resend_it(tmp_path):
    """CQ002's clerk typed CQ002's report into CQ001's template: it counts for neither, and says why."""
    wb = submission("CQ001", Q1)
    named_other = save(wb, tmp_path / "CQ002_BaoCao_Quy1.xlsx")
    named_own = save(wb, tmp_path / "BaoCao_2023_Q1_CQ001_CQ002.xlsx")
    named_plainly = save(wb, tmp_path / "BaoCao_2023-Q1.xlsx")

    from tasks.local_check import check_files

    verdicts = {v.path.name: v for v in check_files([named_other, named_own, named_plainly], tmp_path / "data").verdicts}

    other = verdicts["CQ002_BaoCao_Quy1.xlsx"]
    assert (other.status, other.unit_code) == ("rejected", "CQ001")
    [error] = other.findings
    assert error.rule_id == "identity.file_name_other_unit"
    assert error.message_vi.startswith('Tên tệp "CQ002_BaoCao_Quy1.xlsx" mang mã đơn vị CQ002 - ')
    assert "bị từ chối, số liệu không được tính cho đơn vị nào (báo cáo CQ001 đã nộp trước đó, nếu có, giữ nguyên)" \
        in error.message_vi
    assert "nhập số liệu vào mẫu đã cấp cho CQ002" in error.message_vi and "bỏ mã CQ002" in error.message_vi
    for name in ("BaoCao_2023_Q1_CQ001_CQ002.xlsx", "BaoCao_2023-Q1.xlsx"):
        assert verdicts[name].status == "accepted", verdicts[name].findings
