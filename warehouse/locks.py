"""Locks that die with their holder: one per quarter being collected, one per year being
published, one for set-up.

PostgreSQL: a session advisory lock held by a connection of its own, outside the pool, for the
whole run; the server releases it when that session ends, however the holder died. SQLite: a
`flock` on a file beside the warehouse; the kernel releases it when the holder's descriptor
closes, also on kill -9. (`flock`, not POSIX `lockf`: lockf locks belong to the whole process, so
two runs in threads of one process would both "hold" the quarter.)

Nothing here decides by a row or a timestamp: the `collect_lock` row only records, for people,
who holds the quarter. A run that cannot get a lock waits a bounded time, saying every few
seconds who holds it, then gives up with a message naming the holder.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
import socket
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from sqlalchemy import Connection, Engine, create_engine, delete, insert, select, text, update
from sqlalchemy.pool import NullPool

from reporting.periods import LOCAL_TZ
from warehouse.engine import sqlite_file
from warehouse.models import CollectLock

LOCKS = CollectLock.__table__
# PostgreSQL advisory keys: a quarter is (QUARTER_LOCK_CLASS, year * 10 + quarter) in the
# two-int4 key space; set-up is one bigint. Advisory locks are per database, so two warehouses on
# one server never share them.
QUARTER_LOCK_CLASS = 1350
PUBLISH_LOCK_CLASS = 1351
SCHEMA_LOCK_KEY = 135_2023_0001
SETUP_WAIT_SECONDS = 120
SAY_EVERY_SECONDS = 5.0
Say = Callable[[str], None]


class QuarterBusy(RuntimeError):
    """Another run (or session) held the quarter for longer than this run would wait."""


class QuarterLost(RuntimeError):
    """This run no longer holds its quarter (its lock connection dropped, or its lock file went)."""


class PublishBusy(RuntimeError):
    """Another run was publishing the year for longer than this run would wait."""


class SetupBusy(RuntimeError):
    """Someone held the set-up lock for longer than set-up waits."""


class TablesBusy(SetupBusy):
    """A try of set-up met a table or view that another session holds in an open transaction."""

    def __init__(self, holders: str, waited_seconds: float):
        super().__init__(
            f"Không chuẩn bị được kho dữ liệu: {holders} đang mở giao dịch trên các bảng "
            f"cần nâng cấp, đã chờ {waited_seconds:.0f} giây. Hãy chạy lại sau khi phiên đó kết thúc."
        )
        self.holders = holders


def holder_name(run_id: str | None) -> str:
    return f"{run_id or 'no-flow-run'} on {socket.gethostname()} pid {os.getpid()}"


HOLDER = re.compile(r"^(?P<who>.*) on (?P<host>\S+) pid (?P<pid>\d+)$")
APPROVAL_BY = "approval by "


SETUP_HOLDER = re.compile(r"^set-up pid (?P<pid>\d+) on (?P<host>\S+)$")


def holder_vi(holder: str) -> str:
    """A holder recorded by holder_name (or by set-up), as people read it: 'lượt chạy 3f2a... trên
    máy vm (tiến trình 22207)'."""
    setup = SETUP_HOLDER.match(holder)
    if setup is not None:
        return f"lệnh chuẩn bị kho trên máy {setup['host']} (tiến trình {setup['pid']})"
    found = HOLDER.match(holder)
    if found is None:
        return holder
    who = found["who"]
    if who.startswith(APPROVAL_BY):
        who = f"lệnh phê duyệt của {who[len(APPROVAL_BY):]}"
    elif who == "no-flow-run":
        who = "một lệnh p135"
    else:
        who = f"lượt chạy {who}"
    return f"{who} trên máy {found['host']} (tiến trình {found['pid']})"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _local(moment: dt.datetime) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    return f"{moment.astimezone(LOCAL_TZ):%H:%M:%S giờ Việt Nam ngày %d/%m/%Y}"


class _AdvisoryLock:
    """A PostgreSQL session advisory lock on an AUTOCOMMIT connection outside the engine's pool.

    A pooled connection would keep the lock when returned to the pool; a dropped one loses it
    silently, hence `held()` before every commit.
    """

    def __init__(self, engine: Engine, keys: tuple[int, ...], label: str):
        self.keys = keys
        self.params = {f"k{i}": k for i, k in enumerate(keys)}
        self.args = ", ".join(f":k{i}" for i in range(len(keys)))
        self._engine = create_engine(
            engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT",
            connect_args={"application_name": f"p135 {label}"[:63], "keepalives": 1,
                          "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3},
        )
        self._conn: Connection | None = None

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self._engine.connect()
        return self._conn

    def try_acquire(self) -> bool:
        return bool(self._connection().execute(text(f"SELECT pg_try_advisory_lock({self.args})"), self.params).scalar())

    def held(self) -> bool:
        try:
            found = self._connection().execute(text(
                f"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                f"AND pid = pg_backend_pid() AND {_key_match(self.keys)}"
            ), self.params).scalar()
        except Exception:  # the session is gone, and its lock with it
            return False
        return found == 1

    def holders(self, engine: Engine) -> list[dict]:
        """The sessions holding this lock: pid, user, application, since when."""
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(
                f"SELECT l.pid, a.usename, a.application_name, a.backend_start FROM pg_locks l "
                f"LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
                f"WHERE l.locktype = 'advisory' AND l.granted "
                f"AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                f"AND {_key_match(self.keys, 'l.')}"
            ), self.params).mappings()]

    def close(self) -> None:
        """Release, then end the session. The server drops a session's locks when it ends, but
        only once its backend has exited, a moment after the client closed: a run that takes the
        lock next without waiting would find it still held."""
        try:
            if self._conn is not None:
                # Only when held: unlocking a lock it does not hold makes the server warn.
                if self.held():
                    try:
                        self._conn.execute(text(f"SELECT pg_advisory_unlock({self.args})"), self.params)
                    except Exception:  # the session went meanwhile, and its lock with it
                        pass
                self._conn.close()
        finally:
            self._conn = None
            self._engine.dispose()


def _key_match(keys: tuple[int, ...], prefix: str = "") -> str:
    """pg_locks columns of an advisory key: one bigint is (high, low, 1); two int4 are (a, b, 2)."""
    if len(keys) == 1:
        return (f"{prefix}classid::bigint = (:k0 >> 32) AND {prefix}objid::bigint = (:k0 & 4294967295) "
                f"AND {prefix}objsubid = 1")
    return f"{prefix}classid::bigint = :k0 AND {prefix}objid::bigint = :k1 AND {prefix}objsubid = 2"


class _FileLock:
    """An exclusive `flock` on a file beside the SQLite warehouse; its text names the holder."""

    def __init__(self, path: str):
        self.path = path
        self._fd: int | None = None

    def try_acquire(self, holder: str) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        if not self._same_file(fd):  # removed by hand while we waited: lock the new one
            os.close(fd)
            return self.try_acquire(holder)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{holder}\t{_now().isoformat()}\n".encode(), 0)
        self._fd = fd
        return True

    def _same_file(self, fd: int) -> bool:
        try:
            return os.stat(self.path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            return False

    def held(self) -> bool:
        return self._fd is not None and self._same_file(self._fd)

    def holder(self) -> tuple[str, dt.datetime | None] | None:
        try:
            with open(self.path, encoding="utf-8", errors="replace") as handle:
                who, _, since = handle.read().strip().partition("\t")
        except FileNotFoundError:
            return None
        try:
            return who, dt.datetime.fromisoformat(since)
        except ValueError:
            return (who, None) if who else None

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the descriptor releases the flock


def _lock_file(engine: Engine, suffix: str) -> str | None:
    path = sqlite_file(engine.url)
    return None if path is None else f"{path}{suffix}"


def _wait_for(try_acquire: Callable[[], bool], who: Callable[[], str], waiting: Callable[[str, float], str],
              wait_seconds: float, say: Say | None, poll_seconds: float) -> str | None:
    """Try until acquired (None) or `wait_seconds` passed (the holder's description)."""
    started = time.monotonic()
    said = started - SAY_EVERY_SECONDS  # the first failed try says so at once
    while not try_acquire():
        now = time.monotonic()
        if now - started >= wait_seconds:
            return who()
        if say is not None and now - said >= SAY_EVERY_SECONDS:
            said = now
            say(waiting(who(), now - started))
        time.sleep(min(poll_seconds, max(0.0, wait_seconds - (now - started))) or 0.01)
    return None


def _describe_sessions(sessions: list[dict], record: dict | None) -> str:
    """Who holds a PostgreSQL advisory lock, as people read it."""
    if not sessions:
        return "một lượt chạy vừa kết thúc"
    s = sessions[0]
    if (s.get("application_name") or "").startswith("p135") and record is not None:
        return f"{holder_vi(record['holder'])} (từ {_local(record['acquired_at'])})"
    user = s.get("usename") or "không rõ"
    since = f", mở lúc {_local(s['backend_start'])}" if s.get("backend_start") else ""
    app = s.get("application_name") or ""
    if app.startswith("p135 "):
        said = holder_vi(app[5:])
        what = said if said != app[5:] else f"lượt chạy p135 «{app[5:]}»"
    else:
        what = f"người dùng PostgreSQL «{user}»"
    return f"{what} (phiên pid {s['pid']}{since})"


class QuarterLock:
    """The quarter held by this run; `ensure_held()` raises if it was lost, `beat()` records life."""

    def __init__(self, engine: Engine, year: int, quarter: int, holder: str):
        self.engine, self.year, self.quarter, self.holder = engine, year, quarter, holder
        self.key = f"{year}-Q{quarter}"
        path = _lock_file(engine, f".collect-{self.key}.lock")
        self._file = _FileLock(path) if path else None
        self._advisory = (
            _AdvisoryLock(engine, (QUARTER_LOCK_CLASS, year * 10 + quarter), f"collect {self.key} {holder}")
            if engine.dialect.name == "postgresql" else None
        )

    def try_acquire(self) -> bool:
        if self._file is not None:
            return self._file.try_acquire(self.holder)
        if self._advisory is not None:
            return self._advisory.try_acquire()
        return True

    def held_by(self) -> str:
        """Who holds the quarter now, as people read it."""
        if self._file is not None:
            found = self._file.holder()
            if not found:
                return "một lượt chạy vừa kết thúc"
            who, since = found
            return holder_vi(who) + (f" (từ {_local(since)})" if since else "")
        if self._advisory is not None:
            return _describe_sessions(self._advisory.holders(self.engine), self._record())
        return "một lượt chạy khác"

    def _record(self) -> dict | None:
        try:
            with self.engine.connect() as conn:
                found = conn.execute(select(LOCKS).where(self._this_quarter())).mappings().first()
            return dict(found) if found else None
        except Exception:  # only a description: never let it hide why the run is waiting
            return None

    def _this_quarter(self):
        return (LOCKS.c.year == self.year) & (LOCKS.c.quarter == self.quarter)

    def ensure_held(self) -> None:
        """Raise QuarterLost unless this run still holds the quarter (called before each commit)."""
        lock = self._file or self._advisory
        if lock is not None and not lock.held():
            raise QuarterLost(
                f"Lượt chạy này không còn giữ quý {self.key} (mất kết nối giữ khóa hoặc tệp khóa bị xóa); "
                "dừng lại, không ghi gì thêm. Hãy chạy lại lệnh thu thập."
            )

    def beat(self) -> None:
        """Check the quarter is still held and record a sign of life for people reading collect_lock."""
        self.ensure_held()
        try:
            with self.engine.begin() as conn:
                conn.execute(update(LOCKS).where(self._this_quarter()).values(heartbeat_at=_now()))
        except Exception:  # a record only: the lock itself is not in this row
            pass

    def _write_record(self) -> None:
        now = _now()
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(LOCKS).where(self._this_quarter()))
                conn.execute(insert(LOCKS), {"year": self.year, "quarter": self.quarter, "holder": self.holder[:200],
                                             "acquired_at": now, "heartbeat_at": now})
        except Exception:  # a record only: a missing period row or a full disk must not stop the run here
            pass

    def __enter__(self) -> QuarterLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def release(self) -> None:
        """Drop the record (best effort), then the lock itself, which never fails to go."""
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(LOCKS).where(self._this_quarter() & (LOCKS.c.holder == self.holder[:200])))
        except Exception:  # e.g. disk full: the next holder overwrites the record anyway
            pass
        finally:
            for lock in (self._file, self._advisory):
                if lock is not None:
                    lock.close()


def take_quarter(
    engine: Engine,
    year: int,
    quarter: int,
    holder: str,
    *,
    wait_seconds: float = 0,
    poll_seconds: float = 0.5,
    say: Say | None = None,
) -> QuarterLock:
    """Take the quarter, waiting up to `wait_seconds` for its holder and saying who it is through
    `say` every few seconds; raise QuarterBusy naming it. Use the lock as a context manager."""
    lock = QuarterLock(engine, year, quarter, holder)
    try:
        busy = _wait_for(
            lock.try_acquire, lock.held_by,
            lambda who, waited: (f"Quý {lock.key} đang do {who} giữ; đang chờ "
                                 f"(đã chờ {waited:.0f}/{wait_seconds:.0f} giây)."),
            wait_seconds, say, poll_seconds,
        )
    except BaseException:
        lock.release()
        raise
    if busy is not None:
        lock.release()
        raise QuarterBusy(
            f"Không thu thập quý {lock.key}: {busy} đang giữ quý này và sau {wait_seconds:.0f} giây chờ vẫn "
            "chưa xong. Hãy chạy lại khi lượt đó kết thúc."
        )
    lock._write_record()
    return lock


@contextmanager
def quarter_lock(engine: Engine, year: int, quarter: int, holder: str, **wait) -> Iterator[QuarterLock]:
    """Hold the quarter for the block (see take_quarter for waiting)."""
    with take_quarter(engine, year, quarter, holder, **wait) as lock:
        yield lock


def _process_lock(engine: Engine, file_suffix: str, keys: tuple[int, ...], label: str, holder: str,
                  describe_file: Callable[[tuple[str, dt.datetime | None] | None], str]):
    """(lock, try_acquire, who holds it) on this warehouse's backend: a flock beside a SQLite file,
    an advisory lock on PostgreSQL; None where neither applies (an in-memory database)."""
    path = _lock_file(engine, file_suffix)
    if path is not None:
        lock = _FileLock(path)
        return lock, lambda: lock.try_acquire(holder), lambda: describe_file(lock.holder())
    if engine.dialect.name == "postgresql":
        advisory = _AdvisoryLock(engine, keys, label)
        return advisory, advisory.try_acquire, lambda: _describe_sessions(advisory.holders(engine), None)
    return None


@contextmanager
def _hold(held, wait_seconds: float, poll_seconds: float, say: Say | None,
          waiting: Callable[[str, float], str], busy: Callable[[str], Exception]) -> Iterator[None]:
    """Hold a `_process_lock` for the block, waiting as `_wait_for` does; raise `busy(holder)` when
    the wait runs out. The lock goes with the block, or with the process."""
    if held is None:
        yield
        return
    lock, acquire, who = held
    try:
        holder = _wait_for(acquire, who, waiting, wait_seconds, say, poll_seconds)
        if holder is not None:
            raise busy(holder)
        yield
    finally:
        lock.close()


@contextmanager
def schema_lock(engine: Engine, *, wait_seconds: float = SETUP_WAIT_SECONDS, poll_seconds: float = 0.5,
                say: Say | None = None) -> Iterator[None]:
    """Only one process at a time migrates the schema or loads the reference data.

    Waits up to `wait_seconds` (saying who holds it every few seconds), then raises SetupBusy
    naming the holder: a session that holds the key (an analyst's, say) cannot stall a run.
    """
    held = _process_lock(
        engine, ".lock", (SCHEMA_LOCK_KEY,), f"set-up pid {os.getpid()} on {socket.gethostname()}",
        f"set-up pid {os.getpid()} on {socket.gethostname()}",
        lambda found: holder_vi(found[0]) if found else "một tiến trình khác",
    )
    with _hold(
        held, wait_seconds, poll_seconds, say,
        lambda holder, waited: (f"Đang chờ {holder} chuẩn bị xong kho dữ liệu "
                                f"(đã chờ {waited:.0f}/{wait_seconds:.0f} giây)."),
        lambda holder: SetupBusy(
            f"Không chuẩn bị được kho dữ liệu (nâng cấp lược đồ, nạp chương trình và danh mục đơn vị): "
            f"{holder} giữ khóa chuẩn bị đã hơn {wait_seconds:.0f} giây. Hãy chạy lại sau; nếu vẫn vậy, "
            "hãy kết thúc phiên đó."
        ),
    ):
        yield


@contextmanager
def publish_lock(engine: Engine, year: int, holder: str, *, wait_seconds: float = 600, poll_seconds: float = 0.5,
                 say: Say | None = None) -> Iterator[None]:
    """One publication of a year at a time: a second run waits for the first, then finds the
    version it recorded instead of numbering the same version again. Waits up to `wait_seconds`
    (saying who publishes every few seconds), then raises PublishBusy naming the holder."""
    held = _process_lock(
        engine, f".publish-{year}.lock", (PUBLISH_LOCK_CLASS, year), f"publish {year} {holder}", holder,
        lambda found: (f"lượt công bố ({holder_vi(found[0])})" + (f" (từ {_local(found[1])})" if found[1] else "")) if found
        else "một lượt công bố vừa kết thúc",
    )
    with _hold(
        held, wait_seconds, poll_seconds, say,
        # holder_now names the run ("lượt công bố (…) (từ …)"): the sentence is built around it.
        lambda holder_now, waited: (f"Năm {year}: đang chờ {holder_now} xong, mỗi năm một lượt công bố một lúc "
                                    f"(đã chờ {waited:.0f}/{wait_seconds:.0f} giây)."),
        lambda holder_now: PublishBusy(
            f"Không công bố năm {year}: {holder_now} vẫn chưa xong sau {wait_seconds:.0f} giây chờ. "
            "Hãy chạy lại khi lượt đó kết thúc."
        ),
    ):
        yield


LOCK_NOT_AVAILABLE = "55P03"
# How long one statement of set-up waits for a table another session holds. A statement waiting
# for a view's exclusive lock queues every reader behind it: short tries, retried until the
# set-up's own wait runs out, let the other analysts' queries through in between.
SETUP_LOCK_TRY_SECONDS = 2.0


@contextmanager
def setup_session(
    engine: Engine, *, wait_seconds: float = SETUP_WAIT_SECONDS, say: Say | None = None,
    lock_try_seconds: float | None = None,
) -> Iterator[Engine]:
    """Hold the set-up lock and give an engine for the set-up itself whose waits are bounded too.

    On PostgreSQL a migration or a view recreated by a programme load needs tables no one is
    reading in an open transaction; an analyst's idle transaction would otherwise stall it for
    ever. Its statements give up after `lock_try_seconds` (default `wait_seconds`; lock_timeout),
    raising TablesBusy, which names who holds the tables.
    """
    with schema_lock(engine, wait_seconds=wait_seconds, say=say):
        if engine.dialect.name != "postgresql":
            yield engine
            return
        timeout = min(wait_seconds, lock_try_seconds or wait_seconds)
        bounded = create_engine(engine.url, poolclass=NullPool,
                                connect_args={"options": f"-c lock_timeout={max(1, int(timeout * 1000))}"})
        try:
            yield bounded
        except Exception as exc:
            if getattr(getattr(exc, "orig", None), "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            raise TablesBusy(_table_holders(engine), wait_seconds) from exc
        finally:
            bounded.dispose()


def _table_holders(engine: Engine) -> str:
    """The other sessions holding locks on tables or views of this warehouse, as people read it."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT DISTINCT l.pid, a.usename, a.xact_start FROM pg_locks l "
            "JOIN pg_class c ON c.oid = l.relation "
            "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public' "
            "LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid() "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "ORDER BY l.pid"
        )).mappings().all()
    if not rows:
        return "một phiên khác"
    return ", ".join(
        f"người dùng PostgreSQL «{r['usename'] or 'không rõ'}» (phiên pid {r['pid']}"
        + (f", giao dịch mở từ {_local(r['xact_start'])}" if r["xact_start"] else "") + ")"
        for r in rows[:3]
    )
