"""Reads the flows make of the warehouse; every figure comes from the analyst views."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Engine, String, text


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
    for row in indicators.dropna(subset=["ytd_value"]).to_dict("records"):
        found = out.setdefault(row["unit_code"], {"tasks": [], "plans": {}})
        found.setdefault("ytd", {})[row["indicator_code"]] = row["ytd_value"]
        found["ytd_quarter"] = int(row["quarter"])
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


def sources_used(engine: Engine, year: int) -> pd.DataFrame:
    """The submission behind each unit's quarter in the published figures, with its file hash.

    `is_on_time` is the file's own arrival; `is_unit_on_time` the unit's quarter as completeness
    counts it (its first file that passed the checks): a correction sent after the deadline does
    not make an on-time unit late."""
    return _frame(
        engine,
        """
        SELECT s.unit_code, s.unit_name, s.unit_group, s.quarter, s.status, s.received_at,
               s.deadline, s.is_on_time, s.version, s.submission_id, s.file_sha256, f.original_name,
               CASE WHEN c.state = 'late' THEN 0 ELSE 1 END AS is_unit_on_time
        FROM v_submission_status s
        JOIN received_file f ON f.file_sha256 = s.file_sha256
        LEFT JOIN v_unit_completeness c ON c.year = s.year AND c.quarter = s.quarter AND c.unit_code = s.unit_code
        WHERE s.year = :year AND s.status IN ('accepted', 'accepted_with_warnings')
        ORDER BY s.unit_code, s.quarter
        """,
        year=year,
    )



def quarter_totals(engine: Engine, year: int, indicator_code: str) -> pd.DataFrame:
    """A flow indicator's bloc total in each quarter (the current submissions added up)."""
    return _frame(
        engine,
        """
        SELECT quarter, SUM(value) AS value, COUNT(value) AS units_reporting
        FROM v_unit_quarter_indicator
        WHERE year = :year AND indicator_code = :code
        GROUP BY quarter
        ORDER BY quarter
        """,
        year=year, code=indicator_code,
    )


def unit_year(engine: Engine, year: int) -> pd.DataFrame:
    """Each unit of the year as it stood at the year's end: name, group, the day it ended within
    the year, and the unit it belonged to after the mergers up to then (named as it was then)."""
    return _frame(
        engine,
        """
        SELECT u.unit_code, u.unit_name, u.unit_group, u.ended_on AS valid_to,
               u.year_end_unit_code AS current_unit_code, c.unit_name AS current_unit_name, u.is_merged
        FROM unit_year u
        JOIN unit_year c ON c.unit_code = u.year_end_unit_code AND c.year = u.year
        WHERE u.year = :year
        ORDER BY u.unit_code
        """,
        year=year,
    )


def open_findings(engine: Engine, year: int) -> pd.DataFrame:
    """Each unit's latest file of each quarter that still carries findings (warnings or errors)."""
    return _frame(
        engine,
        """
        SELECT s.unit_code, s.unit_name, s.unit_group, s.quarter, s.status, s.version,
               SUM(CASE WHEN f.severity = 'error' THEN 1 ELSE 0 END) AS errors,
               SUM(CASE WHEN f.severity = 'warning' THEN 1 ELSE 0 END) AS warnings,
               MIN(f.message_vi) AS a_message
        FROM v_submission_status s
        JOIN v_validation_findings f ON f.submission_id = s.submission_id
        WHERE s.year = :year AND s.is_latest
        GROUP BY s.unit_code, s.unit_name, s.unit_group, s.quarter, s.status, s.version
        ORDER BY s.unit_code, s.quarter
        """,
        year=year,
    )


def units_in_force(engine: Engine, year: int) -> pd.DataFrame:
    """One row per quarter of the year and unit in force on its last day: who was due to report."""
    return _frame(
        engine,
        """
        SELECT p.quarter, u.unit_code
        FROM period p
        JOIN unit u ON u.valid_from <= p.ends_on AND (u.valid_to IS NULL OR u.valid_to >= p.ends_on)
        WHERE p.year = :year
        ORDER BY u.unit_code, p.quarter
        """,
        year=year,
    )


# The year's figures for publishing, each unit's year computed once. The views above evaluate
# every unit's year inside each read (headline, groups, whole bloc, enterprises: seven groupings
# of every unit-quarter at national volume); here each unit's year, each merged group's year and
# the key tasks' latest states are made once into temporary tables, by the rules of
# v_unit_year_indicator, v_unit_year_indicator_rollup and v_key_task_latest, and the aggregates
# over units are made from those by the same rules as v_year_indicator, v_year_group_indicator,
# v_key_tasks_by_source and v_year_end_programme135 (tests/test_year_aggregates.py checks that
# they agree with the views).
UNIT_YEAR_TABLE = "publish_unit_year"
ROLLUP_TABLE = "publish_unit_year_rollup"
TASK_STATE_TABLE = "publish_task_state"

# The year's current rows: one per unit, quarter and indicator reported, with the unit it belonged
# to at the year's end, the indicator's aggregation and the weight of a weighted mean (as the
# views join them).
_ROWS = """
    SELECT c.unit_code, yu.year_end_unit_code AS current_unit_code, c.year, c.quarter, c.indicator_code,
           i.aggregation, c.value, c.plan_value, w.value AS w
    FROM v_unit_quarter_indicator c
    JOIN unit_year yu ON yu.unit_code = c.unit_code AND yu.year = c.year
    JOIN period p ON p.year = c.year AND p.quarter = c.quarter
    JOIN indicator i ON i.programme_code = p.programme_code AND i.indicator_code = c.indicator_code
    LEFT JOIN (
        SELECT submission_id, indicator_code, value FROM submission_indicator
        WHERE indicator_code IN (SELECT weight_indicator_code FROM indicator WHERE weight_indicator_code IS NOT NULL)
    ) w ON w.submission_id = c.submission_id AND w.indicator_code = i.weight_indicator_code
    WHERE c.year = :year
"""


def _in_quarter(q: int, expression: str, condition: str = "") -> str:
    return f"CASE WHEN quarter = {q}{condition} THEN {expression} END"


def _at_quarter(name: str, quarter: str) -> str:
    """`name`_<q> of the quarter q that the column `quarter` holds."""
    return f"CASE {quarter} " + " ".join(f"WHEN {q} THEN {name}_{q}" for q in (4, 3, 2, 1)) + " END"


def _figure(year_figure: str, members: str) -> str:
    """A year's value, plan and weight by the indicator's rule, from `year_figure`'s sums and
    per-quarter columns (value_<q>, plan_<q>, weighted_plan_<q>), as the views' `figure`."""
    return f"""
        SELECT unit_code, year, indicator_code, aggregation, {members} AS members,
               CASE aggregation
                   WHEN 'sum' THEN value_sum
                   WHEN 'latest' THEN {_at_quarter("value", "last_quarter")}
                   WHEN 'weighted_mean' THEN weighted_value / NULLIF(weight, 0)
               END AS value,
               CASE aggregation
                   WHEN 'weighted_mean' THEN {_at_quarter("weighted_plan", "plan_quarter")}
                   ELSE {_at_quarter("plan", "plan_quarter")}
               END AS plan_value,
               CASE WHEN aggregation = 'weighted_mean' THEN weight END AS weight
        FROM ({year_figure}) year_figure
    """


def _unit_years() -> str:
    """Each unit's own year in one grouping of its rows. The views first add up each quarter's
    rows and then take each quarter's sum; a sum over the rows of one quarter is that sum, so
    the per-quarter columns are sums of the rows by quarter (NULL when the quarter has none)."""
    quarters = ",\n".join(
        f"SUM({_in_quarter(q, 'value')}) AS value_{q}, SUM({_in_quarter(q, 'plan_value')}) AS plan_{q}, "
        f"SUM({_in_quarter(q, 'plan_value * w')}) "
        f"/ NULLIF(SUM({_in_quarter(q, 'w', ' AND plan_value IS NOT NULL')}), 0) AS weighted_plan_{q}"
        for q in (1, 2, 3, 4)
    )
    return _figure(f"""
        SELECT unit_code, year, indicator_code, aggregation,
               SUM(value) AS value_sum,
               SUM(value * w) AS weighted_value,
               SUM(CASE WHEN value IS NOT NULL THEN w END) AS weight,
               MAX(quarter) AS last_quarter,
               MAX(CASE WHEN plan_value IS NOT NULL THEN quarter END) AS plan_quarter,
               {quarters}
        FROM ({_ROWS}) r
        WHERE aggregation <> 'latest'
        GROUP BY unit_code, year, indicator_code, aggregation
    """, "1")


def _merged_years() -> str:
    """Each unit as it stood at the year's end (units merged by then inside their successor): each quarter's members
    counted and their rows added up in one grouping, then the year as the roll-up view makes it.
    Only what publishing reads of it: the stocks, and every indicator of the group listed unit
    by unit (the enterprises)."""
    per_quarter = ",\n".join(
        f"MAX({_in_quarter(q, 'value')}) AS value_{q}, MAX({_in_quarter(q, 'plan_value')}) AS plan_{q}, "
        f"MAX({_in_quarter(q, 'weighted_plan / NULLIF(plan_weight, 0)')}) AS weighted_plan_{q}"
        for q in (1, 2, 3, 4)
    )
    return _figure(f"""
        SELECT unit_code, year, indicator_code, aggregation,
               MAX(members) AS members,
               SUM(value) AS value_sum,
               SUM(weighted_value) AS weighted_value,
               SUM(weight) AS weight,
               MAX(quarter) AS last_quarter,
               MAX(CASE WHEN plan_value IS NOT NULL THEN quarter END) AS plan_quarter,
               {per_quarter}
        FROM (
            SELECT current_unit_code AS unit_code, year, quarter, indicator_code, aggregation,
                   COUNT(DISTINCT unit_code) AS members,
                   SUM(value) AS value,
                   SUM(plan_value) AS plan_value,
                   SUM(value * w) AS weighted_value,
                   SUM(CASE WHEN value IS NOT NULL THEN w END) AS weight,
                   SUM(plan_value * w) AS weighted_plan,
                   SUM(CASE WHEN plan_value IS NOT NULL THEN w END) AS plan_weight
            FROM ({_ROWS}) r
            WHERE aggregation = 'latest'
               OR current_unit_code IN (SELECT unit_code FROM unit_year WHERE year = :year AND unit_group = :unit_group)
            GROUP BY current_unit_code, year, quarter, indicator_code, aggregation
        ) q
        GROUP BY unit_code, year, indicator_code, aggregation
    """, "members")


_TEMPORARY = {
    # Each unit's own year: what flows and weighted means are added up from (stocks come from the roll-up).
    UNIT_YEAR_TABLE: f"""
        SELECT y.unit_code, l.unit_group, y.year, y.indicator_code, y.aggregation, y.value, y.plan_value, y.weight
        FROM ({_unit_years()}) y
        JOIN unit_year l ON l.unit_code = y.unit_code AND l.year = y.year
    """,
    # A unit that took others in plans, for a flow or a weighted mean, what its members planned, as
    # revision 0016 makes it (the plan of its latest quarter is its own alone).
    ROLLUP_TABLE: f"""
        SELECT y.unit_code, l.unit_name, l.unit_group, y.members AS units_reporting, y.year, y.indicator_code,
               y.aggregation, y.value,
               CASE WHEN y.members > 1 AND y.aggregation = 'sum' THEN mp.plan_sum
                    WHEN y.members > 1 AND y.aggregation = 'weighted_mean'
                        THEN mp.weighted_plan / NULLIF(mp.plan_weight, 0)
                    ELSE y.plan_value END AS plan_value
        FROM ({_merged_years()}) y
        JOIN unit_year l ON l.unit_code = y.unit_code AND l.year = y.year
        LEFT JOIN (
            SELECT yu.year_end_unit_code AS unit_code, u.year, u.indicator_code,
                   SUM(u.plan_value) AS plan_sum,
                   SUM(u.plan_value * u.weight) AS weighted_plan,
                   SUM(CASE WHEN u.plan_value IS NOT NULL THEN u.weight END) AS plan_weight
            FROM {UNIT_YEAR_TABLE} u
            JOIN unit_year yu ON yu.unit_code = u.unit_code AND yu.year = u.year
            GROUP BY yu.year_end_unit_code, u.year, u.indicator_code
        ) mp ON mp.unit_code = y.unit_code AND mp.year = y.year AND mp.indicator_code = y.indicator_code
    """,
    # v_key_task_latest groups each task under its unit's group at the year's end.
    TASK_STATE_TABLE: """
        SELECT year, unit_group, source_code, status_code, is_completed, COUNT(*) AS n
        FROM v_key_task_latest WHERE year = :year
        GROUP BY year, unit_group, source_code, status_code, is_completed
    """,
}


def _across_units(keys: str) -> str:
    """The aggregation over units of v_year_indicator / v_year_group_indicator, on the temporary tables
    (a stock only from the units that still exist at year end, as revisions 0012 and 0013 made them)."""
    return f"""
        SELECT {keys}, indicator_code, aggregation,
               COUNT(value) AS units_reporting,
               CASE WHEN aggregation = 'weighted_mean'
                    THEN SUM(value * weight) / NULLIF(SUM(CASE WHEN value IS NOT NULL THEN weight END), 0)
                    ELSE SUM(value) END AS value,
               CASE WHEN aggregation = 'weighted_mean'
                    THEN SUM(plan_value * weight)
                         / NULLIF(SUM(CASE WHEN plan_value IS NOT NULL THEN weight END), 0)
                    ELSE SUM(plan_value) END AS plan_value
        FROM {UNIT_YEAR_TABLE}
        WHERE aggregation <> 'latest'
        GROUP BY {keys}, indicator_code, aggregation
        UNION ALL
        SELECT {keys}, indicator_code, aggregation,
               CAST(COALESCE(SUM(CASE WHEN value IS NOT NULL THEN units_reporting END), 0) AS BIGINT)
                   AS units_reporting,
               SUM(value) AS value,
               SUM(plan_value) AS plan_value
        FROM {ROLLUP_TABLE} r
        WHERE aggregation = 'latest'
          AND NOT EXISTS (
              SELECT 1 FROM unit_year l
              WHERE l.unit_code = r.unit_code AND l.year = r.year AND l.ended_on IS NOT NULL)
        GROUP BY {keys}, indicator_code, aggregation
    """


_HEADLINE = f"""
    WITH task_count AS (
        SELECT m.programme_code, m.metric_code, CAST(SUM(t.n) AS BIGINT) AS n
        FROM headline_task_member m
        JOIN programme p ON p.programme_code = m.programme_code
        JOIN {TASK_STATE_TABLE} t ON t.year = p.year
                                 AND t.source_code = m.source_code
                                 AND t.status_code = m.status_code
        GROUP BY m.programme_code, m.metric_code
    ),
    year_indicator AS ({_across_units("year")}),
    figure AS (
        SELECT p.year, h.programme_code, h.metric_code, h.label_vi, h.position, h.plan_metric_code,
               h.display_unit_vi, h.display_decimals,
               CASE WHEN h.is_task_count THEN COALESCE(tc.n, 0) ELSE yi.value END AS value,
               yi.plan_value AS plan
        FROM headline_metric h
        JOIN programme p ON p.programme_code = h.programme_code
        LEFT JOIN task_count tc ON tc.programme_code = h.programme_code
                               AND tc.metric_code = h.metric_code
        LEFT JOIN year_indicator yi ON yi.year = p.year AND yi.indicator_code = h.indicator_code
        WHERE p.year = :year
    )
    SELECT f.year, f.metric_code, f.label_vi,
           ROUND(CAST(f.value AS NUMERIC), 3) AS value,
           ROUND(CAST(COALESCE(pm.value, f.plan) AS NUMERIC), 3) AS plan,
           ROUND(CAST(100.0 * f.value / NULLIF(COALESCE(pm.value, f.plan), 0) AS NUMERIC), 1)
               AS pct_of_plan,
           f.display_unit_vi, f.display_decimals, f.position
    FROM figure f
    LEFT JOIN figure pm ON pm.programme_code = f.programme_code
                       AND pm.metric_code = f.plan_metric_code
    ORDER BY f.position
"""

_GROUPS = f"""
    SELECT g.unit_group, g.indicator_code, i.label_vi, i.unit_vi, i.aggregation,
           g.units_reporting, g.value, g.plan_value, i.position
    FROM ({_across_units("year, unit_group")}) g
    JOIN programme p ON p.year = g.year
    JOIN indicator i ON i.programme_code = p.programme_code AND i.indicator_code = g.indicator_code
    ORDER BY g.unit_group, i.position
"""

_BLOC = f"""
    SELECT y.indicator_code, y.units_reporting, y.value, y.plan_value
    FROM ({_across_units("year")}) y
"""

_TASKS_BY_SOURCE = f"""
    SELECT t.unit_group, t.source_code AS source, s.label_vi AS source_label_vi,
           CAST(SUM(t.n) AS BIGINT) AS identified,
           CAST(SUM(CASE WHEN t.is_completed THEN t.n ELSE 0 END) AS BIGINT) AS completed
    FROM {TASK_STATE_TABLE} t
    JOIN programme p ON p.year = t.year
    LEFT JOIN task_source s ON s.programme_code = p.programme_code AND s.source_code = t.source_code
    GROUP BY t.unit_group, t.source_code, s.label_vi, s.position
    ORDER BY t.unit_group, s.position
"""

_TASKS_BY_GROUP = f"""
    SELECT unit_group, CAST(SUM(n) AS BIGINT) AS identified,
           CAST(SUM(CASE WHEN is_completed THEN n ELSE 0 END) AS BIGINT) AS completed
    FROM {TASK_STATE_TABLE}
    GROUP BY unit_group
    ORDER BY unit_group
"""

_ENTERPRISES = f"""
    SELECT unit_code, unit_name, indicator_code, value, plan_value, units_reporting
    FROM {ROLLUP_TABLE}
    WHERE unit_group = :unit_group
    ORDER BY unit_code
"""


def _drop_temporary(conn) -> None:
    for name in reversed(_TEMPORARY):
        conn.execute(text(f"DROP TABLE IF EXISTS {name}"))


def _literal(conn, value: str) -> str:
    """`value` as an SQL string literal of the connection's dialect."""
    return String().literal_processor(dialect=conn.dialect)(value)


def year_aggregates(engine: Engine, year: int, enterprise_group: str = "enterprises") -> dict[str, pd.DataFrame]:
    """Headline, groups, group tasks, tasks by source, whole bloc and enterprises of one year, as
    v_year_end_programme135, v_year_group_indicator, v_key_tasks_by_source and v_year_indicator
    give them, from one evaluation of the units' years (tests/view_reads.py reads the views)."""
    with engine.connect() as conn:
        _drop_temporary(conn)
        try:
            for name, select in _TEMPORARY.items():
                # The year and group inline (an int; a literal quoted by the driver's rules below):
                # PostgreSQL takes no bound parameters in CREATE TABLE AS.
                sql = select.replace(":year", str(int(year))).replace(":unit_group", _literal(conn, enterprise_group))
                conn.execute(text(f"CREATE TEMPORARY TABLE {name} AS {sql}"))
                # Autovacuum never analyses temporary tables: the reads below need their volume.
                conn.execute(text(f"ANALYZE {name}"))

            def read(sql: str, **params: Any) -> pd.DataFrame:
                return pd.read_sql(text(sql), conn, params=params)

            return {
                "headline": read(_HEADLINE, year=year),
                "groups": read(_GROUPS),
                "group_tasks": read(_TASKS_BY_GROUP),
                "tasks_by_source": read(_TASKS_BY_SOURCE),
                "bloc": read(_BLOC),
                "enterprises": read(_ENTERPRISES, unit_group=enterprise_group),
            }
        except Exception:
            # A failed statement aborts PostgreSQL's transaction: the drops below would fail in it
            # and hide the first error behind "current transaction is aborted".
            conn.rollback()
            raise
        finally:
            _drop_temporary(conn)
            conn.commit()
