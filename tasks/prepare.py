"""Bring the warehouse up to date before a flow uses it."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task

from reporting.programme import all_programmes
from reporting.units import load_registry
from warehouse.engine import engine_for
from warehouse.locks import schema_lock
from warehouse.migrate import upgrade
from warehouse.reference import load_reference


def bring_up_to_date(data_dir: Path) -> int:
    """Migrate, then load the programmes and the registry; return how many rows changed."""
    engine = engine_for(data_dir)
    # Two runs starting on a new warehouse would otherwise both create and load it.
    with schema_lock(engine):
        upgrade(engine)
        return load_reference(engine, all_programmes(), load_registry())


@task
def prepare_warehouse(data_dir: Path) -> None:
    """Apply pending migrations, then load every programme file and the unit registry."""
    changed = bring_up_to_date(data_dir)
    if changed:
        get_run_logger().info("Reference data updated: %d rows changed", changed)
