"""Views for a national volume: unit lineage kept in a table rebuilt when the registry is loaded,
the indexes whole-year and per-run queries need, and views without correlated subqueries.

The merger chains were walked by a recursive query inside every view that names a unit's
current unit: the planner cannot estimate it, so at 60,000 units it chose nested loops over the
submissions. `unit_lineage` holds its result (one row per unit code, analysed at load) and
v_unit_lineage reads it. The headline counts key tasks per (source, status) before matching the
metrics' members; v_period_approval counts held files by a grouped join. Every view keeps its
columns and answers.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

LINEAGE_COMMENT = (
    "One row per unit code: its latest version and the unit it ended up in after mergers (derived from "
    "unit; rebuilt whenever the registry is loaded, so the views read it instead of walking the mergers "
    "each time)."
)

FILL_LINEAGE = """
WITH RECURSIVE latest AS (
    SELECT unit_code, name_vi, unit_group, unit_type, valid_to, successor_unit_code, first_valid_from
    FROM (
        SELECT u.*,
               ROW_NUMBER() OVER (PARTITION BY unit_code ORDER BY valid_from DESC) AS version_rank,
               MIN(valid_from) OVER (PARTITION BY unit_code) AS first_valid_from
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
INSERT INTO unit_lineage (unit_code, unit_name, unit_group, unit_type, valid_from, valid_to,
                          successor_unit_code, current_unit_code, current_unit_name,
                          current_unit_group, is_merged)
SELECT l.unit_code, l.name_vi, l.unit_group, l.unit_type, l.first_valid_from,
       l.valid_to, l.successor_unit_code,
       d.current_unit_code, c.name_vi, c.unit_group,
       (d.current_unit_code <> l.unit_code)
FROM latest l
JOIN deepest d ON d.unit_code = l.unit_code AND d.depth_rank = 1
JOIN latest c ON c.unit_code = d.current_unit_code
"""

UNIT_LINEAGE = """
CREATE VIEW v_unit_lineage AS
SELECT unit_code, unit_name, unit_group, unit_type, valid_from, valid_to, successor_unit_code,
       current_unit_code, current_unit_name, current_unit_group, is_merged
FROM unit_lineage
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
JOIN unit_lineage l ON l.unit_code = s.unit_code
WHERE s.status IN ('accepted', 'accepted_with_warnings')
"""

UNIT_QUARTER_INDICATOR = """
CREATE VIEW v_unit_quarter_indicator AS
SELECT c.submission_id, c.unit_code, c.unit_name, c.unit_group, c.current_unit_code,
       c.year, c.quarter, si.indicator_code, si.value, si.plan_value
FROM v_current_submission c
JOIN submission_indicator si ON si.submission_id = c.submission_id
"""


# Only the weights' rows of submission_indicator are joined for weighted means.
WEIGHTS = """
    SELECT submission_id, indicator_code, value FROM submission_indicator
    WHERE indicator_code IN (SELECT weight_indicator_code FROM indicator WHERE weight_indicator_code IS NOT NULL)
"""


def _at_quarter(expression: str, quarter: str) -> str:
    """`expression` of the row of quarter `quarter` (a column of year_figure), from the per-quarter maxima."""
    cases = " ".join(f"WHEN {q} THEN {expression}_{q}" for q in (4, 3, 2, 1))
    return f"CASE {quarter} {cases} END"


def _per_quarter(expression: str, name: str) -> str:
    return ",\n".join(
        f"           MAX(CASE WHEN quarter = {q} THEN {expression} END) AS {name}_{q}" for q in (1, 2, 3, 4)
    )


def _year_by(name: str, key: str, extra: str) -> str:
    """A unit's (or a merged group's) year from its quarters, by each indicator's own rule.

    Within a quarter the members of a group add up (weighted means through their weights);
    across quarters: sum, latest quarter, or the weighted mean of all. The latest quarter's
    value (and the latest plan entered) are picked from per-quarter columns of one grouping, not
    by ranking rows: no sort, and a filter on the aggregation reaches the tables. Members are
    counted per unit code in an inner grouping (a distinct count would need a sort).
    """
    group = "c.unit_code" if key == "unit_code" else f"c.{key}, c.unit_code"
    per_quarter = f"""
    SELECT c.{key} AS unit_code, c.unit_code AS member_code, c.year, c.quarter, c.indicator_code, i.aggregation,
           SUM(c.value) AS value,
           SUM(c.plan_value) AS plan_value,
           SUM(c.value * w.value) AS weighted_value,
           SUM(CASE WHEN c.value IS NOT NULL THEN w.value END) AS weight,
           SUM(c.plan_value * w.value) AS weighted_plan,
           SUM(CASE WHEN c.plan_value IS NOT NULL THEN w.value END) AS plan_weight
    FROM v_unit_quarter_indicator c
    JOIN period p ON p.year = c.year AND p.quarter = c.quarter
    JOIN indicator i ON i.programme_code = p.programme_code AND i.indicator_code = c.indicator_code
    LEFT JOIN ({WEIGHTS}) w ON w.submission_id = c.submission_id
                            AND w.indicator_code = i.weight_indicator_code
    GROUP BY {group}, c.year, c.quarter, c.indicator_code, i.aggregation"""
    if key == "unit_code":
        # Grouped by the unit itself: each group is one member.
        quarters = f"""q AS (
    SELECT unit_code, year, quarter, indicator_code, aggregation, 1 AS members, value, plan_value,
           weighted_value, weight, weighted_plan, plan_weight
    FROM ({per_quarter}
    ) m
),
"""
    else:
        quarters = f"""member_quarter AS ({per_quarter}
),
q AS (
    SELECT unit_code, year, quarter, indicator_code, aggregation,
           COUNT(*) AS members,
           SUM(value) AS value,
           SUM(plan_value) AS plan_value,
           SUM(weighted_value) AS weighted_value,
           SUM(weight) AS weight,
           SUM(weighted_plan) AS weighted_plan,
           SUM(plan_weight) AS plan_weight
    FROM member_quarter
    GROUP BY unit_code, year, quarter, indicator_code, aggregation
),
"""
    return f"""
CREATE VIEW {name} AS
WITH {quarters}year_figure AS (
    SELECT unit_code, year, indicator_code, aggregation,
           COUNT(value) AS quarters_reported,
           MAX(members) AS members,
           SUM(value) AS value_sum,
           SUM(weighted_value) AS weighted_value,
           SUM(weight) AS weight,
           MAX(quarter) AS last_quarter,
           MAX(CASE WHEN plan_value IS NOT NULL THEN quarter END) AS plan_quarter,
{_per_quarter("value", "value")},
{_per_quarter("plan_value", "plan")},
{_per_quarter("weighted_plan / NULLIF(plan_weight, 0)", "weighted_plan")}
    FROM q
    GROUP BY unit_code, year, indicator_code, aggregation
),
figure AS (
    SELECT unit_code, year, indicator_code, aggregation, quarters_reported, members,
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
    FROM year_figure
)
SELECT y.unit_code, l.unit_name, l.unit_group, {extra}
       y.year, y.indicator_code, y.aggregation, y.quarters_reported,
       y.value, y.plan_value, y.weight
FROM figure y
JOIN unit_lineage l ON l.unit_code = y.unit_code
"""


def _across_units(name: str, keys: str) -> str:
    """A view aggregating a year over units: flows and weighted means from each unit's own year,
    stocks from the roll-up, where a merged unit is part of its successor."""
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
WHERE aggregation <> 'latest'
GROUP BY {keys}, indicator_code, aggregation
UNION ALL
SELECT {keys}, indicator_code, aggregation,
       CAST(COALESCE(SUM(CASE WHEN value IS NOT NULL THEN units_reporting END), 0) AS BIGINT)
           AS units_reporting,
       SUM(value) AS value,
       SUM(plan_value) AS plan_value
FROM v_unit_year_indicator_rollup
WHERE aggregation = 'latest'
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
SELECT t.year, t.unit_group, t.source_code AS source, s.label_vi AS source_label_vi,
       COUNT(*) AS identified,
       SUM(CASE WHEN t.is_completed THEN 1 ELSE 0 END) AS completed
FROM v_key_task_latest t
JOIN programme p ON p.year = t.year
LEFT JOIN task_source s ON s.programme_code = p.programme_code AND s.source_code = t.source_code
GROUP BY t.year, t.unit_group, t.source_code, s.label_vi
"""

# Tasks are counted per (year, source, status) first: a handful of rows for the metrics' members
# to match, instead of every task matched against every member.
YEAR_END = """
CREATE VIEW v_year_end_programme135 AS
WITH task_state AS (
    SELECT year, source_code, status_code, COUNT(*) AS n
    FROM v_key_task_latest
    GROUP BY year, source_code, status_code
),
task_count AS (
    SELECT m.programme_code, m.metric_code, CAST(SUM(t.n) AS BIGINT) AS n
    FROM headline_task_member m
    JOIN programme p ON p.programme_code = m.programme_code
    JOIN task_state t ON t.year = p.year
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
SELECT s.year, s.quarter, s.unit_code,
       COALESCE(u.name_vi, l.unit_name) AS unit_name,
       COALESCE(u.unit_group, l.unit_group) AS unit_group,
       s.status, s.received_at, p.deadline_on AS deadline,
       (s.received_at <= p.deadline_at) AS is_on_time,
       ROW_NUMBER() OVER (PARTITION BY s.unit_code, s.year, s.quarter
                          ORDER BY f.collect_run_id, s.received_at, s.submission_id) AS version,
       (ROW_NUMBER() OVER (PARTITION BY s.unit_code, s.year, s.quarter
                           ORDER BY f.collect_run_id DESC, s.received_at DESC,
                                    s.submission_id DESC) = 1) AS is_latest,
       s.submission_id, s.file_sha256
FROM submission s
JOIN received_file f ON f.file_sha256 = s.file_sha256
JOIN period p ON p.year = s.year AND p.quarter = s.quarter
LEFT JOIN unit u ON u.unit_code = s.unit_code
                AND u.valid_from <= p.ends_on
                AND (u.valid_to IS NULL OR u.valid_to >= p.ends_on)
LEFT JOIN unit_lineage l ON l.unit_code = s.unit_code
"""

# Held files counted once per quarter by a grouped join, not by a subquery per period row.
PERIOD_APPROVAL = """
CREATE VIEW v_period_approval AS
SELECT p.year, p.quarter,
       CASE l.action WHEN 'approve' THEN 'approved' WHEN 'reopen' THEN 'reopened' ELSE 'open' END AS state,
       a.actor AS approved_by, a.recorded_at AS approved_at, a.reason AS approval_note,
       r.actor AS reopened_by, r.recorded_at AS reopened_at, r.reason AS reopen_reason,
       COALESCE(h.held_files, 0) AS held_files
FROM period p
LEFT JOIN (
    SELECT year, quarter, action, actor, reason, recorded_at,
           ROW_NUMBER() OVER (PARTITION BY year, quarter
                              ORDER BY recorded_at DESC, period_audit_id DESC) AS rank_latest,
           ROW_NUMBER() OVER (PARTITION BY year, quarter, action
                              ORDER BY recorded_at DESC, period_audit_id DESC) AS rank_action
    FROM period_audit WHERE action IN ('approve', 'reopen')
) l ON l.year = p.year AND l.quarter = p.quarter AND l.rank_latest = 1
LEFT JOIN (
    SELECT year, quarter, actor, reason, recorded_at,
           ROW_NUMBER() OVER (PARTITION BY year, quarter
                              ORDER BY recorded_at DESC, period_audit_id DESC) AS rank_
    FROM period_audit WHERE action = 'approve'
) a ON a.year = p.year AND a.quarter = p.quarter AND a.rank_ = 1
LEFT JOIN (
    SELECT year, quarter, actor, reason, recorded_at,
           ROW_NUMBER() OVER (PARTITION BY year, quarter
                              ORDER BY recorded_at DESC, period_audit_id DESC) AS rank_
    FROM period_audit WHERE action = 'reopen'
) r ON r.year = p.year AND r.quarter = p.quarter AND r.rank_ = 1
LEFT JOIN (
    SELECT year, quarter, COUNT(*) AS held_files
    FROM submission WHERE status = 'held'
    GROUP BY year, quarter
) h ON h.year = p.year AND h.quarter = p.quarter
"""

# In the order they are created; dropped in reverse. The wide view v_unit_quarter_indicators
# reads v_unit_quarter_indicator: it is dropped here and made again when a programme is loaded.
VIEWS = (
    ("v_unit_lineage", UNIT_LINEAGE),
    ("v_current_submission", CURRENT_SUBMISSION),
    ("v_unit_quarter_indicator", UNIT_QUARTER_INDICATOR),
    ("v_unit_year_indicator", _year_by("v_unit_year_indicator", "unit_code", "l.current_unit_code,")),
    ("v_unit_year_indicator_rollup",
     _year_by("v_unit_year_indicator_rollup", "current_unit_code", "y.members AS units_reporting,")),
    ("v_year_group_indicator", _across_units("v_year_group_indicator", "year, unit_group")),
    ("v_year_indicator", _across_units("v_year_indicator", "year")),
    ("v_key_task_latest", KEY_TASK_LATEST),
    ("v_key_tasks_by_source", KEY_TASKS_BY_SOURCE),
    ("v_year_end_programme135", YEAR_END),
    ("v_submission_status", SUBMISSION_STATUS),
    ("v_period_approval", PERIOD_APPROVAL),
)
WIDE_VIEW = "v_unit_quarter_indicators"


def _previous_views() -> dict[str, str]:
    """Each view above as revision 0009 left it (frozen in the migration that last made it)."""
    script = op.get_context().script
    found = dict(script.get_revision("0003").module.VIEWS)
    found["v_key_tasks_by_source"] = script.get_revision("0005").module.VIEW
    found.update(script.get_revision("0006").module.VIEWS)
    found.update(script.get_revision("0008").module.VIEWS)
    return found


def _drop_views() -> None:
    op.execute(f"DROP VIEW IF EXISTS {WIDE_VIEW}")
    for name, _ in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")


def upgrade() -> None:
    _drop_views()
    op.create_table(
        "unit_lineage",
        sa.Column("unit_code", sa.String(length=20), nullable=False, comment="Unit code"),
        sa.Column("unit_name", sa.String(length=300), nullable=False, comment="Name in its latest version"),
        sa.Column("unit_group", sa.String(length=20), nullable=False, comment="Group in its latest version"),
        sa.Column("unit_type", sa.String(length=20), nullable=False, comment="Type in its latest version"),
        sa.Column("valid_from", sa.Date(), nullable=False, comment="First day of its first version"),
        sa.Column("valid_to", sa.Date(), nullable=True, comment="Last day of its latest version; null while current"),
        sa.Column("successor_unit_code", sa.String(length=20), nullable=True, comment="Unit it was merged into directly"),
        sa.Column("current_unit_code", sa.String(length=20), nullable=False,
                  comment="Unit it belongs to after every merger (itself when never merged)"),
        sa.Column("current_unit_name", sa.String(length=300), nullable=False, comment="Latest name of current_unit_code"),
        sa.Column("current_unit_group", sa.String(length=20), nullable=False, comment="Latest group of current_unit_code"),
        sa.Column("is_merged", sa.Boolean(), nullable=False, comment="current_unit_code is another unit"),
        sa.PrimaryKeyConstraint("unit_code", name=op.f("pk_unit_lineage")),
        comment=LINEAGE_COMMENT,
    )
    op.create_index("ix_unit_lineage_current_unit_code", "unit_lineage", ["current_unit_code"])
    op.create_index("ix_submission_period_status", "submission", ["year", "quarter", "status"])
    op.create_index(op.f("ix_received_file_collect_run_id"), "received_file", ["collect_run_id"])
    op.execute(FILL_LINEAGE)
    for _, sql in VIEWS:
        op.execute(sql)


def downgrade() -> None:
    previous = _previous_views()
    _drop_views()
    op.drop_index(op.f("ix_received_file_collect_run_id"), table_name="received_file")
    op.drop_index("ix_submission_period_status", table_name="submission")
    op.drop_index("ix_unit_lineage_current_unit_code", table_name="unit_lineage")
    op.drop_table("unit_lineage")
    for name, _ in VIEWS:
        op.execute(previous[name])
