"""From target positions to fills, trades and an account marked at every close (rules in docs/engine.md).

The loop visits only the bars where the target changes; cash and position are constant between fills, so the
per-bar arrays are filled in afterwards with vectorised indexing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from backend.engine.results import Fills
from backend.market.bars import BarArrays
from common.logging import get_logger
from common.models.bars import AssetClass

log = get_logger("hewston.engine")


@dataclass(frozen=True)
class Costs:
    cash: float = 100_000.0
    commission_rate: float = 0.0005
    fixed_fee: float = 0.0
    slippage_bps: float = 0.0
    fractional: bool = False


def fractional_by_default(asset_class: AssetClass) -> bool:
    """Shares trade in whole units; currencies, crypto and instruments of no known class in fractions."""
    return asset_class is not AssetClass.equity


@dataclass(frozen=True)
class Rejection:
    bar_index: int
    time: int
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {"bar_index": self.bar_index, "time": self.time, "reason": self.reason}


@dataclass(frozen=True)
class Trade:
    """A round trip: one entry fill and the exit fill that closed it. ``pnl`` is net of both fees."""

    direction: int
    quantity: float
    entry_bar: int
    entry_price: float
    exit_bar: int
    exit_price: float
    pnl: float
    entry_notional: float


@dataclass(frozen=True)
class OpenTrade:
    direction: int
    quantity: float
    entry_bar: int
    entry_price: float


@dataclass
class Simulation:
    equity: np.ndarray
    position: np.ndarray
    cash: np.ndarray
    fills: Fills
    trades: list[Trade]
    rejections: list[Rejection]
    open_trade: OpenTrade | None
    fees_paid: float
    initial_cash: float


class _Book:
    """The account while fills are being generated."""

    def __init__(self, bars: BarArrays, costs: Costs) -> None:
        self.bars = bars
        self.costs = costs
        self.cash = costs.cash
        self.position = 0.0
        self.entry: OpenTrade | None = None
        self.entry_fee = 0.0
        self.fees = 0.0
        self.rows: list[tuple[int, int, str, float, float, float, str, float]] = []
        self.trades: list[Trade] = []
        self.rejections: list[Rejection] = []

    def price(self, bar: int, side: str) -> float:
        slip = self.costs.slippage_bps / 10_000.0
        open_ = float(self.bars.open[bar])
        return open_ * (1.0 + slip) if side == "buy" else open_ * (1.0 - slip)

    def fee(self, quantity: float, price: float) -> float:
        return quantity * price * self.costs.commission_rate + self.costs.fixed_fee

    def reject(self, signal_bar: int, reason: str) -> None:
        # Kept with the run and summarised in one log line at the end: a run that cannot size its entries
        # may reject thousands of them.
        self.rejections.append(Rejection(signal_bar, int(self.bars.time[signal_bar]), reason))

    def close(self, bar: int, reason: str) -> None:
        assert self.entry is not None
        qty, direction = abs(self.position), self.entry.direction
        side = "sell" if direction > 0 else "buy"
        price = self.price(bar, side)
        fee = self.fee(qty, price)
        gross = (price - self.entry.entry_price) * qty * direction
        self.cash += self.position * price - fee
        self.fees += fee
        self.rows.append((bar, int(self.bars.time[bar]), side, qty, price, fee, reason, gross - fee))
        self.trades.append(Trade(direction, qty, self.entry.entry_bar, self.entry.entry_price, bar, price,
                                 gross - fee - self.entry_fee, qty * self.entry.entry_price))
        self.position, self.entry, self.entry_fee = 0.0, None, 0.0

    def open(self, signal_bar: int, bar: int, direction: int, reason: str) -> None:
        side = "buy" if direction > 0 else "sell"
        price = self.price(bar, side)
        # All available equity (here: cash, since the book is flat) after this fill's own costs.
        budget = self.cash - self.costs.fixed_fee
        quantity = budget / (price * (1.0 + self.costs.commission_rate)) if budget > 0 else 0.0
        if not self.costs.fractional:
            quantity = float(math.floor(quantity))
        if quantity <= 0 or not math.isfinite(quantity):
            self.reject(signal_bar, f"{side} rejected: equity {self.cash:.2f} is too small for "
                                    f"{'one unit' if not self.costs.fractional else 'any quantity'} at {price:.6g}")
            return
        fee = self.fee(quantity, price)
        self.cash -= direction * quantity * price + fee
        self.fees += fee
        self.position = direction * quantity
        self.entry, self.entry_fee = OpenTrade(direction, quantity, bar, price), fee
        self.rows.append((bar, int(self.bars.time[bar]), side, quantity, price, fee, reason, -fee))


def _reason(previous: int, target: int) -> str:
    names = {1: "long", 0: "flat", -1: "short"}
    return f"signal {names[previous]} -> {names[target]}"


def simulate(bars: BarArrays, target: np.ndarray, costs: Costs) -> Simulation:
    n = len(bars)
    book = _Book(bars, costs)
    target = np.asarray(target, dtype=np.int8)
    # Bars whose close changes the wanted position; before the first bar the account is flat.
    previous = np.concatenate(([0], target[:-1])).astype(np.int8)
    changes = np.flatnonzero(target != previous)
    fill_bars: list[int] = []
    positions: list[float] = []
    cashes: list[float] = []
    for signal_bar in changes.tolist():
        want, had = int(target[signal_bar]), int(previous[signal_bar])
        if signal_bar + 1 >= n:
            book.reject(signal_bar, f"{_reason(had, want)} on the last bar: no next bar to fill at")
            continue
        bar = signal_bar + 1
        current = int(np.sign(book.position))
        if current == want:
            continue  # an earlier entry was rejected and the signal returned to where the book already is
        if current != 0:
            book.close(bar, _reason(had, want))
        if want != 0:
            book.open(signal_bar, bar, want, _reason(had, want))
        fill_bars.append(bar)
        positions.append(book.position)
        cashes.append(book.cash)

    # Between fills the account is constant: index the state after the latest fill at or before each bar.
    state = np.searchsorted(np.asarray(fill_bars, dtype=np.int64), np.arange(n), side="right") - 1
    position_by_fill = np.concatenate(([0.0], positions))
    cash_by_fill = np.concatenate(([costs.cash], cashes))
    position = position_by_fill[state + 1]
    cash = cash_by_fill[state + 1]
    equity = cash + position * bars.close

    if book.rejections:
        first = book.rejections[0]
        log.info("orders_rejected", count=len(book.rejections), first_bar_index=first.bar_index,
                 first_time=first.time, first_reason=first.reason)
    rows = book.rows
    fills = Fills(
        bar_index=np.array([r[0] for r in rows], dtype=np.int64),
        time=np.array([r[1] for r in rows], dtype=np.int64),
        side=[r[2] for r in rows],
        quantity=np.array([r[3] for r in rows], dtype=np.float64),
        price=np.array([r[4] for r in rows], dtype=np.float64),
        fee=np.array([r[5] for r in rows], dtype=np.float64),
        reason=[r[6] for r in rows],
        realized_pnl=np.array([r[7] for r in rows], dtype=np.float64),
    )
    return Simulation(equity=equity, position=position, cash=cash, fills=fills, trades=book.trades,
                      rejections=book.rejections, open_trade=book.entry, fees_paid=book.fees,
                      initial_cash=costs.cash)
