"""Moving-average crossover: long when the fast average is above the slow one, short (or flat) below."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from backend.market.bars import BarArrays
from backend.strategies.base import (
    ComparisonParams,
    Mode,
    Strategy,
    fires,
    hold_last,
    rolling_mean,
    smaller_than,
)
from backend.strategies.indicators import IndicatorLine, Indicators


class Params(ComparisonParams):
    fast: int = Field(10, ge=1, le=10_000, description="Bars in the fast simple moving average")
    slow: int = Field(50, ge=2, le=50_000, description="Bars in the slow simple moving average")

    _order = smaller_than("fast", "slow")


def signals(bars: BarArrays, params: Params, mode: Mode, start: int) -> np.ndarray:
    diff = rolling_mean(bars.close, params.fast) - rolling_mean(bars.close, params.slow)
    defined = ~np.isnan(diff)
    # Equal averages are neither above nor below: the previous decision holds, so a flat market does not churn.
    up = fires(diff > 0, defined, params.signal, start)
    down = fires(diff < 0, defined, params.signal, start)
    return hold_last(np.where(up, 1.0, np.where(down, -1.0, np.nan)))


def indicators(bars: BarArrays, params: Params) -> Indicators:
    return Indicators(lines=[
        IndicatorLine("fast", f"SMA {params.fast}", rolling_mean(bars.close, params.fast)),
        IndicatorLine("slow", f"SMA {params.slow}", rolling_mean(bars.close, params.slow)),
    ])


def lookback(params: Params) -> int:
    # SMA(slow) exists from its slow-th close on; one bar more tells whether the first bar is a cross.
    return params.slow


STRATEGY = Strategy(
    name="ma_crossover",
    title="Moving-average crossover",
    description="Long when the fast SMA of closes is above the slow SMA; in long-short mode short when below. "
                "With signal=event, only from the bar where the fast SMA crosses the slow one.",
    params_model=Params,
    signal_fn=signals,
    lookback_fn=lookback,
    indicators_fn=indicators,
)
