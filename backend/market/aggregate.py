"""Aggregate bars into wider UTC buckets: open first, high max, low min, close last, volume sum.

Buckets are aligned to multiples of ``width_s`` since the epoch (so daily buckets are UTC days). Only buckets
that contain at least one source bar are produced: gaps stay gaps.
"""

from __future__ import annotations

import numpy as np

from backend.market.bars import BarArrays


def _bucket_starts(time: np.ndarray, width_s: int) -> tuple[np.ndarray, np.ndarray]:
    """(index of the first bar of each non-empty bucket, that bucket's start time); ``time`` is sorted."""
    first = int(time[0]) - int(time[0]) % width_s
    edges_count = (int(time[-1]) - first) // width_s + 1
    if edges_count <= time.shape[0]:
        # Usual case for charts: far fewer buckets than bars, so binary-search each bucket's edge instead of
        # computing a bucket number for every bar.
        edges = first + width_s * np.arange(edges_count, dtype=np.int64)
        starts = np.searchsorted(time, edges, side="left")
        nonempty = starts < np.append(starts[1:], time.shape[0])
        return starts[nonempty], edges[nonempty]
    bucket = time - np.mod(time, width_s)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(bucket)) + 1))
    return starts, bucket[starts]


def aggregate(bars: BarArrays, width_s: int) -> BarArrays:
    if len(bars) == 0:
        return BarArrays.empty()
    starts, bucket_time = _bucket_starts(bars.time, width_s)
    ends = np.append(starts[1:], len(bars)) - 1
    return BarArrays(
        time=bucket_time,
        open=bars.open[starts],
        high=np.maximum.reduceat(bars.high, starts),
        low=np.minimum.reduceat(bars.low, starts),
        close=bars.close[ends],
        volume=np.add.reduceat(bars.volume, starts),
    )
