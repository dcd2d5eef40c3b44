"""Bollinger breakout: long on a close above the upper band, held until a close below the middle band.

In long-short mode a close below the lower band goes short, held until a close above the middle band.
"""

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
    rolling_std,
)


class Params(StrategyParams):
    period: int = Field(20, ge=2, le=10_000, description="Bars in the moving average and standard deviation")
    width: float = Field(2.0, gt=0, le=10, description="Band distance from the middle, in standard deviations")


def signals(bars: BarArrays, params: Params, mode: Mode) -> np.ndarray:
    close = bars.close
    middle = rolling_mean(close, params.period)
    band = params.width * rolling_std(close, params.period)
    above, below = close > middle + band, close < middle - band
    # Each side is a simple enter/exit state; they cannot both be on, because entering one side requires a
    # close beyond the middle band, which is exactly the other side's exit.
    long_side = hold_last(np.where(above, 1.0, np.where(close < middle, 0.0, np.nan)))
    if mode is Mode.long_only:
        return long_side
    short_side = hold_last(np.where(below, 1.0, np.where(close > middle, 0.0, np.nan)))
    return long_side - short_side


STRATEGY = Strategy(
    name="bollinger_breakout",
    title="Bollinger breakout",
    description="Long on a close above the upper band until a close below the middle band; in long-short "
                "mode also short on a close below the lower band until a close above the middle band.",
    params_model=Params,
    signal_fn=signals,
)
