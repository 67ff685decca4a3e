"""Each published version keeps the date printed on its document.

The date line of the report ("Bình Định, ngày … tháng … năm …") was always the day `p135 publish`
ran: a report signed on another day could not say so, and a later version naming the one it
replaces ("Báo cáo số 125-BC/ĐUK ngày …") could only give the day it was made. `p135 publish
--date` sets it; a version without one (and every version before this revision) is dated the
day it was published, local time (null here).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "publication",
        sa.Column("document_date", sa.Date(), nullable=True,
                  comment="Date printed on the document (p135 publish --date); null: the day it was published, local time"),
    )


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+): no view reads this table.
    op.drop_column("publication", "document_date")
