"""Prefect temporary servers left running by a p135 command that was killed outright.

A command stops its temporary server when it ends, on Ctrl-C and SIGTERM too; a command killed
with SIGKILL (`kill -9`, the kernel's out-of-memory killer) runs nothing more, and its server
keeps running with no parent. Each command notes the server it started beside Prefect's state
(its process id and start time, and its own), and the next command for the same data folder
stops the servers whose command is gone.
"""

from __future__ import annotations

import os
import signal
import time
from contextlib import suppress
from pathlib import Path

from tasks.child_processes import PROC, started_at

FOLDER = "p135-servers"
PARTIAL = ".partial"
UNREADABLE_AFTER_SECONDS = 60


def note_server(prefect_home: Path, server_pid: int) -> Path | None:
    """Note that this process started the server `server_pid` (None where it cannot be noted)."""
    server_start, own_start = started_at(server_pid), started_at(os.getpid())
    if server_start is None or own_start is None:
        return None
    folder = prefect_home / FOLDER
    note, partial = folder / str(server_pid), folder / f"{server_pid}{PARTIAL}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: a command killed while writing leaves no empty note under
        # the server's name, which the next command could not read and so would not stop.
        partial.write_text(f"{server_start} {os.getpid()} {own_start}\n", encoding="ascii")
        os.replace(partial, note)
    except OSError:
        return None
    return note


def stop_leftover_servers(prefect_home: Path, wait_seconds: float = 5.0) -> list[int]:
    """Stop the noted servers whose command is no longer running; the process ids stopped."""
    folder = prefect_home / FOLDER
    try:
        notes = list(folder.iterdir())
    except OSError:
        return []
    stopped = []
    for note in notes:
        try:
            server_pid = int(note.name.removesuffix(PARTIAL))
            server_start, owner_pid, owner_start = (int(x) for x in note.read_text(encoding="ascii").split())
        except (OSError, ValueError):
            _forget_unreadable(note)
            continue
        if started_at(owner_pid) == owner_start:
            continue  # its command is still running
        if started_at(server_pid) == server_start and _is_prefect_server(server_pid):
            with suppress(ProcessLookupError, PermissionError):
                os.kill(server_pid, signal.SIGTERM)
                stopped.append(server_pid)
        note.unlink(missing_ok=True)
    _end(stopped, wait_seconds)
    return stopped


def stop_own_servers(wait_seconds: float = 5.0) -> list[int]:
    """Stop the Prefect servers this process started: one that did not answer in time is left
    running by Prefect, held by nobody, when the command gives up on it."""
    own = os.getpid()
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The parent's pid is the 4th field, after the command's name in parentheses.
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == own and _is_prefect_server(int(entry.name)):
            with suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry.name), signal.SIGTERM)
                found.append(int(entry.name))
    _end(found, wait_seconds)
    return found


def _end(terminated: list[int], wait_seconds: float) -> None:
    """Give the processes sent SIGTERM `wait_seconds` to exit, then kill those still running."""
    deadline = time.monotonic() + wait_seconds
    while any(started_at(pid) is not None for pid in terminated) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in terminated:
        if started_at(pid) is not None:
            with suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def _forget_unreadable(note: Path) -> None:
    """A note cut short by a kill mid-write names no command to check: forgotten once it is
    surely not one being written now."""
    with suppress(OSError):
        if time.time() - note.stat().st_mtime > UNREADABLE_AFTER_SECONDS:
            note.unlink()


def forget_server(note: Path | None) -> None:
    """The command stopped its server itself: nothing to stop next time."""
    if note is not None:
        note.unlink(missing_ok=True)


def _is_prefect_server(pid: int) -> bool:
    try:
        command = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"uvicorn" in command and b"prefect.server.api.server:create_app" in command

