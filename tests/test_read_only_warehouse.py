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
from tests.workbooks import save, submission
from warehouse.migrate import upgrade

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
