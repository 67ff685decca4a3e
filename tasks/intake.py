"""Receiving files: find what waits in an inbox and archive every original by its content.

Only regular files inside the inbox are ever read. Each entry is looked at without following it
(lstat), opened with O_NOFOLLOW | O_NONBLOCK (a symlink swapped in fails, a FIFO does not block)
and checked again on the open descriptor; the archive copy and its hash come from that same
descriptor. Symlinks, FIFOs, devices, sockets and folders are refused with a verdict of their
own and never opened. Names are bytes: any name the file system allows is kept as it is.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import functools
import hashlib
import os
import secrets
import stat
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from reporting.periods import LOCAL_TZ, Period
from tasks.disk_full import unless_disk_full
from warehouse.engine import engine_for
from warehouse.load import Arrival, Refusal, display_name, received_for_other_quarters, received_hashes

IGNORED_PREFIXES = (b".", b"~$")
# Files named one by one inside an inbox's subfolder (each unit's file there is told to its unit).
FOLDER_FILES_SHOWN = 500
FOLDER_DEPTH = 4
# Temporary copies being written into the archive; a dead run's are removed by the next run.
PARTIAL_PREFIX = ".partial-"
# A file up to this size is hashed in memory and written only when its content is new.
IN_MEMORY_BYTES = 8 * 1024 * 1024
# Files archived at once: reading and hashing release the GIL, so an unchanged quarter is hashed at
# about the disk's pace rather than one file's latency at a time.
ARCHIVE_THREADS = 4
# New copies made durable together. Each keeps its descriptor, and so its flock, until it is renamed:
# a group (two at most are open: one read, one placed) bounds how many descriptors are open at once.
DURABLE_GROUP = 256
# fsyncs waited on at once: the disk (and a journal, where there is one) serves many together in little
# more than the time of one.
SYNC_THREADS = 32
OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC

WHAT_VI = {
    "symlink": "một liên kết (symlink) trỏ tới nơi khác",
    "directory": "một thư mục",
    "fifo": "một đường ống (FIFO)",
    "device": "một thiết bị (device)",
    "socket": "một socket",
    "other": "một mục đặc biệt của hệ thống tệp",
}


@dataclass(frozen=True)
class InboxEntry:
    """A regular file found in the inbox, by its name as bytes."""

    name_raw: bytes

    @property
    def name(self) -> str:
        return display_name(self.name_raw)


def kind_of(mode: int) -> str:
    """What an inbox entry is, from its lstat mode."""
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "other"


def refusal(name_raw: bytes, kind: str) -> Refusal:
    """The verdict on an entry that is not a regular file, naming what it is, in Vietnamese."""
    if kind == "directory":
        advice = "Các thư mục con trong hộp thư không được đọc: hãy đặt tệp báo cáo trực tiếp vào hộp thư."
    else:
        advice = "Hãy đặt chính tệp báo cáo (bản sao thật của tệp) vào hộp thư."
    reason = f"Mục này là {WHAT_VI[kind]}, không phải một tệp: không được mở hay đọc. {advice}"
    return Refusal(display_name(name_raw), name_raw, kind, reason)


def in_folder(folder_raw: bytes, name_raw: bytes) -> Refusal:
    """The verdict on a file inside a subfolder of the inbox: named by its path, so that the unit
    whose code it carries is told the file came and why it was not read."""
    folder = display_name(folder_raw)
    return Refusal(
        display_name(folder_raw + b"/" + name_raw), folder_raw + b"/" + name_raw, "directory",
        f'Tệp nằm trong thư mục con "{folder}" của hộp thư nên không được đọc: tệp báo cáo phải nằm thẳng '
        "trong thư mục nhận báo cáo (người quản trị hộp thư chuyển tệp ra ngoài rồi thu nhận lại).",
    )


def folder_files(dir_fd: int, folder_raw: bytes, depth: int = 0) -> list[bytes]:
    """The paths, below an inbox's subfolder, of the regular files in it and in its own subfolders
    (FOLDER_DEPTH levels; none opened, no link followed; at most FOLDER_FILES_SHOWN: a folder of
    a whole archive is told by its own line)."""
    try:
        fd = os.open(folder_raw, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return []
    try:
        names: list[bytes] = []
        for name_raw in sorted(os.fsencode(n) for n in os.listdir(fd)):
            if name_raw.startswith(IGNORED_PREFIXES):
                continue
            try:
                mode = os.stat(name_raw, dir_fd=fd, follow_symlinks=False).st_mode
            except OSError:
                continue
            if stat.S_ISREG(mode):
                names.append(name_raw)
            elif stat.S_ISDIR(mode) and depth + 1 < FOLDER_DEPTH:
                names += [name_raw + b"/" + inner for inner in folder_files(fd, name_raw, depth + 1)]
            if len(names) >= FOLDER_FILES_SHOWN:
                return names[:FOLDER_FILES_SHOWN]
        return names
    except OSError:
        return []
    finally:
        os.close(fd)


def unreadable(name_raw: bytes) -> Refusal:
    return Refusal(
        display_name(name_raw), name_raw, "unreadable",
        "Không mở được tệp này để đọc (không có quyền đọc hoặc lỗi hệ thống tệp). "
        "Báo cho người quản trị hộp thư để kiểm tra quyền của tệp, rồi chạy lại.",
    )


@task
def discover_workbooks(inbox: Path) -> tuple[list[InboxEntry], list[Refusal]]:
    """List the regular files waiting in the inbox; give every other entry its verdict, unopened.

    What is a regular file but not a workbook is rejected later, not skipped. Files are listed in
    the order they arrived (modification time, then name): of two copies of one content, the
    earlier is the one received, so a copy saved again after the deadline ("did you get it?")
    does not make an on-time report late.
    """
    if not inbox.is_dir():
        return [], []
    files, refused = [], []
    dir_fd = os.open(inbox, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for name_raw in sorted(os.fsencode(n) for n in os.listdir(dir_fd)):
            if name_raw.startswith(IGNORED_PREFIXES):
                continue
            try:
                found = os.stat(name_raw, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                continue  # gone between listing and looking: nothing was received
            kind = kind_of(found.st_mode)
            if kind == "file":
                files.append((found.st_mtime_ns, InboxEntry(name_raw)))
            else:
                refused.append(refusal(name_raw, kind))
            if kind == "directory":
                refused += [in_folder(name_raw, inner) for inner in folder_files(dir_fd, name_raw)]
    finally:
        os.close(dir_fd)
    files.sort(key=lambda f: (f[0], f[1].name_raw))
    return [entry for _, entry in files], refused


def _open_regular(dir_fd: int, entry: InboxEntry) -> int | Refusal | None:
    """A descriptor on the entry if it still is a regular file; a refusal if it is not; None if gone."""
    try:
        fd = os.open(entry.name_raw, OPEN_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # became a symlink after it was listed
            return refusal(entry.name_raw, "symlink")
        return unreadable(entry.name_raw)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        return refusal(entry.name_raw, kind_of(mode))
    return fd


def archive_file(
    dir_fd: int, entry: InboxEntry, archive_dir: Path, data_dir: Path
) -> tuple[Arrival | Refusal | None, _Partial | None]:
    """Copy one regular file into the archive under its sha256, hashing from the descriptor it is read from.

    A new content is left in a partial that is not yet synced nor named: the caller makes it durable
    and places it. Its arrival time is the file's modification time (the on-time clock: a file
    written before the deadline and collected after it is on time), but never later than now, when
    p135 sees it.
    """
    seen_at = dt.datetime.now(dt.timezone.utc)
    opened = _open_regular(dir_fd, entry)
    if not isinstance(opened, int):
        return opened, None
    try:
        status = os.fstat(opened)
        modified_at = dt.datetime.fromtimestamp(status.st_mtime, dt.timezone.utc)
        received_at = min(modified_at, seen_at)
        # Sized to the file (one byte more, to see its end in the same read): a 1 MiB buffer per
        # small workbook cost more than hashing it.
        step = min(1 << 20, status.st_size + 1)
        digest = hashlib.sha256()
        size = 0
        chunks: list[bytes] = []
        partial = None
        try:
            while chunk := _read(opened, step):
                digest.update(chunk)
                size += len(chunk)
                if partial is None and size <= IN_MEMORY_BYTES:
                    chunks.append(chunk)
                    continue
                if partial is None:
                    partial = _Partial(archive_dir)
                    for held in chunks:
                        partial.write(held)
                    chunks = []
                # A failed write is the archive's (a full disk), not the file's: it fails the run.
                partial.write(chunk)
        except _Unreadable:
            if partial is not None:
                partial.discard()
            return unreadable(entry.name_raw), None
        except BaseException:
            if partial is not None:
                partial.discard()
            raise
    finally:
        os.close(opened)
    sha = digest.hexdigest()
    if os.path.exists(_target(archive_dir, sha)):
        if partial is not None:
            partial.discard()
            partial = None
    elif partial is None:
        partial = _Partial(archive_dir)
        try:
            for held in chunks:
                partial.write(held)
        except BaseException:
            partial.discard()
            raise
    arrival = Arrival(
        sha256=sha, original_name=entry.name, size_bytes=size,
        archive_path=f"{_relative(archive_dir, data_dir)}/{sha[:2]}/{sha}", received_at=received_at,
        original_name_raw=entry.name_raw,
    )
    return arrival, partial


class _Unreadable(Exception):
    """The inbox file could not be read to its end."""


def _read(fd: int, size: int) -> bytes:
    try:
        return os.read(fd, size)
    except OSError as exc:
        raise _Unreadable from exc


def _target(archive_dir: Path, sha: str) -> str:
    return f"{archive_dir}/{sha[:2]}/{sha}"


@functools.lru_cache(maxsize=8)
def _relative(archive_dir: Path, data_dir: Path) -> str:
    return os.path.relpath(archive_dir, data_dir)


class _Partial:
    """A temporary archive file, flock-ed while written so that a cleaner can tell a live writer's."""

    def __init__(self, archive_dir: Path):
        while True:
            path = archive_dir / f"{PARTIAL_PREFIX}{secrets.token_hex(8)}"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            # A cleaner may have removed it between creation and flock: start again under another name.
            try:
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        self.path, self.fd = path, fd

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def flush(self) -> None:
        os.fsync(self.fd)

    def place(self, target: str) -> None:
        """Rename the (flushed) partial to its final name; the flock ends with the partial's name."""
        try:
            os.replace(self.path, target)
        except BaseException:
            self.discard()
            raise
        self._close()

    def discard(self) -> None:
        """Remove the partial unless it was placed; safe to call again after a failure."""
        if self.fd < 0:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        finally:
            self._close()

    def _close(self) -> None:
        fd, self.fd = self.fd, -1
        os.close(fd)


def remove_dead_partials(directory: Path) -> int:
    """Remove temporary files a dead run left in `directory`; a live writer's stay (it holds their flock)."""
    removed = 0
    if not directory.is_dir():
        return 0
    for path in directory.glob(f"{PARTIAL_PREFIX}*"):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            if os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                os.unlink(path)
                removed += 1
        except FileNotFoundError:
            pass
        finally:
            os.close(fd)
    return removed


@task(retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=unless_disk_full, cache_policy=NO_CACHE)
def archive_originals(
    inbox: Path, files: list[InboxEntry], archive_dir: Path, data_dir: Path
) -> tuple[list[Arrival], list[Refusal]]:
    """Copy every original into the content-addressed archive before anything reads it.

    Temporary copies a killed run left behind are removed first; an entry that stopped being a
    regular file, or cannot be read, is refused instead of archived.

    Durability, in this order (a later run takes an existing final name as archived, and the
    warehouse records what this returns): a group's new copies are written unsynced, then flushed
    together; only flushed copies are renamed to their final names; every directory whose entries
    name an arrival is flushed before anything is returned. A crash at any point leaves partials
    (removed by the next run) or final names with their whole content, and the originals still wait
    in the inbox. A per-file fsync before each rename kept the same order but waited on the disk
    once per file: 10,000 small workbooks spent most of their time there.
    """
    remove_dead_partials(archive_dir)
    arrivals, refused = [], []
    if not files:
        return arrivals, refused
    synced_dirs = {os.fspath(d) for d in _make_dirs(archive_dir)} | {os.fspath(archive_dir)}
    made_dirs: set[str] = set()
    dir_fd = os.open(inbox, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        with ThreadPoolExecutor(max_workers=ARCHIVE_THREADS, thread_name_prefix="p135-archive") as pool, \
                ThreadPoolExecutor(max_workers=SYNC_THREADS, thread_name_prefix="p135-sync") as syncer, \
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="p135-place") as placer:
            placing = None
            for start in range(0, len(files), DURABLE_GROUP):
                received = _receive(pool, dir_fd, files[start:start + DURABLE_GROUP], archive_dir, data_dir)
                # A group is flushed and placed while the next one is read: one waits on the disk,
                # the other on the processor.
                try:
                    if placing is not None:
                        placing.result()
                except BaseException:
                    _discard(received)
                    raise
                placing = placer.submit(_place, syncer, received, archive_dir, made_dirs)
                for result, _ in received:
                    if isinstance(result, Arrival):
                        arrivals.append(result)
                        synced_dirs.add(os.path.dirname(_target(archive_dir, result.sha256)))
                    elif result is not None:
                        refused.append(result)
            placing.result()
            # Also the directories of contents found already archived: another run may have renamed
            # them into place without having flushed the directory yet.
            _all(syncer, _sync_dir, sorted(synced_dirs))
    finally:
        os.close(dir_fd)
    return arrivals, refused


Received = tuple[Arrival | Refusal | None, _Partial | None]


def _receive(
    pool: ThreadPoolExecutor, dir_fd: int, files: list[InboxEntry], archive_dir: Path, data_dir: Path
) -> list[Received]:
    """Read, hash and copy a group of files, in inbox order; on failure no partial stays open."""
    # Runs of files, not single files, are handed to the threads: a future per file cost half as
    # much as hashing it.
    size = -(-len(files) // (ARCHIVE_THREADS * 4))
    runs = [files[start:start + size] for start in range(0, len(files), size)]
    futures = [pool.submit(_receive_run, dir_fd, run, archive_dir, data_dir) for run in runs]
    wait(futures)
    received, failure = [], None
    # In inbox order (arrival): of two identical files, the first listed is the one received.
    for future in futures:
        try:
            received.extend(future.result())
        except BaseException as exc:
            failure = failure or exc
    if failure is not None:
        _discard(received)
        raise failure
    return received


def _receive_run(dir_fd: int, run: list[InboxEntry], archive_dir: Path, data_dir: Path) -> list[Received]:
    received = []
    try:
        for entry in run:
            received.append(archive_file(dir_fd, entry, archive_dir, data_dir))
    except BaseException:
        _discard(received)
        raise
    return received


def _place(syncer: ThreadPoolExecutor, received: list[Received], archive_dir: Path, made_dirs: set[str]) -> None:
    """Flush a group's new copies, then rename each to its final name (one per content)."""
    partials = [partial for _, partial in received if partial is not None]
    if not partials:
        return
    try:
        _all(syncer, _Partial.flush, partials)
    except BaseException:
        _discard(received)
        raise
    try:
        for arrival, partial in received:
            if partial is None:
                continue
            target = _target(archive_dir, arrival.sha256)
            # The same content twice in the group, or placed since it was read (by the group before
            # or by another run): the copy in place is already durable.
            if os.path.exists(target):
                partial.discard()
                continue
            shard = os.path.dirname(target)
            if shard not in made_dirs:
                os.makedirs(shard, exist_ok=True)
                made_dirs.add(shard)
            partial.place(target)
    except BaseException:
        _discard(received)
        raise


def _discard(received: list[Received]) -> None:
    for _, partial in received:
        if partial is not None:
            partial.discard()


def _all(pool: ThreadPoolExecutor, work, items) -> None:
    """Run `work` on every item at once; raise the first failure only after all have ended."""
    futures = [pool.submit(work, item) for item in items]
    wait(futures)
    for future in futures:
        future.result()


def _sync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs(path: Path) -> list[Path]:
    """Create `path` and its missing parents; the directories that gained an entry."""
    missing = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir(exist_ok=True)
    return [directory.parent for directory in missing]


@dataclass(frozen=True)
class Renamed:
    """A content received before, found again under another name: not checked again."""

    name: str
    earlier_name: str
    unit_code: str | None
    status: str | None
    # Received first in this same run (two copies under two names): always worth naming.
    this_run: bool = False


@task(cache_policy=NO_CACHE)
def split_known(
    arrivals: list[Arrival], data_dir: Path, period: Period, taken: dict[str, str] | None = None
) -> tuple[list[Arrival], list[Arrival], list[Refusal], list[Renamed]]:
    """Split arrivals into new contents, contents received before (or twice in this inbox),
    contents received before as another quarter's file than `period`'s, and, of the second, those
    received before under another name (a clerk renaming a rejected file and sending it again).

    `taken` holds the contents this run already found new in the inbox's earlier files, with the
    name each came under (a copy under another name in the same run is named too). A file
    counts for one quarter only: the same file in another quarter's inbox (a clerk sending last
    quarter's report again) is refused, saying which quarter it counted for, not passed over.
    """
    engine = engine_for(data_dir)
    known, others, earlier = received_hashes(engine, [a.sha256 for a in arrivals], period.year, period.quarter)
    elsewhere = received_for_other_quarters(engine, others, period.year, period.quarter) if others else {}
    taken = dict(taken or {})
    new, seen, refused, renamed = [], [], [], []
    for arrival in arrivals:
        if arrival.sha256 in elsewhere:
            refused.append(_counted_elsewhere(arrival, elsewhere[arrival.sha256], period))
        elif arrival.sha256 in known or arrival.sha256 in taken:
            seen.append(arrival)
            name, unit, status = earlier.get(arrival.sha256) or (taken.get(arrival.sha256, arrival.original_name), None, None)
            if name != arrival.original_name:
                renamed.append(Renamed(arrival.original_name, name, unit, status, arrival.sha256 in taken))
        else:
            known.add(arrival.sha256)
            taken[arrival.sha256] = arrival.original_name
            new.append(arrival)
    return new, seen, refused, renamed


# Every empty file has this content: one is never "the same report" as another.
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _counted_elsewhere(arrival: Arrival, earlier: dict, period: Period) -> Refusal:
    if arrival.sha256 == EMPTY_SHA256:
        return Refusal(
            arrival.original_name, arrival.original_name_raw or arrival.original_name.encode(), "other",
            "Tệp rỗng (0 byte): không có nội dung nào để đọc. Hãy lưu lại tệp báo cáo đã điền rồi gửi lại.",
        )
    then = Period(earlier["year"], earlier["quarter"])
    received = earlier["received_at"]
    if received.tzinfo is None:
        received = received.replace(tzinfo=dt.timezone.utc)
    unit = f" của đơn vị {earlier['unit_code']}" if earlier["unit_code"] else ""
    said = (f"Tệp này trùng nội dung với tệp {earlier['original_name']}{unit} đã nhận cho {then.label_vi} "
            f"(lúc {received.astimezone(LOCAL_TZ):%d/%m/%Y %H:%M}); một tệp chỉ được tính cho một quý nên không "
            f"được tính cho {period.label_vi}. ")
    if ended := earlier.get("ended"):
        # The unit reports no more: filling this quarter's template is advice it cannot follow.
        since = f"từ {ended['valid_to'] + dt.timedelta(days=1):%d/%m/%Y}"
        if ended["successor"]:
            who = f"{ended['successor']}" + (f" ({ended['successor_name']})" if ended["successor_name"] else "")
            advice = (f"Đơn vị {earlier['unit_code']} đã hợp nhất vào {who} {since}: báo cáo {period.label_vi} do "
                      f"{ended['successor']} nộp theo mẫu của {ended['successor']}; không cần gửi lại tệp này.")
        else:
            advice = (f"Đơn vị {earlier['unit_code']} đã thôi hoạt động {since} nên không phải báo cáo "
                      f"{period.label_vi}; không cần gửi lại tệp này.")
        return Refusal(arrival.original_name, arrival.original_name_raw or arrival.original_name.encode(), "other",
                       said + advice)
    if earlier.get("status") in PASSED:
        # It passed that quarter's checks: it is that quarter's report, not one sent to the wrong inbox.
        advice = (f"Tệp là báo cáo {then.label_vi} đã được chấp nhận, không dùng được cho {period.label_vi}: "
                  f"hãy điền mẫu báo cáo {period.label_vi} đã được cấp rồi gửi.")
    else:
        advice = (f"Hãy điền mẫu báo cáo {period.label_vi} rồi gửi; nếu đây đúng là báo cáo {period.label_vi} "
                  "(trước đây gửi nhầm kỳ), hãy mở tệp, lưu lại rồi gửi lại.")
    return Refusal(arrival.original_name, arrival.original_name_raw or arrival.original_name.encode(), "other",
                   said + advice)


# Verdicts of a file that passed its own quarter's checks (held: passed while the quarter was closed).
PASSED = ("accepted", "accepted_with_warnings", "superseded", "held")


def issued_for_another_quarter(arrival: Arrival, issued: Period, unit_code: str | None, period: Period) -> Refusal:
    """A report whose template was handed out for another quarter, found in `period`'s inbox and in
    its own quarter's: not taken in here, so that it counts for its own quarter, collected there."""
    unit = f" của đơn vị {unit_code}" if unit_code else ""
    return Refusal(
        arrival.original_name, arrival.original_name_raw or arrival.original_name.encode(), "other",
        f"Tệp này là báo cáo {issued.label_vi}{unit} (theo mẫu đã cấp), không phải báo cáo {period.label_vi}; "
        f"thư mục nhận báo cáo {issued.label_vi} (inbox/{issued.key}) cũng có tệp này nên tệp được thu nhận ở "
        f"{issued.label_vi}, không ở {period.label_vi}. Hãy xóa tệp khỏi thư mục nhận báo cáo {period.label_vi}.",
    )


def contents_of(folder: Path) -> set[str]:
    """The sha256 of each regular file directly in `folder` (none when it cannot be read)."""
    found = set()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return found
    for entry in entries:
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            digest = hashlib.sha256()
            with open(entry.path, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            found.add(digest.hexdigest())
        except OSError:
            continue
    return found
