"""Bursts against the api's rate limit, started where its window cannot turn over mid-burst.

The limiter estimates a sliding window from two fixed windows of ``window_s`` seconds aligned to the epoch: the
previous window's count weighs less the further the current one has run. The part of a burst that falls
before a boundary is therefore counted at a fraction, so a test that expects the limit to bite after exactly N
requests first waits for a window with enough time left in it.
"""

from __future__ import annotations

import time


def seconds_to_fresh_window(window_s: float, needed_s: float) -> float:
    """How long to wait so that at least ``needed_s`` seconds of the current window remain (0 if they do)."""
    left = window_s - time.time() % window_s
    return 0.0 if left >= needed_s else left + 0.05


def start_in_fresh_window(window_s: float, needed_s: float = 5.0) -> None:
    time.sleep(seconds_to_fresh_window(window_s, needed_s))
