"""Where batches of received files are guarded and parsed: on this machine, or on a Dask cluster.

On this machine (`local`, the default) each batch is a task on a thread that hands its files to
capped parsing processes, so a batch is read while the one before is checked, loaded and given its
feedback. With `dask` the same tasks run on the workers of a Dask cluster (prefect-dask): the
cluster at `P135_DASK_ADDRESS`, or a local one started for the run. Dask starts its workers as
daemonic processes, which may not start processes of their own; the capped parsing processes need
to, so the workers are started non-daemonic (`distributed.worker.daemon: False`).
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
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


def checked_runner(name: str, setting: str = RUNNER_ENV) -> str:
    """The runner `name` names, checked; `setting` is where it was given (the variable, or a
    deployment run's parameter), for the message."""
    kind = name.strip().lower()
    if kind not in RUNNERS:
        raise UnknownRunner(
            f"{setting}={name!r}: p135 không biết cách chạy này; hãy để trống (chạy trên máy này, "
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


def checked_parameter(name: str, value: int | None, least: int = 1) -> int | None:
    """A run's whole-number parameter as given (None: not given), refused below `least`."""
    if value is not None and value < least:
        what = "một số nguyên dương" if least == 1 else f"một số nguyên từ {least} trở lên"
        raise SettingValueError(f"tham số {name}={value}: phải là {what}.")
    return value


@contextmanager
def _reported_to_this_server(address: str | None) -> Iterator[None]:
    """The read tasks submitted in the block carry the address of the run's own Prefect server.

    A task on a Dask worker runs with the flow run's Prefect settings; a run on Prefect's
    temporary server (a `p135 collect` by hand) has no API address in them, so every worker
    started a temporary server of its own (15 s, left running) and its task runs were recorded
    there. Workers on this machine (a local cluster, a scheduler on a loopback address) reach the
    run's server; workers elsewhere need PREFECT_API_URL set to a server they can reach.
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value() or (address and not _is_loopback(address)):
        yield
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    if server.server_process is None:
        yield
        return
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        yield


def forget_earlier_servers(runner) -> None:
    """Make each worker of the cluster send its Prefect events and logs to the run's server.

    A long-lived Dask worker keeps the events and logs senders of the first run it served, with
    that run's server address: a later `p135 collect` (another temporary server) had its read
    tasks recorded nowhere. Stopped, they are made again for the next task, from its settings.
    """
    runner.client.run(_stop_prefect_senders)


async def _stop_prefect_senders() -> None:
    import inspect

    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for service in (EventsWorker, APILogWorker):
        drained = service.drain_all(timeout=2, at_exit=False)
        if inspect.isawaitable(drained):
            await drained


def _is_loopback(address: str) -> bool:
    host = address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


@contextmanager
def _level(logger: logging.Logger, level: int) -> Iterator[None]:
    """`logger` back at `level` when the block ends."""
    try:
        yield
    finally:
        logger.setLevel(level)


# How long the run waits for a Dask scheduler to answer, and for a cluster without workers to get one.
DASK_CONNECT_SECONDS = 10
DASK_WORKER_WAIT_SECONDS = 60
DASK_POLL_SECONDS = 5


class ClusterLost(RuntimeError):
    """The Dask cluster could not finish a read task; the message is for the ops team."""


def dask_cluster_problem(address: str, worker_wait: float = DASK_WORKER_WAIT_SECONDS) -> str | None:
    """What keeps the cluster at `address` from reading a quarter, in Vietnamese, or None: its
    scheduler does not answer, it has had no worker for `worker_wait` seconds, or a worker is
    daemonic (it could not start the capped parsing processes)."""
    from distributed import Client

    try:
        client = Client(address, timeout=DASK_CONNECT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        return (f"{DASK_ADDRESS_ENV}={address}: không kết nối được tới bộ lập lịch Dask sau "
                f"{DASK_CONNECT_SECONDS} giây ({type(exc).__name__}). Hãy kiểm tra địa chỉ và bộ lập lịch (dask scheduler) rồi chạy lại.")
    with client:
        try:
            client.wait_for_workers(1, timeout=worker_wait)
        except TimeoutError:
            return (f"cụm Dask ở {address} chưa có worker nào (đã chờ {worker_wait:.0f} giây). Hãy khởi động ít nhất "
                    f"một worker: DASK_DISTRIBUTED__WORKER__DAEMON=False .venv/bin/dask worker {address} --nthreads 1, "
                    "rồi chạy lại.")
        daemonic = sorted(worker for worker, is_daemon in client.run(_is_daemonic).items() if is_daemon)
        if daemonic:
            return (f"worker Dask {', '.join(daemonic)} chạy ở chế độ daemon nên không mở được các tiến trình đọc tệp. "
                    "Hãy khởi động lại worker với biến môi trường DASK_DISTRIBUTED__WORKER__DAEMON=False "
                    "(xem README) rồi chạy lại.")
    return None


def _is_daemonic() -> bool:
    import multiprocessing

    return multiprocessing.current_process().daemon


def result_on_cluster(future, address: str, worker_wait: float = DASK_WORKER_WAIT_SECONDS):
    """A read task's result from the Dask cluster; ClusterLost when the cluster fails the task or
    has had no worker for `worker_wait` seconds (Dask would wait for one for ever)."""
    inner = future.wrapped_future
    done = threading.Event()
    inner.add_done_callback(lambda _: done.set())
    idle = 0.0
    while not done.wait(DASK_POLL_SECONDS):
        try:
            workers = inner.client.scheduler_info().get("workers", {})
        except Exception as exc:
            raise ClusterLost(_lost_vi(address, "mất kết nối tới bộ lập lịch", exc)) from exc
        idle = 0.0 if workers else idle + DASK_POLL_SECONDS
        if idle >= worker_wait:
            raise ClusterLost(_lost_vi(address, f"cụm không còn worker nào trong {worker_wait:.0f} giây", None))
    try:
        return future.result()
    except Exception as exc:
        reason = ("mất kết nối tới bộ lập lịch" if "connection" in str(exc).lower() or "closed" in str(exc).lower()
                  else "một lô tệp không đọc xong trên worker")
        raise ClusterLost(_lost_vi(address, reason, exc)) from exc


def _lost_vi(address: str, reason: str, exc: BaseException | None) -> str:
    cause = f" ({type(exc).__name__})" if exc is not None else ""
    return (f"Thu nhận dừng giữa chừng: cụm Dask ở {address} {reason}{cause}. Không mất tệp nào: các tệp đã nhận "
            "vẫn ở trong kho lưu trữ, lô nào đã nạp thì không nạp lại. Hãy kiểm tra bộ lập lịch và các worker "
            "rồi thu nhận lại.")


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
    client_log = logging.getLogger("distributed.client")
    level = client_log.level
    if os.environ.get("DASK_LOGGING__DISTRIBUTED", "").lower() == "warning":
        # A lost scheduler is logged with two tracebacks while the client tries to reconnect; the
        # run's own message says what happened, and `--verbose` keeps them.
        client_log.setLevel(logging.CRITICAL)
    # Read when the local cluster starts its workers (at the first task): non-daemonic workers.
    with (dask.config.set({"distributed.worker.daemon": False}), warnings.catch_warnings(),
          _level(client_log, level), _reported_to_this_server(dask_address), runner):
        # Its scheduler's HTTP endpoint takes another port when 8787 is in use: nothing to tell.
        warnings.filterwarnings("ignore", message=r"Port \d+ is already in use", category=UserWarning)
        if dask_address:
            forget_earlier_servers(runner)
        yield runner
