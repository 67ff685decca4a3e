"""Each published version keeps the document number it was issued under.

An official report replaced by a later one (a quarter reopened and approved again) was issued
again under the same number, and the new document could not name the one it replaces: the
number lived only in the programme file, which the office changes. Versions published before
this revision have none recorded (null).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "publication",
        sa.Column("document_number", sa.String(50), nullable=True,
                  comment="Number it was issued under (e.g. 125-BC/ĐUK); null for a draft and before revision 0014"),
    )


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+): no view reads this table.
    op.drop_column("publication", "document_number")
