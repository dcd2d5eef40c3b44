"""Building and encoding playback messages (shapes in common/models/playback.py, protocol in docs/playback.md).

Messages are plain dicts whose columns are numpy slices of the run's arrays; orjson serialises those slices
directly, so a frame of a thousand bars costs one pass over contiguous memory rather than a Python loop.
Pydantic models describe the same shapes for validation on the receiving side; building them here would only
add a copy per frame.
"""

from __future__ import annotations

from typing import Any

import orjson

from backend.playback.data import PlaybackData
from common.models.playback import PlaybackState

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def encode(message: dict[str, Any]) -> bytes:
    return orjson.dumps(message, option=_OPTIONS)


def decode(raw: bytes | str) -> dict[str, Any]:
    return orjson.loads(raw)


class MessageBuilder:
    """Messages of one run; every message states the cursor it describes."""

    def __init__(self, run_id: str, data: PlaybackData) -> None:
        self.run_id = run_id
        self.data = data

    def _head(self, kind: str, cursor: int) -> dict[str, Any]:
        return {"type": kind, "run_id": self.run_id, "cursor": cursor, "time": self.data.time_at(cursor)}

    def snapshot(self, cursor: int, state: PlaybackState, speed: float) -> dict[str, Any]:
        position, cash, equity = self.data.account(cursor)
        return {**self._head("snapshot", cursor), "state": state.value, "speed": speed,
                "total_bars": self.data.total_bars, "position": position, "cash": cash, "equity": equity,
                "bar": self.data.bar(cursor), "stats": self.data.stats(cursor)}

    def frame(self, seq: int, previous: int, cursor: int) -> dict[str, Any]:
        """Bars ``previous + 1 .. cursor`` with their equity points and fills."""
        start, stop = previous + 1, cursor + 1
        t = self.data.timeline
        b = t.bars
        times = b.time[start:stop]
        position, cash, _ = self.data.account(cursor)
        return {
            **self._head("frame", cursor), "seq": seq,
            "bars": {"time": times, "open": b.open[start:stop], "high": b.high[start:stop],
                     "low": b.low[start:stop], "close": b.close[start:stop], "volume": b.volume[start:stop]},
            "equity": {"time": times, "equity": t.equity[start:stop], "drawdown": t.drawdown[start:stop]},
            "fills": self.data.fill_rows(start, cursor),
            "position": position, "cash": cash,
        }

    def status(self, cursor: int, state: PlaybackState, speed: float, reason: str) -> dict[str, Any]:
        return {**self._head("status", cursor), "state": state.value, "speed": speed, "reason": reason}

    def end(self, cursor: int) -> dict[str, Any]:
        return {**self._head("end", cursor), "total_bars": self.data.total_bars, "stats": self.data.stats(cursor)}

    def error(self, cursor: int, code: str, message: str, ref: str | None = None) -> dict[str, Any]:
        return {**self._head("error", cursor), "code": code, "message": message, "ref": ref}
