"""The archive hashes files on several threads; what it hands on must not depend on which finished first."""

from __future__ import annotations

import os

from tasks.intake import ARCHIVE_THREADS, archive_originals, discover_workbooks


def test_arrivals_keep_the_inbox_order_and_identical_files_share_one_archived_copy(tmp_path):
    inbox, data = tmp_path / "inbox", tmp_path / "data"
    inbox.mkdir()
    count = ARCHIVE_THREADS * 25
    for n in range(count):
        # Sizes differ a lot so that the threads finish out of order; every tenth file repeats file 0.
        body = b"same" if n % 10 == 0 else os.urandom(1 + (n * 7919) % 200_000)
        (inbox / f"f{n:04d}.xlsx").write_bytes(body)

    files, refused = discover_workbooks.fn(inbox)
    arrivals, unreadable = archive_originals.fn(inbox, files, data / "archive", data)

    assert refused == [] and unreadable == []
    assert [a.original_name for a in arrivals] == [f"f{n:04d}.xlsx" for n in range(count)]
    for arrival in arrivals:
        archived = data / arrival.archive_path
        assert archived.read_bytes() == (inbox / arrival.original_name).read_bytes()
        assert arrival.size_bytes == archived.stat().st_size
    assert len({a.sha256 for a in arrivals if a.original_name.endswith("0.xlsx")}) == 1
    archived_files = [p for p in (data / "archive").rglob("*") if p.is_file()]
    assert len(archived_files) == count - count // 10 + 1
