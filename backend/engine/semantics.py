"""The execution rules a run was computed under, stored with every run so its numbers stay explainable.

docs/engine.md describes the same rules in prose; bump ``VERSION`` whenever a rule changes.
"""

from __future__ import annotations

from typing import Any

VERSION = 1


def describe(*, commission_rate: float, fixed_fee: float, slippage_bps: float, fractional: bool,
             periods_per_year: str = "bar intervals per calendar year spanned by the run's bars") -> dict[str, Any]:
    return {
        "version": VERSION,
        "signal": "decided at a bar's close from data up to and including that close",
        "fill": "market order at the next bar's open; a price gap fills at that open",
        "last_bar_signal": "rejected: there is no next bar to fill at",
        "commission": f"rate {commission_rate} of notional, charged at entry and at exit",
        "fixed_fee": f"{fixed_fee} per fill",
        "slippage": f"{slippage_bps} bps: buys fill higher, sells lower",
        "sizing": ("all available equity in fractional units" if fractional
                   else "all available equity in whole units (rounded down)"),
        "positions": "long or short; a reversing signal closes the open position and opens the opposite one",
        "rejected_orders": "an entry that cannot be sized (equity too small) is rejected, logged and counted; "
                           "it is not retried until the signal changes again",
        "marking": "equity = cash + position x close, at every bar's close",
        "open_position_at_end": "left open and marked at the last close (metrics: open_trade_pnl)",
        "periods_per_year": periods_per_year,
        "risk_free_rate": 0.0,
    }
