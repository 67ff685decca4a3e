"""Reading and checking a batch of submissions."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from expectations.gate import CheckedBatch, check_batch
from tasks.periods import Period
from tasks.programme import Programme
from tasks.registry import Registry
from tasks.workbook_reader import ParsedBatch, read_workbooks
from warehouse.load import Arrival


@task(cache_policy=NO_CACHE)
def read_submissions(arrivals: list[Arrival], data_dir: Path, workers: int) -> ParsedBatch:
    """Read the archived copies of a batch into frames keyed by submission and cell."""
    items = [(a.sha256, data_dir / a.archive_path) for a in arrivals]
    return read_workbooks(items, workers=workers)


@task(cache_policy=NO_CACHE)
def check_submissions(
    parsed: ParsedBatch,
    arrivals: list[Arrival],
    programme: Programme,
    registry: Registry,
    period: Period,
) -> CheckedBatch:
    """Run the quality gate once over the whole batch and give each submission its verdict."""
    return check_batch(parsed, [a.sha256 for a in arrivals], programme, registry, period)
