"""v_key_tasks_by_source names its source column `source`, as analysts were promised.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

VIEW = """
CREATE VIEW v_key_tasks_by_source AS
SELECT t.year, t.unit_group, t.source_code AS source, s.label_vi AS source_label_vi,
       COUNT(*) AS identified,
       SUM(CASE WHEN t.is_completed THEN 1 ELSE 0 END) AS completed
FROM v_key_task_latest t
JOIN programme p ON p.year = t.year
LEFT JOIN task_source s ON s.programme_code = p.programme_code AND s.source_code = t.source_code
GROUP BY t.year, t.unit_group, t.source_code, s.label_vi
"""


def upgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_key_tasks_by_source")
    op.execute(VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_key_tasks_by_source")
    previous = op.get_context().script.get_revision("0003").module
    op.execute(dict(previous.VIEWS)["v_key_tasks_by_source"])
