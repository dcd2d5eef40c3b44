"""What a backtest produces: the bar-by-bar timeline of the account, the fills, and the metrics.

The engine owns these types; ``backend.runs.artifacts`` stores them as a run's immutable artifacts and reads
them back for the runs API and playback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from backend.market.bars import BarArrays


@dataclass(frozen=True)
class Timeline:
    bars: BarArrays
    equity: np.ndarray
    drawdown: np.ndarray
    position: np.ndarray
    cash: np.ndarray

    def __len__(self) -> int:
        return len(self.bars)


@dataclass(frozen=True)
class Fills:
    bar_index: np.ndarray
    time: np.ndarray
    side: list[str]
    quantity: np.ndarray
    price: np.ndarray
    fee: np.ndarray
    reason: list[str]
    realized_pnl: np.ndarray

    def __len__(self) -> int:
        return int(self.bar_index.shape[0])

    def rows(self, start: int = 0, stop: int | None = None) -> list[dict[str, Any]]:
        stop = len(self) if stop is None else stop
        # Columns to Python lists in C first; one dict literal per fill is the cheapest way to build rows.
        columns = (self.bar_index[start:stop].tolist(), self.time[start:stop].tolist(), self.side[start:stop],
                   self.quantity[start:stop].tolist(), self.price[start:stop].tolist(),
                   self.fee[start:stop].tolist(), self.reason[start:stop], self.realized_pnl[start:stop].tolist())
        return [{"bar_index": bar, "time": time, "side": side, "quantity": quantity, "price": price, "fee": fee,
                 "reason": reason, "realized_pnl": pnl}
                for bar, time, side, quantity, price, fee, reason, pnl in zip(*columns, strict=True)]


@dataclass(frozen=True)
class RunArtifacts:
    timeline: Timeline
    fills: Fills
    metrics: dict[str, Any]
