"""Bring the warehouse up to date before a flow uses it."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task

from tasks.programme import all_programmes
from tasks.registry import load_registry
from warehouse.engine import engine_for
from warehouse.migrate import upgrade
from warehouse.reference import load_reference


@task
def prepare_warehouse(data_dir: Path) -> None:
    """Apply pending migrations, then load every programme file and the unit registry."""
    engine = engine_for(data_dir)
    upgrade(engine)
    changed = load_reference(engine, all_programmes(), load_registry())
    if changed:
        get_run_logger().info("Reference data updated: %d rows changed", changed)
