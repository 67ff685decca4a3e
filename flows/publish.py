"""Publish a year: the Programme 135 year-end report, its headline table and UI artifact."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from reporting.periods import period_just_ended
from reporting.programme import programme_for_year
from reporting.vn_format import headline_markdown
from tasks.artifacts import publish_headline_artifact
from tasks.prepare import prepare_warehouse
from tasks.publishing import fetch_year_figures, headline_records, write_report
from warehouse.engine import data_dir as resolve_data_dir


@flow(name="publish-year")
def publish_year(year: int | None = None, data_dir: str | None = None, out_dir: str | None = None) -> dict:
    """Write data/reports/bao-cao-ctr135-<year>.xlsx from the warehouse views and return the headline."""
    year = year or period_just_ended().year
    data = resolve_data_dir(data_dir)
    programme = programme_for_year(year)
    prepare_warehouse(data)
    figures = fetch_year_figures(data, year)
    if figures.is_empty:
        get_run_logger().warning("No accepted submissions for %s: nothing to publish", year)
        return {"year": year, "report": None, "headline": []}
    report = write_report(programme, figures, Path(out_dir) if out_dir else data / "reports")
    headline = headline_records(figures)
    publish_headline_artifact(year, headline_markdown(year, headline))
    return {"year": year, "report": str(report), "headline": headline}
