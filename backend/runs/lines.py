"""A completed run's lines that charts draw decimated: its equity curve and its strategy's indicator lines.

The backend process and its decimation workers take a line's points with these same functions from the same
columns (the worker reads them from the run's artifacts, the backend holds them loaded), so the indices a worker
chooses point at exactly the points the backend's own arrays hold, and the documents come out byte for byte as
if the backend had decimated them itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import orjson

from backend.market.bars import BarArrays
from backend.strategies.indicators import Indicators
from backend.strategies.registry import get_strategy

Points = tuple[np.ndarray, np.ndarray]
# A run's timeline columns by their artifact names (``time``, ``equity``, ``close``...), read when first asked for.
Column = Callable[[str], np.ndarray]
BAR_COLUMNS = ("time", "open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class RunLines:
    """Which lines of which run, within which stretch of its bars: the equity curve (``strategy`` None) or the
    indicator lines of ``strategy`` run with ``params`` (canonical JSON, so that the job is hashable)."""

    run_dir: str
    start: int
    stop: int
    strategy: str | None = None
    params: str = "{}"

    @classmethod
    def equity(cls, run_dir: str, inside: slice) -> RunLines:
        return cls(run_dir, inside.start, inside.stop)

    @classmethod
    def indicators(cls, run_dir: str, inside: slice, strategy: str, params: dict) -> RunLines:
        return cls(run_dir, inside.start, inside.stop, strategy, orjson.dumps(params, option=orjson.OPT_SORT_KEYS)
                   .decode())

    @property
    def inside(self) -> slice:
        return slice(self.start, self.stop)


def equity_points(time: np.ndarray, equity: np.ndarray, inside: slice) -> Points:
    return time[inside], equity[inside]


def indicator_points(time: np.ndarray, values: np.ndarray, inside: slice) -> Points:
    # A line is undefined until its window fills (NaN); only the bars where it exists are drawn.
    t, v = time[inside], values[inside]
    defined = ~np.isnan(v)
    return t[defined], v[defined]


def compute_indicators(strategy_name: str, raw_params: dict, bars: BarArrays) -> Indicators:
    """The strategy's own lines over the whole run (never a stretch alone: a window needs the bars before it)."""
    strategy = get_strategy(strategy_name)
    return strategy.indicators_fn(bars, strategy.parse_params(raw_params))


def points_of(lines: RunLines, column: Column, indicators: Callable[[], Indicators]) -> list[Points]:
    """The points of every line ``lines`` names, from the run's columns (``indicators`` computes the strategy's
    lines when they are asked for)."""
    if lines.strategy is None:
        return [equity_points(column("time"), column("equity"), lines.inside)]
    time = column("time")
    return [indicator_points(time, line.values, lines.inside) for line in indicators().lines]
