"""A run's round-trip trades from its fills, with how far each went against and for the trader while it was open.

A trade opens when the position leaves zero and closes when it is back at zero; a fill that reverses the position
closes one trade and opens the next with what is left over. Entry and exit prices are size-weighted over the
fills that opened and closed it; PnL is (exit − entry) × quantity × direction net of every fee paid on it (a
fill's fee shared by quantity when it both closes and opens), as the engine counts a trade's PnL. A trade still
open at the run's end is marked at the last close.

Excursions come from the run's own bars (full resolution): a trade is exposed from its entry fill (at a bar's
open) until its exit fill (at a later bar's open), so the bars from the entry bar to the one before the exit
count with their highs and lows, and the exit bar with its open. MAE is the worst unrealised return in that
stretch (≤ 0), MFE the best (≥ 0), both against the entry price, and in money for the trade's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from backend.engine.results import Fills
from backend.market.bars import BarArrays

_EPSILON = 1e-9


@dataclass
class _Open:
    direction: int
    entry_bar: int
    size: float = 0.0
    entry_value: float = 0.0
    entry_qty: float = 0.0
    exit_value: float = 0.0
    exit_qty: float = 0.0
    exit_bar: int | None = None
    fees: float = 0.0
    fills: int = 0


def _pair(fills: Fills) -> list[_Open]:
    trades: list[_Open] = []
    position = 0.0
    current: _Open | None = None
    # One pass in Python over plain lists (a fill's part in a trade depends on the position before it).
    columns = (fills.bar_index.tolist(), fills.side, fills.quantity.tolist(), fills.price.tolist(), fills.fee.tolist())
    for bar, side, quantity, price, fee in zip(*columns, strict=True):
        signed = quantity if side == "buy" else -quantity
        before, position = position, position + signed
        if abs(position) < _EPSILON:
            position = 0.0
        closing = min(abs(signed), abs(before)) if before and (signed > 0) != (before > 0) else 0.0
        opening = abs(signed) - closing
        fee_per_unit = fee / quantity if quantity > 0 else 0.0
        if current is not None and closing > 0:
            current.exit_value += price * closing
            current.exit_qty += closing
            current.exit_bar = bar
            current.fees += fee_per_unit * closing
            current.fills += 1
            if position == 0 or (position > 0) != (before > 0):
                trades.append(current)
                current = None
        if opening > _EPSILON:
            if current is None:
                current = _Open(direction=1 if signed > 0 else -1, entry_bar=bar)
            current.entry_value += price * opening
            current.entry_qty += opening
            current.fees += fee_per_unit * opening
            current.fills += 1  # a reversing fill belongs to both trades
            current.size = max(current.size, abs(position))
    if current is not None:
        current.exit_bar = None
        trades.append(current)
    return trades


def round_trips(fills: Fills, bars: BarArrays) -> list[dict[str, Any]]:
    """Every trade of the run in time order: side, entry and exit (bar, time, price; null exit while open), size,
    PnL, return, fees, fills, and MAE/MFE as returns and in money."""
    trades = _pair(fills)
    if not trades:
        return []
    last = len(bars) - 1
    direction = np.array([t.direction for t in trades], dtype=np.int64)
    entry_bar = np.array([t.entry_bar for t in trades], dtype=np.int64)
    is_open = np.array([t.exit_bar is None for t in trades], dtype=bool)
    exit_bar = np.array([last if t.exit_bar is None else t.exit_bar for t in trades], dtype=np.int64)
    size = np.array([t.size for t in trades], dtype=np.float64)
    entry_price = np.array([t.entry_value / t.entry_qty for t in trades], dtype=np.float64)
    closed_qty = np.array([t.exit_qty for t in trades], dtype=np.float64)
    exit_value = np.array([t.exit_value for t in trades], dtype=np.float64)
    fees = np.array([t.fees for t in trades], dtype=np.float64)
    # What was closed at its exit prices, and what is still open at the last close.
    gross = direction * (exit_value - entry_price * closed_qty
                         + np.where(is_open, (float(bars.close[last]) - entry_price) * (size - closed_qty), 0.0))
    pnl = gross - fees
    notional = entry_price * size
    trade_return = np.divide(pnl, notional, out=np.zeros(len(trades)), where=notional > 0)

    # The bars each trade was exposed to: [entry bar, exit bar) by their highs and lows, and the exit bar's open;
    # a trade still open, every bar to the last.
    stop = np.where(is_open, last + 1, np.maximum(exit_bar, entry_bar + 1))
    highest, lowest = _extremes(bars, entry_bar, stop)
    exit_open = np.where(is_open, np.nan, np.asarray(bars.open, dtype=np.float64)[exit_bar])
    highest, lowest = np.fmax(highest, exit_open), np.fmin(lowest, exit_open)
    best = np.where(direction > 0, highest, lowest)
    worst = np.where(direction > 0, lowest, highest)
    mfe = np.maximum(direction * (best / entry_price - 1.0), 0.0)
    mae = np.minimum(direction * (worst / entry_price - 1.0), 0.0)

    time = bars.time
    rows = []
    for i, t in enumerate(trades):
        closed = not is_open[i]
        rows.append({
            "number": i + 1, "side": "long" if t.direction > 0 else "short",
            "entry_bar": t.entry_bar, "entry_time": int(time[t.entry_bar]), "entry_price": float(entry_price[i]),
            "exit_bar": t.exit_bar, "exit_time": int(time[t.exit_bar]) if closed and t.exit_bar is not None else None,
            "exit_price": t.exit_value / t.exit_qty if closed else None,
            "size": t.size, "pnl": float(pnl[i]), "return": float(trade_return[i]), "fees": t.fees,
            "fills": t.fills, "mae": float(mae[i]), "mfe": float(mfe[i]), "mae_pnl": float(mae[i] * notional[i]),
            "mfe_pnl": float(mfe[i] * notional[i]),
        })
    return rows


def _extremes(bars: BarArrays, start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The highest high and lowest low of bars[start[i]:stop[i]] for every i, in one pass over the bars."""
    if start.shape[0] == 0:
        return np.zeros(0), np.zeros(0)
    # reduceat reduces between consecutive indices: the pairs (start, stop) interleaved, every other result
    # kept. A sentinel bar makes `stop` = len(bars) a valid index.
    high = np.append(np.asarray(bars.high, dtype=np.float64), -np.inf)
    low = np.append(np.asarray(bars.low, dtype=np.float64), np.inf)
    edges = np.empty(2 * start.shape[0], dtype=np.int64)
    edges[0::2], edges[1::2] = start, stop
    return np.maximum.reduceat(high, edges)[0::2], np.minimum.reduceat(low, edges)[0::2]
