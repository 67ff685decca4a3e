"""Bring the warehouse up to date before a flow uses it."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task

from tasks.programme import PROGRAMMES_DIR, load_programme
from tasks.registry import REGISTRY_FILE, load_registry
from warehouse.engine import engine_for
from warehouse.migrate import upgrade
from warehouse.reference import load_reference


@task
def prepare_warehouse(data_dir: Path) -> None:
    """Apply pending migrations, then load every programme file and the unit registry."""
    engine = engine_for(data_dir)
    upgrade(engine)
    programmes = [load_programme(p) for p in sorted(PROGRAMMES_DIR.glob("*.toml"))]
    changed = load_reference(engine, programmes, load_registry(REGISTRY_FILE))
    if changed:
        get_run_logger().info("Reference data updated: %d rows changed", changed)
