"""Initial schema: reference tables, the intake log, submissions and their facts.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 13:39:56.439241
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('collect_run',
    sa.Column('collect_run_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('flow_run_id', sa.String(length=40), nullable=True, comment='Prefect flow run id'),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.Integer(), nullable=False),
    sa.Column('inbox', sa.String(length=500), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('files_seen', sa.Integer(), nullable=False),
    sa.Column('files_new', sa.Integer(), nullable=False, comment='Files whose content was never received before'),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('accepted_with_warnings', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('collect_run_id', name=op.f('pk_collect_run')),
    comment='One row per run of the collect flow over one inbox.'
    )
    op.create_table('programme',
    sa.Column('programme_code', sa.String(length=40), nullable=False, comment='e.g. CTr135-2023'),
    sa.Column('year', sa.Integer(), nullable=False, comment='Reporting year'),
    sa.Column('title_vi', sa.String(length=300), nullable=False, comment='Vietnamese title'),
    sa.Column('organisation_vi', sa.String(length=300), nullable=False, comment='Reporting organisation'),
    sa.Column('template_version', sa.String(length=60), nullable=False, comment='Version printed in templates'),
    sa.Column('source_sha256', sa.String(length=64), nullable=False, comment='sha256 of the programme file loaded'),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False, comment='When it was loaded (UTC)'),
    sa.PrimaryKeyConstraint('programme_code', name=op.f('pk_programme')),
    sa.UniqueConstraint('year', name=op.f('uq_programme_year')),
    comment='One row per programme (one reporting year of Programme 135).'
    )
    op.create_table('unit',
    sa.Column('unit_code', sa.String(length=20), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False, comment='First day in force'),
    sa.Column('valid_to', sa.Date(), nullable=True, comment='Last day in force; null while current'),
    sa.Column('name_vi', sa.String(length=300), nullable=False),
    sa.Column('unit_group', sa.String(length=20), nullable=False, comment='agencies or enterprises'),
    sa.Column('unit_type', sa.String(length=20), nullable=False, comment='chi_bo_co_so or dang_bo_co_so'),
    sa.Column('successor_unit_code', sa.String(length=20), nullable=True, comment='Unit it was merged into'),
    sa.PrimaryKeyConstraint('unit_code', 'valid_from', name=op.f('pk_unit')),
    comment='One row per unit version: a grassroots unit as named and placed between valid_from and valid_to.'
    )
    op.create_table('headline_metric',
    sa.Column('programme_code', sa.String(length=40), nullable=False),
    sa.Column('metric_code', sa.String(length=60), nullable=False),
    sa.Column('label_vi', sa.String(length=300), nullable=False),
    sa.Column('display_unit_vi', sa.String(length=60), nullable=False, comment='Unit printed beside the figure'),
    sa.Column('display_decimals', sa.Integer(), nullable=False, comment='Decimals printed in reports'),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('is_task_count', sa.Boolean(), nullable=False, comment='Counts key tasks (else an indicator)'),
    sa.Column('indicator_code', sa.String(length=60), nullable=True, comment='Indicator whose year figure it is'),
    sa.Column('plan_metric_code', sa.String(length=60), nullable=True, comment='Metric that serves as its plan'),
    sa.ForeignKeyConstraint(['programme_code'], ['programme.programme_code'], name=op.f('fk_headline_metric_programme_code_programme')),
    sa.PrimaryKeyConstraint('programme_code', 'metric_code', name=op.f('pk_headline_metric')),
    comment='One row per programme and year-end headline metric (v_year_end_programme135).'
    )
    op.create_table('indicator',
    sa.Column('programme_code', sa.String(length=40), nullable=False),
    sa.Column('indicator_code', sa.String(length=60), nullable=False, comment='Code; carries its unit, e.g. revenue_bn_vnd'),
    sa.Column('label_vi', sa.String(length=300), nullable=False, comment='Vietnamese label'),
    sa.Column('unit_vi', sa.String(length=60), nullable=False, comment='Unit of measure, in Vietnamese'),
    sa.Column('unit_group', sa.String(length=20), nullable=False, comment='Who reports it: agencies, enterprises or all'),
    sa.Column('aggregation', sa.String(length=20), nullable=False, comment='Year from quarters: sum, latest or weighted_mean'),
    sa.Column('weight_indicator_code', sa.String(length=60), nullable=True, comment='Weight of a weighted_mean'),
    sa.Column('has_plan', sa.Boolean(), nullable=False, comment='Units enter a plan for the year'),
    sa.Column('decimals', sa.Integer(), nullable=False, comment='Decimals a clerk may enter'),
    sa.Column('is_signed', sa.Boolean(), nullable=False, comment='Negative values are legitimate'),
    sa.Column('position', sa.Integer(), nullable=False, comment='Order in templates and reports'),
    sa.ForeignKeyConstraint(['programme_code'], ['programme.programme_code'], name=op.f('fk_indicator_programme_code_programme')),
    sa.PrimaryKeyConstraint('programme_code', 'indicator_code', name=op.f('pk_indicator')),
    comment='One row per programme and indicator, from the programme file.'
    )
    op.create_table('period',
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.Integer(), nullable=False),
    sa.Column('programme_code', sa.String(length=40), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False, comment='First day of the quarter'),
    sa.Column('ends_on', sa.Date(), nullable=False, comment='Last day of the quarter'),
    sa.Column('deadline_on', sa.Date(), nullable=False, comment='Submission deadline (local date, whole day)'),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=False, comment='End of the deadline day (UTC)'),
    sa.ForeignKeyConstraint(['programme_code'], ['programme.programme_code'], name=op.f('fk_period_programme_code_programme')),
    sa.PrimaryKeyConstraint('year', 'quarter', name=op.f('pk_period')),
    comment='One row per reporting year and quarter.'
    )
    op.create_table('received_file',
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('original_name', sa.String(length=500), nullable=False, comment='File name as it arrived'),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('archive_path', sa.String(length=500), nullable=False, comment='Path of the archived copy, under the data directory'),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False, comment='When it arrived in the inbox (its modification time, UTC)'),
    sa.Column('collect_run_id', sa.Integer(), nullable=False, comment='Run that first saw it'),
    sa.ForeignKeyConstraint(['collect_run_id'], ['collect_run.collect_run_id'], name=op.f('fk_received_file_collect_run_id_collect_run')),
    sa.PrimaryKeyConstraint('file_sha256', name=op.f('pk_received_file')),
    comment='One row per distinct file content received (by sha256); the original is in the archive.'
    )
    op.create_table('task_source',
    sa.Column('programme_code', sa.String(length=40), nullable=False),
    sa.Column('source_code', sa.String(length=30), nullable=False),
    sa.Column('label_vi', sa.String(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['programme_code'], ['programme.programme_code'], name=op.f('fk_task_source_programme_code_programme')),
    sa.PrimaryKeyConstraint('programme_code', 'source_code', name=op.f('pk_task_source')),
    comment='One row per programme and key-task source (where a task comes from).'
    )
    op.create_table('task_status',
    sa.Column('programme_code', sa.String(length=40), nullable=False),
    sa.Column('status_code', sa.String(length=30), nullable=False),
    sa.Column('label_vi', sa.String(length=200), nullable=False),
    sa.Column('is_completed', sa.Boolean(), nullable=False, comment='The task counts as completed'),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['programme_code'], ['programme.programme_code'], name=op.f('fk_task_status_programme_code_programme')),
    sa.PrimaryKeyConstraint('programme_code', 'status_code', name=op.f('pk_task_status')),
    comment='One row per programme and key-task status.'
    )
    op.create_table('headline_task_member',
    sa.Column('programme_code', sa.String(length=40), nullable=False),
    sa.Column('metric_code', sa.String(length=60), nullable=False),
    sa.Column('source_code', sa.String(length=30), nullable=False),
    sa.Column('status_code', sa.String(length=30), nullable=False),
    sa.ForeignKeyConstraint(['programme_code', 'metric_code'], ['headline_metric.programme_code', 'headline_metric.metric_code'], name=op.f('fk_headline_task_member_programme_code_headline_metric')),
    sa.PrimaryKeyConstraint('programme_code', 'metric_code', 'source_code', 'status_code', name=op.f('pk_headline_task_member')),
    comment='One row per task-count headline metric and key-task (source, status) pair it counts.'
    )
    op.create_table('submission',
    sa.Column('submission_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('unit_code', sa.String(length=20), nullable=True, comment='Unit code the file claims (null if unreadable)'),
    sa.Column('year', sa.Integer(), nullable=False, comment='Period collected'),
    sa.Column('quarter', sa.Integer(), nullable=False),
    sa.Column('template_version', sa.String(length=60), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False, comment='When it arrived (UTC)'),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False, comment='When it was checked (UTC)'),
    sa.Column('status', sa.String(length=30), nullable=False, comment='received, accepted, accepted_with_warnings, rejected or superseded'),
    sa.Column('supersedes_submission_id', sa.Integer(), nullable=True, comment='Earlier version it replaces'),
    sa.Column('collect_run_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['collect_run_id'], ['collect_run.collect_run_id'], name=op.f('fk_submission_collect_run_id_collect_run')),
    sa.ForeignKeyConstraint(['file_sha256'], ['received_file.file_sha256'], name=op.f('fk_submission_file_sha256_received_file')),
    sa.ForeignKeyConstraint(['supersedes_submission_id'], ['submission.submission_id'], name=op.f('fk_submission_supersedes_submission_id_submission')),
    sa.ForeignKeyConstraint(['year', 'quarter'], ['period.year', 'period.quarter'], name=op.f('fk_submission_year_period')),
    sa.PrimaryKeyConstraint('submission_id', name=op.f('pk_submission')),
    sa.UniqueConstraint('file_sha256', name=op.f('uq_submission_file_sha256')),
    comment='One row per submission version (one received workbook checked for a unit and quarter).'
    )
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.create_index('ix_submission_unit_period', ['unit_code', 'year', 'quarter'], unique=False)

    op.create_table('submission_indicator',
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('indicator_code', sa.String(length=60), nullable=False),
    sa.Column('value', sa.Float(), nullable=True, comment="Value in the quarter, in the indicator's unit"),
    sa.Column('plan_value', sa.Float(), nullable=True, comment="Plan for the year, in the indicator's unit"),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.submission_id'], name=op.f('fk_submission_indicator_submission_id_submission')),
    sa.PrimaryKeyConstraint('submission_id', 'indicator_code', name=op.f('pk_submission_indicator')),
    comment="One row per submission and indicator: the quarter's value and the year's plan as reported."
    )
    op.create_table('submission_key_task',
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('task_code', sa.String(length=40), nullable=False, comment="Unit's own code, stable across quarters"),
    sa.Column('content_vi', sa.Text(), nullable=True),
    sa.Column('source_code', sa.String(length=30), nullable=False),
    sa.Column('status_code', sa.String(length=30), nullable=False),
    sa.Column('completed_on', sa.Date(), nullable=True),
    sa.Column('note_vi', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.submission_id'], name=op.f('fk_submission_key_task_submission_id_submission')),
    sa.PrimaryKeyConstraint('submission_id', 'task_code', name=op.f('pk_submission_key_task')),
    comment='One row per submission and key task, in the state the unit reported that quarter.'
    )
    op.create_table('validation_finding',
    sa.Column('validation_finding_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.String(length=60), nullable=False, comment='Stable id of the rule'),
    sa.Column('severity', sa.String(length=10), nullable=False, comment='error (rejects) or warning'),
    sa.Column('sheet', sa.String(length=100), nullable=True),
    sa.Column('cell', sa.String(length=20), nullable=True, comment="A1-style cell in the clerk's sheet"),
    sa.Column('value', sa.Text(), nullable=True, comment='Value found, as text'),
    sa.Column('message_vi', sa.Text(), nullable=False, comment='What to fix, in Vietnamese'),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.submission_id'], name=op.f('fk_validation_finding_submission_id_submission')),
    sa.PrimaryKeyConstraint('validation_finding_id', name=op.f('pk_validation_finding')),
    comment='One row per problem a check found in a submission, with the cell and a Vietnamese message.'
    )
    with op.batch_alter_table('validation_finding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_validation_finding_submission_id'), ['submission_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('validation_finding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_validation_finding_submission_id'))

    op.drop_table('validation_finding')
    op.drop_table('submission_key_task')
    op.drop_table('submission_indicator')
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_index('ix_submission_unit_period')

    op.drop_table('submission')
    op.drop_table('headline_task_member')
    op.drop_table('task_status')
    op.drop_table('task_source')
    op.drop_table('received_file')
    op.drop_table('period')
    op.drop_table('indicator')
    op.drop_table('headline_metric')
    op.drop_table('unit')
    op.drop_table('programme')
    op.drop_table('collect_run')
