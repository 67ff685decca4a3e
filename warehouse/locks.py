"""A lock per quarter, held in the warehouse itself, so it works whatever runs the flows."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import socket
import time
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import Engine, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from warehouse.models import CollectLock

LOCKS = CollectLock.__table__


class QuarterBusy(RuntimeError):
    """Another collect run holds the quarter."""


def holder_name(run_id: str | None) -> str:
    return f"{run_id or 'no-flow-run'} on {socket.gethostname()} pid {os.getpid()}"


class QuarterLock:
    """A held lock; `beat()` tells other runs this one is alive."""

    def __init__(self, engine: Engine, year: int, quarter: int, holder: str):
        self.engine, self.year, self.quarter, self.holder = engine, year, quarter, holder

    def _mine(self):
        return (LOCKS.c.year == self.year) & (LOCKS.c.quarter == self.quarter) & (LOCKS.c.holder == self.holder)

    def beat(self) -> None:
        with self.engine.begin() as conn:
            found = conn.execute(update(LOCKS).where(self._mine()).values(heartbeat_at=_now()))
        if found.rowcount != 1:
            raise QuarterBusy(f"the lock on {self.year}-Q{self.quarter} was taken over by another run")

    def release(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(LOCKS).where(self._mine()))


@contextmanager
def quarter_lock(
    engine: Engine,
    year: int,
    quarter: int,
    holder: str,
    *,
    wait_seconds: float = 0,
    stale_after: dt.timedelta = dt.timedelta(minutes=30),
    poll_seconds: float = 1.0,
) -> Iterator[QuarterLock]:
    """Hold the quarter for the block; wait up to `wait_seconds` for another run to finish.

    A lock whose holder has shown no sign of life for `stale_after` (a crashed run) is taken over.
    """
    deadline = time.monotonic() + wait_seconds
    while not _try_take(engine, year, quarter, holder, stale_after):
        if time.monotonic() >= deadline:
            with engine.connect() as conn:
                other = conn.execute(
                    select(LOCKS).where((LOCKS.c.year == year) & (LOCKS.c.quarter == quarter))
                ).mappings().first()
            who = f"{other['holder']}, since {other['acquired_at']:%Y-%m-%d %H:%M:%S} UTC" if other else "another run"
            raise QuarterBusy(
                f"collect of {year}-Q{quarter} is already running ({who}); "
                f"waited {wait_seconds:.0f} s. Run it again when that run has finished."
            )
        time.sleep(poll_seconds)
    lock = QuarterLock(engine, year, quarter, holder)
    try:
        yield lock
    finally:
        lock.release()


def _try_take(engine: Engine, year: int, quarter: int, holder: str, stale_after: dt.timedelta) -> bool:
    now = _now()
    try:
        with engine.begin() as conn:
            conn.execute(insert(LOCKS), {
                "year": year, "quarter": quarter, "holder": holder,
                "acquired_at": now, "heartbeat_at": now,
            })
        return True
    except IntegrityError:
        pass
    with engine.begin() as conn:
        current = conn.execute(
            select(LOCKS.c.heartbeat_at).where((LOCKS.c.year == year) & (LOCKS.c.quarter == quarter))
        ).scalar_one_or_none()
        if current is None:
            return False
        beat = current if current.tzinfo else current.replace(tzinfo=dt.timezone.utc)
        if now - beat < stale_after:
            return False
        taken = conn.execute(
            update(LOCKS)
            .where((LOCKS.c.year == year) & (LOCKS.c.quarter == quarter) & (LOCKS.c.heartbeat_at == current))
            .values(holder=holder, acquired_at=now, heartbeat_at=now)
        )
        return taken.rowcount == 1


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# Any 64-bit number unique to p135's schema changes; PostgreSQL advisory locks are keyed by it.
SCHEMA_LOCK_KEY = 135_2023_0001


@contextmanager
def schema_lock(engine: Engine) -> Iterator[None]:
    """Only one process at a time migrates the schema or loads the reference data.

    PostgreSQL: an advisory lock held by a connection of its own (other work goes on). SQLite:
    an exclusive lock on a file beside the database (SQLite warehouses live on one host).
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK_KEY})
                conn.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(f"{database}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
