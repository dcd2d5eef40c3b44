"""Splicing backend bars into browser JSON without decoding the columns."""

from __future__ import annotations

import orjson
import pytest

from api.views.transform import encode_chart, loads_object, split_bars
from common.errors import UpstreamError


def bars_body(**overrides) -> bytes:
    body = {"symbol": "X", "timeframe": "minute", "data_version": 3, "count": 2, "source_count": 5,
            "bucket_seconds": 120, "time": [60, 180], "open": [1, 2.5], "high": [2, 3], "low": [0.5, 2],
            "close": [1.5, 2.75], "volume": [10, 0]}
    body.update(overrides)
    return orjson.dumps({k: v for k, v in body.items() if v is not ...})


def test_split_reads_the_metadata_and_keeps_the_columns_as_sent():
    bars = split_bars(bars_body())
    assert bars.meta == {"symbol": "X", "timeframe": "minute", "data_version": 3, "count": 2, "source_count": 5,
                         "bucket_seconds": 120}
    assert bars.count == 2 and bars.columns_json.startswith(b'"time":[60,180]')
    assert bars.columns_json.endswith(b'"volume":[10,0]')


@pytest.mark.parametrize("content", [
    b"not json", b"[1, 2]", b"{}", bars_body(time=...), bars_body(volume=...), bars_body(source_count=...),
    bars_body(bucket_seconds="60"), bars_body(count=None), b'{"symbol": "X", "time": [1]',
])
def test_malformed_backend_bars_are_upstream_errors(content):
    with pytest.raises(UpstreamError):
        split_bars(content)


def test_encoded_chart_has_our_metadata_and_the_backends_numbers_exactly():
    raw = encode_chart(symbol="X", timeframe="1M_DECIMATED", data_version=3, from_date=None, to_date=120,
                       target_points=500, bars=split_bars(bars_body(close=[1.123456789012345, 2.75])))
    body = orjson.loads(raw)
    assert body["time"] == [60, 180] and body["open"] == [1, 2.5] and body["close"] == [1.123456789012345, 2.75]
    assert body["returned_points"] == 2 and body["source_points"] == 5 and body["bucket_seconds"] == 120
    assert body["to_date"] == 120 and body["from_date"] is None and body["target_points"] == 500
    assert "count" not in body and "source_count" not in body


def test_encode_empty_chart():
    empty = bars_body(count=0, source_count=0, time=[], open=[], high=[], low=[], close=[], volume=[])
    body = orjson.loads(encode_chart(symbol="X", timeframe="1D", data_version=None, from_date=None, to_date=None,
                                     target_points=None, bars=split_bars(empty)))
    assert body["time"] == [] and body["volume"] == [] and body["returned_points"] == 0


def test_loads_object_rejects_non_objects():
    assert loads_object(b'{"a": 1}', "x") == {"a": 1}
    for bad in (b"[]", b"{"):
        with pytest.raises(UpstreamError):
            loads_object(bad, "x")
