"""How far a run has got: each stage's count and time, and whoever watches (the CLI's bars).

Flows report stages here; nothing listens in a deployment run, where the counts and durations
go to the run's log instead.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, Protocol

# The collect flow's stages, in order, and how the CLI names them.
COLLECT_STAGES = {
    "archive": "Lưu trữ tệp gốc",
    "read": "Đọc tệp",
    "check": "Kiểm tra",
    "load": "Nạp vào kho",
    "feedback": "Viết phản hồi",
}


class Listener(Protocol):
    def stage_expected(self, stage: str, total: int) -> None: ...

    def stage_advanced(self, stage: str, done: int) -> None: ...


_listeners: list[Listener] = []


@contextmanager
def listening(listener: Listener) -> Iterator[Listener]:
    """Let `listener` follow the stages of the runs started in this process while the block runs."""
    _listeners.append(listener)
    try:
        yield listener
    finally:
        _listeners.remove(listener)


@dataclass
class StageClock:
    """Counts and seconds spent per stage, reported to the listeners as they move."""

    stages: tuple[str, ...]
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for stage in self.stages:
            self.counts.setdefault(stage, 0)
            self.seconds.setdefault(stage, 0.0)

    def expect(self, stage: str, total: int) -> None:
        for listener in list(_listeners):
            listener.stage_expected(stage, total)

    @contextmanager
    def stage(self, stage: str, items: int) -> Iterator[None]:
        """Time one step of `stage` covering `items` files."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - started
        self.counts[stage] += items
        for listener in list(_listeners):
            listener.stage_advanced(stage, items)

    def summary(self) -> str:
        """One line for the run log: `archive 4 files 0.12 s; read ...`."""
        return "; ".join(f"{s} {self.counts[s]} files {self.seconds[s]:.2f} s" for s in self.stages)
