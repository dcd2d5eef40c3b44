"""Chart decimation: the api picks the bucket width, the backend aggregates minute bars into those buckets.

Both halves are checked together against an independent per-bucket computation.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.views.decimation import bucket_width_minutes
from backend.market.aggregate import aggregate
from backend.market.bars import BarArrays as Candles


def decimate_candles(candles: Candles, target: int) -> tuple[Candles, int]:
    """What a ``1M_DECIMATED`` request does end to end: the api's width, then the backend's aggregation."""
    if len(candles) == 0:
        return candles, 60
    width_s = bucket_width_minutes(int(candles.time[0]), int(candles.time[-1]), target) * 60
    return (candles, width_s) if width_s == 60 else (aggregate(candles, width_s), width_s)


def candles_at(times: list[int] | np.ndarray, seed: int = 1) -> Candles:
    rng = np.random.default_rng(seed)
    t = np.asarray(times, dtype=np.int64)
    n = len(t)
    close = 50 + rng.normal(0, 1, n).cumsum()
    open_ = close + rng.normal(0, 0.2, n)
    high = np.maximum(open_, close) + rng.uniform(0, 1, n)
    low = np.minimum(open_, close) - rng.uniform(0, 1, n)
    return Candles(t, open_, high, low, close, rng.uniform(0, 10, n))


def reference(candles: Candles, width_s: int) -> dict[int, tuple[float, float, float, float, float]]:
    """Bucket by bucket with plain Python: the definition the vectorised code must match."""
    out: dict[int, list] = {}
    for i, t in enumerate(candles.time.tolist()):
        b = t - t % width_s
        row = (candles.open[i], candles.high[i], candles.low[i], candles.close[i], candles.volume[i])
        if b not in out:
            out[b] = list(row)
        else:
            o, h, lo, _c, v = out[b]
            out[b] = [o, max(h, row[1]), min(lo, row[2]), row[3], v + row[4]]
    return {k: tuple(v) for k, v in out.items()}


def test_aggregate_matches_reference_with_gaps():
    times = np.concatenate([np.arange(0, 600, 60), np.arange(3600, 4200, 60), [7260]]) + 1_700_000_040
    candles = candles_at(times)
    got = aggregate(candles, 300)
    want = reference(candles, 300)
    assert got.time.tolist() == sorted(want)
    for i, t in enumerate(got.time.tolist()):
        np.testing.assert_allclose((got.open[i], got.high[i], got.low[i], got.close[i], got.volume[i]), want[t])


def test_buckets_are_aligned_to_the_width():
    candles = candles_at(1_700_000_000 + 60 * np.arange(1000))
    got, width_s = decimate_candles(candles, 37)
    assert len(got) <= 37
    assert width_s % 60 == 0
    assert np.all(got.time % width_s == 0)


def test_bucket_edges_a_bar_on_the_boundary_starts_a_new_bucket():
    candles = candles_at([0, 60, 120, 180, 240])
    got = aggregate(candles, 120)
    assert got.time.tolist() == [0, 120, 240]
    assert got.open.tolist() == [candles.open[0], candles.open[2], candles.open[4]]
    assert got.close.tolist() == [candles.close[1], candles.close[3], candles.close[4]]


def test_empty_and_single_bar():
    empty, width = decimate_candles(Candles.empty(), 10)
    assert len(empty) == 0 and width == 60
    assert len(aggregate(Candles.empty(), 300)) == 0
    one = candles_at([1_700_000_040])
    got, width = decimate_candles(one, 10)
    assert len(got) == 1 and got.close[0] == one.close[0] and width == 60


def test_target_larger_than_source_returns_the_bars_unchanged():
    candles = candles_at(60 * np.arange(1, 51))
    got, width = decimate_candles(candles, 10_000)
    assert got is candles and width == 60


def test_width_formula_and_alignment_correction():
    assert bucket_width_minutes(0, 60 * 999, 100) == 10
    # Misaligned start: ceil(10/5)=2 would span 6 aligned buckets, so the width grows.
    first, last = 60 * 1, 60 * 10
    width = bucket_width_minutes(first, last, 5)
    assert (last // 60) // width - (first // 60) // width + 1 <= 5
    with pytest.raises(ValueError):
        bucket_width_minutes(0, 600, 1)


def test_width_falls_back_to_a_guaranteed_fit_for_two_points():
    first, last = 60 * 7, 60 * 525_600
    width = bucket_width_minutes(first, last, 2)
    assert (last // 60) // width - (first // 60) // width + 1 <= 2


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 20_000), min_size=1, max_size=400, unique=True), st.integers(2, 500))
def test_decimation_properties(minutes, target):
    times = np.sort(np.asarray(minutes, dtype=np.int64)) * 60 + 1_600_000_020
    candles = candles_at(times)
    got, width_s = decimate_candles(candles, target)
    assert len(got) <= target
    assert np.isclose(got.volume.sum(), candles.volume.sum())
    assert got.high.max() == candles.high.max() and got.low.min() == candles.low.min()
    assert got.open[0] == candles.open[0] and got.close[-1] == candles.close[-1]
    assert np.all(np.diff(got.time) > 0)
    if len(candles) > target:
        want = reference(candles, width_s)
        assert got.time.tolist() == sorted(want)
