"""Where batches of received files are guarded and parsed: on this machine, or on a Dask cluster.

On this machine (`local`, the default) each batch is a task on a thread that hands its files to
capped parsing processes, so a batch is read while the one before is checked, loaded and given its
feedback. With `dask` the same tasks run on the workers of a Dask cluster (prefect-dask): the
cluster at `P135_DASK_ADDRESS`, or a local one started for the run. Dask starts its workers as
daemonic processes, which may not start processes of their own; the capped parsing processes need
to, so the workers are started non-daemonic (`distributed.worker.daemon: False`).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

# Prefect and Dask are imported where a runner starts: the preflight checks run before Prefect loads.

RUNNER_ENV = "P135_TASK_RUNNER"
DASK_ADDRESS_ENV = "P135_DASK_ADDRESS"
BATCH_SIZE_ENV = "P135_BATCH_SIZE"
READ_WORKERS_ENV = "P135_READ_WORKERS"
PARALLEL_BATCHES_ENV = "P135_PARALLEL_BATCHES"
LOCAL, DASK = "local", "dask"
RUNNERS = (LOCAL, DASK)


class SettingValueError(ValueError):
    """A run setting p135 cannot use; the message is for the person who set it."""


class UnknownRunner(SettingValueError):
    """A task runner name p135 does not know; the message is for the person who set it."""


def runner_from_env() -> str:
    """The task runner P135_TASK_RUNNER names (default `local`), checked."""
    return checked_runner(os.environ.get(RUNNER_ENV) or LOCAL)


def checked_runner(name: str) -> str:
    kind = name.strip().lower()
    if kind not in RUNNERS:
        raise UnknownRunner(
            f"{RUNNER_ENV}={name!r}: p135 không biết cách chạy này; hãy để trống (chạy trên máy này, "
            f"như '{LOCAL}') hoặc đặt '{DASK}' (chạy trên cụm Dask, địa chỉ ở {DASK_ADDRESS_ENV})."
        )
    return kind


def int_from_env(name: str, default: int) -> int:
    """A positive whole number from the environment, or `default` when unset or empty."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise SettingValueError(f"{name}={raw!r}: phải là một số nguyên dương; hãy sửa hoặc bỏ đặt biến này.")
    return value


@contextmanager
def batch_runner(kind: str, parallel_batches: int, dask_address: str | None = None) -> Iterator:
    """A started task runner for the read tasks of one run; stopped (and a local Dask cluster shut
    down) when the block ends.

    `parallel_batches` is how many batches are read at once: threads on this machine, or workers
    of the local Dask cluster (a cluster at `dask_address` has the workers it was given).
    """
    if checked_runner(kind) == LOCAL:
        from prefect.task_runners import ThreadPoolTaskRunner

        with ThreadPoolTaskRunner(max_workers=max(1, parallel_batches)) as runner:
            yield runner
        return
    import dask
    from prefect_dask import DaskTaskRunner

    if dask_address:
        runner = DaskTaskRunner(address=dask_address)
    else:
        runner = DaskTaskRunner(cluster_kwargs={
            "n_workers": max(1, parallel_batches), "threads_per_worker": 1, "processes": True,
            "dashboard_address": None,
        })
    # Read when the local cluster starts its workers (at the first task): non-daemonic workers.
    with dask.config.set({"distributed.worker.daemon": False}), runner:
        yield runner
