"""A real `p135 collect` told to stop with SIGTERM (`kill`, systemd, a scheduler's timeout) exits
with one Vietnamese line and leaves no Prefect server running behind it."""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from reporting.periods import Period
from tests.workbooks import REGISTRY, save, submission

Q1 = Period(2023, 1)
P135 = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "p135"
STOPPED_VI = ("Lỗi: lệnh đã bị dừng giữa chừng (nhận tín hiệu dừng SIGTERM). Không mất tệp nào đã nhận; "
              "phần chưa xong được làm khi chạy lại lệnh.")
CTRL_C_VI = ("Lỗi: lệnh đã bị dừng giữa chừng (nhận Ctrl-C, tín hiệu SIGINT). Không mất tệp nào đã nhận; "
             "phần chưa xong được làm khi chạy lại lệnh.")


def _children(pid: int) -> dict[int, str]:
    """The processes whose parent is `pid`, with their command lines."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found[int(stat.parent.name)] = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
    return found


def _server_of(pid: int) -> int | None:
    return next((child for child, command in _children(pid).items() if "uvicorn" in command), None)


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _holds_the_quarter(data: Path) -> bool:
    try:
        with sqlite3.connect(f"file:{data / 'warehouse.db'}?mode=ro", uri=True, timeout=0.1) as conn:
            return conn.execute("SELECT COUNT(*) FROM collect_run").fetchone()[0] > 0
    except sqlite3.Error:
        return False  # not set up yet


@pytest.mark.parametrize(("when", "how"), [
    ("while_the_server_starts", "sigterm"), ("while_the_run_holds_the_quarter", "sigterm"),
    # Ctrl-C signals the terminal's process group: the server stopped under the run, which went on
    # in tracebacks of its lost API and exited 1, without a word in Vietnamese.
    ("while_the_run_holds_the_quarter", "ctrl-c"),
], ids=["while_the_server_starts", "while_the_run_holds_the_quarter", "ctrl-c_while_the_run_holds_the_quarter"])
def test_a_collect_told_to_stop_exits_in_one_line_and_stops_its_prefect_server(when, how, tmp_path):
    codes = sorted({v.unit_code for v in REGISTRY.versions if v.valid_from <= Q1.ends_on
                    and (v.valid_to is None or v.valid_to >= Q1.ends_on)})[:30]
    inbox = tmp_path / "inbox"
    for code in codes:
        save(submission(code, Q1), inbox / f"{code}.xlsx")
    sent = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in inbox.iterdir()}
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "P135_", "DO_NOT_TRACK"))}
    env["HOME"] = str(tmp_path / "home")
    # Files, not pipes: a server left behind would hold a pipe open and the test would wait on it.
    out_file, err_file = tmp_path / "out.txt", tmp_path / "err.txt"
    with out_file.open("w") as out, err_file.open("w") as err:
        process = subprocess.Popen(
            [str(P135), "collect", "--year", "2023", "--quarter", "1", "--inbox", str(inbox), "--data-dir", str(data)],
            env=env, cwd=tmp_path, stdout=out, stderr=err, start_new_session=True,
            # As from a terminal: a test worker may run with SIGINT ignored, which the command keeps.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    server = None
    try:
        deadline = time.monotonic() + 240
        while True:
            server = server or _server_of(process.pid)
            if server and (when == "while_the_server_starts" or _holds_the_quarter(data)):
                break
            assert process.poll() is None, f"p135 collect ended before it was stopped: {out_file.read_text()}"
            assert time.monotonic() < deadline, "p135 collect never got that far"
            time.sleep(0.01)
        if how == "ctrl-c":
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)
        gone = time.monotonic() + 10
        while _alive(server) and time.monotonic() < gone:
            time.sleep(0.1)
        left = _alive(server)
    finally:
        if server and _alive(server):
            os.kill(server, signal.SIGKILL)  # this test's to end, whatever the command left
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    out, err = out_file.read_text(), err_file.read_text()
    shown = out + err
    told = signal.SIGINT if how == "ctrl-c" else signal.SIGTERM
    assert process.returncode == 128 + told, shown
    assert (CTRL_C_VI if how == "ctrl-c" else STOPPED_VI) in err
    assert "Traceback" not in shown
    assert "Crash detected" not in shown and "| ERROR |" not in shown, "said once, in Vietnamese"
    assert not left, "Prefect's temporary server outlived the command"
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in inbox.iterdir()} == sent


def test_a_server_left_by_a_killed_collect_is_stopped_by_the_next_command(tmp_path):
    """SIGKILL runs nothing in the command: the next command for the same data folder stops the
    server it left behind, says so, and leaves none of its own."""
    codes = sorted({v.unit_code for v in REGISTRY.versions if v.valid_from <= Q1.ends_on
                    and (v.valid_to is None or v.valid_to >= Q1.ends_on)})[:3]
    inbox = tmp_path / "inbox"
    for code in codes:
        save(submission(code, Q1), inbox / f"{code}.xlsx")
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "P135_", "DO_NOT_TRACK"))}
    env["HOME"] = str(tmp_path / "home")
    command = [str(P135), "collect", "--year", "2023", "--quarter", "1", "--inbox", str(inbox), "--data-dir", str(data)]
    notes = data / "prefect" / "p135-servers"
    out_file, err_file = tmp_path / "out.txt", tmp_path / "err.txt"
    server = None
    try:
        with out_file.open("w") as out, err_file.open("w") as err:
            killed = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=out, stderr=err, start_new_session=True)
        deadline = time.monotonic() + 240
        while not (server := _server_of(killed.pid)) or not (notes / str(server)).exists():
            assert killed.poll() is None, f"p135 collect ended before it was killed: {out_file.read_text()}"
            assert time.monotonic() < deadline, "p135 collect never started its server"
            time.sleep(0.05)
        killed.kill()
        killed.wait(timeout=30)
        assert _alive(server), "a killed command's server outlives it (else nothing to test)"
        # Not the command's output: `$(p135 collect)` waited on a pipe the leftover server held open.
        assert os.readlink(f"/proc/{server}/fd/1").endswith("p135-temporary-server.log")
        again = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        left = _alive(server)
    finally:
        if server and _alive(server):
            os.kill(server, signal.SIGKILL)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Lưu ý: đã dừng 1 máy chủ Prefect tạm còn chạy từ lệnh trước bị dừng đột ngột" in again.stderr
    assert "Traceback" not in again.stdout + again.stderr
    assert not left, "the killed command's server still runs after the next command"
    assert not list(notes.iterdir()), "the second command's server is noted as still to stop"


def test_a_killed_collects_parsing_processes_end_with_it(tmp_path):
    """Nothing runs in a command killed with SIGKILL: its parsing processes notice their parent is
    gone and exit, instead of waiting for work for ever."""
    codes = sorted({v.unit_code for v in REGISTRY.versions if v.valid_from <= Q1.ends_on
                    and (v.valid_to is None or v.valid_to >= Q1.ends_on)})[:40]
    inbox = tmp_path / "inbox"
    for code in codes:
        save(submission(code, Q1), inbox / f"{code}.xlsx")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "P135_", "DO_NOT_TRACK"))}
    env["HOME"] = str(tmp_path / "home")
    command = [str(P135), "collect", "--year", "2023", "--quarter", "1", "--inbox", str(inbox),
               "--data-dir", str(tmp_path / "data")]
    out_file = tmp_path / "out.txt"
    with out_file.open("w") as out:
        killed = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=out, stderr=out, start_new_session=True)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 240
        while not workers:
            seen = {pid: line for pid, line in _children(killed.pid).items() if "multiprocessing" in line}
            workers = list(seen)
            assert killed.poll() is None, f"p135 collect ended before its parsing processes started: {out_file.read_text()}"
            assert time.monotonic() < deadline, "p135 collect never started its parsing processes"
            time.sleep(0.01)
        killed.kill()
        killed.wait(timeout=30)
        gone = time.monotonic() + 20
        while any(_alive(pid) for pid in workers) and time.monotonic() < gone:
            time.sleep(0.1)
        left = [pid for pid in workers if _alive(pid)]
    finally:
        try:
            os.killpg(killed.pid, signal.SIGKILL)  # the server and anything else this test started
        except ProcessLookupError:
            pass
    assert not left, f"parsing processes outlived the command killed with SIGKILL: {left} of {workers} {seen}"


def _prefect_servers_of(data: Path) -> list[int]:
    """Running Prefect servers started for data folder `data` (their PREFECT_HOME lies in it)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            command = (environ.parent / "cmdline").read_bytes()
            if b"prefect.server.api.server:create_app" in command and str(data).encode() in environ.read_bytes() \
                    and _alive(int(environ.parent.name)):
                found.append(int(environ.parent.name))
        except OSError:
            continue
    return found


def test_a_server_that_does_not_start_in_time_is_one_line_and_is_stopped(tmp_path):
    """Prefect leaves a server that did not answer in time running, held by nobody."""
    data = tmp_path / "data"
    (tmp_path / "inbox").mkdir()
    env = {**os.environ, "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "1"}
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run([str(P135), "collect", "--year", "2023", "--quarter", "1", "--inbox", str(tmp_path / "inbox"),
                           "--data-dir", str(data)], capture_output=True, text=True, timeout=300, env=env)

    assert done.returncode == 1, done.stdout + done.stderr
    assert "Lỗi: máy chủ Prefect tạm không khởi động xong trong 1 giây" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    deadline = time.monotonic() + 10
    while _prefect_servers_of(data) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _prefect_servers_of(data) == [], "no server left running"


@pytest.fixture
def handlers():
    """The process's SIGTERM, SIGINT and SIGALRM handlers and wakeup fd as they were, and p135 not
    yet stopping."""
    from flows import cli

    cli._STOPPING.clear()
    cli._STOPPED_BY.clear()
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGALRM), signal.getsignal(signal.SIGINT)
    try:
        yield cli
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGTERM, before[0])
        signal.signal(signal.SIGALRM, before[1])
        signal.signal(signal.SIGINT, before[2])
        signal.set_wakeup_fd(-1)
        cli._STOPPING.clear()
        cli._STOPPED_BY.clear()


def test_a_stop_a_handler_lost_is_delivered_again(handlers, monkeypatch):
    """Prefect's handler once raised its TerminationSignal inside a weakref callback, where Python
    drops it, and the collect ran to the end: the SIGTERM is run again in the main thread."""
    cli = handlers
    monkeypatch.setattr(cli, "LOST_STOP_SECONDS", 0.2)
    cli._stop_cleanly_on_sigterm()
    ours, calls = signal.getsignal(signal.SIGTERM), []

    def loses_the_first(signum, frame) -> None:
        calls.append(signum)
        if len(calls) > 1:
            ours(signum, frame)

    signal.signal(signal.SIGTERM, loses_the_first)
    os.kill(os.getpid(), signal.SIGTERM)
    with pytest.raises(cli._Stopped) as stopped:
        time.sleep(5)
    assert stopped.value.code == 128 + signal.SIGTERM and calls == [signal.SIGTERM, signal.SIGTERM]


def test_a_stop_arriving_inside_the_import_systems_callback_is_raised_just_after(handlers):
    """Python ignores an exception raised in the import system's module-lock callback (it prints
    "Exception ignored"), so a SIGTERM landing there once let a collect run on to the end."""
    cli = handlers
    found: dict = {}
    exec(compile("import sys\ndef cb():\n    return sys._getframe()\n", "<frozen importlib._bootstrap>", "exec"), found)
    frame = found["cb"]()
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGALRM)
    try:
        cli._stop_cleanly_on_sigterm()
        handler = signal.getsignal(signal.SIGTERM)
        handler(signal.SIGTERM, frame)  # inside the callback: nothing raised there
        with pytest.raises(cli._Stopped) as stopped:
            time.sleep(5)
        assert stopped.value.code == 128 + signal.SIGTERM
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGTERM, before[0])
        signal.signal(signal.SIGALRM, before[1])


def test_a_run_failed_by_a_sigterm_prefect_caught_first_ends_as_stopped(handlers, capsys):
    """A SIGTERM landing while Prefect creates a task run is caught by Prefect's handler, which then
    fails the flow with "Task run is not set" and never passes the signal on: the command still
    says it was stopped, exits 143, and shows no engine traceback."""
    from prefect.exceptions import TerminationSignal
    from prefect.states import Failed

    cli = handlers
    try:
        try:
            raise TerminationSignal(signal=signal.SIGTERM)
        except TerminationSignal:
            raise ValueError("Task run is not set")
    except ValueError as exc:
        failed = Failed(data=exc, message="Flow run encountered an exception: ValueError: Task run is not set")

    with pytest.raises(cli._Stopped) as stopped:
        cli._run(lambda return_state: failed)
    assert stopped.value.code == 128 + signal.SIGTERM
    assert STOPPED_VI in " ".join(capsys.readouterr().err.split())
    record = logging.LogRecord("prefect.flow_runs", logging.ERROR, __file__, 1,
                               "Encountered exception during execution: %r", (failed.data,),
                               (ValueError, failed.data, failed.data.__traceback__))
    assert not cli._ToldInVietnamese().filter(record), "the engine's traceback stays off the terminal"
