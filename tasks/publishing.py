"""Gathering the year's figures from the views and writing the report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from reporting.programme import Programme
from tasks.report import build_report, report_file_name, save_reproducibly
from warehouse import queries
from warehouse.engine import engine_for


@dataclass
class YearFigures:
    headline: pd.DataFrame
    groups: pd.DataFrame
    tasks_by_unit: pd.DataFrame
    units: pd.DataFrame
    sources: pd.DataFrame

    @property
    def is_empty(self) -> bool:
        return self.sources.empty


@task(cache_policy=NO_CACHE)
def fetch_year_figures(data_dir: Path, year: int) -> YearFigures:
    """Read the year's headline, breakdowns and sources from the analyst views."""
    engine = engine_for(data_dir)
    return YearFigures(
        headline=queries.year_end_headline(engine, year),
        groups=queries.group_indicators(engine, year),
        tasks_by_unit=queries.key_tasks_by_unit(engine, year),
        units=queries.unit_indicators(engine, year),
        sources=queries.sources_used(engine, year),
    )


@task(cache_policy=NO_CACHE)
def write_report(programme: Programme, figures: YearFigures, out_dir: Path, unapproved: list[str] | None = None) -> Path:
    """Write the year-end workbook, stamped with the arrival of the latest file it uses; a draft
    (DỰ THẢO) naming the quarters in `unapproved` when there are any."""
    workbook = build_report(
        programme, figures.headline, figures.groups, figures.tasks_by_unit, figures.units, figures.sources,
        unapproved=unapproved,
    )
    stamp = pd.Timestamp(figures.sources["received_at"].max())
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    return save_reproducibly(workbook, out_dir / report_file_name(programme.year), stamp.to_pydatetime())


def headline_records(figures: YearFigures) -> list[dict]:
    """Headline rows as plain Python values (floats, not Decimals)."""
    rows = []
    for r in figures.headline.to_dict("records"):
        rows.append({
            k: (None if v is None or (isinstance(v, float) and pd.isna(v)) else
                float(v) if k in ("value", "plan", "pct_of_plan") else
                int(v) if k in ("year", "display_decimals", "position") else v)
            for k, v in r.items()
        })
    return rows
