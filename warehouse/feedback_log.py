"""Which feedback workbooks are in place: recorded when each is renamed into place, so that a
later run finds a missing or damaged one by its size, without reading any workbook."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import Engine, and_, delete, select

from warehouse import models as m
from warehouse.load import insert_columns


@dataclass(frozen=True)
class Placed:
    """A feedback workbook just renamed into place, and its size then."""

    file_name: str
    unit_code: str | None
    file_sha256: str
    size_bytes: int


@dataclass(frozen=True)
class FeedbackSource:
    """A submission of the quarter as its feedback workbook needs it."""

    submission_id: int
    unit_code: str | None
    file_sha256: str
    status: str
    original_name: str
    size_bytes: int
    archive_path: str
    received_at: dt.datetime


def forget_feedback(
    engine: Engine, year: int, quarter: int, file_hashes: list[str], guard: Callable[[], None] | None = None
) -> None:
    """Drop the records of the workbooks describing these files: the next check rewrites them."""
    table = m.FeedbackFile.__table__
    with engine.begin() as conn:
        for start in range(0, len(file_hashes), 500):
            conn.execute(delete(table).where(
                table.c.year == year, table.c.quarter == quarter,
                table.c.file_sha256.in_(file_hashes[start:start + 500]),
            ))
        if guard is not None:
            guard()


def record_feedback(
    engine: Engine, year: int, quarter: int, placed: list[Placed], guard: Callable[[], None] | None = None
) -> None:
    """Record (replacing earlier records) the workbooks just renamed into place."""
    if not placed:
        return
    table = m.FeedbackFile.__table__
    now = dt.datetime.now(dt.timezone.utc)
    names = [p.file_name for p in placed]
    with engine.begin() as conn:
        for start in range(0, len(names), 500):
            conn.execute(delete(table).where(
                table.c.year == year, table.c.quarter == quarter, table.c.file_name.in_(names[start:start + 500]),
            ))
        insert_columns(conn, table, {
            "year": [year] * len(placed), "quarter": [quarter] * len(placed), "file_name": names,
            "unit_code": [p.unit_code for p in placed], "file_sha256": [p.file_sha256 for p in placed],
            "size_bytes": [p.size_bytes for p in placed], "written_at": [now] * len(placed),
        })
        if guard is not None:
            guard()


def feedback_in_place(engine: Engine, year: int, quarter: int) -> dict[str, tuple[str, int]]:
    """file name -> (file hash it describes, size when renamed into place), for the quarter."""
    table = m.FeedbackFile.__table__
    with engine.connect() as conn:
        rows = conn.execute(
            select(table.c.file_name, table.c.file_sha256, table.c.size_bytes)
            .where(table.c.year == year, table.c.quarter == quarter)
        ).all()
    return {name: (sha, size) for name, sha, size in rows}


def feedback_sources(
    engine: Engine, year: int, quarter: int, other_than_run: int | None = None
) -> list[FeedbackSource]:
    """Every submission of the quarter with what its feedback shows about the file; with
    `other_than_run`, only those checked by other collect runs than that one."""
    s, f = m.Submission.__table__, m.ReceivedFile.__table__
    query = (
        select(s.c.submission_id, s.c.unit_code, s.c.file_sha256, s.c.status, f.c.original_name,
               f.c.size_bytes, f.c.archive_path, f.c.received_at)
        .join(f, f.c.file_sha256 == s.c.file_sha256)
        .where(s.c.year == year, s.c.quarter == quarter)
    )
    if other_than_run is not None:
        query = query.where(s.c.collect_run_id != other_than_run)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [FeedbackSource(*row) for row in rows]


def findings_of(engine: Engine, submission_ids: list[int]) -> dict[int, list[tuple]]:
    """submission id -> its findings as (rule_id, severity, sheet, cell, value, message_vi)."""
    v = m.ValidationFinding.__table__
    out: dict[int, list[tuple]] = {sid: [] for sid in submission_ids}
    with engine.connect() as conn:
        for start in range(0, len(submission_ids), 500):
            rows = conn.execute(
                select(v.c.submission_id, v.c.rule_id, v.c.severity, v.c.sheet, v.c.cell, v.c.value, v.c.message_vi)
                .where(and_(v.c.submission_id.in_(submission_ids[start:start + 500])))
                .order_by(v.c.validation_finding_id)
            ).all()
            for sid, *finding in rows:
                out[sid].append(tuple(finding))
    return out
