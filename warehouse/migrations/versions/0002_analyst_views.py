"""Analyst views: current submissions, year aggregates by each indicator's rule, the headline.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

The views are generic: what a year reports comes from the programme tables (indicator,
headline_metric, headline_task_member), so a new programme year needs no new view.
They are written in the SQL that SQLite and PostgreSQL share.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CURRENT_SUBMISSION = """
CREATE VIEW v_current_submission AS
SELECT s.submission_id, s.unit_code, s.year, s.quarter, s.received_at,
       u.name_vi AS unit_name, u.unit_group, u.unit_type
FROM submission s
JOIN period p ON p.year = s.year AND p.quarter = s.quarter
JOIN unit u ON u.unit_code = s.unit_code
           AND u.valid_from <= p.ends_on
           AND (u.valid_to IS NULL OR u.valid_to >= p.ends_on)
WHERE s.status IN ('accepted', 'accepted_with_warnings')
"""

UNIT_QUARTER_INDICATOR = """
CREATE VIEW v_unit_quarter_indicator AS
SELECT c.submission_id, c.unit_code, c.unit_name, c.unit_group, c.year, c.quarter,
       si.indicator_code, si.value, si.plan_value
FROM v_current_submission c
JOIN submission_indicator si ON si.submission_id = c.submission_id
"""

UNIT_YEAR_INDICATOR = """
CREATE VIEW v_unit_year_indicator AS
WITH q AS (
    SELECT c.unit_code, c.year, c.quarter, c.unit_name, c.unit_group, c.indicator_code,
           i.aggregation, c.value, c.plan_value, w.value AS weight,
           ROW_NUMBER() OVER (PARTITION BY c.unit_code, c.year, c.indicator_code
                              ORDER BY c.quarter DESC) AS value_rank,
           ROW_NUMBER() OVER (PARTITION BY c.unit_code, c.year, c.indicator_code
                              ORDER BY CASE WHEN c.plan_value IS NULL THEN 1 ELSE 0 END,
                                       c.quarter DESC) AS plan_rank
    FROM v_unit_quarter_indicator c
    JOIN period p ON p.year = c.year AND p.quarter = c.quarter
    JOIN indicator i ON i.programme_code = p.programme_code AND i.indicator_code = c.indicator_code
    LEFT JOIN submission_indicator w ON w.submission_id = c.submission_id
                                    AND w.indicator_code = i.weight_indicator_code
)
SELECT unit_code, year, indicator_code, aggregation,
       MAX(CASE WHEN value_rank = 1 THEN unit_name END) AS unit_name,
       MAX(CASE WHEN value_rank = 1 THEN unit_group END) AS unit_group,
       COUNT(value) AS quarters_reported,
       CASE aggregation
           WHEN 'sum' THEN SUM(value)
           WHEN 'latest' THEN MAX(CASE WHEN value_rank = 1 THEN value END)
           WHEN 'weighted_mean' THEN SUM(value * weight)
                / NULLIF(SUM(CASE WHEN value IS NOT NULL THEN weight END), 0)
       END AS value,
       MAX(CASE WHEN plan_rank = 1 THEN plan_value END) AS plan_value,
       CASE WHEN aggregation = 'weighted_mean'
            THEN SUM(CASE WHEN value IS NOT NULL THEN weight END) END AS weight
FROM q
GROUP BY unit_code, year, indicator_code, aggregation
"""


def _across_units(name: str, keys: str) -> str:
    """A view aggregating v_unit_year_indicator over units, by each indicator's own rule."""
    return f"""
CREATE VIEW {name} AS
SELECT {keys}, indicator_code, aggregation,
       COUNT(value) AS units_reporting,
       CASE WHEN aggregation = 'weighted_mean'
            THEN SUM(value * weight) / NULLIF(SUM(CASE WHEN value IS NOT NULL THEN weight END), 0)
            ELSE SUM(value) END AS value,
       CASE WHEN aggregation = 'weighted_mean'
            THEN SUM(plan_value * weight)
                 / NULLIF(SUM(CASE WHEN plan_value IS NOT NULL THEN weight END), 0)
            ELSE SUM(plan_value) END AS plan_value
FROM v_unit_year_indicator
GROUP BY {keys}, indicator_code, aggregation
"""


KEY_TASK_LATEST = """
CREATE VIEW v_key_task_latest AS
SELECT t.unit_code, t.year, t.quarter AS last_quarter, t.unit_name, t.unit_group,
       t.task_code, t.content_vi, t.source_code, t.status_code, t.completed_on,
       st.is_completed
FROM (
    SELECT c.unit_code, c.year, c.quarter, c.unit_name, c.unit_group,
           k.task_code, k.content_vi, k.source_code, k.status_code, k.completed_on,
           ROW_NUMBER() OVER (PARTITION BY c.unit_code, c.year, k.task_code
                              ORDER BY c.quarter DESC) AS state_rank
    FROM v_current_submission c
    JOIN submission_key_task k ON k.submission_id = c.submission_id
) t
JOIN programme p ON p.year = t.year
LEFT JOIN task_status st ON st.programme_code = p.programme_code AND st.status_code = t.status_code
WHERE t.state_rank = 1
"""

YEAR_END = """
CREATE VIEW v_year_end_programme135 AS
WITH task_count AS (
    SELECT m.programme_code, m.metric_code, COUNT(t.task_code) AS n
    FROM headline_task_member m
    JOIN programme p ON p.programme_code = m.programme_code
    JOIN v_key_task_latest t ON t.year = p.year
                            AND t.source_code = m.source_code
                            AND t.status_code = m.status_code
    GROUP BY m.programme_code, m.metric_code
),
figure AS (
    SELECT p.year, h.programme_code, h.metric_code, h.label_vi, h.position, h.plan_metric_code,
           CASE WHEN h.is_task_count THEN COALESCE(tc.n, 0) ELSE yi.value END AS value,
           yi.plan_value AS plan
    FROM headline_metric h
    JOIN programme p ON p.programme_code = h.programme_code
    LEFT JOIN task_count tc ON tc.programme_code = h.programme_code
                           AND tc.metric_code = h.metric_code
    LEFT JOIN v_year_indicator yi ON yi.year = p.year AND yi.indicator_code = h.indicator_code
)
SELECT f.year, f.metric_code, f.label_vi,
       ROUND(CAST(f.value AS NUMERIC), 3) AS value,
       ROUND(CAST(COALESCE(pm.value, f.plan) AS NUMERIC), 3) AS plan,
       ROUND(CAST(100.0 * f.value / NULLIF(COALESCE(pm.value, f.plan), 0) AS NUMERIC), 1)
           AS pct_of_plan
FROM figure f
LEFT JOIN figure pm ON pm.programme_code = f.programme_code
                   AND pm.metric_code = f.plan_metric_code
ORDER BY f.year, f.position
"""

SUBMISSION_STATUS = """
CREATE VIEW v_submission_status AS
SELECT s.year, s.quarter, s.unit_code, u.name_vi AS unit_name, u.unit_group,
       s.status, s.received_at, p.deadline_on AS deadline,
       (s.received_at <= p.deadline_at) AS is_on_time,
       ROW_NUMBER() OVER (PARTITION BY s.unit_code, s.year, s.quarter
                          ORDER BY s.received_at, s.submission_id) AS version,
       (ROW_NUMBER() OVER (PARTITION BY s.unit_code, s.year, s.quarter
                           ORDER BY s.received_at DESC, s.submission_id DESC) = 1) AS is_latest,
       s.submission_id, s.file_sha256
FROM submission s
JOIN period p ON p.year = s.year AND p.quarter = s.quarter
LEFT JOIN unit u ON u.unit_code = s.unit_code
                AND u.valid_from <= p.ends_on
                AND (u.valid_to IS NULL OR u.valid_to >= p.ends_on)
"""

VIEWS = (
    ("v_current_submission", CURRENT_SUBMISSION),
    ("v_unit_quarter_indicator", UNIT_QUARTER_INDICATOR),
    ("v_unit_year_indicator", UNIT_YEAR_INDICATOR),
    ("v_year_group_indicator", _across_units("v_year_group_indicator", "year, unit_group")),
    ("v_year_indicator", _across_units("v_year_indicator", "year")),
    ("v_key_task_latest", KEY_TASK_LATEST),
    ("v_year_end_programme135", YEAR_END),
    ("v_submission_status", SUBMISSION_STATUS),
)


def upgrade() -> None:
    for _, sql in VIEWS:
        op.execute(sql)


def downgrade() -> None:
    for name, _ in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
