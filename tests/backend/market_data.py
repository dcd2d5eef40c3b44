"""Small, valid minute bars for the market-data tests."""

from __future__ import annotations

import numpy as np

from backend.market.bars import BarArrays

T0 = 1_735_689_600  # 2025-01-01T00:00:00Z


def make_minutes(n: int, *, start: int = T0, seed: int = 1, gap_every: int = 0) -> BarArrays:
    """``n`` consistent minute bars; with ``gap_every`` a 2-hour gap follows every that many bars."""
    rng = np.random.default_rng(seed)
    steps = np.full(n, 60, np.int64)
    if gap_every:
        steps[gap_every::gap_every] = 7200
    steps[0] = 0
    time = start + np.cumsum(steps)
    close = 100.0 + np.cumsum(rng.normal(0.0, 0.2, n))
    open_ = np.concatenate(([100.0], close[:-1]))
    high = np.maximum(open_, close) + rng.uniform(0.0, 0.3, n)
    low = np.minimum(open_, close) - rng.uniform(0.0, 0.3, n)
    volume = rng.integers(0, 1_000, n).astype(np.float64)
    return BarArrays(time, open_, high, low, close, volume)


def assert_bars_equal(actual: BarArrays, expected: BarArrays) -> None:
    for name in ("time", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(actual, name), getattr(expected, name), err_msg=name)
