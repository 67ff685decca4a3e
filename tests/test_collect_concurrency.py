"""Collect runs at the same time: other quarters land side by side, one quarter never interleaves."""

from __future__ import annotations

import datetime as dt
import threading
import time

from sqlalchemy import insert, text

from flows.collect import collect_quarter
from reporting.periods import LOCAL_TZ, Period
from reporting.programme import all_programmes
from reporting.units import load_registry
from tests.workbooks import save, submission
from warehouse.locks import QuarterBusy, quarter_lock
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
    assert "already running (the first run" in state.message
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM submission")).scalar_one() == 0


def test_a_crashed_run_leaves_a_stale_lock_that_is_taken_over(warehouse):
    engine = _prepared(warehouse)
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
    with engine.begin() as conn:
        conn.execute(insert(CollectLock.__table__), {
            "year": 2023, "quarter": 1, "holder": "crashed", "acquired_at": long_ago, "heartbeat_at": long_ago,
        })
    try:
        with quarter_lock(engine, 2023, 1, "fresh", wait_seconds=0, stale_after=dt.timedelta(hours=3)):
            raise AssertionError("a lock younger than stale_after must not be taken over")
    except QuarterBusy:
        pass
    with quarter_lock(engine, 2023, 1, "fresh", wait_seconds=0, stale_after=dt.timedelta(minutes=30)) as lock:
        lock.beat()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT holder FROM collect_lock")).scalar_one() == "fresh"


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
