"""v_submission_status judges a file on time against its unit's deadline, extended or not.

`p135 extend` moves one unit's deadline; v_unit_completeness counted it already, but
v_submission_status compared every file with the quarter's own deadline, so an analyst read a
file sent within its extension as late. Its `deadline` is now the unit's (the latest extension
recorded, else the quarter's) and `is_extended` says which; its other columns are unchanged.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# The latest extension of each unit's deadline in a quarter (as revision 0008 reads them).
EXTENSIONS = """
SELECT year, quarter, unit_code, extended_until, extended_until_at FROM (
    SELECT year, quarter, unit_code, extended_until, extended_until_at,
           ROW_NUMBER() OVER (PARTITION BY year, quarter, unit_code
                              ORDER BY recorded_at DESC, period_audit_id DESC) AS rank_
    FROM period_audit WHERE action = 'extend'
) e WHERE rank_ = 1
"""

SUBMISSION_STATUS = f"""
CREATE VIEW v_submission_status AS
SELECT s.year, s.quarter, s.unit_code,
       COALESCE(u.name_vi, l.unit_name) AS unit_name,
       COALESCE(u.unit_group, l.unit_group) AS unit_group,
       s.status, s.received_at, COALESCE(x.extended_until, p.deadline_on) AS deadline,
       (s.received_at <= COALESCE(x.extended_until_at, p.deadline_at)) AS is_on_time,
       ROW_NUMBER() OVER (PARTITION BY s.unit_code, s.year, s.quarter
                          ORDER BY f.collect_run_id, s.received_at, s.submission_id) AS version,
       (ROW_NUMBER() OVER (PARTITION BY s.unit_code, s.year, s.quarter
                           ORDER BY f.collect_run_id DESC, s.received_at DESC,
                                    s.submission_id DESC) = 1) AS is_latest,
       s.submission_id, s.file_sha256,
       (x.extended_until IS NOT NULL) AS is_extended
FROM submission s
JOIN received_file f ON f.file_sha256 = s.file_sha256
JOIN period p ON p.year = s.year AND p.quarter = s.quarter
LEFT JOIN unit u ON u.unit_code = s.unit_code
                AND u.valid_from <= p.ends_on
                AND (u.valid_to IS NULL OR u.valid_to >= p.ends_on)
LEFT JOIN unit_lineage l ON l.unit_code = s.unit_code
LEFT JOIN ({EXTENSIONS}) x ON x.year = s.year AND x.quarter = s.quarter AND x.unit_code = s.unit_code
"""


def upgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_submission_status")
    op.execute(SUBMISSION_STATUS)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_submission_status")
    op.execute(op.get_context().script.get_revision("0010").module.SUBMISSION_STATUS)
