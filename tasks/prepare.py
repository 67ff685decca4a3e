"""Bring the warehouse up to date before a flow uses it."""

from __future__ import annotations

import time
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from reporting.programme import ProgrammeError, all_programmes, programme_file
from reporting.units import Registry, RegistryError, load_registry
from warehouse import locks
from warehouse.engine import engine_for
from warehouse.locks import Say, SetupBusy, setup_session
from warehouse.migrate import upgrade
from warehouse.reference import load_reference


class ProgrammeRefused(ProgrammeError):
    """The year's programme file contradicts what the warehouse already holds (the message is Vietnamese)."""


def bring_up_to_date(
    data_dir: Path, wait_seconds: float | None = None, say: Say | None = None, registry: Registry | None = None,
    year: int | None = None,
) -> int:
    """Migrate, then load the programmes and the registry (`registry`, or the one on disk); return
    how many rows changed.

    Waits at most `wait_seconds` (default SETUP_WAIT_SECONDS) for whoever holds the set-up lock
    or the tables, then raises SetupBusy naming them. Raises ProgrammeRefused when the programme
    of `year` could not be loaded; another year's refused file is only said.
    """
    engine = engine_for(data_dir)
    wait_seconds = locks.SETUP_WAIT_SECONDS if wait_seconds is None else wait_seconds
    skipped: list[str] = []
    programmes = all_programmes(skipped)
    for reason in skipped:
        # Another year's broken file: that year's commands refuse it; this one goes on.
        if say is not None:
            say(f"Programme file skipped, unusable: {reason}")
    registry = registry or load_registry()
    deadline = time.monotonic() + wait_seconds
    told = False
    while True:
        try:
            # Two runs starting on a new warehouse would otherwise both create and load it.
            with setup_session(engine, wait_seconds=wait_seconds, say=say,
                               lock_try_seconds=locks.SETUP_LOCK_TRY_SECONDS) as bounded:
                upgrade(bounded)
                refused: list[tuple[int, str]] = []
                changed = load_reference(bounded, programmes, registry, refused)
            break
        except locks.TablesBusy as busy:
            # Each try is one transaction, rolled back whole: try again until the wait runs out.
            left = deadline - time.monotonic()
            if left <= 0:
                raise
            if say is not None and not told:
                say(f"Đang chờ {busy.holders} kết thúc giao dịch trên các bảng cần nâng cấp "
                    f"(chờ tối đa {wait_seconds:.0f} giây).")
                told = True
            time.sleep(min(1.0, left))
    for refused_year, reason in refused:
        if refused_year == year:
            # Named as every other mistake of a programme file is: the office edits that file.
            path = programme_file(year)
            raise ProgrammeRefused(f"{path}: {reason}" if path else reason)
        if say is not None:
            say(f"Programme file of {refused_year} not loaded, it contradicts the warehouse: {reason}")
    return changed


def programme_refused_vi(year: int, exc: ProgrammeRefused) -> str:
    """A run's one line when the year's programme file contradicts the warehouse."""
    return f"Tệp chương trình báo cáo năm {year} không dùng được: {exc}. Hãy sửa tệp rồi chạy lại."


def registry_failure_vi(exc: RegistryError) -> str:
    """A run's one line when the unit registry cannot be used (the ops team edits it by hand)."""
    return f"Tệp danh sách đơn vị không dùng được: {exc}. Hãy sửa tệp rồi chạy lại."


@task(cache_policy=NO_CACHE)
def check_cluster(address: str) -> str | None:
    """What keeps the Dask cluster at `address` from reading the quarter, as `p135` says it; None when it can."""
    from tasks.runners import dask_cluster_problem

    problem = dask_cluster_problem(address)
    return f"Lỗi cấu hình: {problem}" if problem else None


@task(cache_policy=NO_CACHE)
def check_settings(data_dir: Path, data_dir_given: bool = False) -> str | None:
    """The first wrong setting of a run, as `p135` would say it (a deployment's run passes no
    command-line check): the data folder, the warehouse URL and login, the runner, batch and
    notification settings. None when all hold. The room left on the disk is the command's check:
    a run already started has used some (its Prefect server's files), and stops cleanly when the
    disk fills."""
    from tasks.preflight import SettingError, check_data_dir, check_run_settings, check_warehouse

    try:
        check_data_dir(data_dir, "tham số data_dir" if data_dir_given else "P135_DATA_DIR", need_room=False)
        check_warehouse(data_dir)
        check_run_settings()
    except SettingError as exc:
        return f"Lỗi cấu hình: {exc}"
    return None


@task(cache_policy=NO_CACHE)
def prepare_warehouse(data_dir: Path, registry: Registry | None = None, year: int | None = None) -> str | None:
    """Apply pending migrations, then load every programme file and the unit registry (`registry`,
    already read by the flow, or the one on disk); None when done.

    When someone holds set-up longer than it waits, the registry file is unusable, or the programme
    of the run's `year` contradicts the warehouse, the message saying so, for the flow to fail with:
    an expected outcome, not a crash (no traceback in the run's log).
    """
    logger = get_run_logger()
    try:
        changed = bring_up_to_date(data_dir, say=logger.warning, registry=registry, year=year)
    except SetupBusy as exc:
        return str(exc)
    except RegistryError as exc:
        return registry_failure_vi(exc)
    except ProgrammeRefused as exc:
        return programme_refused_vi(year, exc)
    if changed:
        logger.info("Reference data updated: %d rows changed", changed)
    return None
