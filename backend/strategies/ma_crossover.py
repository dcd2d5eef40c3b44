"""Moving-average crossover: long while the fast average is above the slow one, short (or flat) below."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from backend.market.bars import BarArrays
from backend.strategies.base import (
    Mode,
    Strategy,
    StrategyParams,
    hold_last,
    rolling_mean,
    smaller_than,
)


class Params(StrategyParams):
    fast: int = Field(10, ge=1, le=10_000, description="Bars in the fast simple moving average")
    slow: int = Field(50, ge=2, le=50_000, description="Bars in the slow simple moving average")

    _order = smaller_than("fast", "slow")


def signals(bars: BarArrays, params: Params, mode: Mode) -> np.ndarray:
    diff = rolling_mean(bars.close, params.fast) - rolling_mean(bars.close, params.slow)
    # Equal averages keep the previous decision, so a flat market does not churn orders.
    events = np.where(diff > 0, 1.0, np.where(diff < 0, -1.0, np.nan))
    return hold_last(events)


STRATEGY = Strategy(
    name="ma_crossover",
    title="Moving-average crossover",
    description="Long when the fast SMA of closes is above the slow SMA; in long-short mode short when below.",
    params_model=Params,
    signal_fn=signals,
)
