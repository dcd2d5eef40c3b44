"""Equity curves for charts: MinMaxLTTB keeps the shape and the ends, drawdown follows the same points."""

import numpy as np
import pytest
from tsdownsample import MinMaxLTTBDownsampler

from backend.runs.equity_curve import decimation_x, equity_curve, line_indices


def test_line_indices_keep_ends_and_count():
    x = np.arange(10_000, dtype=np.int64)
    y = np.sin(x / 300.0)
    y[5000] = 10.0  # a spike LTTB must keep
    idx = line_indices(x, y, 500)
    assert len(idx) <= 500 and idx[0] == 0 and idx[-1] == 9_999 and 5000 in idx
    assert np.all(np.diff(idx) > 0)


def test_line_indices_short_series_and_bounds():
    x = np.arange(5, dtype=np.int64)
    assert line_indices(x, x.astype(float), 100).tolist() == [0, 1, 2, 3, 4]
    assert line_indices(x[:0], x[:0].astype(float), 10).tolist() == []
    with pytest.raises(ValueError):
        line_indices(np.arange(10), np.arange(10.0), 2)


def test_equity_curve_takes_drawdown_at_the_kept_points():
    time = np.arange(0, 6000, 60, dtype=np.int64)
    equity = 100.0 + np.cos(np.arange(100) / 7.0)
    drawdown = np.minimum(0.0, equity / np.maximum.accumulate(equity) - 1.0)
    doc = equity_curve({"time": time, "equity": equity, "drawdown": drawdown}, max_points=20)
    assert doc["source_points"] == 100 and doc["count"] == len(doc["time"]) <= 20
    by_time = dict(zip(time.tolist(), zip(equity.tolist(), drawdown.tolist(), strict=True), strict=True))
    for t, e, d in zip(doc["time"].tolist(), doc["equity"].tolist(), doc["drawdown"].tolist(), strict=True):
        assert by_time[t] == (e, d)
    whole = equity_curve({"time": time, "equity": equity, "drawdown": drawdown}, max_points=None)
    assert whole["count"] == whole["source_points"] == 100


@pytest.mark.parametrize("seed", range(6))
def test_epoch_seconds_decimate_as_floats_to_the_very_indices_they_had_as_integers(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50_000, 300_000))
    # Minutes around the clock, market hours with nights and weekends skipped, and irregular times.
    steps = [np.full(n, 60), rng.choice([60, 60, 60, 61_200, 234_000], n), rng.integers(1, 5_000, n)][seed % 3]
    time = 1_600_000_000 + np.cumsum(steps).astype(np.int64)
    value = 100 + np.cumsum(rng.normal(0, 1, n))
    if seed % 2:
        value = np.round(value, 2)  # prices to the cent: ties between equal areas
    assert decimation_x(time).dtype == np.float64
    for n_out in (3, 500, 2_000, 2_345):
        inside = slice(int(rng.integers(0, n // 4)), n - int(rng.integers(0, n // 4)))
        as_integers = MinMaxLTTBDownsampler().downsample(time[inside], value[inside], n_out=n_out)
        assert np.array_equal(line_indices(time[inside], value[inside], n_out), as_integers)


def test_times_too_large_for_exact_floats_stay_integers():
    x = np.array([0, 2**53 + 1], dtype=np.int64)
    assert decimation_x(x) is x and decimation_x(np.arange(3.0)).dtype == np.float64
