"""The server's heap after start-up: frozen, young collections rarer, and new cycles still collected."""

from __future__ import annotations

import gc
import weakref

from common.heap import settle_heap


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_start_up_objects_are_frozen_and_later_cycles_are_still_collected():
    threshold = gc.get_threshold()
    try:
        built_at_start = _Node()
        settle_heap(10_000)
        assert gc.get_freeze_count() > 0 and gc.get_threshold()[0] == 10_000
        assert gc.get_threshold()[1:] == threshold[1:]
        # What start-up built is left out of collections (nothing scans it again) ...
        assert built_at_start not in gc.get_objects()
        # ... while a cycle made afterwards is found and freed.
        a, b = _Node(), _Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def test_zero_keeps_the_interpreters_threshold():
    threshold = gc.get_threshold()
    try:
        settle_heap(0)
        assert gc.get_threshold() == threshold
    finally:
        gc.unfreeze()
