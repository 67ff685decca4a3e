"""Year-to-date totals (lũy kế) as units report them beside each quarter's flow.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "submission_indicator",
        sa.Column("ytd_value", sa.Float(), nullable=True, comment="Year-to-date total as reported (flows only)"),
    )


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+): a batch rebuild would break the views on this table.
    op.drop_column("submission_indicator", "ytd_value")
