"""Equity curves for charts: MinMaxLTTB keeps the shape and the ends, drawdown follows the same points."""

import numpy as np
import pytest

from backend.runs.equity_curve import equity_curve, line_indices


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
