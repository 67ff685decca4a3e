"""Receiving files: find what waits in an inbox and archive every original by its content."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from warehouse.engine import engine_for
from warehouse.load import Arrival, known_hashes

IGNORED_PREFIXES = (".", "~$")


@task
def discover_workbooks(inbox: Path) -> list[Path]:
    """List every file waiting in the inbox; what is not a workbook is rejected later, not skipped."""
    if not inbox.is_dir():
        return []
    return sorted(
        p for p in inbox.iterdir()
        if p.is_file() and not p.name.startswith(IGNORED_PREFIXES)
    )


def archive_file(path: Path, archive_dir: Path, data_dir: Path) -> Arrival:
    """Copy one file into the archive under its sha256, hashing while copying.

    Its arrival time is the file's modification time (the on-time clock: a file written before
    the deadline and collected after it is on time), but never later than now, when p135 sees it.
    """
    seen_at = dt.datetime.now(dt.timezone.utc)
    received_at = min(dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc), seen_at)
    archive_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as source, tempfile.NamedTemporaryFile(dir=archive_dir, delete=False) as tmp:
        try:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
                tmp.write(chunk)
                size += len(chunk)
            tmp.flush()
            os.fsync(tmp.fileno())
        except BaseException:
            os.unlink(tmp.name)
            raise
    sha = digest.hexdigest()
    target = archive_dir / sha[:2] / sha
    target.parent.mkdir(exist_ok=True)
    if target.exists():
        os.unlink(tmp.name)
    else:
        os.replace(tmp.name, target)
    return Arrival(
        sha256=sha, original_name=path.name, size_bytes=size,
        archive_path=os.path.relpath(target, data_dir), received_at=received_at,
    )


@task(retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def archive_originals(files: list[Path], archive_dir: Path, data_dir: Path) -> list[Arrival]:
    """Copy every original into the content-addressed archive before anything reads it."""
    return [archive_file(path, archive_dir, data_dir) for path in files]


@task(cache_policy=NO_CACHE)
def split_known(arrivals: list[Arrival], data_dir: Path) -> tuple[list[Arrival], list[Arrival]]:
    """Split arrivals into new contents and contents received before (or twice in this inbox)."""
    known = known_hashes(engine_for(data_dir), [a.sha256 for a in arrivals])
    new, seen = [], []
    for arrival in arrivals:
        if arrival.sha256 in known:
            seen.append(arrival)
        else:
            known.add(arrival.sha256)
            new.append(arrival)
    return new, seen
