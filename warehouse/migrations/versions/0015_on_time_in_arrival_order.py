"""A unit is on time when its first passing file in arrival order came by the deadline.

v_unit_completeness took the earliest `received_at` of the unit's passing files. A file's time is
its modification time (capped at when p135 first saw it), so a correction sent after the deadline
with an older file time (a copy kept since, a clock set back) turned a unit counted late into one
counted on time, and changed a past quarter's timeliness years later. The first passing file is
now the first in p135's own arrival order, as `version` in v_submission_status counts: the collect
run that first saw the file, then `received_at`, then id. Columns are unchanged.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

PASSED = "('accepted', 'accepted_with_warnings', 'superseded')"


def _earlier():
    return op.get_context().script.get_revision("0008").module


def unit_completeness() -> str:
    return f"""
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
           MAX(CASE WHEN passed = 1 AND arrival_rank = 1 THEN received_at END) AS first_passed_at,
           MAX(CASE WHEN status IN ('accepted', 'accepted_with_warnings') THEN 1 ELSE 0 END) AS has_current,
           MAX(CASE WHEN status = 'held' THEN 1 ELSE 0 END) AS has_held
    FROM (
        SELECT s.year, s.quarter, s.unit_code, s.status, s.received_at,
               CASE WHEN s.status IN {PASSED} THEN 1 ELSE 0 END AS passed,
               ROW_NUMBER() OVER (PARTITION BY s.year, s.quarter, s.unit_code,
                                               CASE WHEN s.status IN {PASSED} THEN 1 ELSE 0 END
                                  ORDER BY f.collect_run_id, s.received_at, s.submission_id) AS arrival_rank
        FROM submission s
        JOIN received_file f ON f.file_sha256 = s.file_sha256
        WHERE s.unit_code IS NOT NULL
    ) a
    GROUP BY year, quarter, unit_code
) s ON s.year = p.year AND s.quarter = p.quarter AND s.unit_code = u.unit_code
LEFT JOIN ({_earlier()._EXTENSIONS}) x ON x.year = p.year AND x.quarter = p.quarter AND x.unit_code = u.unit_code
"""


def _recreate(unit_view: str) -> None:
    op.execute("DROP VIEW IF EXISTS v_completeness")
    op.execute("DROP VIEW IF EXISTS v_unit_completeness")
    op.execute(unit_view)
    op.execute(_earlier().COMPLETENESS)


def upgrade() -> None:
    _recreate(unit_completeness())


def downgrade() -> None:
    _recreate(_earlier().UNIT_COMPLETENESS)
