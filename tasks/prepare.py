"""Bring the warehouse up to date before a flow uses it."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from reporting.programme import all_programmes
from reporting.units import Registry, RegistryError, load_registry
from warehouse import locks
from warehouse.engine import engine_for
from warehouse.locks import Say, SetupBusy, setup_session
from warehouse.migrate import upgrade
from warehouse.reference import load_reference


def bring_up_to_date(
    data_dir: Path, wait_seconds: float | None = None, say: Say | None = None, registry: Registry | None = None
) -> int:
    """Migrate, then load the programmes and the registry (`registry`, or the one on disk); return
    how many rows changed.

    Waits at most `wait_seconds` (default SETUP_WAIT_SECONDS) for whoever holds the set-up lock
    or the tables, then raises SetupBusy naming them.
    """
    engine = engine_for(data_dir)
    wait_seconds = locks.SETUP_WAIT_SECONDS if wait_seconds is None else wait_seconds
    # Two runs starting on a new warehouse would otherwise both create and load it.
    with setup_session(engine, wait_seconds=wait_seconds, say=say) as bounded:
        upgrade(bounded)
        skipped: list[str] = []
        programmes = all_programmes(skipped)
        for reason in skipped:
            # Another year's broken file: that year's commands refuse it; this one goes on.
            if say is not None:
                say(f"Programme file skipped, unusable: {reason}")
        return load_reference(bounded, programmes, registry or load_registry())


def registry_failure_vi(exc: RegistryError) -> str:
    """A run's one line when the unit registry cannot be used (the ops team edits it by hand)."""
    return f"Tệp danh sách đơn vị không dùng được: {exc}. Hãy sửa tệp rồi chạy lại."


@task(cache_policy=NO_CACHE)
def prepare_warehouse(data_dir: Path, registry: Registry | None = None) -> str | None:
    """Apply pending migrations, then load every programme file and the unit registry (`registry`,
    already read by the flow, or the one on disk); None when done.

    When someone holds set-up longer than it waits, or the registry file is unusable, the message
    saying so, for the flow to fail with: an expected outcome, not a crash (no traceback in the
    run's log).
    """
    logger = get_run_logger()
    try:
        changed = bring_up_to_date(data_dir, say=logger.warning, registry=registry)
    except SetupBusy as exc:
        return str(exc)
    except RegistryError as exc:
        return registry_failure_vi(exc)
    if changed:
        logger.info("Reference data updated: %d rows changed", changed)
    return None
