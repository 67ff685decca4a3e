"""A full disk stops a run with one Vietnamese message for the ops team, not with a traceback.

Wherever the run was writing (the archive, the SQLite warehouse, a feedback workbook, a report) or
wherever the warehouse's server keeps its data, a full disk is an event to act on by freeing space
and running again, not a bug to look at.
"""

from __future__ import annotations

import errno
import functools
import inspect
import sqlite3
from pathlib import Path
from typing import Callable

from prefect.states import Failed

from tasks.run_log import drop_expected_failure_tracebacks
from warehouse.engine import data_dir as resolve_data_dir
from warehouse.engine import warehouse_url

NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
SQLITE_FULL = 13
# PostgreSQL's class 53, insufficient resources: disk_full.
POSTGRES_DISK_FULL = "53100"


def disk_full_cause(exc: BaseException | None) -> BaseException | None:
    """The full-disk error behind `exc` (itself, a cause, or a database driver's error), if any."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in NO_SPACE_ERRNOS:
            return exc
        if isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorcode", None) == SQLITE_FULL:
            return exc
        if getattr(exc, "sqlstate", None) == POSTGRES_DISK_FULL:
            return exc
        # SQLAlchemy keeps the driver's error as `orig`; Python chains the rest.
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
    return None


# PostgreSQL's class 08, connection exception, and the server shutting down (57P01-57P03).
POSTGRES_GONE = ("08", "57P01", "57P02", "57P03")


def warehouse_lost_cause(exc: BaseException | None) -> BaseException | None:
    """The lost connection to the PostgreSQL warehouse behind `exc` (the server stopped, restarted
    or unreachable mid-run), if any: an event to run again after, as a full disk is."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        state = getattr(exc, "sqlstate", None)
        if state is not None and state.startswith(POSTGRES_GONE):
            return exc
        if state is None and type(exc).__name__ == "OperationalError" and type(exc).__module__.startswith("psycopg"):
            return exc  # refused or cut before the server said anything
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
    return None


def unless_disk_full(_task, _task_run, state) -> bool:
    """A task's `retry_condition_fn`: transient I/O is tried again, a full disk is not (it stays full
    for the seconds between tries)."""
    return disk_full_cause(state.data if isinstance(state.data, BaseException) else None) is None


def where_full_vi(cause: BaseException, data: Path) -> str:
    """Which disk is full, as the ops team would look for it."""
    if getattr(cause, "sqlstate", None) == POSTGRES_DISK_FULL:
        return "Máy chủ PostgreSQL của kho dữ liệu đã hết dung lượng đĩa"
    if isinstance(cause, sqlite3.Error):
        return f"Ổ đĩa chứa kho dữ liệu ({warehouse_url(data).removeprefix('sqlite:///')}) đã đầy"
    if isinstance(cause, OSError) and cause.filename:
        return f"Ổ đĩa đã đầy, không ghi được {cause.filename}"
    return f"Ổ đĩa chứa thư mục dữ liệu ({data}) đã đầy"


WAREHOUSE_LOST_VI = (
    "Mất kết nối tới máy chủ PostgreSQL của kho dữ liệu (máy chủ dừng, khởi động lại hoặc không liên lạc được): "
    "lần chạy đã dừng. Không mất tệp nào đã nhận; phần đã ghi vào kho được giữ nguyên. Khi máy chủ hoạt động "
    "lại, hãy chạy lại lệnh: phần chưa xong sẽ được làm tiếp, không tính tệp nào hai lần."
)


def stops_when_disk_full(then_vi: str) -> Callable:
    """A flow body that fails with one message, `where_full_vi` then `then_vi`, when a disk is full;
    with WAREHOUSE_LOST_VI when the PostgreSQL warehouse's server went away mid-run.

    Put under `@flow`: the run's state then carries the message (the Prefect UI, the command's
    "Lỗi:" line and the ops team's notification all show it), and the run raises nothing more.
    """

    def decorate(body: Callable) -> Callable:
        signature = inspect.signature(body)

        @functools.wraps(body)
        def run(*args, **kwargs):
            drop_expected_failure_tracebacks()
            try:
                return body(*args, **kwargs)
            except Exception as exc:
                cause = disk_full_cause(exc)
                if cause is None and warehouse_lost_cause(exc) is not None:
                    return Failed(message=WAREHOUSE_LOST_VI)
                if cause is None:
                    raise
                # Prefect hands a flow its parameters by position as well as by name.
                data = resolve_data_dir(signature.bind_partial(*args, **kwargs).arguments.get("data_dir"))
                return Failed(message=f"{where_full_vi(cause, data)}: lần chạy đã dừng. {then_vi}")

        # Prefect reads a flow's parameter types in the globals of the function it is given, this
        # module's: the body's annotations (strings under `from __future__ import annotations`, such
        # as `dt.date`) are evaluated in the body's own module instead.
        run.__signature__ = inspect.signature(body, eval_str=True)
        run.__annotations__ = inspect.get_annotations(body, eval_str=True)
        return run

    return decorate
