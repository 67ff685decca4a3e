"""Hand out a quarter's templates: one pre-filled workbook per unit."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from flows.collect import resolve_period
from tasks.handout import fetch_carry_over, write_templates
from tasks.prepare import prepare_warehouse
from tasks.programme import programme_for_year
from tasks.registry import load_registry
from warehouse.engine import data_dir as resolve_data_dir


@flow(name="hand-out-templates")
def hand_out_templates(
    year: int | None = None, quarter: int | None = None, out_dir: str | None = None, data_dir: str | None = None
) -> list[str]:
    """Write data/templates/<year>-Q<q>/ (or out_dir): one template per unit, carried over from its last quarter."""
    period = resolve_period(year, quarter)
    data = resolve_data_dir(data_dir)
    programme = programme_for_year(period.year)
    prepare_warehouse(data)
    carry = fetch_carry_over(data, period)
    out = Path(out_dir) if out_dir else data / "templates" / period.key
    return [str(p) for p in write_templates(programme, load_registry(), period, carry, out)]
