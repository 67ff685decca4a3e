"""A full disk stops a run with one Vietnamese message, loses nothing, and a rerun after freeing
space collects every file once."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from reporting.periods import Period
from tasks.disk_full import disk_full_cause, unless_disk_full
from tests.workbooks import save, submission

P135 = Path(sys.executable).parent / "p135"
Q2 = Period(2023, 2)


def _no_space_writing_dev_full() -> OSError:
    with pytest.raises(OSError) as caught:
        with open("/dev/full", "wb", buffering=0) as full:
            full.write(b"p135")
    return caught.value


def _sqlite_full(tmp_path: Path) -> OperationalError:
    """A real SQLITE_FULL, raised through SQLAlchemy: the file may not grow past its pages."""
    engine = create_engine(f"sqlite:///{tmp_path / 'full.db'}")
    with pytest.raises(OperationalError) as caught:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x TEXT)"))
            conn.execute(text("PRAGMA max_page_count = 2"))
            for _ in range(100):
                conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": "x" * 4000})
    engine.dispose()
    return caught.value


def _wrapped(inner: BaseException) -> RuntimeError:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise RuntimeError("while writing a batch") from exc
    except RuntimeError as outer:
        return outer


CASES = {
    "oserror-enospc": (lambda tmp: _no_space_writing_dev_full(), True),
    "sqlite-full-through-sqlalchemy": (_sqlite_full, True),
    "postgres-disk-full": (lambda tmp: psycopg.errors.DiskFull("could not extend file"), True),
    "cause-of-another-error": (lambda tmp: _wrapped(OSError(errno.EDQUOT, "Disk quota exceeded")), True),
    "permission-denied": (lambda tmp: PermissionError(errno.EACCES, "Permission denied"), False),
    "sqlite-other-error": (lambda tmp: sqlite3.OperationalError("no such table: t"), False),
    "postgres-unique-violation": (lambda tmp: psycopg.errors.UniqueViolation("duplicate key"), False),
}


@pytest.mark.parametrize("case", sorted(CASES), ids=sorted(CASES))
def test_a_full_disk_is_told_apart_from_other_errors(case, tmp_path):
    make, is_full = CASES[case]
    error = make(tmp_path)

    assert (disk_full_cause(error) is not None) is is_full

    class _State:
        data = error

    assert unless_disk_full(None, None, _State()) is not is_full, "a full disk is not tried again"


def _refused_connection() -> OperationalError:
    """A real connection refused by a PostgreSQL port nothing listens on, through SQLAlchemy."""
    engine = create_engine("postgresql+psycopg://p135@127.0.0.1:9/p135?connect_timeout=2")
    with pytest.raises(OperationalError) as caught:
        with engine.connect():
            pass
    engine.dispose()
    return caught.value


LOST = {
    "connection-refused": (lambda: _refused_connection(), True),
    "server-shut-down": (lambda: _wrapped(psycopg.errors.AdminShutdown("terminating connection")), True),
    "connection-failure": (lambda: psycopg.errors.ConnectionFailure("server closed the connection"), True),
    "unique-violation": (lambda: psycopg.errors.UniqueViolation("duplicate key"), False),
    "disk-full": (lambda: psycopg.errors.DiskFull("could not extend file"), False),
}


@pytest.mark.parametrize("case", sorted(LOST), ids=sorted(LOST))
def test_a_warehouse_server_gone_mid_run_fails_the_run_in_one_line(case):
    """PostgreSQL stopped under a collect: the run ended in six tracebacks and the driver's English
    error. It fails with one Vietnamese line, the rerun doing the rest (nothing received is lost)."""
    from tasks.disk_full import WAREHOUSE_LOST_VI, stops_when_disk_full, warehouse_lost_cause

    make, lost = LOST[case]
    error = make()
    assert (warehouse_lost_cause(error) is not None) is lost

    @stops_when_disk_full("Hãy giải phóng dung lượng.")
    def body(data_dir: str | None = None):
        raise error

    if lost:
        assert body().message == WAREHOUSE_LOST_VI
    elif disk_full_cause(error) is not None:
        assert body().message != WAREHOUSE_LOST_VI
    else:
        with pytest.raises(type(error)):
            body()


def _mount_tmpfs(where: Path, size: str) -> None:
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small file system needs root")
    where.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot mount a small file system here: {done.stderr.decode().strip()}")


@pytest.fixture
def disk_of_20_mb(tmp_path):
    """A 20 MB file system: room for the warehouse and the preflight's 16 MB, not for a large inbox."""
    where = tmp_path / "o-dia"
    _mount_tmpfs(where, "20m")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def _collect(data: Path, inbox: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "P135_", "DO_NOT_TRACK"))}
    env["HOME"] = str(tmp_path / "home")
    return subprocess.run(
        [str(P135), "collect", "--year", "2023", "--quarter", "2", "--inbox", str(inbox), "--data-dir", str(data)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_a_disk_full_while_archiving_stops_the_run_in_one_line_and_a_rerun_collects_each_file_once(
    disk_of_20_mb, tmp_path
):
    inbox = tmp_path / "inbox"
    for code in ("CQ001", "CQ002", "CQ003"):
        save(submission(code, Q2), inbox / f"{code}.xlsx")
    # Two large files a clerk sent by mistake: kept like every other, but more than the disk holds.
    for name in ("anh-chup-1.xlsx", "anh-chup-2.xlsx"):
        (inbox / name).write_bytes(os.urandom(9 * 1024 * 1024))
    sent = _digests(inbox)
    data = disk_of_20_mb / "data"

    full = _collect(data, inbox, tmp_path)

    shown = full.stdout + full.stderr
    assert full.returncode == 1, shown
    assert f"Lỗi: Ổ đĩa chứa thư mục dữ liệu ({data}) đã đầy: lần chạy đã dừng." in shown
    assert "Hãy giải phóng dung lượng rồi thu nhận lại." in shown
    assert "Traceback" not in shown and "Retry" not in shown
    assert _digests(inbox) == sent, "nothing received is lost"

    subprocess.run(["mount", "-o", "remount,size=64m", str(disk_of_20_mb)], check=True)
    again = _collect(data, inbox, tmp_path)

    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.splitlines()[0] == "2023-Q2: 5 tệp, 5 tệp mới (0 tệp đã nhận), 3 chấp nhận, 0 có cảnh báo, 2 từ chối"
    with create_engine(f"sqlite:///{data / 'warehouse.db'}").connect() as conn:
        loaded = conn.execute(text("SELECT unit_code, COUNT(*) FROM submission WHERE unit_code IS NOT NULL GROUP BY unit_code")).all()
    assert sorted(loaded) == [("CQ001", 1), ("CQ002", 1), ("CQ003", 1)]
