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
    except ProcessLookupError:
        return True
    except PermissionError:
        return True  # the id now belongs to another user's process
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False
