"""The p135 command: clear messages and exit codes, never a traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from flows.cli import app
from warehouse.migrate import head_revision


def test_help_lists_the_commands():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("templates", "collect", "publish", "demo", "db"):
        assert command in result.output


@pytest.mark.parametrize(("args", "code", "message"), [
    (["collect", "--year", "2031", "--quarter", "1"], 2, "chưa có tệp chương trình báo cáo cho năm 2031"),
    (["collect", "--year", "2023"], 2, "hãy cho cả --quarter"),
    (["collect", "--quarter", "5"], 2, "phải nhỏ hơn hoặc bằng 4"),
    (["publish", "--year", "2023"], 1, "chưa công bố gì"),
], ids=["no-programme", "year-without-quarter", "quarter-out-of-range", "nothing-to-publish"])
def test_bad_input_gets_a_message_and_an_exit_code(tmp_path, monkeypatch, args, code, message):
    monkeypatch.delenv("P135_WAREHOUSE_URL", raising=False)
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
