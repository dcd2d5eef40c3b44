"""Bollinger breakout: long on a close above the upper band, held until a close below the middle band.

In long-short mode a close below the lower band goes short, held until a close above the middle band.
"""

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
    rolling_std,
)
from backend.strategies.indicators import IndicatorLine, Indicators


class Params(ComparisonParams):
    period: int = Field(20, ge=2, le=10_000, description="Bars in the moving average and standard deviation")
    width: float = Field(2.0, gt=0, le=10, description="Band distance from the middle, in standard deviations")


def signals(bars: BarArrays, params: Params, mode: Mode, start: int) -> np.ndarray:
    close = bars.close
    middle = rolling_mean(close, params.period)
    band = params.width * rolling_std(close, params.period)
    defined = ~np.isnan(middle)

    def when(condition: np.ndarray) -> np.ndarray:
        return fires(condition, defined, params.signal, start)

    # Each side is a simple enter/exit state; they cannot both be on, because entering one side requires a
    # close beyond the middle band, which is exactly the other side's exit.
    long_side = hold_last(np.where(when(close > middle + band), 1.0, np.where(when(close < middle), 0.0, np.nan)))
    if mode is Mode.long_only:
        return long_side
    short_side = hold_last(np.where(when(close < middle - band), 1.0, np.where(when(close > middle), 0.0, np.nan)))
    return long_side - short_side


def indicators(bars: BarArrays, params: Params) -> Indicators:
    middle = rolling_mean(bars.close, params.period)
    band = params.width * rolling_std(bars.close, params.period)
    name = f"BB {params.period}, {params.width:g}"
    return Indicators(lines=[
        IndicatorLine("upper", f"{name} upper", middle + band),
        IndicatorLine("middle", f"{name} middle", middle),
        IndicatorLine("lower", f"{name} lower", middle - band),
    ])


def lookback(params: Params) -> int:
    # The bands exist from the period-th close on; one bar more tells whether the first bar crossed.
    return params.period


STRATEGY = Strategy(
    name="bollinger_breakout",
    title="Bollinger breakout",
    description="Long on a close above the upper band until a close below the middle band; in long-short "
                "mode also short on a close below the lower band until a close above the middle band. With "
                "signal=event, only on the bar where the close crosses the band.",
    params_model=Params,
    signal_fn=signals,
    lookback_fn=lookback,
    indicators_fn=indicators,
)
