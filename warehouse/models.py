"""The warehouse schema. Every table is named for its grain and says it in its comment.

The schema is created and changed only by the alembic migrations in `warehouse/migrations`;
these models are the reference the migrations were written from and what the code imports.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SUBMISSION_STATUSES = ("received", "accepted", "accepted_with_warnings", "rejected", "superseded", "held")
CURRENT_STATUSES = ("accepted", "accepted_with_warnings")
SEVERITIES = ("error", "warning")
# What the bloc office records about a quarter: approving it locks it, reopening unlocks it, an
# extension moves one unit's deadline.
PERIOD_ACTIONS = ("approve", "reopen", "extend")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Programme(Base):
    """One row per programme: the declarative file of one reporting year."""

    __tablename__ = "programme"
    __table_args__ = {"comment": "One row per programme (one reporting year of Programme 135)."}

    programme_code: Mapped[str] = mapped_column(String(40), primary_key=True, comment="e.g. CTr135-2023")
    year: Mapped[int] = mapped_column(Integer, unique=True, comment="Reporting year")
    title_vi: Mapped[str] = mapped_column(String(300), comment="Vietnamese title")
    organisation_vi: Mapped[str] = mapped_column(String(300), comment="Reporting organisation")
    template_version: Mapped[str] = mapped_column(String(60), comment="Version printed in templates")
    source_sha256: Mapped[str] = mapped_column(String(64), comment="sha256 of the programme file loaded")
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), comment="When it was loaded (UTC)")


class Indicator(Base):
    """One row per programme and indicator."""

    __tablename__ = "indicator"
    __table_args__ = {"comment": "One row per programme and indicator, from the programme file."}

    programme_code: Mapped[str] = mapped_column(ForeignKey("programme.programme_code"), primary_key=True, comment="Programme the indicator belongs to")
    indicator_code: Mapped[str] = mapped_column(String(60), primary_key=True, comment="Code; carries its unit, e.g. revenue_bn_vnd")
    label_vi: Mapped[str] = mapped_column(String(300), comment="Vietnamese label")
    unit_vi: Mapped[str] = mapped_column(String(60), comment="Unit of measure, in Vietnamese")
    unit_group: Mapped[str] = mapped_column(String(20), comment="Who reports it: agencies, enterprises or all")
    aggregation: Mapped[str] = mapped_column(String(20), comment="Year from quarters: sum, latest or weighted_mean")
    weight_indicator_code: Mapped[str | None] = mapped_column(String(60), comment="Weight of a weighted_mean")
    has_plan: Mapped[bool] = mapped_column(Boolean, comment="Units enter a plan for the year")
    decimals: Mapped[int] = mapped_column(Integer, comment="Decimals a clerk may enter")
    is_signed: Mapped[bool] = mapped_column(Boolean, comment="Negative values are legitimate")
    position: Mapped[int] = mapped_column(Integer, comment="Order in templates and reports")


class TaskSource(Base):
    """One row per programme and key-task source."""

    __tablename__ = "task_source"
    __table_args__ = {"comment": "One row per programme and key-task source (where a task comes from)."}

    programme_code: Mapped[str] = mapped_column(ForeignKey("programme.programme_code"), primary_key=True, comment="Programme the source belongs to")
    source_code: Mapped[str] = mapped_column(String(30), primary_key=True, comment="Source code, e.g. ctr135")
    label_vi: Mapped[str] = mapped_column(String(200), comment="Label in the template's dropdown")
    position: Mapped[int] = mapped_column(Integer, comment="Order in the dropdown")


class TaskStatus(Base):
    """One row per programme and key-task status."""

    __tablename__ = "task_status"
    __table_args__ = {"comment": "One row per programme and key-task status."}

    programme_code: Mapped[str] = mapped_column(ForeignKey("programme.programme_code"), primary_key=True, comment="Programme the status belongs to")
    status_code: Mapped[str] = mapped_column(String(30), primary_key=True, comment="Status code, e.g. completed")
    label_vi: Mapped[str] = mapped_column(String(200), comment="Label in the template's dropdown")
    is_completed: Mapped[bool] = mapped_column(Boolean, comment="The task counts as completed")
    position: Mapped[int] = mapped_column(Integer, comment="Order in the dropdown")


class HeadlineMetric(Base):
    """One row per programme and year-end headline metric."""

    __tablename__ = "headline_metric"
    __table_args__ = {"comment": "One row per programme and year-end headline metric (v_year_end_programme135)."}

    programme_code: Mapped[str] = mapped_column(ForeignKey("programme.programme_code"), primary_key=True, comment="Programme the metric belongs to")
    metric_code: Mapped[str] = mapped_column(String(60), primary_key=True, comment="Metric code, e.g. key_tasks_total")
    label_vi: Mapped[str] = mapped_column(String(300), comment="Vietnamese label")
    display_unit_vi: Mapped[str] = mapped_column(String(60), comment="Unit printed beside the figure")
    display_decimals: Mapped[int] = mapped_column(Integer, comment="Decimals printed in reports")
    position: Mapped[int] = mapped_column(Integer, comment="Order in the headline table")
    is_task_count: Mapped[bool] = mapped_column(Boolean, comment="Counts key tasks (else an indicator)")
    indicator_code: Mapped[str | None] = mapped_column(String(60), comment="Indicator whose year figure it is")
    plan_metric_code: Mapped[str | None] = mapped_column(String(60), comment="Metric that serves as its plan")


class HeadlineTaskMember(Base):
    """One row per task-count headline metric and (source, status) pair it counts."""

    __tablename__ = "headline_task_member"
    __table_args__ = (
        ForeignKeyConstraint(
            ["programme_code", "metric_code"],
            ["headline_metric.programme_code", "headline_metric.metric_code"],
        ),
        {"comment": "One row per task-count headline metric and key-task (source, status) pair it counts."},
    )

    programme_code: Mapped[str] = mapped_column(String(40), primary_key=True, comment="Programme of the metric")
    metric_code: Mapped[str] = mapped_column(String(60), primary_key=True, comment="Task-count metric")
    source_code: Mapped[str] = mapped_column(String(30), primary_key=True, comment="Key-task source it counts")
    status_code: Mapped[str] = mapped_column(String(30), primary_key=True, comment="Key-task status it counts")


class Period(Base):
    """One row per year and quarter."""

    __tablename__ = "period"
    __table_args__ = {"comment": "One row per reporting year and quarter."}

    year: Mapped[int] = mapped_column(Integer, primary_key=True, comment="Reporting year")
    quarter: Mapped[int] = mapped_column(Integer, primary_key=True, comment="Quarter 1-4")
    programme_code: Mapped[str] = mapped_column(ForeignKey("programme.programme_code"), comment="Programme in force that year")
    starts_on: Mapped[dt.date] = mapped_column(Date, comment="First day of the quarter")
    ends_on: Mapped[dt.date] = mapped_column(Date, comment="Last day of the quarter")
    deadline_on: Mapped[dt.date] = mapped_column(Date, comment="Submission deadline (local date, whole day)")
    deadline_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), comment="End of the deadline day (UTC)")


class Unit(Base):
    """One row per unit version (slowly changing, type 2)."""

    __tablename__ = "unit"
    __table_args__ = {"comment": "One row per unit version: a grassroots unit as named and placed between valid_from and valid_to."}

    unit_code: Mapped[str] = mapped_column(String(20), primary_key=True, comment="Unit code, stable across renames")
    valid_from: Mapped[dt.date] = mapped_column(Date, primary_key=True, comment="First day in force")
    valid_to: Mapped[dt.date | None] = mapped_column(Date, comment="Last day in force; null while current")
    name_vi: Mapped[str] = mapped_column(String(300), comment="Vietnamese name in this version")
    unit_group: Mapped[str] = mapped_column(String(20), comment="agencies or enterprises")
    unit_type: Mapped[str] = mapped_column(String(20), comment="chi_bo_co_so or dang_bo_co_so")
    successor_unit_code: Mapped[str | None] = mapped_column(String(20), comment="Unit it was merged into")


class UnitLineage(Base):
    """One row per unit code: its latest version and the unit it belongs to after mergers."""

    __tablename__ = "unit_lineage"
    __table_args__ = (
        Index("ix_unit_lineage_current_unit_code", "current_unit_code"),
        {"comment": "One row per unit code: its latest version and the unit it ended up in after mergers "
                    "(derived from unit; rebuilt whenever the registry is loaded, so the views read it "
                    "instead of walking the mergers each time)."},
    )

    unit_code: Mapped[str] = mapped_column(String(20), primary_key=True, comment="Unit code")
    unit_name: Mapped[str] = mapped_column(String(300), comment="Name in its latest version")
    unit_group: Mapped[str] = mapped_column(String(20), comment="Group in its latest version")
    unit_type: Mapped[str] = mapped_column(String(20), comment="Type in its latest version")
    valid_from: Mapped[dt.date] = mapped_column(Date, comment="First day of its first version")
    valid_to: Mapped[dt.date | None] = mapped_column(Date, comment="Last day of its latest version; null while current")
    successor_unit_code: Mapped[str | None] = mapped_column(String(20), comment="Unit it was merged into directly")
    current_unit_code: Mapped[str] = mapped_column(String(20), comment="Unit it belongs to after every merger (itself when never merged)")
    current_unit_name: Mapped[str] = mapped_column(String(300), comment="Latest name of current_unit_code")
    current_unit_group: Mapped[str] = mapped_column(String(20), comment="Latest group of current_unit_code")
    is_merged: Mapped[bool] = mapped_column(Boolean, comment="current_unit_code is another unit")


class UnitYear(Base):
    """One row per unit and reporting year: the unit as it stood at the year's end."""

    __tablename__ = "unit_year"
    __table_args__ = (
        Index("ix_unit_year_year_end_unit_code", "year", "year_end_unit_code"),
        {"comment": "One row per unit and reporting year (a year with a programme) in which the unit was in force: "
                    "its last version of the year and the unit it belonged to at the year's end, after the "
                    "mergers of that year and before (derived from unit and period; rebuilt whenever either "
                    "is loaded). A year's figures read units from here, so a later rename, move or merger "
                    "leaves a past year as it was."},
    )

    unit_code: Mapped[str] = mapped_column(String(20), primary_key=True, comment="Unit code")
    year: Mapped[int] = mapped_column(Integer, primary_key=True, comment="Reporting year")
    unit_name: Mapped[str] = mapped_column(String(300), comment="Name in its last version in force in the year")
    unit_group: Mapped[str] = mapped_column(String(20), comment="Group in its last version in force in the year")
    unit_type: Mapped[str] = mapped_column(String(20), comment="Type in its last version in force in the year")
    ended_on: Mapped[dt.date | None] = mapped_column(Date, comment="Last day in force, when it ended before the year's last day; null when it existed at the year's end")
    successor_unit_code: Mapped[str | None] = mapped_column(String(20), comment="Unit it was merged into during the year (null otherwise)")
    year_end_unit_code: Mapped[str] = mapped_column(String(20), comment="Unit it belonged to at the year's end, after the mergers up to then (itself when not merged)")
    is_merged: Mapped[bool] = mapped_column(Boolean, comment="year_end_unit_code is another unit")


class CollectRun(Base):
    """One row per collect run (the run log)."""

    __tablename__ = "collect_run"
    __table_args__ = {"comment": "One row per run of the collect flow over one inbox."}

    collect_run_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True, comment="Run log id")
    flow_run_id: Mapped[str | None] = mapped_column(String(40), comment="Prefect flow run id")
    year: Mapped[int] = mapped_column(Integer, comment="Year collected")
    quarter: Mapped[int] = mapped_column(Integer, comment="Quarter collected")
    inbox: Mapped[str] = mapped_column(String(500), comment="Inbox folder read")
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), comment="When the run started (UTC)")
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), comment="When it finished (UTC); null if it did not")
    files_seen: Mapped[int] = mapped_column(Integer, default=0, comment="Files found in the inbox")
    files_new: Mapped[int] = mapped_column(Integer, default=0, comment="Files whose content was never received before")
    accepted: Mapped[int] = mapped_column(Integer, default=0, comment="Submissions accepted")
    accepted_with_warnings: Mapped[int] = mapped_column(Integer, default=0, comment="Submissions accepted with warnings")
    rejected: Mapped[int] = mapped_column(Integer, default=0, comment="Submissions rejected")


class CollectLock(Base):
    """One row per quarter being collected right now: a record of who holds it, never the lock itself."""

    __tablename__ = "collect_lock"
    __table_args__ = (
        ForeignKeyConstraint(["year", "quarter"], ["period.year", "period.quarter"]),
        {"comment": "One row per quarter a collect run holds: who holds it, for people to read. The lock "
                    "itself dies with its holder (an advisory lock on PostgreSQL, a file lock beside SQLite); "
                    "a row left by a killed run means nothing."},
    )

    year: Mapped[int] = mapped_column(Integer, primary_key=True, comment="Year being collected")
    quarter: Mapped[int] = mapped_column(Integer, primary_key=True, comment="Quarter being collected")
    holder: Mapped[str] = mapped_column(String(200), comment="Who holds it: flow run, host and process")
    acquired_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), comment="When it was taken (UTC)")
    heartbeat_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), comment="When the holder last checked it still held the quarter (UTC): when taken and after each batch")


class ReceivedFile(Base):
    """One row per distinct file content ever received."""

    __tablename__ = "received_file"
    __table_args__ = {"comment": "One row per distinct file content received (by sha256); the original is in the archive."}

    file_sha256: Mapped[str] = mapped_column(String(64), primary_key=True, comment="sha256 of the file content")
    original_name: Mapped[str] = mapped_column(String(500), comment="File name as it arrived, for display: unchanged when valid UTF-8, else each undecodable byte shown as U+FFFD")
    original_name_raw: Mapped[bytes | None] = mapped_column(LargeBinary, comment="File name as the file system gave it, byte for byte")
    size_bytes: Mapped[int] = mapped_column(Integer, comment="Size of the file in bytes")
    archive_path: Mapped[str] = mapped_column(String(500), comment="Path of the archived copy, under the data directory")
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), comment="When it arrived: its modification time, capped at when p135 first saw it (UTC)")
    collect_run_id: Mapped[int] = mapped_column(ForeignKey("collect_run.collect_run_id"), index=True, comment="Run that first saw it")


class InboxRefusal(Base):
    """One row per collect run and inbox entry that is not a regular file (or cannot be read)."""

    __tablename__ = "inbox_refusal"
    __table_args__ = {"comment": "One row per collect run and inbox entry refused without being read: a symlink, "
                                 "FIFO, device, socket or folder, or a file that could not be opened."}

    inbox_refusal_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True, comment="Refusal id")
    collect_run_id: Mapped[int] = mapped_column(ForeignKey("collect_run.collect_run_id"), index=True, comment="Run that found it")
    name: Mapped[str] = mapped_column(String(500), comment="Entry name, for display (as received_file.original_name)")
    name_raw: Mapped[bytes] = mapped_column(LargeBinary, comment="Entry name as the file system gave it, byte for byte")
    kind: Mapped[str] = mapped_column(String(20), comment="symlink, fifo, device, socket, directory, unreadable or other")
    reason: Mapped[str] = mapped_column(Text, comment="Why it was refused, in Vietnamese")


class FeedbackFile(Base):
    """One row per feedback workbook in place for a quarter."""

    __tablename__ = "feedback_file"
    __table_args__ = (
        ForeignKeyConstraint(["year", "quarter"], ["period.year", "period.quarter"]),
        {"comment": "One row per quarter and feedback workbook renamed into place: the submission it "
                    "describes and its size then, so a later run rewrites a missing or damaged one."},
    )

    year: Mapped[int] = mapped_column(Integer, primary_key=True, comment="Year of the feedback")
    quarter: Mapped[int] = mapped_column(Integer, primary_key=True, comment="Quarter of the feedback")
    file_name: Mapped[str] = mapped_column(String(200), primary_key=True, comment="Name under feedback/<year>-Q<q>/")
    unit_code: Mapped[str | None] = mapped_column(String(20), comment="Unit it is for (null: unit unreadable)")
    file_sha256: Mapped[str] = mapped_column(ForeignKey("received_file.file_sha256"), comment="Received file it describes")
    size_bytes: Mapped[int] = mapped_column(Integer, comment="Size when renamed into place")
    written_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), comment="When it was renamed into place (UTC)")


class Submission(Base):
    """One row per submission version: one received workbook, checked for one unit and quarter."""

    __tablename__ = "submission"
    __table_args__ = (
        ForeignKeyConstraint(["year", "quarter"], ["period.year", "period.quarter"]),
        Index("ix_submission_unit_period", "unit_code", "year", "quarter"),
        Index("ix_submission_period_status", "year", "quarter", "status"),
        {"comment": "One row per submission version (one received workbook checked for a unit and quarter)."},
    )

    submission_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True, comment="Submission id")
    file_sha256: Mapped[str] = mapped_column(ForeignKey("received_file.file_sha256"), unique=True, comment="The received file (content hash)")
    unit_code: Mapped[str | None] = mapped_column(String(20), comment="Unit code the file claims (null if unreadable)")
    year: Mapped[int] = mapped_column(Integer, comment="Period collected")
    quarter: Mapped[int] = mapped_column(Integer, comment="Quarter collected")
    template_version: Mapped[str | None] = mapped_column(String(60), comment="Template version the file carries")
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), comment="When it arrived (UTC)")
    checked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), comment="When it was checked (UTC)")
    status: Mapped[str] = mapped_column(String(30), comment="received, accepted, accepted_with_warnings, rejected, superseded, or held (passed while the quarter was approved; loaded when it is reopened)")
    supersedes_submission_id: Mapped[int | None] = mapped_column(ForeignKey("submission.submission_id"), comment="Earlier version it replaces")
    collect_run_id: Mapped[int] = mapped_column(ForeignKey("collect_run.collect_run_id"), comment="Run that checked it")


class ValidationFinding(Base):
    """One row per finding of a check on a submission."""

    __tablename__ = "validation_finding"
    __table_args__ = {"comment": "One row per problem a check found in a submission, with the cell and a Vietnamese message."}

    validation_finding_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True, comment="Finding id")
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.submission_id"), index=True, comment="Submission the finding is about")
    rule_id: Mapped[str] = mapped_column(String(60), comment="Stable id of the rule")
    severity: Mapped[str] = mapped_column(String(10), comment="error (rejects) or warning")
    sheet: Mapped[str | None] = mapped_column(String(100), comment="Sheet in the clerk's workbook")
    cell: Mapped[str | None] = mapped_column(String(20), comment="A1-style cell in the clerk's sheet")
    value: Mapped[str | None] = mapped_column(Text, comment="Value found, as text")
    message_vi: Mapped[str] = mapped_column(Text, comment="What to fix, in Vietnamese")


class SubmissionIndicator(Base):
    """One row per submission and indicator."""

    __tablename__ = "submission_indicator"
    __table_args__ = {"comment": "One row per submission and indicator: the quarter's value and the year's plan as reported."}

    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.submission_id"), primary_key=True, comment="Submission it was reported in")
    indicator_code: Mapped[str] = mapped_column(String(60), primary_key=True, comment="Indicator (programme code of the year)")
    value: Mapped[float | None] = mapped_column(Float, comment="Value in the quarter, in the indicator's unit")
    ytd_value: Mapped[float | None] = mapped_column(Float, comment="Year-to-date total as reported (flows only)")
    plan_value: Mapped[float | None] = mapped_column(Float, comment="Plan for the year, in the indicator's unit")


class SubmissionKeyTask(Base):
    """One row per submission and key task."""

    __tablename__ = "submission_key_task"
    __table_args__ = {"comment": "One row per submission and key task, in the state the unit reported that quarter."}

    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.submission_id"), primary_key=True, comment="Submission it was reported in")
    task_code: Mapped[str] = mapped_column(String(40), primary_key=True, comment="Unit's own code, stable across quarters")
    content_vi: Mapped[str | None] = mapped_column(Text, comment="What the task is, in Vietnamese")
    source_code: Mapped[str] = mapped_column(String(30), comment="Where the task comes from (task_source)")
    status_code: Mapped[str] = mapped_column(String(30), comment="State reported that quarter (task_status)")
    completed_on: Mapped[dt.date | None] = mapped_column(Date, comment="When it was completed")
    note_vi: Mapped[str | None] = mapped_column(Text, comment="Clerk's note")


class Publication(Base):
    """One row per published version of a year's report: an immutable snapshot."""

    __tablename__ = "publication"
    __table_args__ = (
        UniqueConstraint("year", "version"),
        {"comment": "One row per published version of a year's report (never changed once written)."},
    )

    publication_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True, comment="Publication id")
    year: Mapped[int] = mapped_column(Integer, comment="Reporting year published")
    version: Mapped[int] = mapped_column(Integer, comment="1 for the first publication of the year, then 2, 3...")
    programme_code: Mapped[str] = mapped_column(ForeignKey("programme.programme_code"), comment="Programme of the year")
    programme_sha256: Mapped[str] = mapped_column(String(64), comment="sha256 of the programme file it was made with")
    published_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), comment="When it was published (UTC)")
    basis_sha256: Mapped[str] = mapped_column(String(64), comment="sha256 of its basis: submissions used, programme file, quarters not approved; equal basis, same version")
    draft_quarters: Mapped[str | None] = mapped_column(String(20), comment="Quarters not approved when published (e.g. 3,4): a draft; null when official")
    file_stem: Mapped[str] = mapped_column(String(100), comment="File name without extension, e.g. bao-cao-ctr135-2023-v1")
    docx_sha256: Mapped[str] = mapped_column(String(64), comment="sha256 of the report document (.docx)")
    xlsx_sha256: Mapped[str] = mapped_column(String(64), comment="sha256 of the data workbook (.xlsx)")
    pdf_sha256: Mapped[str | None] = mapped_column(String(64), comment="sha256 of the PDF; null when LibreOffice could not make it")
    document_number: Mapped[str | None] = mapped_column(String(50), comment="Number it was issued under (e.g. 125-BC/ĐUK); null for a draft and before revision 0014")
    document_date: Mapped[dt.date | None] = mapped_column(Date, comment="Date printed on the document (p135 publish --date); null: the day it was published, local time")


class PublicationFigure(Base):
    """One row per publication and headline metric."""

    __tablename__ = "publication_figure"
    __table_args__ = {"comment": "One row per publication and headline metric: the figure as published."}

    publication_id: Mapped[int] = mapped_column(ForeignKey("publication.publication_id"), primary_key=True, comment="Publication it belongs to")
    metric_code: Mapped[str] = mapped_column(String(60), primary_key=True, comment="Headline metric, e.g. revenue_bn_vnd")
    label_vi: Mapped[str] = mapped_column(String(300), comment="Vietnamese label as printed")
    value: Mapped[float | None] = mapped_column(Float, comment="Figure published (v_year_end_programme135.value)")
    plan: Mapped[float | None] = mapped_column(Float, comment="Plan published")
    pct_of_plan: Mapped[float | None] = mapped_column(Float, comment="Percentage of plan published")
    display_unit_vi: Mapped[str] = mapped_column(String(60), comment="Unit printed beside the figure")
    display_decimals: Mapped[int] = mapped_column(Integer, comment="Decimals printed")
    position: Mapped[int] = mapped_column(Integer, comment="Order in the headline table")


class PublicationSubmission(Base):
    """One row per publication and submission version its figures were made from."""

    __tablename__ = "publication_submission"
    __table_args__ = {"comment": "One row per publication and submission version used: the provenance of its figures."}

    publication_id: Mapped[int] = mapped_column(ForeignKey("publication.publication_id"), primary_key=True, comment="Publication it belongs to")
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.submission_id"), primary_key=True, comment="Submission used")
    unit_code: Mapped[str] = mapped_column(String(20), comment="Unit that sent it")
    quarter: Mapped[int] = mapped_column(Integer, comment="Quarter it reports")
    version: Mapped[int] = mapped_column(Integer, comment="Its version among the unit's files for the quarter (v_submission_status.version)")
    file_sha256: Mapped[str] = mapped_column(String(64), comment="The received file (content hash)")


class PeriodAudit(Base):
    """One row per decision about a quarter: approval, reopening or a unit's deadline extension."""

    __tablename__ = "period_audit"
    __table_args__ = (
        ForeignKeyConstraint(["year", "quarter"], ["period.year", "period.quarter"]),
        Index("ix_period_audit_period", "year", "quarter"),
        {"comment": "One row per approval, reopening or deadline extension of a quarter: who, when and why (append-only)."},
    )

    period_audit_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True, comment="Audit entry id")
    year: Mapped[int] = mapped_column(Integer, comment="Year of the quarter")
    quarter: Mapped[int] = mapped_column(Integer, comment="Quarter 1-4")
    action: Mapped[str] = mapped_column(String(20), comment="approve (locks the quarter), reopen (unlocks it) or extend (one unit's deadline)")
    unit_code: Mapped[str | None] = mapped_column(String(20), comment="Unit whose deadline is extended; null for approve and reopen")
    extended_until: Mapped[dt.date | None] = mapped_column(Date, comment="Last day of the extended deadline (local date, whole day); extend only")
    extended_until_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), comment="End of that day (UTC); extend only")
    actor: Mapped[str] = mapped_column(String(200), comment="Who decided")
    reason: Mapped[str | None] = mapped_column(Text, comment="Why, as they gave it")
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), comment="When it was recorded (UTC)")
