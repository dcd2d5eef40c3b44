"""Backend JSON in, browser JSON out, without decoding the large parts.

The backend already encodes bars columnar (``"time":[...],"open":[...],...``) with orjson straight from numpy.
The api reads only the small metadata in front of the columns and splices the columns' bytes into its own
response, so a chart of 10,000 candles costs no decode and no encode of 60,000 numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from common.errors import UpstreamError

COLUMNS = ("time", "open", "high", "low", "close", "volume")
_FIRST_COLUMN = b'"time":['
_METADATA = ("symbol", "timeframe", "data_version", "count", "source_count", "bucket_seconds")
_COUNTS = ("data_version", "count", "source_count", "bucket_seconds")


@dataclass(frozen=True)
class BarColumns:
    """A backend bars answer: its metadata, and the JSON text of its columns (``"time":[...],...``)."""

    meta: dict[str, Any]
    columns_json: bytes

    @property
    def count(self) -> int:
        return int(self.meta["count"])


def split_bars(content: bytes) -> BarColumns:
    """Split a backend bars response; anything that is not the documented shape is an upstream error.

    The backend writes the scalar metadata first and the columns last, ``time`` first among them; symbols
    cannot contain quotes, so the first ``"time":[`` is the start of the columns.
    """
    body = content.strip()
    start = body.find(_FIRST_COLUMN)
    if not body.startswith(b"{") or not body.endswith(b"]}") or start < 0:
        raise UpstreamError("the backend sent bars in an unexpected shape")
    try:
        meta = orjson.loads(body[:start].rstrip().rstrip(b",") + b"}")
    except orjson.JSONDecodeError as exc:
        raise UpstreamError("the backend sent bars that are not JSON") from exc
    if not isinstance(meta, dict) or any(not isinstance(meta.get(k), int) for k in _COUNTS):
        raise UpstreamError("the backend sent bars without their counts")
    columns_json = body[start:-1]
    if any(f'"{name}":['.encode() not in columns_json for name in COLUMNS[1:]):
        raise UpstreamError("the backend sent bars without every column")
    return BarColumns({k: meta.get(k) for k in _METADATA}, columns_json)


def encode_chart(*, symbol: str, timeframe: str, data_version: int | None, from_date: int | None,
                 to_date: int | None, target_points: int | None, bars: BarColumns) -> bytes:
    head = orjson.dumps({
        "symbol": symbol,
        "timeframe": timeframe,
        "data_version": data_version,
        "from_date": from_date,
        "to_date": to_date,
        "target_points": target_points,
        "source_points": bars.meta["source_count"],
        "returned_points": bars.count,
        "bucket_seconds": bars.meta["bucket_seconds"],
    })
    return head[:-1] + b"," + bars.columns_json + b"}"


def loads_object(content: bytes, what: str) -> dict[str, Any]:
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise UpstreamError(f"the backend sent {what} that is not JSON") from exc
    if not isinstance(body, dict):
        raise UpstreamError(f"the backend sent {what} in an unexpected shape")
    return body
