"""Reading and checking a batch of submissions."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from expectations.cross_quarter import History
from expectations.gate import CheckedBatch, check_batch
from reporting.frames import ParsedBatch
from reporting.periods import Period
from reporting.programme import Programme
from reporting.units import Registry
from tasks.workbook_reader import read_workbooks_measured
from warehouse.engine import engine_for
from warehouse.load import Arrival
from warehouse.queries import earlier_quarters


@task(cache_policy=NO_CACHE, task_run_name="read-batch-{first}")
def read_batch(
    items: list[tuple[str, str]], workers: int, run_name: str | None = None, first: int = 0
) -> tuple[ParsedBatch, float]:
    """Guard and parse one batch of archived files (submission id, path) in capped parsing processes
    on the machine that runs this task; also the seconds the guard took.

    With `run_name` the thread running it keeps its parsing processes for the run's next batch
    (the run stops them); without, they are started for this batch and stopped after it, as on a
    Dask worker, which no run of p135 outlives.
    """
    return read_workbooks_measured([(sid, Path(path)) for sid, path in items], workers, keep_pool=run_name)


@task(cache_policy=NO_CACHE)
def fetch_history(data_dir: Path, period: Period) -> History:
    """Each unit's latest accepted quarter earlier in the year, for the cross-quarter checks."""
    indicators, tasks = earlier_quarters(engine_for(data_dir), period.year, period.quarter)
    return History(indicators=indicators, tasks=tasks)


@task(cache_policy=NO_CACHE)
def check_submissions(
    parsed: ParsedBatch,
    arrivals: list[Arrival],
    programme: Programme,
    registry: Registry,
    period: Period,
    history: History,
) -> CheckedBatch:
    """Run the quality gate once over the whole batch and give each submission its verdict."""
    return check_batch(parsed, [a.sha256 for a in arrivals], programme, registry, period, history,
                       file_names={a.sha256: a.original_name for a in arrivals})
