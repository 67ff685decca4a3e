"""Worker processes (parsing, feedback writing) that end with the command that started them.

A command killed outright (SIGKILL, the out-of-memory killer) cannot stop its pools, and their
processes, waiting for work that never comes, would run on with no parent. Each worker watches
the command's process instead and exits once it is gone. The command's process id is handed to
the worker, not read in it: a worker still starting when the command dies already has another
parent, and a feedback writer's parent is multiprocessing's fork server.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

POLL_SECONDS = 1.0
PROC = Path("/proc")


def exit_with_owner(owner: int, poll_seconds: float = POLL_SECONDS) -> None:
    """In a worker process: exit as soon as process `owner` (the command) has ended."""
    def watch() -> None:
        while not _ended(owner):
            time.sleep(poll_seconds)
        os._exit(1)

    threading.Thread(target=watch, name="p135-exit-with-owner", daemon=True).start()


def _ended(pid: int) -> bool:
    """Gone, or a zombie its own parent has not reaped yet."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or the id is another user's process now
        return True
    return (PROC / str(pid)).is_dir() and started_at(pid) is None


def started_at(pid: int) -> int | None:
    """When a running (not zombie) process started, in clock ticks since boot; None if it is gone
    (or /proc cannot tell)."""
    try:
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else int(fields[19])
