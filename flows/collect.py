"""Collect one quarter: archive, read, check and load every workbook waiting in the inbox."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.states import Failed

from reporting.periods import period_just_ended, resolve_period
from reporting.programme import programme_for_year
from reporting.units import load_registry
from tasks.artifacts import summarise_collect
from tasks.feedback import rewrite_missing_feedback, write_feedback
from tasks.intake import archive_originals, discover_workbooks, split_known
from tasks.loading import close_run, fetch_run_files, load_submissions, open_run, record_inbox_refusals
from tasks.prepare import prepare_warehouse
from tasks.quality import check_submissions, fetch_history, read_submissions
from warehouse.engine import data_dir as resolve_data_dir
from warehouse.engine import engine_for
from warehouse.locks import QuarterBusy, SetupBusy, holder_name, take_quarter


@flow(name="collect-quarter")
def collect_quarter(
    year: int | None = None,
    quarter: int | None = None,
    inbox: str | None = None,
    data_dir: str | None = None,
    batch_size: int = 2000,
    read_workers: int = 2,
    lock_wait_seconds: int = 600,
) -> dict:
    """Collect the workbooks of one quarter (default: the quarter just ended).

    A rejected file is a result, not a failure: the run completes, says why in its artifact, and
    writes the unit's feedback workbook to <data_dir>/feedback/<year>-Q<q>/<unit_code>.xlsx.
    Two runs of the same quarter never interleave: the second waits up to `lock_wait_seconds`,
    saying who holds the quarter, then fails with one message (no traceback). The lock dies with
    its holder, so a rerun after a crash starts at once; a run that lost it commits nothing more.
    """
    period = resolve_period(year, quarter, default=period_just_ended())
    data = resolve_data_dir(data_dir)
    inbox_dir = Path(inbox) if inbox else data / "inbox" / period.key
    programme = programme_for_year(period.year)
    registry = load_registry()
    try:
        prepare_warehouse(data)
    except SetupBusy as exc:
        return Failed(message=str(exc))

    run_key = str(flow_run.id) if flow_run.id else None
    try:
        lock = take_quarter(
            engine_for(data), period.year, period.quarter, holder_name(run_key),
            wait_seconds=lock_wait_seconds, say=get_run_logger().warning,
        )
    except QuarterBusy as exc:
        return Failed(message=str(exc))
    with lock:
        run_id = open_run(data, period, inbox_dir, run_key, lock.ensure_held)
        files, refused = discover_workbooks(inbox_dir)
        arrivals, unreadable = archive_originals(inbox_dir, files, data / "archive", data)
        refused = refused + unreadable
        record_inbox_refusals(data, run_id, refused, lock.ensure_held)
        new, known = split_known(arrivals, data)
        history = fetch_history(data, period)
        checked = []
        for start in range(0, len(new), batch_size):
            batch = new[start:start + batch_size]
            parsed = read_submissions(batch, data, read_workers)
            verdicts = check_submissions(parsed, batch, programme, registry, period, history)
            load_submissions(data, run_id, period, batch, verdicts, lock.ensure_held)
            write_feedback(data, programme, registry, period, batch, verdicts, lock.ensure_held)
            checked.append(verdicts)
            lock.beat()
        # Feedback a killed run never wrote (or left damaged) is written now, new files or not.
        rewrite_missing_feedback(data, programme, registry, period, lock.ensure_held)
        summary = summarise_collect(period, new, known, checked, refused, fetch_run_files(data, run_id))
        close_run(data, run_id, {k: summary[k] for k in (
            "files_seen", "files_new", "accepted", "accepted_with_warnings", "rejected",
        )}, lock.ensure_held)
    return summary
