"""Operations: the audit of approvals, reopenings and extensions; completeness and approval views.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

STATUS_COMMENT = (
    "received, accepted, accepted_with_warnings, rejected, superseded, or held (passed while the "
    "quarter was approved; loaded when it is reopened)"
)
PREVIOUS_STATUS_COMMENT = "received, accepted, accepted_with_warnings, rejected or superseded"

# Each unit's latest extension of a quarter's deadline.
_EXTENSIONS = """
SELECT year, quarter, unit_code, extended_until, extended_until_at FROM (
    SELECT year, quarter, unit_code, extended_until, extended_until_at,
           ROW_NUMBER() OVER (PARTITION BY year, quarter, unit_code
                              ORDER BY recorded_at DESC, period_audit_id DESC) AS rank_
    FROM period_audit WHERE action = 'extend'
) e WHERE rank_ = 1
"""

# A unit is expected when it is in force on the quarter's last day. Its state: missing (nothing
# received), on_time or late (a current accepted version; on time when its first passing file
# arrived by the deadline, extended or not), held (passed, waiting for the quarter to reopen)
# or rejected (files, none passed).
UNIT_COMPLETENESS = f"""
CREATE VIEW v_unit_completeness AS
SELECT p.year, p.quarter, u.unit_code, u.name_vi AS unit_name, u.unit_group,
       COALESCE(x.extended_until, p.deadline_on) AS deadline,
       (x.extended_until IS NOT NULL) AS is_extended,
       COALESCE(s.files_received, 0) AS files_received,
       s.first_received_at, s.last_received_at, s.first_passed_at,
       CASE
           WHEN s.unit_code IS NULL THEN 'missing'
           WHEN s.has_current = 1 AND s.first_passed_at <= COALESCE(x.extended_until_at, p.deadline_at) THEN 'on_time'
           WHEN s.has_current = 1 THEN 'late'
           WHEN s.has_held = 1 THEN 'held'
           ELSE 'rejected'
       END AS state
FROM period p
JOIN unit u ON u.valid_from <= p.ends_on AND (u.valid_to IS NULL OR u.valid_to >= p.ends_on)
LEFT JOIN (
    SELECT year, quarter, unit_code, COUNT(*) AS files_received,
           MIN(received_at) AS first_received_at, MAX(received_at) AS last_received_at,
           MIN(CASE WHEN status IN ('accepted', 'accepted_with_warnings', 'superseded') THEN received_at END) AS first_passed_at,
           MAX(CASE WHEN status IN ('accepted', 'accepted_with_warnings') THEN 1 ELSE 0 END) AS has_current,
           MAX(CASE WHEN status = 'held' THEN 1 ELSE 0 END) AS has_held
    FROM submission
    WHERE unit_code IS NOT NULL
    GROUP BY year, quarter, unit_code
) s ON s.year = p.year AND s.quarter = p.quarter AND s.unit_code = u.unit_code
LEFT JOIN ({_EXTENSIONS}) x ON x.year = p.year AND x.quarter = p.quarter AND x.unit_code = u.unit_code
"""

COMPLETENESS = """
CREATE VIEW v_completeness AS
SELECT year, quarter, unit_group,
       COUNT(*) AS expected,
       SUM(CASE WHEN state <> 'missing' THEN 1 ELSE 0 END) AS received,
       SUM(CASE WHEN state IN ('on_time', 'late') THEN 1 ELSE 0 END) AS accepted,
       SUM(CASE WHEN state = 'on_time' THEN 1 ELSE 0 END) AS on_time,
       SUM(CASE WHEN state = 'late' THEN 1 ELSE 0 END) AS late,
       SUM(CASE WHEN state = 'missing' THEN 1 ELSE 0 END) AS missing,
       SUM(CASE WHEN state = 'rejected' THEN 1 ELSE 0 END) AS rejected,
       ROUND(CAST(100.0 * SUM(CASE WHEN state IN ('on_time', 'late') THEN 1 ELSE 0 END) / COUNT(*) AS NUMERIC), 1)
           AS reporting_rate,
       ROUND(CAST(100.0 * SUM(CASE WHEN state = 'on_time' THEN 1 ELSE 0 END) / COUNT(*) AS NUMERIC), 1)
           AS on_time_rate
FROM v_unit_completeness
GROUP BY year, quarter, unit_group
"""

PERIOD_APPROVAL = """
CREATE VIEW v_period_approval AS
SELECT p.year, p.quarter,
       CASE l.action WHEN 'approve' THEN 'approved' WHEN 'reopen' THEN 'reopened' ELSE 'open' END AS state,
       a.actor AS approved_by, a.recorded_at AS approved_at, a.reason AS approval_note,
       r.actor AS reopened_by, r.recorded_at AS reopened_at, r.reason AS reopen_reason,
       (SELECT COUNT(*) FROM submission h
        WHERE h.year = p.year AND h.quarter = p.quarter AND h.status = 'held') AS held_files
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
"""

VIEWS = (
    ("v_unit_completeness", UNIT_COMPLETENESS),
    ("v_completeness", COMPLETENESS),
    ("v_period_approval", PERIOD_APPROVAL),
)


def upgrade() -> None:
    for name, _ in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    op.create_table(
        "period_audit",
        sa.Column("period_audit_id", sa.Integer(), autoincrement=True, nullable=False, comment="Audit entry id"),
        sa.Column("year", sa.Integer(), nullable=False, comment="Year of the quarter"),
        sa.Column("quarter", sa.Integer(), nullable=False, comment="Quarter 1-4"),
        sa.Column("action", sa.String(length=20), nullable=False, comment="approve (locks the quarter), reopen (unlocks it) or extend (one unit's deadline)"),
        sa.Column("unit_code", sa.String(length=20), nullable=True, comment="Unit whose deadline is extended; null for approve and reopen"),
        sa.Column("extended_until", sa.Date(), nullable=True, comment="Last day of the extended deadline (local date, whole day); extend only"),
        sa.Column("extended_until_at", sa.DateTime(timezone=True), nullable=True, comment="End of that day (UTC); extend only"),
        sa.Column("actor", sa.String(length=200), nullable=False, comment="Who decided"),
        sa.Column("reason", sa.Text(), nullable=True, comment="Why, as they gave it"),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, comment="When it was recorded (UTC)"),
        sa.ForeignKeyConstraint(["year", "quarter"], ["period.year", "period.quarter"], name=op.f("fk_period_audit_year_period")),
        sa.PrimaryKeyConstraint("period_audit_id", name=op.f("pk_period_audit")),
        comment="One row per approval, reopening or deadline extension of a quarter: who, when and why (append-only).",
    )
    op.create_index("ix_period_audit_period", "period_audit", ["year", "quarter"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("submission", "status", comment=STATUS_COMMENT, existing_type=sa.String(length=30))
    for _, sql in VIEWS:
        op.execute(sql)


def downgrade() -> None:
    for name, _ in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    # The previous schema knows no hold: a held file goes back to received, not loaded, as it was.
    op.execute("UPDATE submission SET status = 'received' WHERE status = 'held'")
    op.drop_index("ix_period_audit_period", table_name="period_audit")
    op.drop_table("period_audit")
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("submission", "status", comment=PREVIOUS_STATUS_COMMENT, existing_type=sa.String(length=30))
