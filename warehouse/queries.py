"""Reads the flows make of the warehouse; every figure comes from the analyst views."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Engine, text


def _frame(engine: Engine, sql: str, **params: Any) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn, params=params)


def carry_over(engine: Engine, year: int, quarter: int) -> dict[str, dict[str, Any]]:
    """Per unit: key tasks and plans of its latest accepted submission earlier in the year."""
    latest = _frame(
        engine,
        """
        SELECT unit_code, submission_id FROM (
            SELECT unit_code, submission_id,
                   ROW_NUMBER() OVER (PARTITION BY unit_code ORDER BY quarter DESC) AS rank_
            FROM v_current_submission WHERE year = :year AND quarter < :quarter
        ) t WHERE rank_ = 1
        """,
        year=year, quarter=quarter,
    )
    if latest.empty:
        return {}
    ids = [int(i) for i in latest["submission_id"]]
    unit_of = dict(zip(latest["submission_id"].astype(int), latest["unit_code"]))
    out: dict[str, dict[str, Any]] = {code: {"tasks": [], "plans": {}} for code in unit_of.values()}
    with engine.connect() as conn:
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            placeholders = ", ".join(str(i) for i in chunk)
            tasks = conn.execute(text(
                "SELECT submission_id, task_code, content_vi, source_code, status_code, completed_on "
                f"FROM submission_key_task WHERE submission_id IN ({placeholders}) "
                "ORDER BY submission_id, task_code"
            )).mappings().all()
            for row in tasks:
                out[unit_of[row["submission_id"]]]["tasks"].append(dict(row))
            plans = conn.execute(text(
                "SELECT submission_id, indicator_code, plan_value FROM submission_indicator "
                f"WHERE submission_id IN ({placeholders}) AND plan_value IS NOT NULL"
            )).mappings().all()
            for row in plans:
                out[unit_of[row["submission_id"]]]["plans"][row["indicator_code"]] = row["plan_value"]
    return out


def year_end_headline(engine: Engine, year: int) -> pd.DataFrame:
    """v_year_end_programme135 for one year, with how each metric is displayed."""
    return _frame(
        engine,
        """
        SELECT v.year, v.metric_code, v.label_vi, v.value, v.plan, v.pct_of_plan,
               h.display_unit_vi, h.display_decimals, h.position
        FROM v_year_end_programme135 v
        JOIN programme p ON p.year = v.year
        JOIN headline_metric h ON h.programme_code = p.programme_code AND h.metric_code = v.metric_code
        WHERE v.year = :year
        ORDER BY h.position
        """,
        year=year,
    )


def submissions_in_year(engine: Engine, year: int) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT COUNT(*) FROM v_current_submission WHERE year = :year"), {"year": year}
        ).scalar_one()


def group_indicators(engine: Engine, year: int) -> pd.DataFrame:
    """Year figures by unit group and indicator, each by its own aggregation."""
    return _frame(
        engine,
        """
        SELECT g.unit_group, g.indicator_code, i.label_vi, i.unit_vi, i.aggregation,
               g.units_reporting, g.value, g.plan_value, i.position
        FROM v_year_group_indicator g
        JOIN programme p ON p.year = g.year
        JOIN indicator i ON i.programme_code = p.programme_code AND i.indicator_code = g.indicator_code
        WHERE g.year = :year
        ORDER BY g.unit_group, i.position
        """,
        year=year,
    )


def key_tasks_by_unit(engine: Engine, year: int) -> pd.DataFrame:
    """Per unit: key tasks identified in the year, by source, and completed (latest state)."""
    return _frame(
        engine,
        """
        SELECT unit_code, unit_group, source_code,
               COUNT(*) AS identified,
               SUM(CASE WHEN is_completed THEN 1 ELSE 0 END) AS completed
        FROM v_key_task_latest
        WHERE year = :year
        GROUP BY unit_code, unit_group, source_code
        """,
        year=year,
    )


def unit_indicators(engine: Engine, year: int) -> pd.DataFrame:
    """One row per unit and indicator: the unit's year figure and plan."""
    return _frame(
        engine,
        """
        SELECT u.unit_code, u.unit_name, u.unit_group, u.indicator_code, u.value, u.plan_value,
               u.quarters_reported
        FROM v_unit_year_indicator u
        WHERE u.year = :year
        ORDER BY u.unit_group, u.unit_code
        """,
        year=year,
    )


def sources_used(engine: Engine, year: int) -> pd.DataFrame:
    """The submission behind each unit's quarter in the published figures, with its file hash."""
    return _frame(
        engine,
        """
        SELECT s.unit_code, s.unit_name, s.unit_group, s.quarter, s.status, s.received_at,
               s.deadline, s.is_on_time, s.version, s.file_sha256, f.original_name
        FROM v_submission_status s
        JOIN received_file f ON f.file_sha256 = s.file_sha256
        WHERE s.year = :year AND s.status IN ('accepted', 'accepted_with_warnings')
        ORDER BY s.unit_code, s.quarter
        """,
        year=year,
    )
