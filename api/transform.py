"""Backend JSON in, browser JSON out: columnar arrays parsed into numpy and encoded straight from numpy.

orjson encodes numpy arrays natively (``OPT_SERIALIZE_NUMPY``), so no Python list of floats is ever built on
the way out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from common.errors import UpstreamError

_NUMPY = orjson.OPT_SERIALIZE_NUMPY
PRICE_FIELDS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class Candles:
    """OHLCV bars as parallel arrays; ``time`` is each bar's open time in epoch seconds UTC."""

    time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return int(self.time.shape[0])

    @classmethod
    def empty(cls) -> Candles:
        return cls(np.empty(0, np.int64), *(np.empty(0, np.float64) for _ in PRICE_FIELDS))


def _column(body: dict[str, Any], name: str, dtype: type) -> np.ndarray:
    values = body.get(name)
    if not isinstance(values, list):
        raise UpstreamError(f"the backend sent bars without a '{name}' column")
    try:
        return np.asarray(values, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise UpstreamError(f"the backend sent a malformed '{name}' column") from exc


def parse_bars(content: bytes) -> tuple[dict[str, Any], Candles]:
    """Parse a backend bars response into (metadata, candles); a malformed answer is an upstream error."""
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise UpstreamError("the backend sent bars that are not JSON") from exc
    if not isinstance(body, dict):
        raise UpstreamError("the backend sent bars in an unexpected shape")
    candles = Candles(_column(body, "time", np.int64), *(_column(body, f, np.float64) for f in PRICE_FIELDS))
    if len({c.shape[0] for c in (candles.time, candles.open, candles.high, candles.low, candles.close,
                                candles.volume)}) != 1:
        raise UpstreamError("the backend sent bar columns of different lengths")
    meta = {k: body.get(k) for k in ("symbol", "timeframe", "data_version")}
    for name in ("source_count", "bucket_seconds"):
        if not isinstance(body.get(name), int):
            raise UpstreamError(f"the backend sent bars without '{name}'")
        meta[name] = body[name]
    return meta, candles


def encode_chart(*, symbol: str, timeframe: str, data_version: int | None, from_date: int | None,
                 to_date: int | None, target_points: int | None, source_points: int, bucket_seconds: int,
                 candles: Candles) -> bytes:
    return orjson.dumps({
        "symbol": symbol,
        "timeframe": timeframe,
        "data_version": data_version,
        "from_date": from_date,
        "to_date": to_date,
        "target_points": target_points,
        "source_points": source_points,
        "returned_points": len(candles),
        "bucket_seconds": bucket_seconds,
        "time": candles.time,
        "open": candles.open,
        "high": candles.high,
        "low": candles.low,
        "close": candles.close,
        "volume": candles.volume,
    }, option=_NUMPY)


def loads_object(content: bytes, what: str) -> dict[str, Any]:
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise UpstreamError(f"the backend sent {what} that is not JSON") from exc
    if not isinstance(body, dict):
        raise UpstreamError(f"the backend sent {what} in an unexpected shape")
    return body
