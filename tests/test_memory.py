"""What a long collect does to stay within its memory: long-lived objects kept still, garbage never held."""

from __future__ import annotations

import gc
import weakref

from tasks.memory import long_lived_kept_still, release_freed_memory


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the garbage collector frees it


def test_what_lives_at_the_start_is_left_out_of_collections_until_the_run_ends():
    kept = _Node()
    dropped = _Node()
    gone = weakref.ref(dropped)
    del dropped
    with long_lived_kept_still():
        assert gone() is None, "garbage at the start is collected, not kept still"
        assert gc.get_freeze_count() > 0
        made = _Node()
        collected = weakref.ref(made)
        del made
        release_freed_memory()
        assert collected() is None, "a batch's garbage is still collected"
    assert gc.get_freeze_count() == 0
    kept_ref = weakref.ref(kept)
    del kept
    gc.collect()
    assert kept_ref() is None, "let go at the end: collected like any other object"
