"""Bulk writes of a checked batch: all of a batch lands in one transaction, or none of it."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd
from pandas.core.dtypes.cast import maybe_box_native
from sqlalchemy import Connection, Engine, Table, insert, select, text, update

from warehouse import models as m

# The tables a collect's loads fill, analysed at the end of each run so the planner sees their volume.
LOADED_TABLES = (
    "received_file", "submission", "validation_finding", "submission_indicator", "submission_key_task",
)
SQLITE_ANALYSIS_LIMIT = 2000
# What validation_finding keeps of a finding besides its submission.
FINDING_COLUMNS = ("rule_id", "severity", "sheet", "cell", "value", "message_vi")

# Called inside a run's transaction just before it commits; raises if the run lost its quarter.
Guard = Callable[[], None]


@dataclass(frozen=True)
class Arrival:
    """A file as received: its content hash, name (for display and as bytes), size, archived copy
    and arrival time."""

    sha256: str
    original_name: str
    size_bytes: int
    archive_path: str
    received_at: dt.datetime
    original_name_raw: bytes = b""


@dataclass(frozen=True)
class Refusal:
    """An inbox entry refused without being read: what it is and why, in Vietnamese."""

    name: str
    name_raw: bytes
    kind: str
    reason_vi: str


def display_name(raw: bytes) -> str:
    """A file name as people read it: unchanged when valid UTF-8, else U+FFFD for each bad byte."""
    return raw.decode("utf-8", errors="replace")


def received_hashes(
    engine: Engine, hashes: Iterable[str], year: int, quarter: int
) -> tuple[set[str], set[str], dict[str, tuple[str, str | None, str | None]]]:
    """The hashes among `hashes` already received, those of them received as another quarter's
    file (than `year`, `quarter`), and each one's first name, unit and status: one query per 500 hashes."""
    hashes = list(hashes)
    s, f = m.Submission.__table__, m.ReceivedFile.__table__
    known: set[str] = set()
    elsewhere: set[str] = set()
    earlier: dict[str, tuple[str, str | None, str | None]] = {}
    with engine.connect() as conn:
        for start in range(0, len(hashes), 500):
            rows = conn.execute(
                select(f.c.file_sha256, s.c.year, s.c.quarter, f.c.original_name, s.c.unit_code, s.c.status)
                .select_from(f.outerjoin(s, s.c.file_sha256 == f.c.file_sha256))
                .where(f.c.file_sha256.in_(hashes[start:start + 500]))
            ).all()
            known.update(row[0] for row in rows)
            elsewhere.update(sha for sha, y, q, *_ in rows if y is not None and (y, q) != (year, quarter))
            earlier.update((sha, (name, unit, status)) for sha, _, _, name, unit, status in rows)
    return known, elsewhere, earlier


def received_for_other_quarters(engine: Engine, hashes: Iterable[str], year: int, quarter: int) -> dict[str, dict]:
    """Of `hashes`, those received before as another quarter's file: that quarter, the file's name
    and arrival, the unit it counted for and its verdict there."""
    hashes = list(hashes)
    s, f = m.Submission.__table__, m.ReceivedFile.__table__
    found: dict[str, dict] = {}
    with engine.connect() as conn:
        for start in range(0, len(hashes), 500):
            rows = conn.execute(
                select(s.c.file_sha256, s.c.year, s.c.quarter, s.c.unit_code, s.c.status, f.c.original_name,
                       f.c.received_at)
                .join(f, f.c.file_sha256 == s.c.file_sha256)
                .where(s.c.file_sha256.in_(hashes[start:start + 500]), (s.c.year != year) | (s.c.quarter != quarter))
            ).mappings()
            found.update({row["file_sha256"]: dict(row) for row in rows})
        codes = sorted({row["unit_code"] for row in found.values() if row["unit_code"]})
        ended = _ended_by(conn, codes, year, quarter)
    for row in found.values():
        row["ended"] = ended.get(row["unit_code"])
    return found


def _ended_by(conn, codes: list[str], year: int, quarter: int) -> dict[str, dict]:
    """Of `codes`, the units not in force on the last day of (`year`, `quarter`): the day their
    last version ended, and the unit they were merged into with its name then (None: dissolved)."""
    u, p = m.Unit.__table__, m.Period.__table__
    ends_on = conn.execute(select(p.c.ends_on).where(p.c.year == year, p.c.quarter == quarter)).scalar()
    if ends_on is None or not codes:
        return {}
    versions: dict[str, list] = {}
    for row in conn.execute(select(u).where(u.c.unit_code.in_(codes))).mappings():
        versions.setdefault(row["unit_code"], []).append(row)
    ended = {}
    for code, rows in versions.items():
        if any(r["valid_from"] <= ends_on and (r["valid_to"] is None or r["valid_to"] >= ends_on) for r in rows):
            continue
        last = max(rows, key=lambda r: r["valid_from"])
        if last["valid_to"] is None or last["valid_to"] >= ends_on:
            continue  # not yet in force then: not a unit that ended
        successor = last["successor_unit_code"]
        name = conn.execute(
            select(u.c.name_vi).where(u.c.unit_code == successor, u.c.valid_from <= ends_on,
                                      (u.c.valid_to.is_(None)) | (u.c.valid_to >= ends_on))
        ).scalar() if successor else None
        ended[code] = {"valid_to": last["valid_to"], "successor": successor, "successor_name": name}
    return ended


def open_collect_run(
    engine: Engine, *, year: int, quarter: int, inbox: str, flow_run_id: str | None, guard: Guard | None = None
) -> int:
    with engine.begin() as conn:
        run_id = conn.execute(
            insert(m.CollectRun.__table__).returning(m.CollectRun.collect_run_id),
            {
                "flow_run_id": flow_run_id, "year": year, "quarter": quarter, "inbox": inbox,
                "started_at": dt.datetime.now(dt.timezone.utc), "files_seen": 0, "files_new": 0,
                "accepted": 0, "accepted_with_warnings": 0, "rejected": 0,
            },
        ).scalar_one()
        _still_held(guard)
    return run_id


def close_collect_run(engine: Engine, collect_run_id: int, counts: dict[str, int], guard: Guard | None = None) -> None:
    """Record the run's end, then analyse the tables its batches loaded (once per run, not per batch)."""
    with engine.begin() as conn:
        conn.execute(
            update(m.CollectRun.__table__)
            .where(m.CollectRun.collect_run_id == collect_run_id)
            .values(finished_at=dt.datetime.now(dt.timezone.utc), **counts)
        )
        _still_held(guard)
    with engine.begin() as conn:
        analyze_loaded(conn)


def analyze_loaded(conn: Connection) -> None:
    """Refresh the planner's statistics of the tables a collect loads (COPY and bulk inserts leave
    none: without them PostgreSQL plans the analyst views as nested loops over millions of rows)."""
    analyze(conn, LOADED_TABLES)


def analyze(conn: Connection, tables: Iterable[str]) -> None:
    """ANALYZE `tables`, inside the caller's transaction, on either backend."""
    tables = list(tables)
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"ANALYZE {', '.join(tables)}"))
        return
    # A sample per index, as PostgreSQL samples, instead of reading every row of every index.
    conn.execute(text(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}"))
    for table in tables:
        conn.execute(text(f"ANALYZE {table}"))


def record_refusals(engine: Engine, collect_run_id: int, refusals: list[Refusal], guard: Guard | None = None) -> None:
    """Log the inbox entries this run refused without reading them."""
    if not refusals:
        return
    with engine.begin() as conn:
        conn.execute(insert(m.InboxRefusal.__table__), [
            {"collect_run_id": collect_run_id, "name": r.name, "name_raw": r.name_raw, "kind": r.kind, "reason": r.reason_vi}
            for r in refusals
        ])
        _still_held(guard)


def _still_held(guard: Guard | None) -> None:
    if guard is not None:
        guard()


def run_files(engine: Engine, collect_run_id: int) -> list[dict[str, Any]]:
    """Each file a collect run saw first, with its submission's status now (after supersession)."""
    table, files = m.Submission.__table__, m.ReceivedFile.__table__
    with engine.connect() as conn:
        rows = conn.execute(
            select(files.c.file_sha256, files.c.original_name, table.c.unit_code, table.c.status)
            .join(table, table.c.file_sha256 == files.c.file_sha256)
            .where(files.c.collect_run_id == collect_run_id)
            .order_by(files.c.original_name, files.c.file_sha256)
        ).mappings().all()
    return [dict(r) for r in rows]


def load_batch(
    engine: Engine,
    *,
    collect_run_id: int,
    year: int,
    quarter: int,
    arrivals: list[Arrival],
    status: dict[str, str],
    unit_code: dict[str, str | None],
    template_version: dict[str, str | None],
    findings: list[dict[str, Any]],
    indicator_facts: pd.DataFrame,
    task_facts: pd.DataFrame,
    guard: Guard | None = None,
) -> dict[str, int]:
    """Write one checked batch: files, submissions, findings, facts and supersessions.

    Keys of `status` and of the facts' submission_id are file hashes; returns hash -> submission_id.
    `guard` runs last inside the transaction: a run that lost its quarter commits nothing.
    """
    now = dt.datetime.now(dt.timezone.utc)
    with engine.begin() as conn:
        shas = [a.sha256 for a in arrivals]
        insert_columns(conn, m.ReceivedFile.__table__, {
            "file_sha256": shas, "original_name": [a.original_name for a in arrivals],
            "original_name_raw": [a.original_name_raw or a.original_name.encode() for a in arrivals],
            "size_bytes": [a.size_bytes for a in arrivals], "archive_path": [a.archive_path for a in arrivals],
            "received_at": [a.received_at for a in arrivals], "collect_run_id": [collect_run_id] * len(shas),
        })
        table = m.Submission.__table__
        insert_columns(conn, table, {
            "file_sha256": shas, "unit_code": [unit_code.get(sha) for sha in shas], "year": [year] * len(shas),
            "quarter": [quarter] * len(shas), "template_version": [template_version.get(sha) for sha in shas],
            "received_at": [a.received_at for a in arrivals], "checked_at": [now] * len(shas),
            "status": [status[sha] for sha in shas], "supersedes_submission_id": [None] * len(shas),
            "collect_run_id": [collect_run_id] * len(shas),
        })
        # Each file has one submission: its id is found by its hash (no RETURNING, which made
        # PostgreSQL parse one statement of every row's values, and SQLite run one per row).
        ids: dict[str, int] = {}
        for start in range(0, len(shas), 500):
            chunk = shas[start:start + 500]
            ids.update(conn.execute(
                select(table.c.file_sha256, table.c.submission_id).where(table.c.file_sha256.in_(chunk))
            ).all())
        insert_columns(conn, m.ValidationFinding.__table__, {
            "submission_id": [ids[f["submission_id"]] for f in findings],
            **{name: [f[name] for f in findings] for name in FINDING_COLUMNS},
        })
        _insert_frame(conn, m.SubmissionIndicator.__table__, indicator_facts.assign(
            submission_id=indicator_facts["submission_id"].map(ids),
        ).rename(columns={"plan": "plan_value", "ytd": "ytd_value"}))
        _insert_frame(conn, m.SubmissionKeyTask.__table__, task_facts.assign(
            submission_id=task_facts["submission_id"].map(ids),
        ).rename(columns={"content": "content_vi", "note": "note_vi"}))
        _supersede(conn, {unit_code[sha] for sha, s in status.items() if s in m.CURRENT_STATUSES}, year, quarter)
        _count_in_run(conn, collect_run_id, len(shas), Counter(status[sha] for sha in shas))
        _still_held(guard)
    return ids


def _count_in_run(conn: Connection, collect_run_id: int, files: int, statuses: Counter) -> None:
    """Add a batch to its run's counts, in the batch's transaction: a run killed before its end
    still shows what it loaded (the end of the run writes the final counts over these)."""
    run = m.CollectRun.__table__
    conn.execute(update(run).where(run.c.collect_run_id == collect_run_id).values(
        files_seen=run.c.files_seen + files, files_new=run.c.files_new + files,
        **{name: run.c[name] + statuses[name] for name in ("accepted", "accepted_with_warnings", "rejected")},
    ))


def _insert_frame(conn: Connection, table: Table, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    insert_columns(conn, table, {c.name: _column_values(frame[c.name]) for c in table.columns})


def _column_values(values: pd.Series) -> list:
    """A column as the Python values a row of `to_dict("records")` holds: None for a missing value,
    numpy scalars as Python ones. Taken column by column: row by row it cost more than the insert."""
    out = values.astype(object).where(values.notna(), None).tolist()
    if values.dtype == object and any(issubclass(kind, np.generic) for kind in {type(v) for v in out}):
        out = [maybe_box_native(v) for v in out]
    return out


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows: COPY on PostgreSQL, executemany elsewhere; inside the caller's transaction."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), rows)
        return
    columns = [c.name for c in table.columns if c.name in rows[0]]
    _copy_rows(conn, table, columns, ([row[c] for c in columns] for row in rows))


def insert_columns(conn: Connection, table: Table, columns: dict[str, list]) -> None:
    """Insert rows given column by column (name -> values, every column the same length): COPY on
    PostgreSQL, executemany elsewhere; inside the caller's transaction.

    The statement is not compiled per row: each column's bind processor (a SQLite date as text...)
    is applied to its values here, as SQLAlchemy applies it, and the rows go to the driver as they are.
    """
    names = list(columns)
    if not names or not len(columns[names[0]]):
        return
    if conn.dialect.name == "postgresql":
        _copy_rows(conn, table, names, zip(*columns.values()))
        return
    dialect = conn.dialect
    statement = insert(table).compile(dialect=dialect, column_keys=names)
    # The driver takes each row's values in the order the statement names the columns.
    order = list(statement.positiontup)
    if sorted(order) != sorted(names):
        raise RuntimeError(f"{table.name}: insert compiled with columns {order}, not {names}")
    values = []
    for name in order:
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        values.append([process(v) for v in columns[name]] if process else columns[name])
    conn.exec_driver_sql(str(statement), list(zip(*values)))


def _copy_rows(conn: Connection, table: Table, columns: list[str], rows: Iterable) -> None:
    cursor = conn.connection.dbapi_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _supersede(conn: Connection, unit_codes: set[str], year: int, quarter: int) -> None:
    """Keep each unit's latest accepted version of the quarter current; mark older ones superseded.

    Versions follow p135's own arrival order (the collect run that first saw the file, then its
    arrival time, then id): a file first seen in a later run is later, whatever its file time.
    """
    table = m.Submission.__table__
    files = m.ReceivedFile.__table__
    codes = sorted(unit_codes)
    versions: dict[str, list] = {}
    for start in range(0, len(codes), 500):
        rows = conn.execute(
            select(table.c.unit_code, table.c.submission_id, table.c.supersedes_submission_id)
            .join(files, files.c.file_sha256 == table.c.file_sha256)
            .where(
                table.c.unit_code.in_(codes[start:start + 500]), table.c.year == year,
                table.c.quarter == quarter, table.c.status.in_(m.CURRENT_STATUSES),
            )
            .order_by(table.c.unit_code, files.c.collect_run_id, table.c.received_at, table.c.submission_id)
        ).all()
        for row in rows:
            versions.setdefault(row.unit_code, []).append(row)
    for chain in versions.values():
        for earlier, later in zip(chain, chain[1:]):
            conn.execute(update(table).where(table.c.submission_id == earlier.submission_id).values(status="superseded"))
            if later.supersedes_submission_id is None:
                conn.execute(
                    update(table).where(table.c.submission_id == later.submission_id)
                    .values(supersedes_submission_id=earlier.submission_id)
                )
