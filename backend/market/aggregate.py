"""Aggregate bars into wider UTC buckets: open first, high max, low min, close last, volume sum.

Buckets are aligned to multiples of ``width_s`` since the epoch (so daily buckets are UTC days). Only buckets
that contain at least one source bar are produced: gaps stay gaps.
"""

from __future__ import annotations

import numpy as np

from backend.market.bars import BarArrays


def aggregate(bars: BarArrays, width_s: int) -> BarArrays:
    if len(bars) == 0:
        return BarArrays.empty()
    bucket = bars.time - np.mod(bars.time, width_s)
    # Index of the first bar of each bucket; times are sorted, so buckets are contiguous runs.
    starts = np.concatenate(([0], np.flatnonzero(np.diff(bucket)) + 1))
    ends = np.concatenate((starts[1:], [len(bars)])) - 1
    return BarArrays(
        time=bucket[starts],
        open=bars.open[starts],
        high=np.maximum.reduceat(bars.high, starts),
        low=np.minimum.reduceat(bars.low, starts),
        close=bars.close[ends],
        volume=np.add.reduceat(bars.volume, starts),
    )
