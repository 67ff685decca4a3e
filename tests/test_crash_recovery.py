"""A real `p135 collect` killed with SIGKILL costs nothing: the rerun starts at once (the lock
died with its holder), loads every file exactly once and writes every feedback workbook."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import text

from flows.collect import collect_quarter
from reporting.periods import LOCAL_TZ, Period
from tasks.intake import PARTIAL_PREFIX
from tests.workbooks import REGISTRY, save, submission

Q1 = Period(2023, 1)
ROOT = Path(__file__).resolve().parent.parent
ARRIVED = dt.datetime(2023, 4, 5, 9, 30, tzinfo=LOCAL_TZ)


def _units(n: int) -> list[str]:
    codes = sorted({v.unit_code for v in REGISTRY.versions if v.valid_from <= Q1.ends_on
                    and (v.valid_to is None or v.valid_to >= Q1.ends_on)})
    assert len(codes) >= n
    return codes[:n]


def _fill(data_dir: Path, n: int) -> list[str]:
    codes = _units(n)
    for code in codes:
        save(submission(code, Q1), data_dir / "inbox" / Q1.key / f"{code}.xlsx", ARRIVED)
    return codes


def _p135(data_dir: Path, *args: str) -> subprocess.Popen:
    """`p135 collect` in its own process, as an operator starts it, reporting to the test's Prefect server."""
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value(), P135_DATA_DIR=str(data_dir))
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "collect", "--year", "2023", "--quarter", "1",
         "--data-dir", str(data_dir), *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )


def _kill_when(process: subprocess.Popen, ready, what: str, limit: float = 240) -> None:
    """SIGKILL the process (kill -9) as soon as `ready()` is true."""
    deadline = time.monotonic() + limit
    try:
        while not ready():
            if process.poll() is not None:
                out, err = process.communicate()
                pytest.fail(f"p135 collect ended before {what}: {out}\n{err}")
            if time.monotonic() > deadline:
                pytest.fail(f"p135 collect never reached {what}")
            time.sleep(0.005)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        # Its parsing processes, if any outlived it: they are this test's to end.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.communicate()


def _count(engine, sql: str) -> int:
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    except Exception:  # the schema may not exist yet while the run sets it up
        return 0


def _rerun(data_dir: Path) -> str:
    """Collect again, refusing to wait at all for the quarter: the dead run must not hold it."""
    done = _p135(data_dir, "--lock-wait", "0")
    out, err = done.communicate(timeout=300)
    assert done.returncode == 0, f"{out}\n{err}"
    assert "Traceback" not in out + err
    return out


def test_a_collect_killed_mid_run_is_rerun_at_once_and_loads_every_file_once(warehouse):
    data = warehouse.data_dir
    codes = _fill(data, 12)
    engine = warehouse.engine

    _kill_when(_p135(data), lambda: _count(engine, "SELECT COUNT(*) FROM collect_run") > 0,
               "holding the quarter")

    _rerun(data)
    with engine.connect() as conn:
        files = conn.execute(text("SELECT file_sha256, COUNT(*) FROM received_file GROUP BY file_sha256")).all()
        units = conn.execute(text("SELECT unit_code, COUNT(*) FROM submission GROUP BY unit_code")).all()
        runs = conn.execute(text("SELECT finished_at IS NOT NULL FROM collect_run ORDER BY collect_run_id")).scalars().all()
        locks = conn.execute(text("SELECT COUNT(*) FROM collect_lock")).scalar_one()
    assert len(files) == 12 and {n for _, n in files} == {1}
    assert sorted(code for code, _ in units) == codes and {n for _, n in units} == {1}
    assert [bool(r) for r in runs] == [False, True], "the killed run stays in the log, unfinished"
    assert locks == 0
    feedback = data / "feedback" / Q1.key
    assert sorted(p.name for p in feedback.iterdir()) == [f"{c}.xlsx" for c in codes]
    assert not list((data / "archive").glob(f"{PARTIAL_PREFIX}*"))


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_a_kill_while_writing_feedback_costs_no_unit_its_feedback(warehouse):
    data = warehouse.data_dir
    codes = _fill(data, 40)
    feedback = data / "feedback" / Q1.key

    def writing_feedback() -> bool:
        return feedback.is_dir() and any(p.name.endswith(".xlsx") and not p.name.startswith(".") for p in feedback.iterdir())

    _kill_when(_p135(data), writing_feedback, "the feedback stage")

    written = {p.name for p in feedback.iterdir() if not p.name.startswith(".")}
    assert 0 < len(written) < len(codes), "the kill must land while feedback is being written"
    for name in written:
        assert zipfile.is_zipfile(feedback / name), f"{name} is in place but damaged"
    with warehouse.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM submission")).scalar_one() == len(codes)
        killed = conn.execute(text(
            "SELECT finished_at, files_new, accepted + accepted_with_warnings + rejected FROM collect_run"
        )).one()
    assert tuple(killed) == (None, len(codes), len(codes)), "the killed run's row counts what it loaded"

    out = _rerun(data)

    assert "0 tệp mới" in out
    assert sorted(p.name for p in feedback.iterdir()) == [f"{c}.xlsx" for c in codes]
    for code in codes:
        with zipfile.ZipFile(feedback / f"{code}.xlsx") as workbook:
            assert workbook.testzip() is None


def test_feedback_missing_or_damaged_is_rewritten_and_no_other(warehouse):
    data = warehouse.data_dir
    codes = _fill(data, 4)
    collect_quarter(year=2023, quarter=1, data_dir=str(data))
    feedback = data / "feedback" / Q1.key
    missing, truncated, padded, untouched = (feedback / f"{c}.xlsx" for c in codes)
    missing.unlink()
    truncated.write_bytes(truncated.read_bytes()[:1000])
    padded.write_bytes(padded.read_bytes() + b"\0" * 7)
    (feedback / f"{PARTIAL_PREFIX}abc-{codes[0]}.xlsx").write_bytes(b"half")
    before = untouched.stat().st_mtime_ns

    summary = collect_quarter(year=2023, quarter=1, data_dir=str(data))

    assert summary["files_new"] == 0
    assert sorted(p.name for p in feedback.iterdir()) == [f"{c}.xlsx" for c in codes]
    for path in (missing, truncated, padded):
        with zipfile.ZipFile(path) as workbook:
            assert workbook.testzip() is None
    assert untouched.stat().st_mtime_ns == before, "a workbook in place is not written again"
    with warehouse.engine.connect() as conn:
        recorded = dict(conn.execute(text("SELECT file_name, size_bytes FROM feedback_file")).all())
    assert recorded == {p.name: p.stat().st_size for p in feedback.iterdir()}


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_a_second_collect_that_cannot_wait_says_so_in_one_line(warehouse):
    from tasks.prepare import bring_up_to_date
    from warehouse.locks import quarter_lock

    data = warehouse.data_dir
    _fill(data, 1)
    bring_up_to_date(data)
    with quarter_lock(warehouse.engine, 2023, 1, "lượt-đầu on host pid 1"):
        run = _p135(data, "--lock-wait", "0")
        out, err = run.communicate(timeout=300)
    assert run.returncode == 1
    assert "Traceback" not in out + err
    lines = [line for line in err.splitlines() if "lượt-đầu" in line]
    assert len(lines) == 1 and "đang giữ quý này" in lines[0], err


def test_a_run_with_new_files_still_mends_the_feedback_of_files_earlier_runs_checked(warehouse):
    from reporting.programme import programme_for_year
    from tasks.feedback import rewrite_missing_feedback
    from tests.workbooks import REGISTRY as registry

    data = warehouse.data_dir
    codes = _units(3)
    for code in codes[:2]:
        save(submission(code, Q1), data / "inbox" / Q1.key / f"{code}.xlsx", ARRIVED)
    collect_quarter(year=2023, quarter=1, data_dir=str(data))
    feedback = data / "feedback" / Q1.key
    (feedback / f"{codes[0]}.xlsx").unlink()
    save(submission(codes[2], Q1), data / "inbox" / Q1.key / f"{codes[2]}.xlsx", ARRIVED)

    summary = collect_quarter(year=2023, quarter=1, data_dir=str(data))

    assert summary["files_new"] == 1
    assert sorted(p.name for p in feedback.iterdir()) == [f"{c}.xlsx" for c in codes]
    # What the last run checked, it wrote batch by batch: at its end it looks only at other runs' files.
    (feedback / f"{codes[2]}.xlsx").unlink()
    with warehouse.engine.connect() as conn:
        last_run = conn.execute(text("SELECT MAX(collect_run_id) FROM collect_run")).scalar_one()
    args = (data, programme_for_year(2023), registry, Q1)
    assert rewrite_missing_feedback.fn(*args, run_id=last_run) == []
    assert rewrite_missing_feedback.fn(*args) == [feedback / f"{codes[2]}.xlsx"]
