"""The archive flushes its new copies a group at a time: a final name must still only ever hold a whole, durable copy."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest

import tasks.intake as intake
from tasks.intake import PARTIAL_PREFIX, archive_originals, discover_workbooks

COUNT = 300


@pytest.fixture
def inbox(tmp_path, monkeypatch):
    """A few hundred files, every seventh the same content, over many small groups; some too big to hold in memory."""
    monkeypatch.setattr(intake, "DURABLE_GROUP", 16)
    monkeypatch.setattr(intake, "IN_MEMORY_BYTES", 64 * 1024)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for n in range(COUNT):
        body = b"the same workbook" if n % 7 == 0 else os.urandom(1 + (n * 7919) % 150_000)
        (inbox / f"f{n:04d}.xlsx").write_bytes(body)
    return inbox


def _archive(inbox, data):
    files, refused = discover_workbooks.fn(inbox)
    assert refused == []
    return archive_originals.fn(inbox, files, data / "archive", data)


def _finals(data):
    return [p for p in (data / "archive").glob("??/*") if p.is_file()]


def _assert_sound(data):
    """Every final name holds the whole content it is named after."""
    for path in _finals(data):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name


def _assert_all_received(inbox, data, arrivals):
    assert [a.original_name for a in arrivals] == [f"f{n:04d}.xlsx" for n in range(COUNT)]
    for arrival in arrivals:
        assert (data / arrival.archive_path).read_bytes() == (inbox / arrival.original_name).read_bytes()
    assert not list((data / "archive").glob(f"{PARTIAL_PREFIX}*"))
    assert len(_finals(data)) == COUNT - -(-COUNT // 7) + 1


def test_every_copy_is_whole_and_flushed_before_its_final_name_and_that_name_before_the_arrival(
        inbox, tmp_path, monkeypatch):
    data = tmp_path / "data"
    flushed, flushed_dirs, placed = set(), {}, []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        real_fsync(fd)
        status = os.fstat(fd)
        if stat.S_ISDIR(status.st_mode):
            flushed_dirs[status.st_ino] = len(placed)
        else:
            flushed.add(status.st_ino)

    def replace(src, dst):
        assert os.stat(src).st_ino in flushed, "renamed to its final name before its content was flushed"
        real_replace(src, dst)
        placed.append(os.path.dirname(dst))

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)

    arrivals, unreadable = _archive(inbox, data)

    assert unreadable == []
    _assert_all_received(inbox, data, arrivals)
    _assert_sound(data)
    assert len(placed) == len(_finals(data))
    # Each directory holding an arrival was flushed after the last rename into it.
    for arrival in arrivals:
        shard = os.path.dirname(data / arrival.archive_path)
        last = max(i for i, d in enumerate(placed) if d == shard) if shard in placed else -1
        assert flushed_dirs.get(os.stat(shard).st_ino, -1) > last
    assert os.stat(data / "archive").st_ino in flushed_dirs and os.stat(data).st_ino in flushed_dirs


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_a_failure_midway_leaves_no_incomplete_final_name_and_the_rerun_receives_everything(
        inbox, tmp_path, monkeypatch, failing):
    data = tmp_path / "data"
    real = getattr(os, failing)
    calls = []

    def flaky(*args):
        calls.append(args)
        if len(calls) == 40:
            raise OSError(5, "Input/output error")
        return real(*args)

    monkeypatch.setattr(os, failing, flaky)
    with pytest.raises(OSError):
        _archive(inbox, data)
    monkeypatch.setattr(os, failing, real)

    _assert_sound(data)
    assert not list((data / "archive").glob(f"{PARTIAL_PREFIX}*"))
    arrivals, unreadable = _archive(inbox, data)
    assert unreadable == []
    _assert_all_received(inbox, data, arrivals)
    _assert_sound(data)


def test_partials_left_by_a_crash_are_removed_and_never_taken_for_a_copy(inbox, tmp_path):
    """A run killed after writing its copies but before renaming them leaves only partials."""
    data = tmp_path / "data"
    archive = data / "archive"
    archive.mkdir(parents=True)
    for n in range(3):
        (archive / f"{PARTIAL_PREFIX}dead{n}").write_bytes(b"half a")

    arrivals, _ = _archive(inbox, data)

    _assert_all_received(inbox, data, arrivals)
    _assert_sound(data)


@pytest.mark.parametrize("size", [1000, 200_000], ids=["held-in-memory", "copied-while-read"])
def test_a_full_disk_fails_the_archive_instead_of_refusing_the_units_file(tmp_path, monkeypatch, size):
    monkeypatch.setattr(intake, "IN_MEMORY_BYTES", 64 * 1024)
    inbox, data = tmp_path / "inbox", tmp_path / "data"
    inbox.mkdir()
    (inbox / "big.xlsx").write_bytes(os.urandom(size))

    def full(self, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(intake._Partial, "write", full)
    with pytest.raises(OSError, match="No space left"):
        _archive(inbox, data)
    assert not list((data / "archive").glob(f"{PARTIAL_PREFIX}*"))
    assert not _finals(data)


@pytest.mark.parametrize("size", [1000, 200_000], ids=["held-in-memory", "copied-while-read"])
def test_a_file_that_cannot_be_read_to_its_end_is_refused_as_unreadable(tmp_path, monkeypatch, size):
    inbox, data = tmp_path / "inbox", tmp_path / "data"
    inbox.mkdir()
    (inbox / "bad-sector.xlsx").write_bytes(os.urandom(size))
    real, reads = os.read, []

    def failing_midway(fd, n):
        reads.append(n)
        if len(reads) == 2:
            raise OSError(5, "Input/output error")
        return real(fd, n)

    monkeypatch.setattr(intake, "IN_MEMORY_BYTES", 64 * 1024)
    monkeypatch.setattr(os, "read", failing_midway)
    arrivals, unreadable = _archive(inbox, data)
    monkeypatch.setattr(os, "read", real)
    assert arrivals == []
    assert [(r.name, r.kind) for r in unreadable] == [("bad-sector.xlsx", "unreadable")]
    assert not list((data / "archive").glob(f"{PARTIAL_PREFIX}*"))

