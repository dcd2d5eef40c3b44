"""Buy and hold: long from the first bar to the last. The benchmark every other strategy is measured against.

It never shorts, so long-only and long-short mode behave the same.
"""

from __future__ import annotations

import numpy as np

from backend.market.bars import BarArrays
from backend.strategies.base import Mode, Strategy, StrategyParams


class Params(StrategyParams):
    pass


def signals(bars: BarArrays, params: Params, mode: Mode, start: int) -> np.ndarray:
    return np.ones(len(bars), dtype=np.int8)


STRATEGY = Strategy(
    name="buy_and_hold",
    title="Buy and hold",
    description="Long with all equity from the first possible fill (the second bar's open) to the end.",
    params_model=Params,
    signal_fn=signals,
)
