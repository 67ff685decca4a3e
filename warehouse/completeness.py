"""Completeness and timeliness of a quarter (DHIS2's reporting and on-time rates), from the views."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, text

# Order in which the ops team reads units: what needs action first.
STATE_ORDER = ("missing", "rejected", "held", "late", "on_time")


# The first error of submission `s`, in the order the checks found them: what a list of files quotes.
FIRST_ERROR = """(SELECT v.message_vi FROM validation_finding v
                WHERE v.submission_id = s.submission_id AND v.severity = 'error'
                ORDER BY v.validation_finding_id LIMIT 1) AS first_error"""


def _frame(engine: Engine, sql: str, **params) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn, params=params)


def group_completeness(engine: Engine, year: int, quarter: int | None = None) -> pd.DataFrame:
    """v_completeness for a quarter (or every quarter of the year), one row per group."""
    where = "year = :year" + (" AND quarter = :quarter" if quarter is not None else "")
    frame = _frame(
        engine,
        "SELECT year, quarter, unit_group, expected, received, accepted, on_time, late, missing, "
        f"rejected, reporting_rate, on_time_rate FROM v_completeness WHERE {where} "
        "ORDER BY year, quarter, unit_group",
        year=year, quarter=quarter,
    )
    counts = ["expected", "received", "accepted", "on_time", "late", "missing", "rejected"]
    frame[counts] = frame[counts].astype(int)
    frame[["reporting_rate", "on_time_rate"]] = frame[["reporting_rate", "on_time_rate"]].astype(float)
    return frame


def unit_completeness(engine: Engine, year: int, quarter: int) -> pd.DataFrame:
    """v_unit_completeness for a quarter: missing, rejected, held, late, then on-time units."""
    frame = _frame(
        engine,
        "SELECT unit_code, unit_name, unit_group, deadline, is_extended, files_received, "
        "first_received_at, last_received_at, state FROM v_unit_completeness "
        "WHERE year = :year AND quarter = :quarter",
        year=year, quarter=quarter,
    )
    frame["is_extended"] = frame["is_extended"].astype(bool)
    frame["files_received"] = frame["files_received"].astype(int)
    frame["rank_"] = frame["state"].map({s: n for n, s in enumerate(STATE_ORDER)})
    return frame.sort_values(["rank_", "unit_group", "unit_code"]).drop(columns="rank_").reset_index(drop=True)


def latest_errors(engine: Engine, year: int, quarter: int, limit: int = 5) -> dict[str, list[dict]]:
    """Per unit: the errors of its latest file of the quarter, in cell order (what to fix)."""
    rows = _frame(
        engine,
        """
        SELECT s.unit_code, f.original_name, v.rule_id, v.sheet, v.cell, v.message_vi
        FROM v_submission_status s
        JOIN received_file f ON f.file_sha256 = s.file_sha256
        JOIN validation_finding v ON v.submission_id = s.submission_id
        WHERE s.year = :year AND s.quarter = :quarter AND s.is_latest
          AND s.status = 'rejected' AND v.severity = 'error'
        ORDER BY s.unit_code, v.validation_finding_id
        """,
        year=year, quarter=quarter,
    )
    # A finding about a whole row names no cell: NULL, which pandas reads as NaN beside cells' text.
    rows = rows.astype(object).where(rows.notna(), None)
    out: dict[str, list[dict]] = {}
    for row in rows.to_dict("records"):
        found = out.setdefault(row["unit_code"], [])
        if len(found) < limit:
            found.append(row)
    return out


def held_corrections(engine: Engine, year: int, quarter: int) -> list[dict]:
    """Files held while the quarter is approved from units that already have an accepted report:
    corrections waiting for a reopening (a unit with nothing but a held file is in state `held`)."""
    rows = _frame(
        engine,
        """
        SELECT s.unit_code, f.original_name, f.received_at
        FROM submission s
        JOIN received_file f ON f.file_sha256 = s.file_sha256
        WHERE s.year = :year AND s.quarter = :quarter AND s.status = 'held'
          AND EXISTS (SELECT 1 FROM v_current_submission c
                      WHERE c.unit_code = s.unit_code AND c.year = s.year AND c.quarter = s.quarter)
        ORDER BY s.unit_code, f.received_at
        """,
        year=year, quarter=quarter,
    )
    return rows.astype(object).where(rows.notna(), None).to_dict("records")


def unattributed_files(engine: Engine, year: int, quarter: int) -> list[dict]:
    """Files of the quarter that no unit could be told for (a PDF, an empty file, a workbook
    without its template's identity), each with its first error: counted for no unit, so the
    units that sent them still show as not reported. A file whose name later came again with a
    content read as a unit's (a copy still being written when a run read it, then finished) is
    no longer a problem to list."""
    rows = _frame(
        engine,
        f"""
        SELECT f.original_name, s.received_at,
               {FIRST_ERROR}
        FROM submission s
        JOIN received_file f ON f.file_sha256 = s.file_sha256
        WHERE s.year = :year AND s.quarter = :quarter AND s.unit_code IS NULL
          AND NOT EXISTS (SELECT 1 FROM submission later
                          JOIN received_file lf ON lf.file_sha256 = later.file_sha256
                          WHERE later.year = s.year AND later.quarter = s.quarter
                            AND later.unit_code IS NOT NULL AND later.received_at > s.received_at
                            AND lf.original_name = f.original_name)
        ORDER BY s.received_at, f.original_name
        """,
        year=year, quarter=quarter,
    )
    return rows.astype(object).where(rows.notna(), None).to_dict("records")


def refused_entries(engine: Engine, year: int, quarter: int) -> list[dict]:
    """Inbox entries the quarter's latest finished run refused unread (a copy of another quarter's
    file, an empty file, a folder): each run reads the whole inbox, so these are the ones still
    there. They count for no unit; a unit whose code a name carries is told, not that nothing came."""
    rows = _frame(
        engine,
        """
        SELECT r.name AS original_name, c.started_at AS received_at, r.reason AS first_error
        FROM inbox_refusal r
        JOIN collect_run c ON c.collect_run_id = r.collect_run_id
        WHERE r.collect_run_id = (
            SELECT MAX(collect_run_id) FROM collect_run
            WHERE year = :year AND quarter = :quarter AND finished_at IS NOT NULL)
        ORDER BY r.name
        """,
        year=year, quarter=quarter,
    )
    return [{**r, "refused": True} for r in rows.astype(object).where(rows.notna(), None).to_dict("records")]


def misnamed_files(engine: Engine, year: int, quarter: int) -> list[dict]:
    """Files of the quarter refused because their name carries another unit's code than their
    template's (CQ047_BaoCao.xlsx in CQ001's template): counted for neither, each with the unit
    whose template it is and the message it was given."""
    rows = _frame(
        engine,
        """
        SELECT f.original_name, s.received_at, s.unit_code AS template_unit_code, v.message_vi AS first_error
        FROM submission s
        JOIN received_file f ON f.file_sha256 = s.file_sha256
        JOIN validation_finding v ON v.submission_id = s.submission_id
                                 AND v.rule_id = 'identity.file_name_other_unit'
        WHERE s.year = :year AND s.quarter = :quarter
        ORDER BY s.received_at, f.original_name
        """,
        year=year, quarter=quarter,
    )
    return rows.astype(object).where(rows.notna(), None).to_dict("records")


def not_due_files(engine: Engine, year: int, quarter: int) -> list[dict]:
    """Each unit's latest file of the quarter from a unit not due to report it (merged into
    another, dissolved, or not yet founded on the quarter's last day), with its first error:
    counted for no one, and in no unit's state, so the ops team reads them here."""
    rows = _frame(
        engine,
        f"""
        SELECT s.unit_code, s.unit_name, f.original_name, s.received_at,
               {FIRST_ERROR}
        FROM v_submission_status s
        JOIN received_file f ON f.file_sha256 = s.file_sha256
        JOIN period p ON p.year = s.year AND p.quarter = s.quarter
        WHERE s.year = :year AND s.quarter = :quarter AND s.is_latest AND s.unit_code IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM unit u
                          WHERE u.unit_code = s.unit_code AND u.valid_from <= p.ends_on
                            AND (u.valid_to IS NULL OR u.valid_to >= p.ends_on))
        ORDER BY s.unit_code
        """,
        year=year, quarter=quarter,
    )
    return rows.astype(object).where(rows.notna(), None).to_dict("records")
