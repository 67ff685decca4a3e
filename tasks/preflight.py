"""Settings checked before any flow starts, in a few seconds: each problem is one Vietnamese line
naming the setting and its cause, for the person who set it."""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from tasks.notify import NOTIFY_ENV, block_ref_problem
from tasks.runners import (
    BATCH_SIZE_ENV,
    DASK,
    DASK_ADDRESS_ENV,
    PARALLEL_BATCHES_ENV,
    READ_WORKERS_ENV,
    SettingValueError,
    dask_cluster_problem,
    int_from_env,
    runner_from_env,
)
from warehouse.engine import URL_ENV, sqlite_file, warehouse_url

CONNECT_TIMEOUT_SECONDS = 5
# Below this a run could fail half-way through writing the archive or the warehouse.
MIN_FREE_BYTES = 16 * 1024 * 1024
SUPPORTED_BACKENDS = ("sqlite", "postgresql")


class SettingError(Exception):
    """A setting that stops p135 before it starts; the message is for the person who set it."""


def check_data_dir(data: Path, setting: str, need_room: bool = True) -> None:
    """The data directory exists or can be made, takes a write, and (with `need_room`) has room."""
    where = f"{setting} ({data})"
    try:
        data.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=data, prefix=".p135-probe-") as probe:
            probe.write(b"\0" * 65536)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        raise SettingError(f"{where}: không ghi được vào thư mục dữ liệu: {os_reason(exc)}.") from None
    for folder in _written_folders(data):
        try:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".p135-probe-"):
                pass
        except OSError as exc:
            raise SettingError(f"{where}: không ghi được vào thư mục {folder}: {os_reason(exc)}.") from None
    free = shutil.disk_usage(data).free
    if need_room and free < MIN_FREE_BYTES:
        raise SettingError(
            f"{where}: thư mục dữ liệu gần đầy (chỉ còn {free // 1024} KB trống); "
            "hãy giải phóng dung lượng hoặc chọn thư mục khác."
        )


# The data directory's folders p135 writes into during a run; a run that found one read-only only
# half-way (after archiving, say) would fail with the system's words.
WRITTEN_FOLDERS = ("archive", "feedback", "reports")


def _written_folders(data: Path) -> list[Path]:
    """The folders a run writes into that exist already: each of WRITTEN_FOLDERS, and the
    quarters' and years' folders inside feedback and reports."""
    found = []
    for name in WRITTEN_FOLDERS:
        folder = data / name
        if not folder.is_dir():
            continue
        found.append(folder)
        if name != "archive":  # the archive's own folders are many and made by p135 alone
            try:
                found += sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink())
            except OSError:
                continue  # its own probe says why
    return found


def check_output_dir(out: Path, setting: str) -> None:
    """A folder the command writes its files to exists or can be made, and takes a file."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".p135-probe-"):
            pass
    except OSError as exc:
        raise SettingError(f"{setting} ({out}): không ghi được vào thư mục này: {os_reason(exc)}.") from None


def os_reason(exc: OSError) -> str:
    """Why a file operation failed, in Vietnamese (the system's own words when p135 has none)."""
    reasons = {
        errno.EROFS: "ổ đĩa chỉ cho phép đọc",
        errno.EACCES: "không có quyền ghi",
        errno.EPERM: "không có quyền ghi",
        errno.ENOSPC: "ổ đĩa đã đầy",
        errno.EDQUOT: "đã hết hạn mức dung lượng",
        errno.ENOTDIR: "đường dẫn không phải là thư mục",
        errno.EISDIR: "đường dẫn là một thư mục, không phải tệp",
        errno.EEXIST: "đường dẫn không phải là thư mục",
        errno.ENOENT: "không tạo được thư mục",
    }
    return reasons.get(exc.errno, exc.strerror or str(exc))


def check_run_settings() -> str:
    """P135_TASK_RUNNER names a runner p135 has, its Dask scheduler address looks like one, and the
    batch settings are positive whole numbers. Returns the runner's name."""
    try:
        kind = runner_from_env()
        for name in (BATCH_SIZE_ENV, READ_WORKERS_ENV, PARALLEL_BATCHES_ENV):
            int_from_env(name, 1)
    except SettingValueError as exc:
        raise SettingError(str(exc)) from None
    address = os.environ.get(DASK_ADDRESS_ENV, "").strip()
    if address and kind != DASK:
        raise SettingError(
            f"{DASK_ADDRESS_ENV} được đặt ({address}) nhưng P135_TASK_RUNNER không phải '{DASK}': "
            f"hãy đặt P135_TASK_RUNNER={DASK} để dùng cụm Dask, hoặc bỏ đặt {DASK_ADDRESS_ENV}."
        )
    if address and not re.match(r"^(tcp|tls|inproc|ucx|ws|wss)://[^\s/]+$|^[^\s:/]+:\d+$", address):
        raise SettingError(
            f"{DASK_ADDRESS_ENV}={address!r}: không phải địa chỉ bộ lập lịch Dask; "
            "hãy ghi theo dạng tcp://máy_chủ:8786."
        )
    block = os.environ.get(NOTIFY_ENV, "").strip()
    if block and (problem := block_ref_problem(block, NOTIFY_ENV)):
        raise SettingError(problem)
    return kind


def check_cluster() -> None:
    """With P135_TASK_RUNNER=dask and a scheduler address: the cluster answers, has a worker, and
    its workers may start the parsing processes (only the collect reads on the cluster)."""
    if runner_from_env() != DASK:
        return
    address = os.environ.get(DASK_ADDRESS_ENV, "").strip()
    if address and (problem := dask_cluster_problem(address)):
        raise SettingError(problem)


def check_warehouse(data: Path, *, connect: bool = True, writes: bool = True, read_only_ok: bool = False) -> str:
    """The warehouse URL parses, names a backend p135 supports, and (with `connect`) answers
    within CONNECT_TIMEOUT_SECONDS; a SQLite warehouse's folder takes a file when the command
    `writes` (its lock files lie beside it); unless `read_only_ok`, the login may write (not an
    analyst's, not a `mode=ro` URL). Returns the URL as safe to show (no password)."""
    setting = URL_ENV if os.environ.get(URL_ENV) is not None else f"kho SQLite mặc định trong {data}"
    try:
        raw = warehouse_url(data)
    except RuntimeError:
        raise SettingError(f"{URL_ENV}: biến được đặt nhưng để trống; hãy bỏ đặt hoặc ghi địa chỉ kho dữ liệu.") from None
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):
        raise SettingError(
            f"{URL_ENV}: không phải là địa chỉ kết nối hợp lệ; dạng đúng: "
            "postgresql+psycopg://người_dùng@máy_chủ:5432/tên_kho hoặc sqlite:///đường/dẫn/warehouse.db."
        ) from None
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() not in SUPPORTED_BACKENDS:
        raise SettingError(f"{setting}: {shown}: p135 chỉ dùng SQLite hoặc PostgreSQL, không dùng {url.get_backend_name()}.")
    try:
        engine = create_engine(url, **_probe_args(url))
    except (NoSuchModuleError, ImportError):
        raise SettingError(
            f"{setting}: {shown}: không có trình điều khiển '{url.drivername}'; "
            "với PostgreSQL hãy dùng postgresql+psycopg://."
        ) from None
    except (ArgumentError, ValueError, TypeError) as exc:
        raise SettingError(f"{setting}: {shown}: địa chỉ không dùng được ({exc}).") from None
    if not connect or _new_sqlite_file(url, writes):
        engine.dispose()
        return shown
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            read_only = not read_only_ok and _read_only(conn, url)
    except SQLAlchemyError as exc:
        raise SettingError(f"{setting}: {shown}: {_connect_reason(url, exc)}.") from None
    finally:
        engine.dispose()
    if read_only:
        raise SettingError(
            f"{setting}: {shown}: địa chỉ hoặc tài khoản này chỉ được đọc kho (như của người phân tích), "
            "mà lệnh này ghi vào kho. Hãy dùng địa chỉ kho của p135."
        )
    return shown


def _read_only(conn, url: URL) -> bool:
    """Whether the connection may only read: a login whose transactions are read-only by default
    (an analyst's, see warehouse.roles), one that may not write p135's own tables (an analyst who
    turned that default off), or a SQLite URI opened `mode=ro` or `immutable=1`."""
    if url.get_backend_name() == "postgresql":
        return conn.execute(text(
            "SELECT current_setting('transaction_read_only') = 'on' "
            "OR (to_regclass('public.collect_run') IS NOT NULL "
            "    AND NOT has_table_privilege('public.collect_run', 'INSERT'))"
        )).scalar()
    return url.query.get("mode") == "ro" or url.query.get("immutable") == "1"


def _new_sqlite_file(url: URL, writes: bool = True) -> bool:
    """A SQLite warehouse not created yet: connecting would create it; its folder was probed instead.
    An existing one's folder is probed too when the command writes: its lock files are made there."""
    path = sqlite_file(url)
    if path is None:
        return False
    exists = path.exists()
    if exists and not writes:
        return False
    try:
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".p135-probe-"):
            pass
    except OSError as exc:
        if exists:
            raise SettingError(
                f"kho SQLite {path}: không ghi được vào thư mục {path.parent} (p135 đặt tệp khóa bên cạnh kho): "
                f"{os_reason(exc)}."
            ) from None
        raise SettingError(f"kho SQLite {path}: không tạo được tệp trong thư mục {path.parent}: {os_reason(exc)}.") from None
    return not exists


def _probe_args(url: URL) -> dict:
    if url.get_backend_name() == "postgresql":
        return {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_SECONDS}, "poolclass": _null_pool()}
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        path = Path(url.database)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SettingError(f"kho SQLite {path}: không tạo được thư mục {path.parent}: {os_reason(exc)}.") from None
    return {"connect_args": {"timeout": CONNECT_TIMEOUT_SECONDS}, "poolclass": _null_pool()}


def _null_pool():
    from sqlalchemy.pool import NullPool

    return NullPool


def _connect_reason(url: URL, exc: SQLAlchemyError) -> str:
    """The cause of a failed connection, in Vietnamese, from the driver's message."""
    message = str(getattr(exc, "orig", None) or exc)
    lowered = message.lower()
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    if url.get_backend_name() == "sqlite":
        if "unable to open" in lowered:
            return "không mở được tệp kho SQLite (thư mục không tồn tại hoặc không có quyền ghi)"
        if "not a database" in lowered:
            return "tệp này không phải là kho SQLite"
        return f"không mở được kho SQLite: {message.splitlines()[0]}"
    if "does not exist" in lowered and "database" in lowered:
        return f"cơ sở dữ liệu '{url.database}' không tồn tại trên máy chủ {where}"
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return f"máy chủ {where} từ chối đăng nhập của '{url.username}' (sai tên hoặc mật khẩu)"
    if "role" in lowered and "does not exist" in lowered:
        return f"máy chủ {where} không có người dùng '{url.username}'"
    if "could not translate host name" in lowered or "name or service not known" in lowered \
            or "nodename nor servname" in lowered or "temporary failure in name resolution" in lowered:
        return f"không tìm thấy máy chủ '{url.host}'"
    if "connection refused" in lowered:
        return f"máy chủ {where} không nhận kết nối (sai cổng, hoặc PostgreSQL chưa chạy)"
    if "timeout" in lowered or "timed out" in lowered:
        return f"máy chủ {where} không trả lời trong {CONNECT_TIMEOUT_SECONDS} giây (sai địa chỉ, hoặc tường lửa chặn)"
    return f"không kết nối được: {message.strip().splitlines()[0] if message.strip() else type(exc).__name__}"
