"""What a strategy computed to decide, as lines a chart can draw next to the price.

Each strategy that has them says which lines it computes from the bars and its parameters (the same functions
its signals use), where they belong (on the price, or in a pane of their own with reference levels, like an
RSI's 30 and 70) and how a person reads their name ("SMA 30").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from backend.market.bars import BarArrays


@dataclass(frozen=True)
class IndicatorLine:
    name: str
    label: str
    values: np.ndarray
    # "price": drawn over the candles; "own": in a pane of its own.
    pane: Literal["price", "own"] = "price"


@dataclass(frozen=True)
class Indicators:
    lines: list[IndicatorLine]
    # Horizontal reference levels of the own pane (an RSI's oversold and overbought levels).
    levels: list[float] = field(default_factory=list)


IndicatorFn = Callable[[BarArrays, Any], Indicators]


def no_indicators(bars: BarArrays, params: Any) -> Indicators:
    return Indicators(lines=[])
