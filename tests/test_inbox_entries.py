"""Whatever sits in an inbox, only regular files inside it are read: symlinks, FIFOs, devices
and folders get a verdict of their own, unopened; any file name is data, never a crash."""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import stat
import unicodedata
from pathlib import Path

import pytest
from prefect.artifacts import Artifact
from sqlalchemy import text

from flows.collect import collect_quarter
from reporting.periods import LOCAL_TZ, Period
from tasks.completeness import read_completeness
from tasks.intake import PARTIAL_PREFIX, archive_originals, discover_workbooks, remove_dead_partials
from tests.workbooks import save, submission

Q1 = Period(2023, 1)
ARRIVED = dt.datetime(2023, 4, 5, 9, 30, tzinfo=LOCAL_TZ)
NON_UTF8_NAME = b"bao-cao-caf\xe9.xlsx"


def _archived_contents(data_dir: Path) -> set[bytes]:
    return {p.read_bytes() for p in (data_dir / "archive").rglob("*") if p.is_file()}


def _hostile_inbox(tmp_path: Path, inbox: Path) -> dict[str, str]:
    """An inbox of one good workbook and every kind of entry that is not a regular file.

    Returns entry name -> the kind its verdict must name.
    """
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("mật khẩu của máy chủ\n", encoding="utf-8")
    # A valid workbook outside the inbox: followed, it would be accepted and loaded.
    foreign = save(submission("DN001", Q1), outside / "DN001.xlsx", ARRIVED)
    save(submission("CQ003", Q1), inbox / "CQ003.xlsx", ARRIVED)
    kinds = {}
    (inbox / "passwd.xlsx").symlink_to(secret)
    kinds["passwd.xlsx"] = "symlink"
    (inbox / "DN001.xlsx").symlink_to(foreign)
    kinds["DN001.xlsx"] = "symlink"
    (inbox / "thu-muc-ngoai").symlink_to(outside, target_is_directory=True)
    kinds["thu-muc-ngoai"] = "symlink"
    (inbox / "da-xoa.xlsx").symlink_to(outside / "khong-co.xlsx")
    kinds["da-xoa.xlsx"] = "symlink"
    os.mkfifo(inbox / "ong.xlsx")
    kinds["ong.xlsx"] = "fifo"
    (inbox / "thu-muc").mkdir()
    save(submission("CQ004", Q1), inbox / "thu-muc" / "CQ004.xlsx", ARRIVED)
    kinds["thu-muc"] = "directory"
    kinds["thu-muc/CQ004.xlsx"] = "directory"  # named by its path: CQ004 is told its file came
    save(submission("CQ005", Q1), inbox / "thu-muc" / "con" / "CQ005.xlsx", ARRIVED)
    kinds["thu-muc/con/CQ005.xlsx"] = "directory"  # two folders deep too
    try:
        os.mknod(inbox / "thiet-bi.xlsx", stat.S_IFCHR | 0o600, os.makedev(1, 3))  # what /dev/null is
        kinds["thiet-bi.xlsx"] = "device"
    except PermissionError:
        pass  # only root may make a device node; the other kinds still run
    return kinds


def test_only_regular_files_inside_the_inbox_are_read(warehouse, tmp_path):
    inbox = warehouse.data_dir / "inbox" / Q1.key
    kinds = _hostile_inbox(tmp_path, inbox)

    state = collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir), return_state=True)

    assert state.is_completed(), state.message
    summary = state.result()
    assert (summary["files_seen"], summary["accepted"], summary["rejected"]) == (1, 1, 0)
    assert summary["refused"] == len(kinds)
    assert {r["name"]: r["kind"] for r in summary["refusals"]} == kinds
    with warehouse.engine.connect() as conn:
        refused = conn.execute(text(
            "SELECT r.name, r.kind, r.reason FROM inbox_refusal r JOIN collect_run c USING (collect_run_id)"
        )).all()
        received = conn.execute(text("SELECT original_name FROM received_file")).scalars().all()
    assert {name: kind for name, kind, _ in refused} == kinds
    what = {"symlink": "liên kết", "fifo": "FIFO", "directory": "thư mục", "device": "thiết bị"}
    for name, kind, reason in refused:
        if "/" in name:
            assert reason.startswith('Tệp nằm trong thư mục con "thu-muc" của hộp thư nên không được đọc'), reason
        else:
            assert what[kind] in reason and "không được mở hay đọc" in reason, reason
        assert str(tmp_path) not in reason
    assert received == ["CQ003.xlsx"]
    archived = _archived_contents(warehouse.data_dir)
    assert archived == {(inbox / "CQ003.xlsx").read_bytes()}, "nothing outside the inbox is read"
    artifact = Artifact.get("collect-2023-q1")
    rows = artifact.data if isinstance(artifact.data, list) else json.loads(artifact.data)
    from tasks.artifacts import COL_FILE, COL_STATUS, REFUSED_VI

    assert {r[COL_FILE]: r[COL_STATUS] for r in rows if r[COL_STATUS] == REFUSED_VI} == dict.fromkeys(kinds, REFUSED_VI)
    assert f"{len(kinds)} mục không thu nhận" in artifact.description
    # The inbox is never changed: every entry is still what it was.
    assert os.readlink(inbox / "passwd.xlsx") == str(tmp_path / "outside" / "secret.txt")
    assert stat.S_ISFIFO(os.lstat(inbox / "ong.xlsx").st_mode)
    told = read_completeness(warehouse.data_dir, Q1).files_named_for("CQ004")
    assert [f["original_name"] for f in told] == ["thu-muc/CQ004.xlsx"], "its unit is told the file came, unread"


def test_an_entry_swapped_for_a_symlink_after_listing_is_not_followed(tmp_path):
    """Listed as a file, replaced by a symlink before archiving: O_NOFOLLOW refuses it."""
    inbox = tmp_path / "inbox"
    good = save(submission("CQ003", Q1), inbox / "CQ003.xlsx", ARRIVED)
    secret = tmp_path / "secret.txt"
    secret.write_text("bí mật", encoding="utf-8")
    files, refused = discover_workbooks.fn(inbox)
    assert [f.name for f in files] == ["CQ003.xlsx"] and refused == []
    good.unlink()
    good.symlink_to(secret)

    arrivals, refused = archive_originals.fn(inbox, files, tmp_path / "data" / "archive", tmp_path / "data")

    assert arrivals == [] and [(r.name, r.kind) for r in refused] == [("CQ003.xlsx", "symlink")]
    assert not any(p.is_file() for p in (tmp_path / "data" / "archive").rglob("*"))


def test_a_file_name_that_is_not_utf8_is_kept_and_never_stops_the_run(warehouse):
    inbox = warehouse.data_dir / "inbox" / Q1.key
    save(submission("CQ003", Q1), inbox / "CQ003.xlsx", ARRIVED)
    raw_path = os.fsencode(inbox) + b"/" + NON_UTF8_NAME
    save(submission("DN001", Q1), Path(os.fsdecode(raw_path)), ARRIVED)
    expected = hashlib.sha256(Path(os.fsdecode(raw_path)).read_bytes()).hexdigest()

    state = collect_quarter(year=2023, quarter=1, data_dir=str(warehouse.data_dir), return_state=True)

    assert state.is_completed(), state.message
    assert (state.result()["accepted"], state.result()["rejected"]) == (2, 0)
    with warehouse.engine.connect() as conn:
        name, raw = conn.execute(text(
            "SELECT original_name, original_name_raw FROM received_file WHERE file_sha256 = :sha"
        ), {"sha": expected}).one()
        plain = conn.execute(text(
            "SELECT original_name, original_name_raw FROM received_file WHERE original_name = 'CQ003.xlsx'"
        )).one()
    assert name == "bao-cao-caf\ufffd.xlsx"
    assert bytes(raw) == NON_UTF8_NAME
    assert (plain[0], bytes(plain[1])) == ("CQ003.xlsx", b"CQ003.xlsx")
    from python_calamine import CalamineWorkbook

    from tasks.feedback import SHEET

    rows = CalamineWorkbook.from_path(str(warehouse.data_dir / "feedback" / Q1.key / "DN001.xlsx")) \
        .get_sheet_by_name(SHEET).to_python(skip_empty_area=False)
    assert rows[4][2] == "bao-cao-caf\ufffd.xlsx"


def test_temporary_archive_files_of_a_dead_run_are_removed_live_ones_kept(tmp_path):
    archive = tmp_path / "archive"
    archive.mkdir()
    dead = archive / f"{PARTIAL_PREFIX}dead"
    dead.write_bytes(b"half a workbook")
    live = archive / f"{PARTIAL_PREFIX}live"
    live.write_bytes(b"being written")
    writer = os.open(live, os.O_WRONLY)
    fcntl.flock(writer, fcntl.LOCK_EX)  # as a live run holds its own while writing
    try:
        assert remove_dead_partials(archive) == 1
        assert not dead.exists() and live.exists()
    finally:
        os.close(writer)
    assert remove_dead_partials(archive) == 1 and not live.exists()


@pytest.mark.parametrize("name", [b"\xff\xfe.xlsx", "bảng\nbáo cáo.xlsx".encode(), unicodedata.normalize("NFD", "báo cáo quý 1.xlsx").encode("cp1258")],
                         ids=["invalid-bytes", "newline", "cp1258"])
def test_any_name_is_archived_with_its_exact_bytes(tmp_path, name):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    fd = os.open(os.fsencode(inbox) + b"/" + name, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"not a workbook")
    os.close(fd)
    files, _ = discover_workbooks.fn(inbox)
    arrivals, refused = archive_originals.fn(inbox, files, tmp_path / "archive", tmp_path)
    assert refused == [] and [a.original_name_raw for a in arrivals] == [name]
    assert arrivals[0].original_name == name.decode("utf-8", errors="replace")
    arrivals[0].original_name.encode("utf-8")  # storable in any database
