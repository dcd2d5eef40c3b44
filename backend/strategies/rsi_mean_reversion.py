"""RSI mean reversion: buy when oversold, sell (or go short) when overbought.

RSI uses simple averages of gains and losses over ``period`` bars (Cutler's variant) rather than Wilder's
recursive smoothing: it depends only on the last ``period`` changes and is computed exactly without a loop.
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
    smaller_than,
)
from backend.strategies.indicators import IndicatorLine, Indicators


class Params(ComparisonParams):
    period: int = Field(14, ge=2, le=1_000, description="Bars of price changes the RSI averages")
    lower: float = Field(30.0, gt=0, lt=100, description="Oversold level: go long below it")
    upper: float = Field(70.0, gt=0, lt=100, description="Overbought level: exit (or go short) above it")

    _order = smaller_than("lower", "upper")


def rsi(close: np.ndarray, period: int) -> np.ndarray:
    """RSI in [0, 100]; NaN for the first ``period`` bars. A window with no losses is 100, no moves 50."""
    out = np.full(close.shape[0], np.nan)
    if close.shape[0] <= period:
        return out
    change = np.diff(close)
    avg_gain = rolling_mean(np.maximum(change, 0.0), period)
    avg_loss = rolling_mean(np.maximum(-change, 0.0), period)
    total = avg_gain + avg_loss
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(total > 0, 100.0 * avg_gain / total, 50.0)
    value[np.isnan(total)] = np.nan
    out[1:] = value
    return out


def signals(bars: BarArrays, params: Params, mode: Mode, start: int) -> np.ndarray:
    value = rsi(bars.close, params.period)
    defined = ~np.isnan(value)
    oversold = fires(value < params.lower, defined, params.signal, start)
    overbought = fires(value > params.upper, defined, params.signal, start)
    exit_level = -1.0 if mode is Mode.long_short else 0.0
    return hold_last(np.where(oversold, 1.0, np.where(overbought, exit_level, np.nan)))


def indicators(bars: BarArrays, params: Params) -> Indicators:
    return Indicators(lines=[IndicatorLine("rsi", f"RSI {params.period}", rsi(bars.close, params.period), pane="own")],
                      levels=[params.lower, params.upper])


def lookback(params: Params) -> int:
    # RSI(period) needs period changes, so period + 1 closes; one bar more tells whether the first bar crossed.
    return params.period + 1


STRATEGY = Strategy(
    name="rsi_mean_reversion",
    title="RSI mean reversion",
    description="Long when RSI falls below `lower`, out when it rises above `upper`; "
                "in long-short mode short above `upper` until RSI falls below `lower`. With signal=event, only "
                "on the bar where RSI crosses the level.",
    params_model=Params,
    signal_fn=signals,
    lookback_fn=lookback,
    indicators_fn=indicators,
)
