"""Analysts' warehouse: unit lineage across mergers, roll-up views, findings and key-task views,
column comments, and the collect lock.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Views are dropped and recreated with frozen SQL; the wide view v_unit_quarter_indicators is not a
migration's: it is recreated when a programme is loaded.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMN_COMMENTS = [
    ('collect_run', 'collect_run_id', 'Run log id'),
    ('collect_run', 'flow_run_id', 'Prefect flow run id'),
    ('collect_run', 'year', 'Year collected'),
    ('collect_run', 'quarter', 'Quarter collected'),
    ('collect_run', 'inbox', 'Inbox folder read'),
    ('collect_run', 'started_at', 'When the run started (UTC)'),
    ('collect_run', 'finished_at', 'When it finished (UTC); null if it did not'),
    ('collect_run', 'files_seen', 'Files found in the inbox'),
    ('collect_run', 'files_new', 'Files whose content was never received before'),
    ('collect_run', 'accepted', 'Submissions accepted'),
    ('collect_run', 'accepted_with_warnings', 'Submissions accepted with warnings'),
    ('collect_run', 'rejected', 'Submissions rejected'),
    ('programme', 'programme_code', 'e.g. CTr135-2023'),
    ('programme', 'year', 'Reporting year'),
    ('programme', 'title_vi', 'Vietnamese title'),
    ('programme', 'organisation_vi', 'Reporting organisation'),
    ('programme', 'template_version', 'Version printed in templates'),
    ('programme', 'source_sha256', 'sha256 of the programme file loaded'),
    ('programme', 'loaded_at', 'When it was loaded (UTC)'),
    ('unit', 'unit_code', 'Unit code, stable across renames'),
    ('unit', 'valid_from', 'First day in force'),
    ('unit', 'valid_to', 'Last day in force; null while current'),
    ('unit', 'name_vi', 'Vietnamese name in this version'),
    ('unit', 'unit_group', 'agencies or enterprises'),
    ('unit', 'unit_type', 'chi_bo_co_so or dang_bo_co_so'),
    ('unit', 'successor_unit_code', 'Unit it was merged into'),
    ('headline_metric', 'programme_code', 'Programme the metric belongs to'),
    ('headline_metric', 'metric_code', 'Metric code, e.g. key_tasks_total'),
    ('headline_metric', 'label_vi', 'Vietnamese label'),
    ('headline_metric', 'display_unit_vi', 'Unit printed beside the figure'),
    ('headline_metric', 'display_decimals', 'Decimals printed in reports'),
    ('headline_metric', 'position', 'Order in the headline table'),
    ('headline_metric', 'is_task_count', 'Counts key tasks (else an indicator)'),
    ('headline_metric', 'indicator_code', 'Indicator whose year figure it is'),
    ('headline_metric', 'plan_metric_code', 'Metric that serves as its plan'),
    ('indicator', 'programme_code', 'Programme the indicator belongs to'),
    ('indicator', 'indicator_code', 'Code; carries its unit, e.g. revenue_bn_vnd'),
    ('indicator', 'label_vi', 'Vietnamese label'),
    ('indicator', 'unit_vi', 'Unit of measure, in Vietnamese'),
    ('indicator', 'unit_group', 'Who reports it: agencies, enterprises or all'),
    ('indicator', 'aggregation', 'Year from quarters: sum, latest or weighted_mean'),
    ('indicator', 'weight_indicator_code', 'Weight of a weighted_mean'),
    ('indicator', 'has_plan', 'Units enter a plan for the year'),
    ('indicator', 'decimals', 'Decimals a clerk may enter'),
    ('indicator', 'is_signed', 'Negative values are legitimate'),
    ('indicator', 'position', 'Order in templates and reports'),
    ('period', 'year', 'Reporting year'),
    ('period', 'quarter', 'Quarter 1-4'),
    ('period', 'programme_code', 'Programme in force that year'),
    ('period', 'starts_on', 'First day of the quarter'),
    ('period', 'ends_on', 'Last day of the quarter'),
    ('period', 'deadline_on', 'Submission deadline (local date, whole day)'),
    ('period', 'deadline_at', 'End of the deadline day (UTC)'),
    ('received_file', 'file_sha256', 'sha256 of the file content'),
    ('received_file', 'original_name', 'File name as it arrived'),
    ('received_file', 'size_bytes', 'Size of the file in bytes'),
    ('received_file', 'archive_path', 'Path of the archived copy, under the data directory'),
    ('received_file', 'received_at', 'When it arrived in the inbox (its modification time, UTC)'),
    ('received_file', 'collect_run_id', 'Run that first saw it'),
    ('task_source', 'programme_code', 'Programme the source belongs to'),
    ('task_source', 'source_code', 'Source code, e.g. ctr135'),
    ('task_source', 'label_vi', "Label in the template's dropdown"),
    ('task_source', 'position', 'Order in the dropdown'),
    ('task_status', 'programme_code', 'Programme the status belongs to'),
    ('task_status', 'status_code', 'Status code, e.g. completed'),
    ('task_status', 'label_vi', "Label in the template's dropdown"),
    ('task_status', 'is_completed', 'The task counts as completed'),
    ('task_status', 'position', 'Order in the dropdown'),
    ('headline_task_member', 'programme_code', 'Programme of the metric'),
    ('headline_task_member', 'metric_code', 'Task-count metric'),
    ('headline_task_member', 'source_code', 'Key-task source it counts'),
    ('headline_task_member', 'status_code', 'Key-task status it counts'),
    ('submission', 'submission_id', 'Submission id'),
    ('submission', 'file_sha256', 'The received file (content hash)'),
    ('submission', 'unit_code', 'Unit code the file claims (null if unreadable)'),
    ('submission', 'year', 'Period collected'),
    ('submission', 'quarter', 'Quarter collected'),
    ('submission', 'template_version', 'Template version the file carries'),
    ('submission', 'received_at', 'When it arrived (UTC)'),
    ('submission', 'checked_at', 'When it was checked (UTC)'),
    ('submission', 'status', 'received, accepted, accepted_with_warnings, rejected or superseded'),
    ('submission', 'supersedes_submission_id', 'Earlier version it replaces'),
    ('submission', 'collect_run_id', 'Run that checked it'),
    ('submission_indicator', 'submission_id', 'Submission it was reported in'),
    ('submission_indicator', 'indicator_code', 'Indicator (programme code of the year)'),
    ('submission_indicator', 'value', "Value in the quarter, in the indicator's unit"),
    ('submission_indicator', 'plan_value', "Plan for the year, in the indicator's unit"),
    ('submission_key_task', 'submission_id', 'Submission it was reported in'),
    ('submission_key_task', 'task_code', "Unit's own code, stable across quarters"),
    ('submission_key_task', 'content_vi', 'What the task is, in Vietnamese'),
    ('submission_key_task', 'source_code', 'Where the task comes from (task_source)'),
    ('submission_key_task', 'status_code', 'State reported that quarter (task_status)'),
    ('submission_key_task', 'completed_on', 'When it was completed'),
    ('submission_key_task', 'note_vi', "Clerk's note"),
    ('validation_finding', 'validation_finding_id', 'Finding id'),
    ('validation_finding', 'submission_id', 'Submission the finding is about'),
    ('validation_finding', 'rule_id', 'Stable id of the rule'),
    ('validation_finding', 'severity', 'error (rejects) or warning'),
    ('validation_finding', 'sheet', "Sheet in the clerk's workbook"),
    ('validation_finding', 'cell', "A1-style cell in the clerk's sheet"),
    ('validation_finding', 'value', 'Value found, as text'),
    ('validation_finding', 'message_vi', 'What to fix, in Vietnamese'),
]

UNIT_LINEAGE = """
CREATE VIEW v_unit_lineage AS
WITH RECURSIVE latest AS (
    SELECT unit_code, name_vi, unit_group, unit_type, valid_to, successor_unit_code
    FROM (
        SELECT u.*, ROW_NUMBER() OVER (PARTITION BY unit_code ORDER BY valid_from DESC) AS version_rank
        FROM unit u
    ) v
    WHERE version_rank = 1
),
chain (unit_code, current_unit_code, depth) AS (
    SELECT unit_code, unit_code, 0 FROM latest
    UNION ALL
    SELECT c.unit_code, l.successor_unit_code, c.depth + 1
    FROM chain c
    JOIN latest l ON l.unit_code = c.current_unit_code
    WHERE l.successor_unit_code IS NOT NULL AND c.depth < 50
),
deepest AS (
    SELECT unit_code, current_unit_code,
           ROW_NUMBER() OVER (PARTITION BY unit_code ORDER BY depth DESC) AS depth_rank
    FROM chain
)
SELECT l.unit_code, l.name_vi AS unit_name, l.unit_group, l.unit_type,
       (SELECT MIN(u.valid_from) FROM unit u WHERE u.unit_code = l.unit_code) AS valid_from,
       l.valid_to, l.successor_unit_code,
       d.current_unit_code, c.name_vi AS current_unit_name, c.unit_group AS current_unit_group,
       (d.current_unit_code <> l.unit_code) AS is_merged
FROM latest l
JOIN deepest d ON d.unit_code = l.unit_code AND d.depth_rank = 1
JOIN latest c ON c.unit_code = d.current_unit_code
"""

CURRENT_SUBMISSION = """
CREATE VIEW v_current_submission AS
SELECT s.submission_id, s.unit_code, s.year, s.quarter, s.received_at,
       u.name_vi AS unit_name, u.unit_group, u.unit_type, l.current_unit_code
FROM submission s
JOIN period p ON p.year = s.year AND p.quarter = s.quarter
JOIN unit u ON u.unit_code = s.unit_code
           AND u.valid_from <= p.ends_on
           AND (u.valid_to IS NULL OR u.valid_to >= p.ends_on)
JOIN v_unit_lineage l ON l.unit_code = s.unit_code
WHERE s.status IN ('accepted', 'accepted_with_warnings')
"""

UNIT_QUARTER_INDICATOR = """
CREATE VIEW v_unit_quarter_indicator AS
SELECT c.submission_id, c.unit_code, c.unit_name, c.unit_group, c.current_unit_code,
       c.year, c.quarter, si.indicator_code, si.value, si.plan_value
FROM v_current_submission c
JOIN submission_indicator si ON si.submission_id = c.submission_id
"""


def _year_by(name: str, key: str, extra: str) -> str:
    """A unit's (or a merged group's) year from its quarters, by each indicator's own rule.

    Within a quarter the members of a group add up (weighted means through their weights);
    across quarters: sum, latest quarter, or the weighted mean of all.
    """
    return f"""
CREATE VIEW {name} AS
WITH q AS (
    SELECT c.{key} AS unit_code, c.year, c.quarter, c.indicator_code, i.aggregation,
           COUNT(DISTINCT c.unit_code) AS members,
           SUM(c.value) AS value,
           SUM(c.plan_value) AS plan_value,
           SUM(c.value * w.value) AS weighted_value,
           SUM(CASE WHEN c.value IS NOT NULL THEN w.value END) AS weight,
           SUM(c.plan_value * w.value) AS weighted_plan,
           SUM(CASE WHEN c.plan_value IS NOT NULL THEN w.value END) AS plan_weight
    FROM v_unit_quarter_indicator c
    JOIN period p ON p.year = c.year AND p.quarter = c.quarter
    JOIN indicator i ON i.programme_code = p.programme_code AND i.indicator_code = c.indicator_code
    LEFT JOIN submission_indicator w ON w.submission_id = c.submission_id
                                    AND w.indicator_code = i.weight_indicator_code
    GROUP BY c.{key}, c.year, c.quarter, c.indicator_code, i.aggregation
),
ranked AS (
    SELECT q.*,
           ROW_NUMBER() OVER (PARTITION BY unit_code, year, indicator_code
                              ORDER BY quarter DESC) AS value_rank,
           ROW_NUMBER() OVER (PARTITION BY unit_code, year, indicator_code
                              ORDER BY CASE WHEN plan_value IS NULL THEN 1 ELSE 0 END,
                                       quarter DESC) AS plan_rank
    FROM q
),
year_figure AS (
    SELECT unit_code, year, indicator_code, aggregation,
           COUNT(value) AS quarters_reported,
           MAX(members) AS members,
           CASE aggregation
               WHEN 'sum' THEN SUM(value)
               WHEN 'latest' THEN MAX(CASE WHEN value_rank = 1 THEN value END)
               WHEN 'weighted_mean' THEN SUM(weighted_value) / NULLIF(SUM(weight), 0)
           END AS value,
           CASE aggregation
               WHEN 'weighted_mean' THEN MAX(CASE WHEN plan_rank = 1 THEN weighted_plan / NULLIF(plan_weight, 0) END)
               ELSE MAX(CASE WHEN plan_rank = 1 THEN plan_value END)
           END AS plan_value,
           CASE WHEN aggregation = 'weighted_mean' THEN SUM(weight) END AS weight
    FROM ranked
    GROUP BY unit_code, year, indicator_code, aggregation
)
SELECT y.unit_code, l.unit_name, l.unit_group, {extra}
       y.year, y.indicator_code, y.aggregation, y.quarters_reported,
       y.value, y.plan_value, y.weight
FROM year_figure y
JOIN v_unit_lineage l ON l.unit_code = y.unit_code
"""


UNIT_YEAR_INDICATOR = _year_by("v_unit_year_indicator", "unit_code", "l.current_unit_code,")
UNIT_YEAR_INDICATOR_ROLLUP = _year_by("v_unit_year_indicator_rollup", "current_unit_code", "y.members AS units_reporting,")


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
       t.current_unit_code, t.task_code, t.content_vi, t.source_code, t.status_code,
       t.completed_on, st.is_completed
FROM (
    SELECT c.unit_code, c.year, c.quarter, c.unit_name, c.unit_group, c.current_unit_code,
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

KEY_TASKS_BY_SOURCE = """
CREATE VIEW v_key_tasks_by_source AS
SELECT t.year, t.unit_group, t.source_code, s.label_vi AS source_label_vi,
       COUNT(*) AS identified,
       SUM(CASE WHEN t.is_completed THEN 1 ELSE 0 END) AS completed
FROM v_key_task_latest t
JOIN programme p ON p.year = t.year
LEFT JOIN task_source s ON s.programme_code = p.programme_code AND s.source_code = t.source_code
GROUP BY t.year, t.unit_group, t.source_code, s.label_vi
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

VALIDATION_FINDINGS = """
CREATE VIEW v_validation_findings AS
SELECT s.year, s.quarter, s.unit_code, u.name_vi AS unit_name, u.unit_group,
       s.submission_id, s.status AS submission_status, s.received_at,
       f.original_name, s.file_sha256,
       v.rule_id, v.severity, v.sheet, v.cell, v.value, v.message_vi
FROM validation_finding v
JOIN submission s ON s.submission_id = v.submission_id
JOIN received_file f ON f.file_sha256 = s.file_sha256
JOIN period p ON p.year = s.year AND p.quarter = s.quarter
LEFT JOIN unit u ON u.unit_code = s.unit_code
                AND u.valid_from <= p.ends_on
                AND (u.valid_to IS NULL OR u.valid_to >= p.ends_on)
"""

VIEWS = (
    ("v_unit_lineage", UNIT_LINEAGE),
    ("v_current_submission", CURRENT_SUBMISSION),
    ("v_unit_quarter_indicator", UNIT_QUARTER_INDICATOR),
    ("v_unit_year_indicator", UNIT_YEAR_INDICATOR),
    ("v_unit_year_indicator_rollup", UNIT_YEAR_INDICATOR_ROLLUP),
    ("v_year_group_indicator", _across_units("v_year_group_indicator", "year, unit_group")),
    ("v_year_indicator", _across_units("v_year_indicator", "year")),
    ("v_key_task_latest", KEY_TASK_LATEST),
    ("v_key_tasks_by_source", KEY_TASKS_BY_SOURCE),
    ("v_year_end_programme135", YEAR_END),
    ("v_submission_status", SUBMISSION_STATUS),
    ("v_validation_findings", VALIDATION_FINDINGS),
)
PREVIOUS_VIEWS = (
    "v_unit_quarter_indicators", "v_submission_status", "v_year_end_programme135",
    "v_key_task_latest", "v_year_indicator", "v_year_group_indicator", "v_unit_year_indicator",
    "v_unit_quarter_indicator", "v_current_submission",
)


def upgrade() -> None:
    for name in PREVIOUS_VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {name}")
    op.create_table(
        "collect_lock",
        sa.Column("year", sa.Integer(), nullable=False, comment="Year being collected"),
        sa.Column("quarter", sa.Integer(), nullable=False, comment="Quarter being collected"),
        sa.Column("holder", sa.String(length=200), nullable=False, comment="Who holds it: flow run, host and process"),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False, comment="When it was taken (UTC)"),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False, comment="Last sign of life (UTC); a lock silent too long is stale"),
        sa.ForeignKeyConstraint(["year", "quarter"], ["period.year", "period.quarter"], name=op.f("fk_collect_lock_year_period")),
        sa.PrimaryKeyConstraint("year", "quarter", name=op.f("pk_collect_lock")),
        comment="One row per quarter a collect run is working on: two runs of one quarter never interleave.",
    )
    if op.get_bind().dialect.name == "postgresql":
        for table, column, comment in COLUMN_COMMENTS:
            op.alter_column(table, column, comment=comment)
    for _, sql in VIEWS:
        op.execute(sql)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_unit_quarter_indicators")
    for name, _ in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    op.drop_table("collect_lock")
    previous = op.get_context().script.get_revision("0002").module
    for _, sql in previous.VIEWS:
        op.execute(sql)
