"""Handing out templates: what each unit's previous quarter carries into the next."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from reporting.periods import Period
from reporting.programme import Programme
from reporting.units import Registry
from tasks.templates import CarriedTask, CarryOver, write_template
from warehouse import queries
from warehouse.engine import engine_for


@task
def fetch_carry_over(data_dir: Path, period: Period) -> dict[str, CarryOver]:
    """Per unit: the key tasks and plans of its latest accepted quarter earlier in the year."""
    rows = queries.carry_over(engine_for(data_dir), period.year, period.quarter)
    return {
        code: CarryOver(
            tasks=tuple(
                CarriedTask(
                    task_code=t["task_code"], content_vi=_text(t["content_vi"]),
                    source_code=t["source_code"], status_code=t["status_code"],
                    completed_on=_date(t["completed_on"]),
                )
                for t in found["tasks"]
            ),
            plans=dict(found["plans"]),
            ytd=dict(found.get("ytd", {})),
            ytd_quarter=found.get("ytd_quarter"),
        )
        for code, found in rows.items()
    }


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _date(value) -> dt.date | None:
    """A date as the backend hands it back (SQLite: ISO text)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


@task(cache_policy=NO_CACHE)
def write_templates(
    programme: Programme, registry: Registry, period: Period, carry: dict[str, CarryOver], out_dir: Path
) -> list[Path]:
    """Write one pre-filled template per unit in force at the end of the quarter."""
    return [
        write_template(programme, unit, period, out_dir, carry.get(unit.unit_code))
        for unit in registry.in_force_on(period.ends_on)
    ]


@task(cache_policy=NO_CACHE)
def open_inbox(data_dir: Path, period: Period) -> Path:
    """Make the quarter's inbox, where its reports will land: the daily collects of the reporting
    month then find an empty inbox before the first file, not a missing one (a failed run, a page)."""
    inbox = data_dir / "inbox" / period.key
    inbox.mkdir(parents=True, exist_ok=True)
    return inbox
