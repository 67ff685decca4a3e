"""Writing to the warehouse: the run log and the checked batches."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from expectations.gate import CheckedBatch
from reporting.periods import Period
from warehouse.engine import engine_for
from warehouse.load import (
    Arrival,
    Guard,
    Refusal,
    close_collect_run,
    load_batch,
    open_collect_run,
    record_refusals,
    run_files,
)


@task(cache_policy=NO_CACHE)
def open_run(data_dir: Path, period: Period, inbox: Path, flow_run_id: str | None, guard: Guard | None = None) -> int:
    """Start the run log entry of this collect run."""
    return open_collect_run(
        engine_for(data_dir), year=period.year, quarter=period.quarter,
        inbox=str(inbox), flow_run_id=flow_run_id, guard=guard,
    )


@task(cache_policy=NO_CACHE)
def record_inbox_refusals(data_dir: Path, collect_run_id: int, refusals: list[Refusal], guard: Guard | None = None) -> None:
    """Log every inbox entry refused unread (symlinks, FIFOs, devices, folders, unreadable files)."""
    record_refusals(engine_for(data_dir), collect_run_id, refusals, guard)


@task(cache_policy=NO_CACHE)
def load_submissions(
    data_dir: Path, collect_run_id: int, period: Period, arrivals: list[Arrival], checked: CheckedBatch,
    guard: Guard | None = None,
) -> None:
    """Load a checked batch in one transaction: every file, verdict and finding; facts of those that passed."""
    load_batch(
        engine_for(data_dir),
        collect_run_id=collect_run_id,
        year=period.year,
        quarter=period.quarter,
        arrivals=arrivals,
        status=checked.status,
        unit_code=checked.unit_code,
        template_version=checked.template_version,
        # A finding's fields as they are (asdict copies each one deeply, for some 10 µs a finding).
        findings=[dict(vars(f)) for f in checked.findings],
        indicator_facts=checked.indicator_facts,
        task_facts=checked.task_facts,
        guard=guard,
    )


@task(cache_policy=NO_CACHE)
def fetch_run_files(data_dir: Path, collect_run_id: int) -> list[dict]:
    """What became of each new file of this run: its unit and its status after supersession."""
    return run_files(engine_for(data_dir), collect_run_id)


@task(cache_policy=NO_CACHE)
def close_run(data_dir: Path, collect_run_id: int, counts: dict[str, int], guard: Guard | None = None) -> None:
    """Finish the run log entry with what the run saw and decided."""
    close_collect_run(engine_for(data_dir), collect_run_id, counts, guard)
