"""Collect one quarter: archive, read, check and load every workbook waiting in the inbox."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from prefect import flow, get_run_logger
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.states import Failed
from prefect.utilities.annotations import quote

from flows.run_names import collect_run_name
from reporting.periods import Period, period_just_ended, period_problem_vi, resolve_period
from reporting.programme import ProgrammeError, programme_for_year, programmes_dir
from reporting.units import RegistryError, load_registry
from tasks.approval import (
    closed_note_vi,
    closed_rejected_note_vi,
    fetch_approval,
    forget_released_feedback,
    hold_passing,
    release_held_files,
)
from tasks.artifacts import first_finding_text, first_findings, summarise_collect
from tasks.completeness import fetch_completeness
from tasks.disk_full import stops_when_disk_full
from tasks.feedback import rewrite_missing_feedback, write_feedback
from tasks.intake import archive_originals, contents_of, discover_workbooks, issued_for_another_quarter, split_known
from tasks.loading import close_run, fetch_run_files, load_submissions, open_run, record_inbox_refusals
from tasks.memory import fix_mmap_threshold, long_lived_kept_still, release_freed_memory
from tasks.notify import tell_ops_of_crash, tell_ops_of_failure
from tasks.prepare import check_cluster, check_settings, prepare_warehouse, registry_failure_vi
from tasks.progress import COLLECT_STAGES, StageClock
from tasks.quality import check_submissions, fetch_history, read_batch
from tasks.run_log import drop_expected_failure_tracebacks
from tasks.runners import (
    BATCH_SIZE_ENV,
    DASK,
    DASK_ADDRESS_ENV,
    LOCAL,
    PARALLEL_BATCHES_ENV,
    READ_WORKERS_ENV,
    ClusterLost,
    SettingValueError,
    batch_runner,
    checked_parameter,
    checked_runner,
    int_from_env,
    result_on_cluster,
    runner_from_env,
)
from tasks.workbook_reader import close_parsing_pools
from warehouse.engine import data_dir as resolve_data_dir
from warehouse.engine import engine_for
from warehouse.locks import QuarterBusy, QuarterLost, holder_name, take_quarter


@flow(name="collect-quarter", flow_run_name=collect_run_name, on_failure=[tell_ops_of_failure],
      on_crashed=[tell_ops_of_crash])
@stops_when_disk_full(
    "Không mất tệp nào: các tệp vẫn còn nguyên trong thư mục nhận, và lần chạy lại không tính tệp nào hai lần. "
    "Hãy giải phóng dung lượng rồi thu nhận lại."
)
def collect_quarter(
    year: int | None = None,
    quarter: int | None = None,
    inbox: str | None = None,
    data_dir: str | None = None,
    batch_size: int | None = None,
    read_workers: int | None = None,
    parallel_batches: int | None = None,
    task_runner: str | None = None,
    dask_address: str | None = None,
    lock_wait_seconds: int = 600,
) -> dict:
    """Collect the workbooks of one quarter (default: the quarter just ended).

    A rejected file is a result, not a failure: the run completes, says why in its artifacts, and
    writes the unit's feedback workbook to <data_dir>/feedback/<year>-Q<q>/<unit_code>.xlsx.
    A missing inbox folder or programme file fails the run, saying which. Two runs of the same
    quarter never interleave: the second waits up to `lock_wait_seconds`, saying who holds the
    quarter, then fails with one message (no traceback). The lock dies with its holder, so a rerun
    after a crash starts at once; a run that lost it commits nothing more and fails with one
    message. While the quarter is approved, files that pass are held, not loaded; the first run
    after a reopen loads them.

    The inbox is archived `batch_size` files at a time, as the batches are asked for, so reading starts
    before the whole inbox is archived. New files are read in batches of `batch_size` (P135_BATCH_SIZE,
    default 2000), each a task that guards and parses its files in `read_workers` capped processes
    (P135_READ_WORKERS, default 2), `parallel_batches` at a time (P135_PARALLEL_BATCHES, default 2), on `task_runner`
    (P135_TASK_RUNNER: `local`, the default, or `dask` on the cluster at `dask_address`,
    P135_DASK_ADDRESS, or a local one). Checking, loading and feedback follow batch by batch in
    this run, which holds the quarter's lock. The summary's `stage_seconds` says where the time
    went: archive, guard (summed over the parsing processes), read (from the first batch handed to
    the runner to the last one back, so it overlaps the stages after it), check, load, feedback.
    """
    logger = get_run_logger()
    drop_expected_failure_tracebacks()
    try:
        period = resolve_period(year, quarter, default=period_just_ended())
    except ValueError:
        return Failed(message=period_problem_vi(year, quarter))
    data = resolve_data_dir(data_dir)
    inbox_dir = Path(inbox) if inbox else data / "inbox" / period.key
    if problem := check_settings(data, data_dir is not None):
        return Failed(message=problem)
    try:
        programme = programme_for_year(period.year)
    except ProgrammeError:
        # The state's message is the one clear line, in the run page and the worker's log.
        return Failed(message=(
            f"Không có tệp chương trình báo cáo dùng được cho năm {period.year} (thư mục {programmes_dir()}): "
            f"chưa thu nhận {period.label_vi}. Hãy thêm tệp chương trình của năm rồi chạy lại."
        ))
    if not inbox_dir.is_dir():
        what = (f"{inbox_dir} là một tệp, không phải thư mục nhận báo cáo" if inbox_dir.exists()
                else f"Không có thư mục nhận báo cáo {inbox_dir}")
        return Failed(message=(
            f"{what}: chưa thu nhận {period.label_vi}. "
            "Hãy kiểm tra tham số inbox hoặc thư mục dữ liệu (P135_DATA_DIR)."
        ))
    try:
        checked_parameter("lock_wait_seconds", lock_wait_seconds, least=0)
        batch_size = checked_parameter("batch_size", batch_size) or int_from_env(BATCH_SIZE_ENV, 2000)
        read_workers = checked_parameter("read_workers", read_workers) or int_from_env(READ_WORKERS_ENV, 2)
        parallel_batches = (checked_parameter("parallel_batches", parallel_batches)
                            or int_from_env(PARALLEL_BATCHES_ENV, 2))
        runner_kind = checked_runner(task_runner, "tham số task_runner") if task_runner else runner_from_env()
    except SettingValueError as exc:
        return Failed(message=f"Lỗi cấu hình: {exc}")
    dask_address = dask_address or os.environ.get(DASK_ADDRESS_ENV) or None
    if runner_kind == DASK and dask_address and (problem := check_cluster(dask_address)):
        return Failed(message=problem)
    try:
        registry = load_registry()
    except RegistryError as exc:
        return Failed(message=registry_failure_vi(exc))
    if busy := prepare_warehouse(data, quote(registry), year=period.year):
        return Failed(message=busy)
    clock = StageClock(tuple(COLLECT_STAGES))

    run_key = str(flow_run.id) if flow_run.id else None
    try:
        lock = take_quarter(
            engine_for(data), period.year, period.quarter, holder_name(run_key),
            wait_seconds=lock_wait_seconds, say=logger.warning,
        )
    except QuarterBusy as exc:
        return Failed(message=str(exc))
    # Large arguments are passed quote()-d: Prefect otherwise walks every item of every list handed to a
    # task (looking for futures to wait on), which cost more than the work itself for 10,000 files.
    try:
        with lock, contextlib.ExitStack() as kept_still:
            approval = fetch_approval(data, period)
            lock.ensure_held()
            released = [] if approval.is_locked else release_held_files(data, period)
            if released:
                logger.info("Quarter %s is open again: %d held files loaded", period.key, len(released))
                forget_released_feedback(data, period, quote(released), lock.ensure_held)
            closed_note = closed_note_vi(approval, programme, period) if approval.is_locked else None
            closed_rejected = closed_rejected_note_vi(approval, programme, period) if approval.is_locked else None
            run_id = open_run(data, period, inbox_dir, run_key, lock.ensure_held)
            files, refused = discover_workbooks(inbox_dir)
            clock.expect("archive", len(files))
            # Until the archive has seen every file, how many are new is not known: at most all of them.
            for stage in ("read", "check", "load", "feedback"):
                clock.expect(stage, len(files))
            history = fetch_history(data, period)
            intake = _Intake()
            arriving = _arrive_in_batches(inbox_dir, files, data, batch_size, clock, intake, period)
            checked = []
            guard_seconds, read_seconds = 0.0, 0.0
            pools = f"collect-{uuid.uuid4().hex}"
            first = next(arriving, None)
            if first is not None:
                fix_mmap_threshold()
                # Until the run ends, not only the batches: the summary's full collections would
                # otherwise walk every object of the libraries and the run again (0.7 s at 10,000 files).
                kept_still.enter_context(long_lived_kept_still())
                try:
                    with batch_runner(runner_kind, parallel_batches, dask_address) as runner:
                        # Parsing processes are kept between batches only in this process, which stops them.
                        keep = pools if runner_kind == LOCAL else None
                        reads = _read_in_batches(runner, itertools.chain([first], arriving), data, read_workers,
                                                 parallel_batches, keep)
                        read_started = time.perf_counter()
                        for batch, future in reads:
                            with clock.stage("read", len(batch)):
                                parsed, seconds = (future.result() if runner_kind == LOCAL else
                                                   result_on_cluster(future, dask_address or "máy này (cụm cục bộ)"))
                            del future  # its final state holds the batch's frames too
                            guard_seconds += seconds
                            read_seconds = time.perf_counter() - read_started
                            with clock.stage("check", len(batch)):
                                verdicts = check_submissions(
                                    quote(parsed), quote(batch), quote(programme), quote(registry), period,
                                    quote(history),
                                )
                            del parsed
                            batch, verdicts = _set_aside_other_quarters(batch, verdicts, period, intake, data)
                            if approval.is_locked:
                                verdicts = hold_passing(verdicts)
                            with clock.stage("load", len(batch)):
                                load_submissions(data, run_id, period, quote(batch), quote(verdicts), lock.ensure_held)
                            with clock.stage("feedback", len(batch)):
                                write_feedback(data, quote(programme), quote(registry), period, quote(batch),
                                               quote(verdicts), lock.ensure_held, closed_note=closed_note,
                                               closed_rejected_note=closed_rejected)
                            _log_verdicts(logger, batch, verdicts, period)
                            # A national quarter is many batches: the run's summary needs only the verdicts.
                            checked.append(verdicts.without_facts())
                            del verdicts
                            lock.beat()
                            release_freed_memory()
                finally:
                    close_parsing_pools(pools)
            new = [a for a in intake.new if a.sha256 not in intake.set_aside]
            known = intake.known
            for stage in ("read", "check", "load", "feedback"):
                clock.expect(stage, len(new))
            if not new:
                logger.info("No new files in %s (%d already received)", inbox_dir, len(known))
            refused = refused + intake.refused
            record_inbox_refusals(data, run_id, quote(refused), lock.ensure_held)
            # Feedback a killed run never wrote (or left damaged) is written now, new files or not.
            rewrite_missing_feedback(
                data, quote(programme), quote(registry), period, lock.ensure_held, closed_note=closed_note,
                closed_rejected_note=closed_rejected,
                run_id=run_id,
            )
            completeness = fetch_completeness(data, period)
            # A unit whose report was accepted since needs no word about an old copy still in the inbox.
            settled = set(completeness.units.loc[completeness.units["state"].isin(("on_time", "late")), "unit_code"])
            renamed = [r for r in intake.renamed if r.this_run or r.unit_code not in settled]
            summary = summarise_collect(
                period, quote(new), quote(known), quote(checked), quote(completeness), quote(programme), approval,
                quote(released), str(data / "feedback" / period.key), quote(refused),
                quote(fetch_run_files(data, run_id)),
                [dataclasses.asdict(r) for r in renamed[:RENAMED_LISTED]], len(renamed),
            )
            summary["stage_seconds"] = {
                "archive": clock.seconds["archive"], "guard": guard_seconds, "read": read_seconds,
                "check": clock.seconds["check"], "load": clock.seconds["load"], "feedback": clock.seconds["feedback"],
            }
            close_run(data, run_id, {k: summary[k] for k in (
                "files_seen", "files_new", "accepted", "accepted_with_warnings", "rejected",
            )}, lock.ensure_held)
    except QuarterLost as exc:
        # Nothing more was committed (each commit checks the lock first): say so once, no traceback.
        return Failed(message=str(exc))
    except ClusterLost as exc:
        # The command prints the run's message, in Vietnamese: its terminal leaves this line out.
        logger.error("Reading on the Dask cluster stopped: %s", exc.__cause__ or "see the run's message",
                     extra=PER_FILE)
        return Failed(message=str(exc))
    logger.info(
        "Collected %s: %d files, %d new, %d accepted, %d with warnings, %d rejected, %d held, %d refused unread",
        period.key, summary["files_seen"], summary["files_new"], summary["accepted"],
        summary["accepted_with_warnings"], summary["rejected"], summary["held"], summary["refused"],
    )
    logger.info("Stages: %s", clock.summary())
    return summary


# Past this many, files received before under another name are counted, not listed.
RENAMED_LISTED = 500
# The largest part of the inbox archived at once, in batches, after parts that held nothing new.
KNOWN_STRETCH = 8


@dataclass
class _Intake:
    """What the archive has made of the inbox so far: new contents, contents received before (or
    twice in this inbox), entries refused (unreadable, or another quarter's file)."""

    new: list = field(default_factory=list)
    known: list = field(default_factory=list)
    # Of `known`, those received before under another name (told, since they are not checked again).
    renamed: list = field(default_factory=list)
    refused: list = field(default_factory=list)
    # Contents found new in this run so far, with the name each came under first.
    taken: dict[str, str] = field(default_factory=dict)
    # New contents read and found to be another quarter's reports, also in that quarter's inbox:
    # refused, not taken in.
    set_aside: set[str] = field(default_factory=set)
    other_inboxes: dict[Period, set[str]] = field(default_factory=dict)

    def inbox_hashes(self, data: Path, period: Period) -> set[str]:
        """The contents in `period`'s inbox under the data directory, read once a run."""
        if period not in self.other_inboxes:
            self.other_inboxes[period] = contents_of(data / "inbox" / period.key)
        return self.other_inboxes[period]


def _set_aside_other_quarters(batch: list, verdicts, period: Period, intake: _Intake, data: Path) -> tuple[list, object]:
    """A report handed out for another quarter whose own quarter's inbox holds the same file is
    left to that quarter: recorded here (rejected), its content would count as received here, and
    its own quarter would refuse it. One found here alone (a clerk reusing an old template) is
    rejected here as before, with feedback telling the clerk which template to fill."""
    elsewhere = verdicts.issued_for_another(period)
    if not elsewhere:
        return batch, verdicts
    own = {sha: issued for sha, issued in elsewhere.items() if sha in intake.inbox_hashes(data, issued)}
    if not own:
        return batch, verdicts
    intake.set_aside.update(own)
    intake.refused += [
        issued_for_another_quarter(a, own[a.sha256], verdicts.unit_code.get(a.sha256), period)
        for a in batch if a.sha256 in own
    ]
    return [a for a in batch if a.sha256 not in own], verdicts.without(set(own))


def _arrive_in_batches(
    inbox: Path, files: list, data: Path, batch_size: int, clock: StageClock, intake: _Intake, period: Period
) -> Iterator[list]:
    """The new contents in batches of `batch_size`, archived a batch's worth of files at a time as the
    batches are asked for: reading starts after the first files are archived, not after all of them.

    A part of the inbox that held nothing new is followed by one twice as large (at most
    `KNOWN_STRETCH` batches' worth): a quarter collected again is archived in a few tasks, not one
    per batch.
    """
    pending: list = []
    start, size = 0, batch_size
    while start < len(files):
        chunk = files[start:start + size]
        start += len(chunk)
        with clock.stage("archive", len(chunk)):
            arrivals, unreadable = archive_originals(inbox, quote(chunk), data / "archive", data)
        intake.refused += unreadable
        new, known, elsewhere, renamed = split_known(quote(arrivals), data, period, quote(intake.taken))
        intake.new += new
        intake.known += known
        intake.renamed += renamed
        intake.refused += elsewhere
        intake.taken.update((a.sha256, a.original_name) for a in new)
        size = batch_size if new else min(2 * size, KNOWN_STRETCH * batch_size)
        pending += new
        while len(pending) >= batch_size:
            yield pending[:batch_size]
            pending = pending[batch_size:]
    if pending:
        yield pending


def _read_in_batches(
    runner, batches: Iterator[list], data: Path, workers: int, ahead: int, run_name: str | None
) -> Iterator[tuple[list, PrefectFuture]]:
    """Each batch with the future of its read task, handed to the runner `ahead` batches in advance,
    so that no more than that many batches' frames are ever held at once."""
    pending: deque = deque()
    first = 0
    for batch in batches:
        # Absolute: a Dask worker on another machine opens the same path on the shared data directory.
        # Not quote()-d: prefect-dask hands a quoted argument to the task still wrapped.
        items = [(a.sha256, os.path.abspath(data / a.archive_path)) for a in batch]
        parameters = {"items": items, "workers": workers, "run_name": run_name, "first": first}
        pending.append((batch, runner.submit(read_batch, parameters)))
        first += len(batch)
        if len(pending) >= ahead:
            yield pending.popleft()
    while pending:
        yield pending.popleft()


# Marks the per-file lines that `p135` prints itself in Vietnamese (its terminal leaves them out).
PER_FILE = {"p135_per_file": True}


def _log_verdicts(logger, batch, verdicts, period) -> None:
    """One WARNING line per rejected file (unit, file, first finding); held files are noted."""
    first = first_findings(verdicts.findings)
    for arrival in batch:
        status = verdicts.status[arrival.sha256]
        unit = verdicts.unit_code.get(arrival.sha256) or "unknown unit"
        if status == "rejected":
            top = first.get(arrival.sha256)
            logger.warning("Rejected %s from %s (%s): %s", arrival.original_name, unit, period.key,
                           first_finding_text(top) if top else "no finding recorded", extra=PER_FILE)
        elif status == "held":
            logger.warning("Held %s from %s: %s is approved, not loaded until reopened",
                           arrival.original_name, unit, period.key, extra=PER_FILE)
