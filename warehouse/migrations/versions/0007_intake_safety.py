"""Intake that survives files, crashes and analysts: names kept byte for byte, refused inbox
entries, feedback workbooks recorded when renamed into place, the collect lock row as a record.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

NAME_COMMENT = ("File name as it arrived, for display: unchanged when valid UTF-8, else each undecodable "
                "byte shown as U+FFFD")
LOCK_COMMENT = ("One row per quarter a collect run holds: who holds it, for people to read. The lock itself "
                "dies with its holder (an advisory lock on PostgreSQL, a file lock beside SQLite); a row left "
                "by a killed run means nothing.")
HEARTBEAT_COMMENT = "When the holder last checked it still held the quarter (UTC): when taken and after each batch"


def upgrade() -> None:
    # A plain ADD COLUMN (no batch rebuild, which would break the views on received_file).
    op.add_column(
        "received_file",
        sa.Column("original_name_raw", sa.LargeBinary(), nullable=True,
                  comment="File name as the file system gave it, byte for byte"),
    )
    # Every name stored so far was valid UTF-8 (any other stopped the run): its bytes are its UTF-8.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE received_file SET original_name_raw = convert_to(original_name, 'UTF8')")
        op.alter_column("received_file", "original_name", comment=NAME_COMMENT)
        op.alter_column("collect_lock", "heartbeat_at", comment=HEARTBEAT_COMMENT)
        op.create_table_comment("collect_lock", LOCK_COMMENT)
    else:
        op.execute("UPDATE received_file SET original_name_raw = CAST(original_name AS BLOB)")
    op.create_table(
        "inbox_refusal",
        sa.Column("inbox_refusal_id", sa.Integer(), autoincrement=True, nullable=False, comment="Refusal id"),
        sa.Column("collect_run_id", sa.Integer(), nullable=False, comment="Run that found it"),
        sa.Column("name", sa.String(length=500), nullable=False,
                  comment="Entry name, for display (as received_file.original_name)"),
        sa.Column("name_raw", sa.LargeBinary(), nullable=False,
                  comment="Entry name as the file system gave it, byte for byte"),
        sa.Column("kind", sa.String(length=20), nullable=False,
                  comment="symlink, fifo, device, socket, directory, unreadable or other"),
        sa.Column("reason", sa.Text(), nullable=False, comment="Why it was refused, in Vietnamese"),
        sa.ForeignKeyConstraint(["collect_run_id"], ["collect_run.collect_run_id"],
                                name=op.f("fk_inbox_refusal_collect_run_id_collect_run")),
        sa.PrimaryKeyConstraint("inbox_refusal_id", name=op.f("pk_inbox_refusal")),
        comment="One row per collect run and inbox entry refused without being read: a symlink, FIFO, device, "
                "socket or folder, or a file that could not be opened.",
    )
    op.create_index(op.f("ix_inbox_refusal_collect_run_id"), "inbox_refusal", ["collect_run_id"])
    op.create_table(
        "feedback_file",
        sa.Column("year", sa.Integer(), nullable=False, comment="Year of the feedback"),
        sa.Column("quarter", sa.Integer(), nullable=False, comment="Quarter of the feedback"),
        sa.Column("file_name", sa.String(length=200), nullable=False, comment="Name under feedback/<year>-Q<q>/"),
        sa.Column("unit_code", sa.String(length=20), nullable=True, comment="Unit it is for (null: unit unreadable)"),
        sa.Column("file_sha256", sa.String(length=64), nullable=False, comment="Received file it describes"),
        sa.Column("size_bytes", sa.Integer(), nullable=False, comment="Size when renamed into place"),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False,
                  comment="When it was renamed into place (UTC)"),
        sa.ForeignKeyConstraint(["year", "quarter"], ["period.year", "period.quarter"],
                                name=op.f("fk_feedback_file_year_period")),
        sa.ForeignKeyConstraint(["file_sha256"], ["received_file.file_sha256"],
                                name=op.f("fk_feedback_file_file_sha256_received_file")),
        sa.PrimaryKeyConstraint("year", "quarter", "file_name", name=op.f("pk_feedback_file")),
        comment="One row per quarter and feedback workbook renamed into place: the submission it describes "
                "and its size then, so a later run rewrites a missing or damaged one.",
    )


def downgrade() -> None:
    op.drop_table("feedback_file")
    op.drop_index(op.f("ix_inbox_refusal_collect_run_id"), table_name="inbox_refusal")
    op.drop_table("inbox_refusal")
    op.drop_column("received_file", "original_name_raw")
    if op.get_bind().dialect.name == "postgresql":
        previous = op.get_context().script.get_revision("0003").module
        comments = {(t, c): text for t, c, text in previous.COLUMN_COMMENTS}
        op.alter_column("received_file", "original_name", comment=comments[("received_file", "original_name")])
        op.alter_column("collect_lock", "heartbeat_at",
                        comment="Last sign of life (UTC); a lock silent too long is stale")
        op.create_table_comment(
            "collect_lock", "One row per quarter a collect run is working on: two runs of one quarter never interleave."
        )
