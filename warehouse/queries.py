"""Reads the flows make of the warehouse; every figure comes from the analyst views."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Engine, text


def _frame(engine: Engine, sql: str, **params: Any) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn, params=params)


# Each unit's latest accepted submission earlier in the same year: what a quarter builds on.
_LATEST_EARLIER = """
    SELECT unit_code, submission_id, quarter FROM (
        SELECT unit_code, submission_id, quarter,
               ROW_NUMBER() OVER (PARTITION BY unit_code ORDER BY quarter DESC) AS rank_
        FROM v_current_submission WHERE year = :year AND quarter < :quarter
    ) t WHERE rank_ = 1
"""


def carry_over(engine: Engine, year: int, quarter: int) -> dict[str, dict[str, Any]]:
    """Per unit: key tasks and plans of its latest accepted submission earlier in the year."""
    indicators, tasks = earlier_quarters(engine, year, quarter, task_detail=True)
    out: dict[str, dict[str, Any]] = {}
    for row in tasks.sort_values(["unit_code", "task_code"]).to_dict("records"):
        out.setdefault(row["unit_code"], {"tasks": [], "plans": {}})["tasks"].append(row)
    for row in indicators.dropna(subset=["plan_value"]).to_dict("records"):
        out.setdefault(row["unit_code"], {"tasks": [], "plans": {}})["plans"][row["indicator_code"]] = row["plan_value"]
    return out


def earlier_quarters(
    engine: Engine, year: int, quarter: int, task_detail: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Indicators and key tasks of each unit's latest accepted submission earlier in the year."""
    detail = ", k.content_vi, k.source_code, k.completed_on" if task_detail else ""
    indicators = _frame(
        engine,
        f"""
        SELECT l.unit_code, l.quarter, si.indicator_code, si.value, si.ytd_value, si.plan_value
        FROM submission_indicator si JOIN ({_LATEST_EARLIER}) l ON l.submission_id = si.submission_id
        """,
        year=year, quarter=quarter,
    )
    tasks = _frame(
        engine,
        f"""
        SELECT l.unit_code, l.quarter, k.task_code, k.status_code{detail}
        FROM submission_key_task k JOIN ({_LATEST_EARLIER}) l ON l.submission_id = k.submission_id
        """,
        year=year, quarter=quarter,
    )
    return indicators, tasks


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

