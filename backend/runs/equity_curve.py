"""A run's equity curve for charts: every point, or at most ``max_points`` that keep its shape.

Decimation uses MinMaxLTTB from tsdownsample, which returns the indices it keeps, so that drawdown is taken at
exactly the same points as equity. Doing it here, next to the data, means a chart of a year of minutes sends
a few thousand points over the wire instead of half a million.
"""

from __future__ import annotations

import numpy as np
from tsdownsample import MinMaxLTTBDownsampler

# MinMaxLTTB needs at least three output points (first, last and one in between).
MIN_POINTS = 3
_LTTB = MinMaxLTTBDownsampler()
# Integers up to this magnitude are exact as float64.
_EXACT_AS_FLOAT = 2**53


def line_indices(x: np.ndarray, y: np.ndarray, n_out: int) -> np.ndarray:
    """Indices of at most ``n_out`` points that keep the shape of the line (all of them if it is short)."""
    n = int(x.shape[0])
    if n <= n_out:
        return np.arange(n)
    if n_out < MIN_POINTS:
        raise ValueError(f"n_out must be at least {MIN_POINTS}")
    return _LTTB.downsample(decimation_x(x), y, n_out=n_out)


def decimation_x(x: np.ndarray) -> np.ndarray:
    """``x`` as tsdownsample decimates it fastest. With integer x (epoch seconds) MinMaxLTTB takes about four times
    as long as with the same values as float64 (3.5 ms against 0.7 ms for a year of minutes, measured), and
    chooses the very same indices as long as every value is exact as a float, which epoch seconds are; ascending
    x has its extremes at its ends."""
    if x.dtype.kind in "iu" and x.shape[0] and max(abs(int(x[0])), abs(int(x[-1]))) <= _EXACT_AS_FLOAT:
        return x.astype(np.float64)
    return x


def equity_curve(columns: dict[str, np.ndarray], max_points: int | None,
                 keep: np.ndarray | None = None) -> dict[str, object]:
    """The equity document: ``source_points`` in the run, ``count`` returned, columnar time/equity/drawdown.
    ``keep``: the indices already chosen for ``max_points`` (by a decimation process), else chosen here."""
    time, equity, drawdown = columns["time"], columns["equity"], columns["drawdown"]
    source = int(time.shape[0])
    if max_points is not None and source > max_points:
        if keep is None:
            keep = line_indices(time, equity, max_points)
        time, equity, drawdown = time[keep], equity[keep], drawdown[keep]
    return {"count": int(time.shape[0]), "source_points": source, "time": time, "equity": equity,
            "drawdown": drawdown}
