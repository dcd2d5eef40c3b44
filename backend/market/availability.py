"""Which timeframes a symbol has, and the message that says so when a finer one is asked for.

A symbol loaded from minute bars has minute, hour and day bars; one loaded from hourly bars has hour and day;
one loaded from daily bars has day only. Bars finer than the data cannot be made up, so asking for them is
answered with what there is instead.
"""

from __future__ import annotations

from backend.catalog import Catalog
from common.models.bars import Timeframe


def available_timeframes(catalog: Catalog, symbol: str) -> list[Timeframe]:
    """The symbol's timeframes that hold bars, finest first."""
    found = [record.timeframe for record in catalog.datasets(symbol) if record.rows]
    return sorted(found, key=lambda timeframe: timeframe.seconds)


def missing_timeframe(catalog: Catalog, symbol: str, timeframe: Timeframe) -> str:
    """Why ``symbol`` has no ``timeframe`` bars, naming the timeframes it does have."""
    have = available_timeframes(catalog, symbol)
    if not have:
        return f"{symbol} has no bars"
    listed = ", ".join(t.value for t in have)
    if timeframe.seconds < have[0].seconds:
        return (f"{symbol} has no {timeframe.value} bars: its data was loaded as {have[0].value} bars, the finest "
                f"available (timeframes: {listed})")
    return f"{symbol} has no {timeframe.value} bars (timeframes: {listed})"
