"""Fewer points for charts without lying about the data.

Candles are aggregated, never thinned: minute bars go into equal-width buckets of whole minutes aligned to
multiples of the width since the epoch, each with open first, high max, low min, close last and volume
summed. The api chooses the width here so that at most ``target_points`` buckets come back; the backend does
the aggregation next to the data (``GET /bars/minute?bucket_minutes=``), so a year of minutes never crosses
the wire. Buckets without bars stay gaps.

Line series (a run's equity) are decimated by the backend next to the data (MinMaxLTTB from tsdownsample),
so the api asks for at most ``target_points`` of them instead of moving every point over the wire.
"""

from __future__ import annotations

import math

MINUTE_S = 60


def _buckets_spanned(first_min: int, last_min: int, width_min: int) -> int:
    return last_min // width_min - first_min // width_min + 1


def bucket_width_minutes(first_s: int, last_s: int, target_points: int) -> int:
    """Whole minutes per bucket so that the aligned buckets covering [first_s, last_s] are <= target_points.

    Starts from ``ceil(span_minutes / target_points)``; alignment can add one bucket at the edges, in which
    case the width grows a little (a few steps, then the width that is guaranteed to fit).
    """
    if target_points < 2:
        raise ValueError("target_points must be at least 2")
    first_min, last_min = first_s // MINUTE_S, last_s // MINUTE_S
    span = last_min - first_min + 1
    width = max(1, math.ceil(span / target_points))
    for _ in range(8):
        if _buckets_spanned(first_min, last_min, width) <= target_points:
            return width
        width += 1
    # With this width (span - 1) / width < target_points - 1, so at most target_points buckets are spanned.
    return max(width, math.ceil(span / (target_points - 1)))
