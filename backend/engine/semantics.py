"""The execution rules a run was computed under, stored with every run so its numbers stay explainable.

docs/engine.md describes the same rules in prose; bump ``VERSION`` whenever a rule changes.
"""

from __future__ import annotations

from typing import Any

from backend.engine.spec import RunSpec
from backend.strategies.base import Signal
from backend.strategies.registry import get_strategy
from common.models.backtests import Mode

VERSION = 2

_SIGNALS = {
    Signal.state: "state: every bar's close sets the position the strategy's comparison calls for, from the first "
                  "bar its indicators exist",
    Signal.event: "event: a position is entered or reversed only at the close of a bar where the strategy's "
                  "comparison flips; flat until the first flip inside the run",
    None: "the strategy's rule is not a comparison: it holds its position on every bar",
}
_POSITIONS = {
    Mode.long_only: "long or flat: a short signal closes the long position and stays flat; never short",
    Mode.long_short: "long or short; a reversing signal closes the open position and opens the opposite one",
}


def _warmup(spec: RunSpec, lookback: int) -> str:
    if not lookback:
        return "none: the strategy has no lookback"
    if not spec.warmup:
        return f"off: indicators start at `from` (the strategy's lookback of {lookback} bars is not filled)"
    return (f"up to {lookback} bars before `from` feed the indicators (fewer where the data starts later); "
            "fills, equity and every metric start at `from`")


def describe(spec: RunSpec) -> dict[str, Any]:
    strategy = get_strategy(spec.strategy)
    params = strategy.parse_params(spec.params)
    basis = spec.requested_periods_per_year
    return {
        "version": VERSION,
        "decision": "at a bar's close, from data up to and including that close",
        "signal": _SIGNALS[strategy.signal_mode(params)],
        "warmup": _warmup(spec, strategy.lookback(params)),
        "fill": "market order at the next bar's open; a price gap fills at that open",
        "last_bar_signal": "rejected: there is no next bar to fill at",
        "commission": f"rate {spec.commission_rate} of notional, charged at entry and at exit",
        "fixed_fee": f"{spec.fixed_fee} per fill",
        "slippage": f"{spec.slippage_bps} bps: buys fill higher, sells lower",
        "sizing": ("all available equity in fractional units" if spec.fractional
                   else "all available equity in whole units (rounded down)"),
        "positions": _POSITIONS[Mode(spec.mode)],
        "rejected_orders": "an entry that cannot be sized (equity too small) is rejected and counted with the run "
                           "(one log line sums up a run's rejections); it is not retried until the signal "
                           "changes again",
        "marking": "equity = cash + position x close, at every bar's close",
        "open_position_at_end": "left open and marked at the last close (metrics: open_trade_pnl)",
        "periods_per_year": (f"{basis:g}, given with the run" if basis is not None
                             else "observed: bar intervals per calendar year spanned by the run's bars"),
        "annualization": "sharpe, sortino, annualized_return and annualized_volatility scale by periods_per_year; "
                         "cagr and calmar use years = return periods / periods_per_year",
        "risk_free_rate": 0.0,
    }
