"""The heap of a long-running server: what start-up built is frozen out of the garbage collector, young collections
are rarer, and large buffers come from the heap (:func:`steady_large_buffers`).

CPython's cyclic collector looks at every tracked object in a generation when it collects it. A server's start-up
(its imports, its app, its models and settings) leaves hundreds of thousands of objects that live as long as the
process, and every full collection walks them all again. When thousands of sockets open at once, each handshake
allocates enough objects to trigger a collection every few hundred handshakes; on the api node, full collections
took a third of the time 2,000 viewers needed to join. :func:`settle_heap` collects once, then moves everything that
survived into the permanent generation (``gc.freeze``, meant for exactly this), so later collections only look at
what was allocated since; and it raises the youngest generation's threshold, so collections come less often.
Nothing is leaked: cycles created after start-up are collected as before.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import platform


def settle_heap(young_threshold: int) -> None:
    """Freeze what start-up built; with ``young_threshold`` > 0, collect the youngest generation only after that
    many allocations (CPython's default is 700)."""
    gc.collect()
    gc.freeze()
    if young_threshold > 0:
        _young, middle, old = gc.get_threshold()
        gc.set_threshold(young_threshold, middle, old)


# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (mallopt is glibc's); None elsewhere (musl, macOS)."""
    if platform.libc_ver()[0] != "glibc":
        return None
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def steady_large_buffers(mmap_threshold_bytes: int) -> bool:
    """Serve buffers below ``mmap_threshold_bytes`` from the heap, not from fresh pages of their own; False where
    that cannot be set (0, or a C library other than glibc), leaving the allocator as it is.

    A cache hit with orders reads, joins and writes a body of about 600 KB: three fresh buffers of that size per
    request. glibc serves buffers above its mmap threshold (128 KiB at start) with pages mapped for them alone,
    unmapped when freed, so each such buffer costs page faults on first touch; it raises the threshold to the
    largest such buffer freed so far, so whether a node pays depends on the largest body it happened to handle.
    Measured side by side, that made the same hit 1.3-1.6x slower in some runs than in others. A fixed threshold
    makes every node behave the same: buffers up to the threshold are reused from the heap, which gives memory
    back to the system once more than twice the threshold is free at its top (glibc's own ratio).
    """
    if mmap_threshold_bytes <= 0:
        return False
    libc = _glibc()
    if libc is None:
        return False
    # The trim threshold at twice the mmap threshold, as glibc sets it when it raises the threshold itself.
    return bool(libc.mallopt(_M_TRIM_THRESHOLD, 2 * mmap_threshold_bytes)
                and libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold_bytes))
