"""The notes a command keeps of the Prefect server it started, read by the next command."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tasks.child_processes import started_at
from tasks.leftover_servers import FOLDER, PARTIAL, UNREADABLE_AFTER_SECONDS, note_server, stop_leftover_servers


def _lookalike_server() -> subprocess.Popen:
    """A process whose command line is a Prefect temporary server's."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "uvicorn",
                             "prefect.server.api.server:create_app"])


def _gone_owner() -> tuple[int, int]:
    """The pid and start time of a command that has ended."""
    owner = subprocess.Popen([sys.executable, "-c", "pass"])
    start = started_at(owner.pid)
    owner.wait()
    return owner.pid, start or 1


def test_a_note_is_whole_under_the_servers_name(tmp_path):
    server = _lookalike_server()
    try:
        note = note_server(tmp_path, server.pid)
        assert note == tmp_path / FOLDER / str(server.pid)
        assert [p.name for p in (tmp_path / FOLDER).iterdir()] == [str(server.pid)]
        assert note.read_text().split() == [str(started_at(server.pid)), str(os.getpid()), str(started_at(os.getpid()))]
        assert stop_leftover_servers(tmp_path) == [], "its command (this process) still runs"
        assert note.exists()
    finally:
        server.kill()
        server.wait()


@pytest.mark.parametrize("name", ["whole", "partial"])
def test_a_server_whose_command_was_killed_is_stopped(tmp_path, name):
    """Also a note its command was killed before renaming: the server is as much left behind."""
    server = _lookalike_server()
    try:
        owner_pid, owner_start = _gone_owner()
        folder = tmp_path / FOLDER
        folder.mkdir()
        note = folder / (str(server.pid) + ("" if name == "whole" else PARTIAL))
        note.write_text(f"{started_at(server.pid)} {owner_pid} {owner_start}\n")
        assert stop_leftover_servers(tmp_path, wait_seconds=10) == [server.pid]
        assert server.wait(timeout=10) is not None
        assert not note.exists()
    finally:
        server.kill()
        server.wait()


def test_a_note_cut_short_is_forgotten_once_old(tmp_path):
    folder = tmp_path / FOLDER
    folder.mkdir()
    fresh, old = folder / f"123{PARTIAL}", folder / "456"
    fresh.write_text("")
    old.write_text("17 ")
    past = time.time() - UNREADABLE_AFTER_SECONDS - 5
    os.utime(old, (past, past))
    assert stop_leftover_servers(tmp_path) == []
    assert [p.name for p in folder.iterdir()] == [fresh.name], "one being written now is left to its writer"
