"""Publish a year: the report the bloc's Party Committee signs (.docx, .pdf), the data workbook
(.xlsx), a versioned snapshot in the warehouse and a markdown artifact for the UI."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from reporting.narrative import report_markdown
from reporting.periods import LOCAL_TZ, period_just_ended
from reporting.programme import ProgrammeError, programme_for_year
from reporting.versions import changes_summary_vi, figure_changes
from tasks.artifacts import publish_headline_artifact
from tasks.prepare import prepare_warehouse
from tasks.publishing import (
    convert_report_to_pdf,
    decide_version,
    fetch_year_figures,
    headline_records,
    latest_files,
    promote_latest,
    record_version,
    report_paragraphs,
    version_reasons,
    write_report_files,
)
from warehouse.engine import data_dir as resolve_data_dir


@flow(name="publish-year")
def publish_year(year: int | None = None, data_dir: str | None = None, out_dir: str | None = None) -> dict:
    """Publish version n+1 of the year when its basis changed; otherwise keep version n as it is."""
    year = year or period_just_ended().year
    data = resolve_data_dir(data_dir)
    reports = Path(out_dir) if out_dir else data / "reports"
    programme = programme_for_year(year)
    if programme.publication is None:
        raise ProgrammeError(f"the programme file of {year} has no [publication] section: no report can be issued")
    prepare_warehouse(data)
    figures = fetch_year_figures(data, year, programme)
    if figures.is_empty:
        get_run_logger().warning("No accepted submissions for %s: nothing to publish", year)
        return {"year": year, "report": None, "headline": []}
    headline = headline_records(figures)
    decision = decide_version(data, programme, figures)
    if decision.is_new:
        changes = figure_changes(decision.previous.figures, headline) if decision.previous else []
        change_lines = changes_summary_vi(decision.version, changes, version_reasons(programme, figures, decision.previous))
        files = write_report_files(programme, figures, headline, decision, change_lines, reports)
        files = convert_report_to_pdf(files)
        record_version(data, programme, decision, files, headline, figures)
        latest = promote_latest(files, reports, year)
        status = [f"Phiên bản {decision.version}, lập ngày {decision.published_at.astimezone(LOCAL_TZ):%d/%m/%Y}.", *change_lines]
        pdf_note = files.pdf_note
    else:
        changes, change_lines = [], []
        latest = latest_files(reports, year, decision.version)
        status = [f"Số liệu không thay đổi so với phiên bản {decision.version}: giữ nguyên phiên bản này, không ghi lại tệp nào."]
        pdf_note = None
    publish_headline_artifact(year, report_markdown(year, headline, report_paragraphs(programme, figures, headline), status))
    return {
        "year": year,
        "version": decision.version,
        "changed": decision.is_new,
        "changes": [c.text_vi() for c in changes],
        "status": status,
        "report": str(latest.xlsx) if latest.xlsx else None,
        "document": str(latest.docx) if latest.docx else None,
        "pdf": str(latest.pdf) if latest.pdf else None,
        "pdf_note": pdf_note,
        "headline": headline,
    }
