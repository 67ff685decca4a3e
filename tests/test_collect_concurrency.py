"""Collect runs at the same time: other quarters land side by side, one quarter never interleaves."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import insert, text

from flows.collect import collect_quarter
from reporting.periods import LOCAL_TZ, Period
from reporting.programme import all_programmes
from reporting.units import load_registry
from tests.workbooks import save, submission
from warehouse import locks
from warehouse.locks import QuarterBusy, QuarterLost, SetupBusy, quarter_lock, schema_lock
from warehouse.migrate import upgrade
from warehouse.models import CollectLock
from warehouse.reference import load_reference

UNITS = ["CQ001", "CQ002", "CQ003", "CQ004", "DN001", "DN002"]


def _fill_inbox(warehouse, quarter: int) -> None:
    period = Period(2023, quarter)
    arrived = dt.datetime.combine(period.ends_on + dt.timedelta(days=3), dt.time(10), tzinfo=LOCAL_TZ)
    for code in UNITS:
        save(submission(code, period), warehouse.data_dir / "inbox" / period.key / f"{code}.xlsx", arrived)


def _prepared(warehouse):
    engine = warehouse.engine
    upgrade(engine)
    load_reference(engine, all_programmes(), load_registry())
    return engine


def _in_thread(target, **kwargs):
    out = {}

    def run():
        started = time.monotonic()
        out["state"] = target(**kwargs, return_state=True)
        out["finished"] = time.monotonic()
        out["started"] = started

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_two_quarters_collected_at_once_both_land_intact(warehouse):
    for quarter in (1, 2):
        _fill_inbox(warehouse, quarter)
    runs = [_in_thread(collect_quarter, year=2023, quarter=q, data_dir=str(warehouse.data_dir)) for q in (1, 2)]
    for thread, _ in runs:
        thread.join(timeout=300)
    for _, out in runs:
        assert out["state"].is_completed(), out["state"].message
        # Q2 may or may not see Q1 in time for its year-to-date warnings: both verdicts pass.
        result = out["state"].result()
        assert result["accepted"] + result["accepted_with_warnings"] == len(UNITS)
    with warehouse.engine.connect() as conn:
        per_quarter = dict(conn.execute(text(
            "SELECT quarter, COUNT(*) FROM submission "
            "WHERE status IN ('accepted', 'accepted_with_warnings') GROUP BY quarter")).all())
        facts = conn.execute(text("SELECT COUNT(*), COUNT(DISTINCT submission_id) FROM submission_indicator")).one()
        locks = conn.execute(text("SELECT COUNT(*) FROM collect_lock")).scalar_one()
    assert per_quarter == {1: len(UNITS), 2: len(UNITS)}
    assert facts[1] == 2 * len(UNITS)
    assert locks == 0, "every lock is released"


def test_a_second_run_of_the_same_quarter_waits_for_the_first(warehouse):
    _fill_inbox(warehouse, 1)
    engine = _prepared(warehouse)
    with quarter_lock(engine, 2023, 1, "the first run"):
        thread, out = _in_thread(
            collect_quarter, year=2023, quarter=1, data_dir=str(warehouse.data_dir), lock_wait_seconds=120,
        )
        time.sleep(3)
        assert thread.is_alive(), "the second run must wait while the quarter is held"
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM submission")).scalar_one() == 0
        released = time.monotonic()
    thread.join(timeout=300)
    assert out["state"].is_completed(), out["state"].message
    assert out["finished"] > released
    assert out["state"].result()["accepted"] == len(UNITS)


def test_a_run_that_cannot_wait_says_why_it_stopped(warehouse):
    _fill_inbox(warehouse, 1)
    engine = _prepared(warehouse)
    with quarter_lock(engine, 2023, 1, "the first run"):
        state = collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir), lock_wait_seconds=0, return_state=True)
    assert state.is_failed()
    assert "the first run" in state.message and "đang giữ quý này" in state.message
    # The ops team's log lines carry the machine's clock: the holder's time names its zone.
    assert re.search(r"\(từ \d\d:\d\d:\d\d giờ Việt Nam ngày \d\d/\d\d/\d{4}\)", state.message), state.message
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM submission")).scalar_one() == 0


def test_a_waiting_run_says_every_few_seconds_who_holds_the_quarter(warehouse, monkeypatch):
    engine = _prepared(warehouse)
    monkeypatch.setattr(locks, "SAY_EVERY_SECONDS", 0.5)
    said: list[str] = []
    with quarter_lock(engine, 2023, 1, "the first run"):
        with pytest.raises(QuarterBusy) as busy:
            with quarter_lock(engine, 2023, 1, "the second run", wait_seconds=2, say=said.append):
                raise AssertionError("the quarter is held: the second run must not get it")
    assert len(said) >= 2 and all("the first run" in line and "đang chờ" in line for line in said)
    assert "the first run" in str(busy.value) and "2 giây" in str(busy.value)


def test_a_record_left_by_a_killed_run_decides_nothing(warehouse):
    """A collect_lock row whose holder died (kill -9 leaves it behind) does not hold the quarter."""
    engine = _prepared(warehouse)
    just_now = dt.datetime.now(dt.timezone.utc)
    with engine.begin() as conn:
        conn.execute(insert(CollectLock.__table__), {
            "year": 2023, "quarter": 1, "holder": "killed", "acquired_at": just_now, "heartbeat_at": just_now,
        })
    with quarter_lock(engine, 2023, 1, "fresh", wait_seconds=0) as lock:
        lock.beat()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT holder FROM collect_lock")).scalar_one() == "fresh"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM collect_lock")).scalar_one() == 0


def _lose_quarter(warehouse, engine) -> None:
    """What a dropped lock connection (PostgreSQL) or a removed lock file (SQLite) does to 2023-Q1's holder."""
    if warehouse.backend == "postgresql":
        with engine.connect() as conn:
            # This database's holder only: other tests' warehouses on the same server take the same key.
            conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                "AND objid = 20231 AND objsubid = 2 "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ))
    else:
        Path(f"{engine.url.database}.collect-2023-Q1.lock").unlink()


def test_a_run_that_lost_its_quarter_commits_nothing(warehouse):
    """The lock session dropped (PostgreSQL) or the lock file removed (SQLite): the next commit is refused."""
    from warehouse.load import open_collect_run

    engine = _prepared(warehouse)
    with quarter_lock(engine, 2023, 1, "losing run", wait_seconds=0) as lock:
        lock.ensure_held()
        _lose_quarter(warehouse, engine)
        with pytest.raises(QuarterLost):
            open_collect_run(engine, year=2023, quarter=1, inbox="x", flow_run_id=None, guard=lock.ensure_held)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM collect_run")).scalar_one() == 0


def test_a_collect_that_loses_its_quarter_midway_stops_with_one_message_and_no_traceback(
        warehouse, monkeypatch, caplog):
    import flows.collect as collect_module

    engine = _prepared(warehouse)
    _fill_inbox(warehouse, 1)
    real = collect_module.fetch_history

    def losing_the_quarter(data, period):
        _lose_quarter(warehouse, engine)
        return real(data, period)

    monkeypatch.setattr(collect_module, "fetch_history", losing_the_quarter)
    with caplog.at_level(logging.INFO):
        state = collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir), return_state=True)

    assert state.is_failed()
    assert "không còn giữ quý 2023-Q1" in state.message and "chạy lại" in state.message
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM submission")).scalar_one() == 0
        assert conn.execute(text("SELECT finished_at FROM collect_run")).scalars().all() == [None]
    inbox = warehouse.data_dir / "inbox" / "2023-Q1"
    assert sorted(p.name for p in inbox.iterdir()) == [f"{code}.xlsx" for code in UNITS], "nothing received is lost"

    monkeypatch.setattr(collect_module, "fetch_history", real)
    assert collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir), return_state=True).is_completed()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM submission")).scalar_one() == len(UNITS)


def test_set_up_waits_a_bounded_time_and_names_who_holds_it(warehouse):
    from tasks.prepare import bring_up_to_date

    engine = warehouse.engine
    with schema_lock(engine):
        with pytest.raises(SetupBusy) as busy:
            bring_up_to_date(warehouse.data_dir, wait_seconds=1)
    assert f"lệnh chuẩn bị kho trên máy {socket.gethostname()} (tiến trình {os.getpid()})" in str(busy.value)
    assert bring_up_to_date(warehouse.data_dir, wait_seconds=0) > 0


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_a_collect_that_cannot_set_up_fails_naming_who_holds_set_up(warehouse, monkeypatch, caplog):
    monkeypatch.setattr(locks, "SETUP_WAIT_SECONDS", 1)
    (warehouse.data_dir / "inbox" / "2023-Q1").mkdir(parents=True)
    with schema_lock(warehouse.engine), caplog.at_level(logging.INFO):
        state = collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir), return_state=True)
    assert state.is_failed()
    assert f"(tiến trình {os.getpid()})" in state.message and "1 giây" in state.message
    # A busy warehouse is an outcome the run states, not a crash: no traceback in its log.
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_templates_cannot_be_handed_out_while_set_up_is_held_and_say_so(warehouse, monkeypatch, caplog):
    from flows.templates import hand_out_templates

    monkeypatch.setattr(locks, "SETUP_WAIT_SECONDS", 1)
    with schema_lock(warehouse.engine), caplog.at_level(logging.INFO):
        state = hand_out_templates(year=2023, quarter=1, data_dir=str(warehouse.data_dir), return_state=True)
    assert state.is_failed() and f"lệnh chuẩn bị kho trên máy {socket.gethostname()} (tiến trình {os.getpid()})" in state.message
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


def test_runs_starting_together_on_a_new_warehouse_set_it_up_once(warehouse):
    from tasks.prepare import bring_up_to_date

    errors = []

    def prepare():
        try:
            bring_up_to_date(warehouse.data_dir)
        except Exception as exc:  # the test reports every failure, whatever it is
            errors.append(exc)

    threads = [threading.Thread(target=prepare) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    with warehouse.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM programme")).scalar_one() == 1


@pytest.mark.parametrize(("holder", "shown"), [
    ("e23bb660-1c2d-4e5f-8a9b-0c1d2e3f4a5b on vm pid 22207",
     "lượt chạy e23bb660-1c2d-4e5f-8a9b-0c1d2e3f4a5b trên máy vm (tiến trình 22207)"),
    ("no-flow-run on may-chu-1 pid 7", "một lệnh p135 trên máy may-chu-1 (tiến trình 7)"),
    ("approval by Lê Thị Duyệt on vm pid 9", "lệnh phê duyệt của Lê Thị Duyệt trên máy vm (tiến trình 9)"),
    ("set-up pid 29389 on vm", "lệnh chuẩn bị kho trên máy vm (tiến trình 29389)"),
    ("the first run", "the first run"),
], ids=["flow-run", "command", "approval", "set-up", "unknown"])
def test_who_holds_a_quarter_is_said_in_vietnamese(holder, shown):
    from warehouse.locks import holder_vi

    assert holder_vi(holder) == shown
