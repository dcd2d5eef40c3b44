"""Parsing backend JSON into numpy and encoding browser JSON straight from numpy."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from api.transform import Candles, encode_chart, loads_object, parse_bars
from common.errors import UpstreamError


def bars_body(**overrides) -> bytes:
    body = {"symbol": "X", "timeframe": "minute", "data_version": 3, "count": 2, "source_count": 2,
            "bucket_seconds": 60, "time": [60, 120],
            "open": [1, 2.5], "high": [2, 3], "low": [0.5, 2], "close": [1.5, 2.75], "volume": [10, 0]}
    body.update(overrides)
    return orjson.dumps(body)


def test_parse_bars_gives_typed_arrays_and_metadata():
    meta, candles = parse_bars(bars_body())
    assert meta == {"symbol": "X", "timeframe": "minute", "data_version": 3, "source_count": 2,
                    "bucket_seconds": 60}
    assert candles.time.dtype == np.int64 and candles.open.dtype == np.float64
    assert candles.close.tolist() == [1.5, 2.75] and len(candles) == 2


@pytest.mark.parametrize("content", [
    b"not json", b"[1, 2]", bars_body(time=None), bars_body(open=["a", "b"]), bars_body(volume=[1]),
    bars_body(source_count=None), bars_body(bucket_seconds="60"),
])
def test_malformed_backend_bars_are_upstream_errors(content):
    with pytest.raises(UpstreamError):
        parse_bars(content)


def test_encode_chart_round_trips_numbers_exactly():
    _, candles = parse_bars(bars_body())
    raw = encode_chart(symbol="X", timeframe="1M", data_version=3, from_date=None, to_date=120,
                       target_points=None, source_points=2, bucket_seconds=60, candles=candles)
    body = orjson.loads(raw)
    assert body["time"] == [60, 120] and body["open"] == [1.0, 2.5] and body["returned_points"] == 2
    assert body["to_date"] == 120 and body["bucket_seconds"] == 60 and body["source_points"] == 2


def test_encode_empty_chart():
    raw = encode_chart(symbol="X", timeframe="1D", data_version=None, from_date=None, to_date=None,
                       target_points=None, source_points=0, bucket_seconds=86400, candles=Candles.empty())
    assert orjson.loads(raw)["time"] == [] and orjson.loads(raw)["returned_points"] == 0


def test_loads_object_rejects_non_objects():
    assert loads_object(b'{"a": 1}', "x") == {"a": 1}
    for bad in (b"[]", b"{"):
        with pytest.raises(UpstreamError):
            loads_object(bad, "x")
