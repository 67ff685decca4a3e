"""A SQLite warehouse where p135 cannot write: the commands that write say so in one line, and
`p135 check` still reads the earlier quarters from it."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from sqlalchemy import create_engine
from typer.testing import CliRunner

from flows.cli import app
from reporting.periods import Period
from reporting.programme import programme_for_year
from reporting.units import load_registry
from tests.workbooks import save, submission
from warehouse.migrate import upgrade
from warehouse.reference import load_reference

Q2 = Period(2023, 2)


@pytest.fixture
def read_only_warehouse(tmp_path):
    """A set-up warehouse (views and all) on a file system mounted read-only."""
    made = tmp_path / "made" / "warehouse.db"
    made.parent.mkdir()
    engine = create_engine(f"sqlite:///{made}")
    upgrade(engine)
    engine.dispose()
    where = tmp_path / "chi-doc"
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(where)], capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot mount a file system here: {done.stderr.decode().strip()}")
    try:
        shutil.copy(made, where / "warehouse.db")
        subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
        yield where / "warehouse.db"
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_read_only_warehouse_is_read_by_check_and_refused_in_one_line_by_status(read_only_warehouse, tmp_path,
                                                                                    monkeypatch):
    monkeypatch.setenv("P135_WAREHOUSE_URL", f"sqlite:///{read_only_warehouse}")
    sent = save(submission("CQ003", Q2), tmp_path / "CQ003.xlsx")

    checked = CliRunner().invoke(app, ["check", "--data-dir", str(tmp_path / "data"), str(sent)])
    status = CliRunner().invoke(app, ["status", "--year", "2023", "--quarter", "2", "--data-dir", str(tmp_path / "data")])

    assert checked.exit_code == 0, checked.output
    assert "CQ003.xlsx (CQ003, Quý II/2023): Chấp nhận" in checked.output
    assert "bỏ qua các kiểm tra so với quý trước" not in checked.output, "the warehouse was read"
    assert status.exit_code == 2, status.output
    assert (f"kho SQLite {read_only_warehouse}: không ghi được vào thư mục {read_only_warehouse.parent} "
            "(p135 đặt tệp khóa bên cạnh kho): ổ đĩa chỉ cho phép đọc.") in status.output
    assert "Traceback" not in checked.output + status.output


def test_a_sqlite_warehouse_whose_folder_cannot_be_made_is_a_setting_error(tmp_path, monkeypatch):
    monkeypatch.setenv("P135_WAREHOUSE_URL", "sqlite:////proc/khong-co/warehouse.db")

    result = CliRunner().invoke(app, ["status", "--year", "2023", "--quarter", "2", "--data-dir", str(tmp_path / "data")])

    assert result.exit_code == 2, result.output
    assert "Lỗi cấu hình: kho SQLite /proc/khong-co/warehouse.db: không tạo được thư mục /proc/khong-co" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [
    ["approve", "--year", "2023", "--quarter", "2", "--by", "Nguyễn Văn A"],
    ["publish", "--year", "2023"],
    ["collect", "--year", "2023", "--quarter", "2"],
], ids=["approve", "publish", "collect"])
def test_a_read_only_url_is_refused_in_one_line_before_a_command_writes(tmp_path, monkeypatch, command):
    made = tmp_path / "wh" / "warehouse.db"
    made.parent.mkdir()
    engine = create_engine(f"sqlite:///{made}")
    upgrade(engine)
    load_reference(engine, [programme_for_year(2023)], load_registry())
    engine.dispose()
    monkeypatch.setenv("P135_WAREHOUSE_URL", f"sqlite:///file:{made}?mode=ro&uri=true")
    monkeypatch.chdir(tmp_path)
    data = ["--data-dir", str(tmp_path / "data")]

    status = CliRunner().invoke(app, ["status", "--year", "2023", "--quarter", "2", *data])
    refused = CliRunner().invoke(app, [*command, *data])

    assert status.exit_code == 0, status.output
    assert "Quý II/2023: hạn nộp" in status.output
    assert refused.exit_code == 2, refused.output
    assert "chỉ được đọc kho (như của người phân tích), mà lệnh này ghi vào kho" in refused.output
    assert "Traceback" not in status.output + refused.output
    # The URI's file is the warehouse's: its lock files lie beside it, not under ./file:
    assert not (tmp_path / "file:").exists()
    assert (made.parent / "warehouse.db.lock").exists()


def test_a_command_leaves_the_whole_warehouse_in_its_file(tmp_path):
    """A plain copy of warehouse.db taken after a command holds what the command wrote: nothing is
    left in SQLite's write-ahead log when the process ends."""
    from tests.test_stop_signal import P135

    inbox = tmp_path / "inbox"
    for code in ("CQ001", "CQ002"):
        save(submission(code, Q2), inbox / f"{code}.xlsx")
    data = tmp_path / "data"
    done = subprocess.run([str(P135), "collect", "--year", "2023", "--quarter", "2", "--inbox", str(inbox),
                           "--data-dir", str(data)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    wal = data / "warehouse.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    copy = tmp_path / "copy.db"
    shutil.copy(data / "warehouse.db", copy)
    import sqlite3

    with sqlite3.connect(copy) as conn:
        assert conn.execute("SELECT COUNT(*) FROM submission").fetchone() == (2,)


@pytest.mark.parametrize("folder", ["feedback", "archive", "feedback/2023-Q2"], ids=["feedback", "archive", "quarter"])
def test_a_read_only_folder_of_the_data_dir_is_a_setting_error_before_the_run(tmp_path, folder):
    """Found only half-way through a run, a read-only folder would stop it with the system's words."""
    data = tmp_path / "data"
    where = data / folder
    where.mkdir(parents=True)
    done = subprocess.run(["mount", "--bind", str(where), str(where)], capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot bind-mount here: {done.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(where)], check=True)
        result = CliRunner().invoke(app, ["collect", "--year", "2023", "--quarter", "2", "--data-dir", str(data)])
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
    assert result.exit_code == 2, result.output
    assert f"không ghi được vào thư mục {where}: ổ đĩa chỉ cho phép đọc." in result.output
    assert "Traceback" not in result.output
