"""Performance metrics of a simulated run; every definition is written down in docs/engine.md.

Returns and ratios are fractions (0.05 is 5 %); money is in the account's currency. A metric that is undefined
for the run (no trades, no losing trade, zero volatility, a single bar) is ``None``, never NaN or infinity, so
the result is always valid JSON.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from backend.engine.simulate import Simulation
from backend.market.bars import BarArrays

SECONDS_PER_YEAR = 365.25 * 86_400
# math.exp overflows a float beyond this.
_LARGEST_EXPONENT = math.log(sys.float_info.max)
# Enough to explain what went wrong without letting a pathological run bloat its metrics file.
MAX_LISTED_REJECTIONS = 1_000


def finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def years_spanned(time: np.ndarray) -> float:
    return float(time[-1] - time[0]) / SECONDS_PER_YEAR if time.shape[0] > 1 else 0.0


def periods_per_year(time: np.ndarray) -> float | None:
    """Bar-to-bar intervals per calendar year actually observed in the data (so weekends and sessions count)."""
    years = years_spanned(time)
    return (time.shape[0] - 1) / years if years > 0 else None


def annualization(time: np.ndarray, given: float | None) -> tuple[float | None, float]:
    """(periods per year, years) on one basis for every annualised number.

    Years are return periods / periods per year, as empyrical counts them; with the observed periods per year
    that is exactly the calendar time between the first and the last bar.
    """
    ppy = given if given is not None else periods_per_year(time)
    periods = time.shape[0] - 1
    return ppy, (periods / ppy if ppy and periods > 0 else 0.0)


def _compound_growth(growth: float, years: float) -> float | None:
    """Yearly rate that compounds to ``growth`` over ``years``; None when undefined or beyond a float (a large
    move over a tiny fraction of a year compounds past 1e308)."""
    if years <= 0 or growth <= 0:
        return None
    exponent = math.log(growth) / years
    return math.expm1(exponent) if exponent < _LARGEST_EXPONENT else None


def drawdown(equity: np.ndarray) -> np.ndarray:
    """Fraction below the running peak at every bar: 0 at a new high, negative below it."""
    peak = np.maximum.accumulate(equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(peak > 0, equity / peak - 1.0, 0.0)


def _drawdown_duration(dd: np.ndarray, time: np.ndarray) -> tuple[int, int]:
    """Longest stretch from a peak to the bar that regains it (or the last bar), in bars and in seconds."""
    at_peak = np.flatnonzero(dd >= 0)
    starts, ends = at_peak[:-1], at_peak[1:]
    underwater = ends - starts > 1  # adjacent peaks have nothing below them
    # The last stretch may still be underwater at the end: it then lasts until the last bar.
    if at_peak[-1] < dd.shape[0] - 1:
        starts, ends = np.append(starts, at_peak[-1]), np.append(ends, dd.shape[0] - 1)
        underwater = np.append(underwater, True)
    if not underwater.any():
        return 0, 0
    lengths = np.where(underwater, ends - starts, 0)
    k = int(np.argmax(lengths))
    return int(lengths[k]), int(time[ends[k]] - time[starts[k]])


def _ratio(numerator: float, denominator: float) -> float | None:
    return finite(numerator / denominator) if denominator > 0 else None


def compute_metrics(bars: BarArrays, sim: Simulation, given_periods_per_year: float | None = None) -> dict[str, Any]:
    """Every metric of a run; ``given_periods_per_year`` replaces the observed annualisation basis."""
    n = len(bars)
    equity, cash0 = sim.equity, sim.initial_cash
    ppy, years = annualization(bars.time, given_periods_per_year)
    final = float(equity[-1]) if n else cash0
    total_return = final / cash0 - 1.0

    returns = equity[1:] / equity[:-1] - 1.0 if n > 1 else np.empty(0)
    mean = float(np.mean(returns)) if returns.size else math.nan
    std = float(np.std(returns, ddof=1)) if returns.size > 1 else math.nan
    downside = float(np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2))) if returns.size else math.nan
    root = math.sqrt(ppy) if ppy else math.nan
    cagr = _compound_growth(final / cash0, years)

    dd = drawdown(equity) if n else np.zeros(0)
    max_dd = float(dd.min()) if n else 0.0
    dd_bars, dd_seconds = _drawdown_duration(dd, bars.time) if n else (0, 0)

    pnls = np.array([t.pnl for t in sim.trades], dtype=np.float64)
    trade_returns = np.array([t.pnl / t.entry_notional for t in sim.trades], dtype=np.float64)
    wins, losses = pnls[pnls > 0], pnls[pnls < 0]
    gross_profit, gross_loss = float(wins.sum()), float(-losses.sum())
    open_pnl = 0.0
    if sim.open_trade is not None and n:
        t = sim.open_trade
        open_pnl = (float(bars.close[-1]) - t.entry_price) * t.quantity * t.direction

    return {
        "initial_cash": cash0,
        "final_equity": finite(final),
        "total_return": finite(total_return),
        "buy_and_hold_return": finite(float(bars.close[-1] / bars.close[0] - 1.0)) if n else None,
        "cagr": finite(cagr),
        "annualized_return": finite(mean * ppy) if ppy else None,
        "annualized_volatility": finite(std * root) if ppy else None,
        "sharpe": _ratio(mean * root, std) if ppy else None,
        "sortino": _ratio(mean * root, downside) if ppy else None,
        "periods_per_year": finite(ppy),
        "periods_per_year_basis": "given" if given_periods_per_year is not None else "observed",
        "years": finite(years),
        "max_drawdown": finite(max_dd),
        "max_drawdown_duration_bars": dd_bars,
        "max_drawdown_duration_s": dd_seconds,
        "calmar": _ratio(cagr, -max_dd) if cagr is not None else None,
        "exposure": float(np.count_nonzero(sim.position) / n) if n else 0.0,
        "trades": int(pnls.size),
        "win_rate": finite(wins.size / pnls.size) if pnls.size else None,
        "best_trade": finite(pnls.max()) if pnls.size else None,
        "worst_trade": finite(pnls.min()) if pnls.size else None,
        "avg_trade": finite(pnls.mean()) if pnls.size else None,
        "profit_factor": _ratio(gross_profit, gross_loss),
        "expectancy": finite(trade_returns.mean()) if pnls.size else None,
        "commissions": finite(sim.fees_paid),
        "fills": len(sim.fills),
        "open_trade_pnl": finite(open_pnl),
        "rejected_orders": len(sim.rejections),
        "rejections": [r.as_dict() for r in sim.rejections[:MAX_LISTED_REJECTIONS]],
        "bars": n,
        "first_time": int(bars.time[0]) if n else None,
        "last_time": int(bars.time[-1]) if n else None,
    }
