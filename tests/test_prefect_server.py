"""The ops team's set-up on a real Prefect server: `prefect deploy --all` from the repository's
prefect.yaml, a process worker, a collect of the demo quarter, a run that fails on purpose, and
a publish that pauses for approval and is resumed with input through the API.

The server, the worker and every flow run are real processes on loopback; the test owns their
Prefect home and data directory in a tmp dir and stops them (process groups) whatever happens.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from reporting.periods import Period
from reporting.programme import programme_for_year
from reporting.units import load_registry
from tasks.demo_data import DEMO_SEED, write_demo_submissions

ROOT = Path(__file__).resolve().parent.parent
PREFECT = Path(sys.executable).parent / "prefect"
DEPLOYMENTS = ("collect-quarterly", "remind-missing", "publish-yearly", "hand-out-templates", "demo-year")
# Generous: this machine has two shared cores; a flow run process alone imports for ~10 s.
RUN_TIMEOUT = 600


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """Long-running processes started by the test, each in its own session, stopped at the end."""

    def __init__(self):
        self.started: list[subprocess.Popen] = []

    def start(self, args, log: Path, **kwargs) -> subprocess.Popen:
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                                   start_new_session=True, **kwargs)
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(self.started):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def _env(base: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "P135_"))}
    env.update(DO_NOT_TRACK="1", HOME=str(base / "home"), PREFECT_SERVER_ANALYTICS_ENABLED="false", **extra)
    return env


def _wait(what: str, check, timeout: float, log: Path | None = None, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(interval)
    shown = log.read_text(errors="replace")[-4000:] if log and log.exists() else ""
    pytest.fail(f"{what}: not within {timeout:.0f} s\n{shown}")


def _input_or_none(client, flow_run_id, key: str) -> str | None:
    from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError

    try:
        return client.read_flow_run_input(flow_run_id, key)
    except (ObjectNotFound, PrefectHTTPStatusError):
        return None


@pytest.fixture
def processes():
    found = Processes()
    yield found
    found.stop_all()


def test_deploy_collect_and_approve_on_a_real_server(tmp_path, processes):
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    server_log, worker_log = tmp_path / "server.log", tmp_path / "worker.log"
    data = tmp_path / "data"
    (tmp_path / "home").mkdir()
    server = processes.start(
        [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port)], server_log,
        env=_env(tmp_path, PREFECT_HOME=str(tmp_path / "server-home")), cwd=tmp_path,
    )
    period = Period(2023, 1)
    write_demo_submissions(programme_for_year(2023), load_registry(), period, {}, data / "inbox" / period.key, DEMO_SEED)
    client_env = _env(tmp_path, PREFECT_API_URL=api)
    with SyncPrefectClient(api) as client:
        _wait("the server answers", lambda: server.poll() is None and _healthy(client), 240, server_log)

        for args in (["work-pool", "create", "p135", "--type", "process"], ["deploy", "--all"]):
            done = subprocess.run([str(PREFECT), *args], cwd=ROOT, env=client_env, stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stdout + done.stderr
        deployments = {d.name: d for d in client.read_deployments()}
        assert set(deployments) == set(DEPLOYMENTS)
        for deployment in deployments.values():
            assert deployment.work_pool_name == "p135"
            assert all(s.schedule.timezone == "Asia/Ho_Chi_Minh" for s in deployment.schedules)
        assert deployments["collect-quarterly"].global_concurrency_limit is None, "two quarters may run at once"
        assert deployments["publish-yearly"].global_concurrency_limit.limit == 1

        # The worker gets no PREFECT_HOME: it must find its home without the relative data/prefect.
        processes.start(
            [str(PREFECT), "worker", "start", "--pool", "p135", "--name", "p135-test"], worker_log, cwd=ROOT,
            env=_env(tmp_path, PREFECT_API_URL=api, P135_ROOT=str(ROOT), P135_DATA_DIR=str(data),
                     PREFECT_WORKER_QUERY_SECONDS="2"),
        )

        collect = _run(client, deployments["collect-quarterly"], {"year": 2023, "quarter": 1})
        assert _final(client, collect, worker_log).type.value == "COMPLETED"
        engine = create_engine(f"sqlite:///{data / 'warehouse.db'}")
        with engine.connect() as conn:
            accepted = conn.execute(text("SELECT COUNT(*) FROM v_current_submission WHERE year = 2023 AND quarter = 1")).scalar_one()
        assert accepted == len(list((data / "inbox" / period.key).iterdir()))
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["collect-2023-q1", "collect-2023-q1-tong-hop"])))
        assert {a.key for a in artifacts} == {"collect-2023-q1", "collect-2023-q1-tong-hop"}
        assert all(a.flow_run_id == collect.id for a in artifacts)

        failing = _run(client, deployments["collect-quarterly"], {"year": 2031, "quarter": 1})
        failed = _final(client, failing, worker_log)
        assert failed.type.value == "FAILED" and "năm 2031" in failed.message

        publish = _run(client, deployments["publish-yearly"], {"year": 2023})
        paused = _wait("the publish run pauses for approval",
                       lambda: (s := client.read_flow_run(publish.id).state).is_paused() and s, RUN_TIMEOUT, worker_log)
        keys = paused.state_details.run_input_keyset
        # Prefect proposes the Paused state first, then writes the form and its description.
        shown = _wait("the pause's description is written",
                      lambda: _input_or_none(client, publish.id, keys["description"]), RUN_TIMEOUT, worker_log)
        assert "Tình hình nộp báo cáo năm 2023" in shown and "Chưa phê duyệt: **Quý I/2023**." in shown
        # Only Q1 was collected: one tick must not lock three empty quarters (and stop their reminders).
        assert "Quý II/2023, Quý III/2023, Quý IV/2023 chưa có lần thu nhận nào chạy xong nên không phê duyệt ở đây" in shown
        # Resumed without a name: the server refuses the answer and the run stays paused.
        for blank in (" ", "\u200b"):  # a space, a zero-width space: no name
            nameless = client.resume_flow_run(publish.id, run_input={"approve": True, "approved_by": blank, "note": ""})
            assert nameless.status.value == "REJECT" and client.read_flow_run(publish.id).state.is_paused(), blank
        client.resume_flow_run(publish.id, run_input={"approve": True, "approved_by": "Lê Thị Duyệt", "note": "Đủ số liệu"})
        assert _final(client, publish, worker_log).type.value == "COMPLETED"
        with engine.connect() as conn:
            approvals = conn.execute(text(
                "SELECT quarter, state, approved_by FROM v_period_approval WHERE year = 2023 ORDER BY quarter"
            )).all()
        assert [tuple(a) for a in approvals] == [(1, "approved", "Lê Thị Duyệt"), (2, "open", None), (3, "open", None),
                                                  (4, "open", None)]
        headline = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["ctr135-2023-headline"])))
        assert headline and "DỰ THẢO" in headline[0].description, "three quarters not approved: a draft"
        assert (data / "reports" / "bao-cao-ctr135-2023.xlsx").is_file()
        engine.dispose()

    log = worker_log.read_text(errors="replace")
    assert "Failed to create the Prefect home" not in log
    assert "Traceback" not in log, log[-4000:]
    assert log.count("Finished in state Failed(") == 1


def _healthy(client) -> bool:
    try:
        return client.api_healthcheck() is None
    except Exception:
        return False


def _run(client, deployment, parameters):
    return client.create_flow_run_from_deployment(deployment.id, parameters=parameters)


def _final(client, flow_run, log: Path):
    return _wait(f"flow run {flow_run.name} finishes",
                 lambda: (s := client.read_flow_run(flow_run.id).state).is_final() and s, RUN_TIMEOUT, log)
