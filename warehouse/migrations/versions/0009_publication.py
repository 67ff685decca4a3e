"""Publications: each published version of a year's report, its headline figures and the
submission versions it was made from.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "publication",
        sa.Column("publication_id", sa.Integer(), autoincrement=True, nullable=False, comment="Publication id"),
        sa.Column("year", sa.Integer(), nullable=False, comment="Reporting year published"),
        sa.Column("version", sa.Integer(), nullable=False, comment="1 for the first publication of the year, then 2, 3..."),
        sa.Column("programme_code", sa.String(length=40), nullable=False, comment="Programme of the year"),
        sa.Column("programme_sha256", sa.String(length=64), nullable=False, comment="sha256 of the programme file it was made with"),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False, comment="When it was published (UTC)"),
        sa.Column("basis_sha256", sa.String(length=64), nullable=False, comment="sha256 of its basis: submissions used, programme file, quarters not approved; equal basis, same version"),
        sa.Column("draft_quarters", sa.String(length=20), nullable=True, comment="Quarters not approved when published (e.g. 3,4): a draft; null when official"),
        sa.Column("file_stem", sa.String(length=100), nullable=False, comment="File name without extension, e.g. bao-cao-ctr135-2023-v1"),
        sa.Column("docx_sha256", sa.String(length=64), nullable=False, comment="sha256 of the report document (.docx)"),
        sa.Column("xlsx_sha256", sa.String(length=64), nullable=False, comment="sha256 of the data workbook (.xlsx)"),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=True, comment="sha256 of the PDF; null when LibreOffice could not make it"),
        sa.ForeignKeyConstraint(["programme_code"], ["programme.programme_code"], name=op.f("fk_publication_programme_code_programme")),
        sa.PrimaryKeyConstraint("publication_id", name=op.f("pk_publication")),
        sa.UniqueConstraint("year", "version", name=op.f("uq_publication_year")),
        comment="One row per published version of a year's report (never changed once written).",
    )
    op.create_table(
        "publication_figure",
        sa.Column("publication_id", sa.Integer(), nullable=False, comment="Publication it belongs to"),
        sa.Column("metric_code", sa.String(length=60), nullable=False, comment="Headline metric, e.g. revenue_bn_vnd"),
        sa.Column("label_vi", sa.String(length=300), nullable=False, comment="Vietnamese label as printed"),
        sa.Column("value", sa.Float(), nullable=True, comment="Figure published (v_year_end_programme135.value)"),
        sa.Column("plan", sa.Float(), nullable=True, comment="Plan published"),
        sa.Column("pct_of_plan", sa.Float(), nullable=True, comment="Percentage of plan published"),
        sa.Column("display_unit_vi", sa.String(length=60), nullable=False, comment="Unit printed beside the figure"),
        sa.Column("display_decimals", sa.Integer(), nullable=False, comment="Decimals printed"),
        sa.Column("position", sa.Integer(), nullable=False, comment="Order in the headline table"),
        sa.ForeignKeyConstraint(["publication_id"], ["publication.publication_id"], name=op.f("fk_publication_figure_publication_id_publication")),
        sa.PrimaryKeyConstraint("publication_id", "metric_code", name=op.f("pk_publication_figure")),
        comment="One row per publication and headline metric: the figure as published.",
    )
    op.create_table(
        "publication_submission",
        sa.Column("publication_id", sa.Integer(), nullable=False, comment="Publication it belongs to"),
        sa.Column("submission_id", sa.Integer(), nullable=False, comment="Submission used"),
        sa.Column("unit_code", sa.String(length=20), nullable=False, comment="Unit that sent it"),
        sa.Column("quarter", sa.Integer(), nullable=False, comment="Quarter it reports"),
        sa.Column("version", sa.Integer(), nullable=False, comment="Its version among the unit's files for the quarter (v_submission_status.version)"),
        sa.Column("file_sha256", sa.String(length=64), nullable=False, comment="The received file (content hash)"),
        sa.ForeignKeyConstraint(["publication_id"], ["publication.publication_id"], name=op.f("fk_publication_submission_publication_id_publication")),
        sa.ForeignKeyConstraint(["submission_id"], ["submission.submission_id"], name=op.f("fk_publication_submission_submission_id_submission")),
        sa.PrimaryKeyConstraint("publication_id", "submission_id", name=op.f("pk_publication_submission")),
        comment="One row per publication and submission version used: the provenance of its figures.",
    )


def downgrade() -> None:
    op.drop_table("publication_submission")
    op.drop_table("publication_figure")
    op.drop_table("publication")
