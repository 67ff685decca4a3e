"""The p135 command: clear messages and exit codes, never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from warehouse.migrate import head_revision


def test_help_lists_the_commands():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("templates", "collect", "publish", "demo", "db"):
        assert command in result.output


COMMANDS = ["templates", "collect", "publish", "demo", "remind", "check", "status", "approve", "reopen", "extend",
            "explain", "bench", "db upgrade", "db grant-analyst", "db"]


@pytest.mark.parametrize("command", ["", *COMMANDS], ids=["p135", *(c.replace(" ", "-") for c in COMMANDS)])
def test_every_help_reads_in_vietnamese_to_its_placeholders(command):
    """Usage line and value types too: typer writes [OPTIONS], COMMAND [ARGS]... and <int> itself."""
    result = CliRunner().invoke(app, [*command.split(), "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Cách dùng:" in result.output and "[TÙY CHỌN]" in result.output
    for english in ("[OPTIONS]", "COMMAND", "[ARGS]", "<int", "<str>", "<path>", "<bool>", "<list", "<float>"):
        assert english not in result.output, english


@pytest.mark.parametrize(("args", "code", "message"), [
    (["collect", "--year", "2031", "--quarter", "1"], 2, "chưa có tệp chương trình báo cáo cho năm 2031"),
    (["collect", "--year", "2023"], 2, "hãy cho cả --quarter"),
    (["collect", "--quarter", "5"], 2, "phải nhỏ hơn hoặc bằng 4"),
    (["status", "--quarter", "2"], 2, "khi cho --quarter, hãy cho cả --year."),
    (["publish", "--year", "2023"], 1, "chưa công bố gì"),
    (["templates", "--year", "2023", "--quarter", "3", "--out", "{tmp}/a-file"], 2,
     "--out ({tmp}/a-file): không ghi được vào thư mục này: đường dẫn không phải là thư mục."),
], ids=["no-programme", "year-without-quarter", "quarter-out-of-range", "quarter-without-year", "nothing-to-publish", "templates-out-a-file"])
def test_bad_input_gets_a_message_and_an_exit_code(tmp_path, monkeypatch, args, code, message):
    monkeypatch.delenv("P135_WAREHOUSE_URL", raising=False)
    (tmp_path / "a-file").write_text("not a folder")
    args, message = [a.replace("{tmp}", str(tmp_path)) for a in args], message.replace("{tmp}", str(tmp_path))
    result = CliRunner().invoke(app, [*args, "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_db_upgrade_reports_the_revision(tmp_path, monkeypatch):
    monkeypatch.delenv("P135_WAREHOUSE_URL", raising=False)
    result = CliRunner().invoke(app, ["db", "upgrade", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    assert f"(revision) {head_revision()}" in result.output
    assert (tmp_path / "data" / "warehouse.db").is_file()


@pytest.mark.parametrize("new_files", [3, 4, 7], ids=["under-the-cap", "at-the-cap", "over-the-cap"])
def test_collect_lists_new_files_up_to_a_cap_then_counts_the_rest(capsys, monkeypatch, new_files):
    from flows import cli

    monkeypatch.setattr(cli, "FILES_LISTED", 4)
    files = [{"file": f"BaoCao_{n}.xlsx", "unit_code": f"DV{n:06d}", "status": "accepted", "errors": 0, "warnings": 0}
             for n in range(new_files)]
    cli._print_collect({
        "period": "2023-Q1", "files": files, "files_seen": new_files, "files_new": new_files, "files_known": 0,
        "accepted": new_files, "accepted_with_warnings": 0, "rejected": 0, "held": 0, "released": 0, "refused": 1,
        "refusals": [{"name": "thu-muc", "kind": "directory", "reason": "Mục này là một thư mục."}],
        "rejected_files": [], "feedback_dir": "data/feedback/2023-Q1",
    })
    lines = capsys.readouterr().out.splitlines()
    listed = [line for line in lines if line.startswith("  BaoCao_")]
    assert listed == [f"  BaoCao_{n}.xlsx (DV{n:06d}): Chấp nhận (bản hiện hành)" for n in range(min(new_files, 4))]
    more = [line for line in lines if "tệp mới khác" in line]
    if new_files > 4:
        assert more == [f"  ... và {new_files - 4} tệp mới khác: danh sách đầy đủ trong bảng collect-2023-q1 "
                        "của lượt chạy (Prefect) và view v_submission_status."]
    else:
        assert more == []
    at = lines.index("  thu-muc: Từ chối, không thu nhận - Mục này là một thư mục.")
    assert lines[at - 1] == "1 mục trong hộp thư bị từ chối, không thu nhận (không tính vào số tệp ở trên):"


def test_a_file_name_with_a_line_break_is_one_line_of_the_collect_output(capsys):
    from flows import cli

    name = "CQ045\nbao cao.xlsx"
    cli._print_collect({
        "period": "2023-Q1", "files_seen": 1, "files_new": 1, "files_known": 0, "accepted": 0,
        "files": [{"file": name, "unit_code": None, "status": "rejected", "errors": 1, "warnings": 0}],
        "accepted_with_warnings": 0, "rejected": 1, "held": 0, "released": 0, "refused": 0, "refusals": [],
        "rejected_files": [{"unit_code": None, "file": name, "finding": "Tệp bị hỏng."}],
        "feedback_dir": "data/feedback/2023-Q1",
    })
    lines = capsys.readouterr().out.splitlines()
    assert "  CQ045\\x0abao cao.xlsx (không rõ đơn vị): Từ chối - 1 lỗi" in lines
    assert "  (không rõ đơn vị) – CQ045\\x0abao cao.xlsx: Tệp bị hỏng." in lines
    assert not any(line.startswith("bao cao") for line in lines)


@pytest.mark.parametrize("rejected_files", [4, 7], ids=["at-the-cap", "over-the-cap"])
def test_collect_lists_rejected_units_and_files_up_to_a_cap_then_counts_the_rest(capsys, monkeypatch, rejected_files):
    from flows import cli

    monkeypatch.setattr(cli, "FILES_LISTED", 4)
    rejected = [{"unit_code": f"DV{n:06d}", "file": f"BaoCao_{n}.xlsx", "finding": "Chỉ tiêu!E5 Ô E5 ...",
                 "unit_state": "rejected"} for n in range(rejected_files)]
    cli._print_collect({
        "period": "2023-Q1", "files": [], "files_seen": rejected_files, "files_new": rejected_files, "files_known": 0,
        "accepted": 0, "accepted_with_warnings": 0, "rejected": rejected_files, "held": 0, "released": 0, "refused": 0,
        "refusals": [], "rejected_files": rejected, "feedback_dir": "data/feedback/2023-Q1",
    })
    lines = capsys.readouterr().out.splitlines()
    [units] = [line for line in lines if line.startswith("Đơn vị bị từ chối")]
    listed = [line for line in lines if line.startswith("  DV")]
    assert units.startswith(f"Đơn vị bị từ chối ({rejected_files}): DV000000, DV000001, DV000002, DV000003")
    assert len(listed) == 4
    if rejected_files > 4:
        assert units.endswith(f" ... và {rejected_files - 4} đơn vị khác")
        assert f"  ... và {rejected_files - 4} tệp bị từ chối khác: xem p135 status --year 2023 --quarter 1" in lines[-2]
    else:
        assert "khác" not in units


@pytest.mark.parametrize("own_server", [False, True], ids=["temporary-server", "server-of-its-own"])
def test_the_temporary_server_starts_while_the_flow_imports_and_answers_before_the_flow_runs(monkeypatch, own_server):
    import threading

    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED, temporary_settings

    from flows.cli import _server_starting

    importing, started = threading.Event(), threading.Event()

    def start(self, timeout=None):
        # Answers only once the body is under way: a server started before the body would wait forever.
        assert importing.wait(30), "the server's start waited for the import to finish"
        started.set()

    monkeypatch.setattr(SubprocessASGIServer, "start", start)
    api = "http://127.0.0.1:4200/api" if own_server else None
    with temporary_settings(updates={PREFECT_API_URL: api, PREFECT_SERVER_EPHEMERAL_ENABLED: True}):
        with _server_starting():
            importing.set()
        assert started.is_set() is not own_server, "the flow runs after the server answers; none starts beside a server"


def _a_collect_ran(data: str) -> None:
    """A warehouse some collect run has worked in (approve refuses one that none has)."""
    from tasks.prepare import bring_up_to_date
    from warehouse.engine import engine_for
    from warehouse.load import open_collect_run

    bring_up_to_date(Path(data))
    open_collect_run(engine_for(Path(data)), year=2023, quarter=1, inbox="inbox", flow_run_id=None)


def test_a_quarter_approved_with_no_report_says_so_and_a_year_with_none_has_nothing_to_explain(tmp_path, monkeypatch):
    monkeypatch.delenv("P135_WAREHOUSE_URL", raising=False)
    data = str(tmp_path / "data")
    _a_collect_ran(data)

    approved = CliRunner().invoke(app, ["approve", "--year", "2023", "--quarter", "3", "--by", "Lê C", "--data-dir", data])
    explained = CliRunner().invoke(app, ["explain", "--year", "2023", "avg_income_m_vnd", "--data-dir", data])

    assert approved.exit_code == 0, approved.output
    assert "Lưu ý: chưa có đơn vị nào có báo cáo Quý III/2023 được chấp nhận (" in approved.output
    assert explained.exit_code == 1, explained.output
    assert "chưa có báo cáo được chấp nhận nào của năm 2023 góp vào chỉ tiêu avg_income_m_vnd" in explained.output
    assert "Tổng:" not in explained.output and "Traceback" not in explained.output


def test_a_name_given_with_line_breaks_or_controls_is_kept_as_one_line_and_a_page_long_one_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("P135_WAREHOUSE_URL", raising=False)
    data = str(tmp_path / "data")
    _a_collect_ran(data)

    long = CliRunner().invoke(app, ["approve", "--year", "2023", "--quarter", "3", "--by", "A" * 5000, "--data-dir", data])
    odd = CliRunner().invoke(app, ["approve", "--year", "2023", "--quarter", "3", "--by", "Lê\nThị\x07 C", "--data-dir", data])
    again = CliRunner().invoke(app, ["approve", "--year", "2023", "--quarter", "3", "--by", "x", "--data-dir", data])

    assert long.exit_code == 2 and "tên người phê duyệt (--by) quá dài (5000 ký tự, tối đa 200)." in long.output
    assert odd.exit_code == 0, odd.output
    assert "(người phê duyệt: Lê Thị C)" in odd.output
    assert "đã được phê duyệt trước đó bởi Lê Thị C" in again.output


def test_approve_in_a_warehouse_no_collect_ran_in_is_refused_and_makes_no_warehouse(tmp_path, monkeypatch):
    """A mistyped --data-dir would otherwise approve the quarter in a new, empty warehouse."""
    monkeypatch.delenv("P135_WAREHOUSE_URL", raising=False)
    data = tmp_path / "du-lieu-go-nham"

    result = CliRunner().invoke(app, ["approve", "--year", "2023", "--quarter", "1", "--by", "Lê C", "--data-dir", str(data)])

    assert result.exit_code == 1, result.output
    assert "chưa có lần thu nhận nào (kho mới, hoặc nhầm thư mục dữ liệu): không phê duyệt Quý I/2023" in result.output
    assert not (data / "warehouse.db").exists()


@pytest.mark.parametrize("args", [
    ["publish", "--year", "0"],
    ["publish", "--year", "-5"],
    ["status", "--year", "1999", "--quarter", "1"],
    ["explain", "--year", "3000", "revenue_bn_vnd"],
    ["approve", "--year", "20233", "--quarter", "1", "--by", "A"],
    ["collect", "--year", "0", "--quarter", "1"],
], ids=["zero", "negative", "before-2000", "after-2100", "typo", "collect-zero"])
def test_every_command_takes_the_same_years(tmp_path, args):
    """A year no programme can be for is a usage error everywhere, never "not given" nor "năm -5"."""
    result = CliRunner().invoke(app, [*args, "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 2, result.output
    assert "Giá trị không hợp lệ cho '--year'" in result.output
    assert not (tmp_path / "data").exists()


def test_a_half_written_programme_of_the_next_year_does_not_stop_this_year(tmp_path, monkeypatch):
    """The ops team drafting ctr135-2024.toml: 2023's commands go on; 2024's name the broken file."""
    from reporting.programme import PROGRAMMES_DIR

    monkeypatch.delenv("P135_WAREHOUSE_URL", raising=False)
    programmes = tmp_path / "programmes"
    programmes.mkdir()
    for name in ("ctr135-2023.toml", "units.csv"):
        (programmes / name).write_bytes((PROGRAMMES_DIR / name).read_bytes())
    good = (PROGRAMMES_DIR / "ctr135-2023.toml").read_text(encoding="utf-8")
    (programmes / "ctr135-2024.toml").write_text(good.replace("year = 2023", "year = 2024")[:1200], encoding="utf-8")
    monkeypatch.setenv("P135_PROGRAMMES_DIR", str(programmes))
    data = ["--data-dir", str(tmp_path / "data")]

    result = CliRunner().invoke(app, ["status", "--year", "2023", "--quarter", "4", *data])
    assert result.exit_code == 0, result.output
    assert "Quý IV/2023" in result.output and "Lỗi" not in result.output

    result = CliRunner().invoke(app, ["status", "--year", "2024", "--quarter", "1", *data])
    assert result.exit_code == 2, result.output
    assert "năm 2024 không dùng được" in result.output and "ctr135-2024.toml" in result.output
    assert "Traceback" not in result.output


BROKEN_REGISTRIES = {
    "semicolon": lambda text: text.replace(",", ";").encode(),
    "cp1258": lambda text: __import__("unicodedata").normalize("NFD", text).encode("cp1258", errors="replace"),
    "code-twice": lambda text: (text + text.splitlines()[5] + "\n").encode(),
}


@pytest.mark.parametrize("command", [
    ["status", "--year", "2023", "--quarter", "1"],
    ["collect", "--year", "2023", "--quarter", "1"],
    ["templates", "--year", "2023", "--quarter", "1"],
    ["approve", "--year", "2023", "--quarter", "1", "--by", "Lê Thị Duyệt"],
    ["extend", "CQ001", "--year", "2023", "--quarter", "1", "--until", "20/04/2023", "--reason", "mất điện", "--by", "A"],
    ["check", "{tmp}/BaoCao.xlsx"],
], ids=["status", "collect", "templates", "approve", "extend", "check"])
@pytest.mark.parametrize("broken", list(BROKEN_REGISTRIES), ids=list(BROKEN_REGISTRIES))
def test_a_broken_registry_is_one_line_of_configuration_error(tmp_path, monkeypatch, command, broken):
    """The ops team's units.csv saved wrongly: one Vietnamese line naming the file and line, exit 2, no traceback."""
    from reporting.programme import PROGRAMMES_DIR

    monkeypatch.delenv("P135_WAREHOUSE_URL", raising=False)
    programmes = tmp_path / "programmes"
    programmes.mkdir()
    (programmes / "ctr135-2023.toml").write_bytes((PROGRAMMES_DIR / "ctr135-2023.toml").read_bytes())
    (programmes / "units.csv").write_bytes(BROKEN_REGISTRIES[broken]((PROGRAMMES_DIR / "units.csv").read_text(encoding="utf-8")))
    (tmp_path / "BaoCao.xlsx").write_bytes(b"PK")
    monkeypatch.setenv("P135_PROGRAMMES_DIR", str(programmes))
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]

    result = CliRunner().invoke(app, [*args, "--data-dir", str(tmp_path / "data")], terminal_width=400)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"Lỗi cấu hình: tệp danh sách đơn vị không dùng được: {programmes / 'units.csv'}: dòng ")
    assert "Traceback" not in result.output and "RegistryError" not in result.output


def _programme_folder(folder: Path, text: str) -> Path:
    from reporting.programme import PROGRAMMES_DIR

    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.toml"):
        old.unlink()
    (folder / "ctr135.toml").write_text(text, encoding="utf-8")
    (folder / "units.csv").write_bytes((PROGRAMMES_DIR / "units.csv").read_bytes())
    return folder


def _for_2024(text: str) -> str:
    for old, new in (("year = 2023", "year = 2024"), ("2024-01-10", "2025-01-10"), ("2023-04-10", "2024-04-10"),
                     ("2023-07-10", "2024-07-10"), ("2023-10-10", "2024-10-10"), ("CTr135-2023.v2", "CTr135-2024.v1")):
        assert old in text
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize(("change", "year", "reason"), [
    (lambda t: t.replace('code = "CTr135-2023"', 'code = "CTr135-2023-b"'), 2023,
     "kho dữ liệu đã có chương trình năm 2023 với mã 'CTr135-2023'; số liệu, kỳ báo cáo và báo cáo đã phát hành "
     "của năm gắn với mã này nên không đổi được: hãy để lại code = 'CTr135-2023'"),
    (_for_2024, 2024,
     "mã chương trình (code) 'CTr135-2023' đã là mã của chương trình năm 2023 trong kho dữ liệu; "
     "mỗi năm cần một mã riêng, ví dụ 'CTr135-2024'"),
], ids=["year-renamed", "code-reused-after-its-file-left"])
def test_a_programme_file_contradicting_the_warehouse_is_refused_for_its_year_only(tmp_path, monkeypatch, change,
                                                                                  year, reason):
    """The folder check needs both files; once the earlier year's file has left the folder, only the
    warehouse knows its code. Renaming a loaded year's code crashed set-up on programme.year's
    uniqueness; reusing one moved the earlier year's programme, periods and figures to the new year."""
    from sqlalchemy import select

    from reporting.programme import PROGRAMMES_DIR
    from tasks.prepare import ProgrammeRefused, bring_up_to_date
    from warehouse.engine import engine_for
    from warehouse.models import Period, Programme

    monkeypatch.delenv("P135_WAREHOUSE_URL", raising=False)
    good = (PROGRAMMES_DIR / "ctr135-2023.toml").read_text(encoding="utf-8")
    folder = _programme_folder(tmp_path / "programmes", good)
    monkeypatch.setenv("P135_PROGRAMMES_DIR", str(folder))
    data = tmp_path / "data"
    bring_up_to_date(data)
    engine = engine_for(data)

    def bound() -> tuple:
        with engine.connect() as conn:
            return (conn.execute(select(Programme.programme_code, Programme.year)).all(),
                    conn.execute(select(Period.year, Period.programme_code).distinct()).all())

    before = bound()
    assert before == ([("CTr135-2023", 2023)], [(2023, "CTr135-2023")])
    _programme_folder(folder, change(good))
    said = []
    bring_up_to_date(data, say=said.append)
    assert len(said) == 1 and reason in said[0], "another year's command goes on, and the log says why"
    with pytest.raises(ProgrammeRefused, match=re.escape(reason)):
        bring_up_to_date(data, year=year)
    assert bound() == before

    status = CliRunner().invoke(app, ["status", "--year", str(year), "--quarter", "1", "--data-dir", str(data)])
    assert status.exit_code == 2, status.output
    said = " ".join(status.output.split())
    assert re.search(rf"Lỗi: tệp chương trình báo cáo năm {year} không dùng được: {re.escape(str(folder))}/[\w.-]+\.toml: "
                     rf"{re.escape(reason)}\.", said), said
    assert "Traceback" not in status.output
    assert bound() == before


def test_editing_one_years_programme_leaves_the_other_years_rows_alone(warehouse, tmp_path, monkeypatch):
    """Indicator and headline rows were updated and deleted by their code alone: with 2023 and 2024
    loaded, a label changed in 2024 crashed every command on the (programme, code) key, and an
    indicator dropped from 2024 would have deleted 2023's row of the same code."""
    from sqlalchemy import select

    from reporting.programme import PROGRAMMES_DIR
    from tasks.prepare import bring_up_to_date
    from warehouse.models import HeadlineMetric, Indicator

    good = (PROGRAMMES_DIR / "ctr135-2023.toml").read_text(encoding="utf-8")
    folder = _programme_folder(tmp_path / "programmes", good)
    for_2024 = _for_2024(good).replace('code = "CTr135-2023"', 'code = "CTr135-2024"')
    (folder / "ctr135-2024.toml").write_text(for_2024, encoding="utf-8")
    monkeypatch.setenv("P135_PROGRAMMES_DIR", str(folder))
    bring_up_to_date(warehouse.data_dir)

    def rows(code: str) -> tuple:
        with warehouse.engine.connect() as conn:
            return (conn.execute(select(Indicator.indicator_code, Indicator.label_vi)
                                 .where(Indicator.programme_code == code).order_by(Indicator.indicator_code)).all(),
                    conn.execute(select(HeadlineMetric.metric_code, HeadlineMetric.label_vi)
                                 .where(HeadlineMetric.programme_code == code).order_by(HeadlineMetric.metric_code)).all())

    before_2023 = rows("CTr135-2023")
    assert before_2023 == rows("CTr135-2024") and "thematic_supervisions" in dict(before_2023[0])
    assert 'label_vi = "Số đảng viên cuối quý"' in for_2024
    edited = for_2024.replace('label_vi = "Số đảng viên cuối quý"', 'label_vi = "Số đảng viên đến cuối quý"')
    start, end = edited.index('code = "thematic_supervisions"'), edited.index("[[indicators]]", edited.index(
        'code = "thematic_supervisions"'))
    edited = edited[:edited.rindex("[[indicators]]", 0, start)] + edited[end:]
    (folder / "ctr135-2024.toml").write_text(edited, encoding="utf-8")

    assert bring_up_to_date(warehouse.data_dir, year=2024) > 0
    indicators_2024 = dict(rows("CTr135-2024")[0])
    assert indicators_2024["party_members_end"] == "Số đảng viên đến cuối quý"
    assert "thematic_supervisions" not in indicators_2024
    assert rows("CTr135-2023") == before_2023


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_an_indicator_the_years_reports_hold_cannot_be_dropped_or_renamed(warehouse, tmp_path, monkeypatch):
    """Renaming `members_commended` in a year with reports blanked its headline figure in the next
    version: the file is refused for its year, naming the indicator; other edits still load."""
    from flows.collect import collect_quarter
    from reporting.periods import Period
    from reporting.programme import PROGRAMMES_DIR
    from tasks.prepare import ProgrammeRefused, bring_up_to_date
    from tests.workbooks import save, submission

    good = (PROGRAMMES_DIR / "ctr135-2023.toml").read_text(encoding="utf-8")
    folder = _programme_folder(tmp_path / "programmes", good)
    monkeypatch.setenv("P135_PROGRAMMES_DIR", str(folder))
    q1 = Period(2023, 1)
    save(submission("CQ003", q1), warehouse.data_dir / "inbox" / q1.key / "CQ003.xlsx")
    collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir))

    _programme_folder(folder, good.replace('code = "thematic_supervisions"', 'code = "thematic_inspections"'))
    reason = "chỉ tiêu 'thematic_supervisions' đã có số liệu trong các báo cáo năm 2023 nên không bỏ hay đổi mã được"
    with pytest.raises(ProgrammeRefused, match=re.escape(reason)):
        bring_up_to_date(warehouse.data_dir, year=2023)
    status = CliRunner().invoke(app, ["status", "--year", "2023", "--quarter", "1", "--data-dir", str(warehouse.data_dir)])
    assert status.exit_code == 2 and reason in " ".join(status.output.split()), status.output

    _programme_folder(folder, good.replace('label_vi = "Số cuộc giám sát chuyên đề"', 'label_vi = "Số cuộc giám sát"'))
    assert bring_up_to_date(warehouse.data_dir, year=2023) > 0, "a label may change"


def test_a_reader_that_stops_reading_does_not_change_the_exit_code(tmp_path):
    """`p135 ... | head -1` in a script with pipefail: the command did its work, so it exits as it
    would have (rich's console otherwise ended it with exit 1 on the broken pipe)."""
    import os
    import subprocess
    import sys

    from reporting.periods import Period
    from tests.workbooks import save, submission

    files = [save(submission(unit, Period(2023, 1)), tmp_path / f"{unit}.xlsx") for unit in ("CQ003", "CQ004")]
    p135 = Path(sys.executable).parent / "p135"
    env = {**os.environ, "P135_DATA_DIR": str(tmp_path / "data")}
    command = f"set -o pipefail; {p135} check {' '.join(map(str, files))} | head -c 0"
    done = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
