"""Keeping a long collect's resident memory bounded by its batch size, not by the quarter's size.

Each batch's frames are built on a read thread and freed on the run's thread after checking,
loading and feedback. glibc keeps what is freed for reuse: large arrays land on its heaps once its
adaptive mmap threshold has risen past them, and a heap holding one small live object at its top
cannot shrink. Over dozens of batches the run's resident memory kept the high-water mark of every
batch (measured: 0.38 GB to 0.99 GB over 10,000 files, with no live objects retained).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
from contextlib import contextmanager
from typing import Iterator

# mallopt parameters (malloc.h): a fixed threshold stops glibc raising it after each large free.
M_MMAP_THRESHOLD = -3
# Arrays of frame columns are far larger: always their own mapping, returned to the system when freed.
MMAP_THRESHOLD_BYTES = 256 * 1024


@functools.cache
def _glibc():
    """The C library when it is glibc (it has mallopt and malloc_trim); None elsewhere (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt, libc.malloc_trim  # noqa: B018 - both must exist
    except (OSError, AttributeError):
        return None
    return libc


def fix_mmap_threshold() -> bool:
    """Give every large allocation of this process its own mapping from now on; False where not glibc."""
    libc = _glibc()
    return bool(libc and libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


def release_freed_memory() -> None:
    """Collect garbage cycles, then hand the free pages of every heap back to the system."""
    gc.collect()
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


@contextmanager
def long_lived_kept_still() -> Iterator[None]:
    """Leave what is alive as a long run starts (its registry, programme, history: some 60,000 units'
    objects at national scale) out of the garbage collector's full collections until it ends.

    Each batch ends with a full collection; walking those objects again every batch cost more
    than the rest of that collection (0.35 s a batch). Collected once before, so no garbage is
    held; let go at the end, so a process that runs many flows keeps nothing for good.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
