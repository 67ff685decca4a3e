"""The year's figures read straight from the analyst views: the reference that
`warehouse.queries.year_aggregates` (publish's single pass over the units' year) is held to."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, text


def _frame(engine: Engine, sql: str, **params) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn, params=params)


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


def key_tasks_by_source(engine: Engine, year: int) -> pd.DataFrame:
    """v_key_tasks_by_source for one year, in the programme's order of sources."""
    return _frame(
        engine,
        """
        SELECT v.unit_group, v.source, v.source_label_vi, v.identified, v.completed
        FROM v_key_tasks_by_source v
        JOIN programme p ON p.year = v.year
        LEFT JOIN task_source s ON s.programme_code = p.programme_code AND s.source_code = v.source
        WHERE v.year = :year
        ORDER BY v.unit_group, s.position
        """,
        year=year,
    )


def key_tasks_by_group(engine: Engine, year: int) -> pd.DataFrame:
    """Key tasks identified and completed per unit group (v_key_tasks_by_source added up)."""
    return _frame(
        engine,
        """
        SELECT unit_group, SUM(identified) AS identified, SUM(completed) AS completed
        FROM v_key_tasks_by_source
        WHERE year = :year
        GROUP BY unit_group
        ORDER BY unit_group
        """,
        year=year,
    )


def bloc_indicators(engine: Engine, year: int) -> pd.DataFrame:
    """v_year_indicator for one year: the whole bloc's figure and plan of each indicator."""
    return _frame(
        engine,
        """
        SELECT y.indicator_code, y.units_reporting, y.value, y.plan_value
        FROM v_year_indicator y
        WHERE y.year = :year
        """,
        year=year,
    )


def current_unit_indicators(engine: Engine, year: int, unit_group: str) -> pd.DataFrame:
    """One row per unit as it is today and indicator (merged units' figures under their successor)."""
    return _frame(
        engine,
        """
        SELECT r.unit_code, r.unit_name, r.indicator_code, r.value, r.plan_value, r.units_reporting
        FROM v_unit_year_indicator_rollup r
        WHERE r.year = :year AND r.unit_group = :unit_group
        ORDER BY r.unit_code
        """,
        year=year, unit_group=unit_group,
    )
