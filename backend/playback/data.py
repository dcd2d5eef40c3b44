"""A completed run prepared for playback: its arrays plus cumulative statistics, built once per run.

Everything a playback asks for is O(1) or one binary search: bars and fills of a cursor range are array
slices, statistics as of any cursor are read from running arrays (running peak, deepest drawdown, cumulative
fill counts, realized pnl and fees), and "last bar at or before time t" is ``searchsorted``. Artifacts are
immutable, so one instance serves every connection that plays the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from backend.engine.results import Fills, Timeline
from backend.playback.answers import KeptAnswers
from backend.runs.artifacts import read_fills, read_timeline


def _cumulative(values: np.ndarray) -> np.ndarray:
    # A leading 0 lets "sum of the first n" be a lookup at n, with n = 0 meaning nothing yet.
    return np.concatenate(([0.0], np.cumsum(values, dtype=np.float64)))


@dataclass(frozen=True)
class PlaybackData:
    timeline: Timeline
    fills: Fills
    initial_cash: float
    peak_equity: np.ndarray
    max_drawdown: np.ndarray
    fill_fees: np.ndarray
    fill_realized: np.ndarray
    fill_closed: np.ndarray
    fill_wins: np.ndarray
    # Answers about the run that are costly to encode and never change (the orders document gzip-compressed,
    # the metrics document, decimated equity curves), kept once built: they live and are evicted with the run,
    # and count in its size.
    encoded: KeptAnswers = field(default_factory=KeptAnswers, compare=False, repr=False)

    @classmethod
    def build(cls, timeline: Timeline, fills: Fills, initial_cash: float) -> PlaybackData:
        equity = np.asarray(timeline.equity, dtype=np.float64)
        drawdown = np.asarray(timeline.drawdown, dtype=np.float64)
        signed = np.where(np.asarray(fills.side) == "buy", fills.quantity, -np.asarray(fills.quantity))
        after = np.cumsum(signed, dtype=np.float64)
        before = after - signed
        # A fill closes (part of) a trade when a position existed and the fill shrank or reversed it.
        closing = (before != 0) & ((np.abs(after) < np.abs(before)) | (np.sign(after) == -np.sign(before)))
        wins = closing & (np.asarray(fills.realized_pnl) > 0)
        return cls(
            timeline=timeline, fills=fills, initial_cash=float(initial_cash),
            peak_equity=np.maximum.accumulate(equity) if len(equity) else equity,
            max_drawdown=np.minimum.accumulate(drawdown) if len(drawdown) else drawdown,
            fill_fees=_cumulative(fills.fee), fill_realized=_cumulative(fills.realized_pnl),
            fill_closed=_cumulative(closing.astype(np.float64)), fill_wins=_cumulative(wins.astype(np.float64)),
        )

    @classmethod
    def load(cls, run_dir: Path, initial_cash: float) -> PlaybackData:
        return cls.build(read_timeline(run_dir), read_fills(run_dir), initial_cash)

    @property
    def total_bars(self) -> int:
        return len(self.timeline)

    @property
    def last(self) -> int:
        return self.total_bars - 1

    @property
    def nbytes(self) -> int:
        t, b = self.timeline, self.timeline.bars
        arrays = (b.time, b.open, b.high, b.low, b.close, b.volume, t.equity, t.drawdown, t.position, t.cash,
                  self.peak_equity, self.max_drawdown, self.fill_fees, self.fill_realized, self.fill_closed,
                  self.fill_wins, self.fills.bar_index, self.fills.quantity, self.fills.price)
        # The encoded fills and answers count once they exist (see fills_json and encoded).
        return (int(sum(a.nbytes for a in arrays)) + 64 * len(self.fills) + len(self.__dict__.get("fills_json", b""))
                + self.encoded.nbytes)

    @cached_property
    def fills_json(self) -> bytes:
        """Every fill as a JSON array of rows, encoded on first use and kept: a run's fills never change, and
        building the rows of a long run costs far more than sending them (``GET /backtests/{id}/orders``)."""
        return orjson.dumps(self.fills.rows())

    # Lookups ------------------------------------------------------------------------------------------------

    def time_at(self, cursor: int) -> int | None:
        return int(self.timeline.bars.time[cursor]) if cursor >= 0 else None

    def cursor_at_time(self, t: int) -> int:
        """Index of the last bar with ``time <= t``; -1 when ``t`` is before the first bar."""
        return int(np.searchsorted(self.timeline.bars.time, t, side="right")) - 1

    def fills_through(self, cursor: int) -> int:
        """How many fills happened at bars ``0..cursor``."""
        return int(np.searchsorted(self.fills.bar_index, cursor, side="right"))

    def bar(self, cursor: int) -> dict[str, Any] | None:
        if cursor < 0:
            return None
        b = self.timeline.bars
        return {"time": int(b.time[cursor]), "open": float(b.open[cursor]), "high": float(b.high[cursor]),
                "low": float(b.low[cursor]), "close": float(b.close[cursor]), "volume": float(b.volume[cursor])}

    def account(self, cursor: int) -> tuple[float, float, float]:
        """(position, cash, equity) after the cursor bar; flat with the initial cash before the first."""
        if cursor < 0:
            return 0.0, self.initial_cash, self.initial_cash
        t = self.timeline
        return float(t.position[cursor]), float(t.cash[cursor]), float(t.equity[cursor])

    def stats(self, cursor: int) -> dict[str, Any]:
        n = self.fills_through(cursor)
        total = self.total_bars
        _, _, equity = self.account(cursor)
        at_start = cursor < 0
        return {
            "bars_played": cursor + 1,
            "progress": (cursor + 1) / total if total else 1.0,
            "initial_cash": self.initial_cash,
            "equity": equity,
            "total_return": equity / self.initial_cash - 1.0 if self.initial_cash else 0.0,
            "peak_equity": self.initial_cash if at_start else float(self.peak_equity[cursor]),
            "drawdown": 0.0 if at_start else float(self.timeline.drawdown[cursor]),
            "max_drawdown": 0.0 if at_start else float(self.max_drawdown[cursor]),
            "fills": n,
            "closed_trades": int(self.fill_closed[n]),
            "winning_trades": int(self.fill_wins[n]),
            "realized_pnl": float(self.fill_realized[n]),
            "fees": float(self.fill_fees[n]),
        }

    def fill_rows(self, first_bar: int, last_bar: int) -> list[dict[str, Any]]:
        """Fills at bars ``first_bar..last_bar`` (inclusive), in order."""
        start = int(np.searchsorted(self.fills.bar_index, first_bar, side="left"))
        stop = self.fills_through(last_bar)
        return self.fills.rows(start, stop) if stop > start else []
