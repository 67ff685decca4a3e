"""Figures counted once, versions in p135's own arrival order.

A bloc's or a group's stock for a year is the sum of the v_unit_year_indicator_rollup rows: a
merged unit's people live on in its successor's report, so its last quarter is not added to the
successor's. Flows and weighted means are unchanged. Versions of a unit's quarter are ordered by
the collect run that first saw the file, then its arrival time, then id; v_submission_status
names a merged unit's rows too.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


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
LEFT JOIN v_unit_lineage l ON l.unit_code = s.unit_code
"""

VIEWS = (
    ("v_year_group_indicator", _across_units("v_year_group_indicator", "year, unit_group")),
    ("v_year_indicator", _across_units("v_year_indicator", "year")),
    ("v_submission_status", SUBMISSION_STATUS),
)
# v_year_end_programme135 reads v_year_indicator: dropped first, then made again as it was.
DEPENDENT = "v_year_end_programme135"
COMMENTS = [
    ("received_file", "received_at",
     "When it arrived: its modification time, capped at when p135 first saw it (UTC)"),
]


def _frozen(revision_id: str) -> dict[str, str]:
    return dict(op.get_context().script.get_revision(revision_id).module.VIEWS)


def upgrade() -> None:
    op.execute(f"DROP VIEW IF EXISTS {DEPENDENT}")
    for name, _ in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {name}")
    for _, sql in VIEWS:
        op.execute(sql)
    op.execute(_frozen("0003")[DEPENDENT])
    if op.get_bind().dialect.name == "postgresql":
        for table, column, comment in COMMENTS:
            op.alter_column(table, column, comment=comment)


def downgrade() -> None:
    previous = _frozen("0003")
    op.execute(f"DROP VIEW IF EXISTS {DEPENDENT}")
    for name, _ in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {name}")
        op.execute(previous[name])
    op.execute(previous[DEPENDENT])
    if op.get_bind().dialect.name == "postgresql":
        for table, column, _ in COMMENTS:
            op.alter_column(table, column, comment="When it arrived in the inbox (its modification time, UTC)")
