"""The server's heap after start-up: frozen, young collections rarer, new cycles still collected, and large buffers
from the heap."""

from __future__ import annotations

import gc
import platform
import subprocess
import sys
import weakref

import pytest

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


# Run in a fresh interpreter, so that neither the setting nor this test process's allocation history leaks in:
# how many chunks glibc maps on their own (mallinfo2's hblks) while a new 600 KB buffer is alive.
_MAPPED_CHUNKS = """
import ctypes, ctypes.util, sys
from common.heap import steady_large_buffers
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = MallInfo2
applied = steady_large_buffers(int(sys.argv[1]))
before = libc.mallinfo2().hblks
body = bytearray(600_000)
print(applied, libc.mallinfo2().hblks - before)
"""


def _mapped_chunks_with_body(threshold_bytes: int) -> tuple[bool, int]:
    out = subprocess.run([sys.executable, "-c", _MAPPED_CHUNKS, str(threshold_bytes)], capture_output=True,
                         text=True, check=True).stdout.split()
    return out[0] == "True", int(out[1])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_a_large_body_comes_from_the_heap_once_the_threshold_is_set():
    # glibc's own start: a 600 KB buffer gets pages mapped for it alone (a page fault per 4 KB on first touch).
    assert _mapped_chunks_with_body(0) == (False, 1)
    assert _mapped_chunks_with_body(4 * 1024 * 1024) == (True, 0)
