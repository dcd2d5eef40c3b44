"""GET /symbols, /symbols/{symbol} and /bars/daily|hour|minute: shapes, ranges, auth, 404 and 422 cases."""

from __future__ import annotations

import numpy as np
import pytest

from backend.market.aggregate import aggregate
from backend.market.ingest import store_bars
from common.models.bars import AssetClass, BarsResponse, Instrument, SymbolInfo, SymbolsResponse, Timeframe
from tests.backend.market_data import T0, make_minutes
from tests.conftest import ALICE_TOKEN, BOB_TOKEN, SERVICE_TOKEN, auth

ACME = Instrument(symbol="ACME", name="Acme", asset_class=AssetClass.equity, synthetic=False)
DAYS = 3
MINUTES = make_minutes(DAYS * 1440)  # three full UTC days from 2025-01-01


@pytest.fixture
def client(backend_app, backend_client):
    store_bars(backend_app.state.bar_store, ACME, MINUTES)
    return backend_client


def get_bars(client, timeframe: str, token: str = ALICE_TOKEN, **params):
    return client.get(f"/bars/{timeframe}", params=params, headers=auth(token))


def test_symbols_lists_instruments_with_datasets(client):
    response = client.get("/symbols", headers=auth(ALICE_TOKEN))
    assert response.status_code == 200
    body = SymbolsResponse.model_validate(response.json())
    [info] = body.symbols
    assert (info.symbol, info.name, info.asset_class, info.synthetic) == ("ACME", "Acme", AssetClass.equity, False)
    by_tf = {d.timeframe: d for d in info.datasets}
    assert set(by_tf) == set(Timeframe)
    assert by_tf[Timeframe.minute].rows == DAYS * 1440 and by_tf[Timeframe.day].rows == DAYS
    assert by_tf[Timeframe.minute].first_time == T0 and by_tf[Timeframe.minute].data_version == 1


def test_one_symbol_case_insensitive_and_its_version_follows_ingest(client, backend_app):
    response = client.get("/symbols/acme", headers=auth(BOB_TOKEN))
    assert response.status_code == 200
    assert {d.data_version for d in SymbolInfo.model_validate(response.json()).datasets} == {1}
    store_bars(backend_app.state.bar_store, ACME, MINUTES.slice(0, 10))
    info = SymbolInfo.model_validate(client.get("/symbols/ACME", headers=auth(SERVICE_TOKEN)).json())
    assert {d.data_version for d in info.datasets} == {2}


def test_unknown_and_malformed_symbols(client):
    missing = client.get("/symbols/NOPE", headers=auth(ALICE_TOKEN))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    bad = client.get("/symbols/no%20pe", headers=auth(ALICE_TOKEN))
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "symbol"
    assert get_bars(client, "hour", symbol="NOPE").status_code == 404
    bad = get_bars(client, "hour", symbol="$$$")
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "symbol"


@pytest.mark.parametrize("path", ["/symbols", "/symbols/ACME", "/bars/daily?symbol=ACME",
                                  "/bars/hour?symbol=ACME", "/bars/minute?symbol=ACME"])
def test_a_valid_bearer_token_is_required(client, path):
    for headers in ({}, auth("hw_not_a_token"), {"Authorization": f"Basic {ALICE_TOKEN}"}):
        response = client.get(path, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert ALICE_TOKEN not in response.text


def test_minute_bars_full_range_columnar(client):
    response = get_bars(client, "minute", symbol="ACME")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = BarsResponse.model_validate(response.json())
    assert (body.symbol, body.timeframe, body.data_version, body.count) == ("ACME", Timeframe.minute, 1, 4320)
    assert body.time == MINUTES.time.tolist()
    for name in ("open", "high", "low", "close", "volume"):
        assert getattr(body, name) == getattr(MINUTES, name).tolist()


@pytest.mark.parametrize(("timeframe", "width", "tf"), [("hour", 3600, Timeframe.hour),
                                                         ("daily", 86400, Timeframe.day)])
def test_aggregated_bars(client, timeframe, width, tf):
    body = BarsResponse.model_validate(get_bars(client, timeframe, symbol="ACME").json())
    expected = aggregate(MINUTES, width)
    assert body.timeframe is tf and body.count == len(expected)
    assert body.time == expected.time.tolist() and body.high == expected.high.tolist()
    assert body.volume == pytest.approx(expected.volume.tolist())


@pytest.mark.parametrize(("params", "first", "last"), [
    ({"from": str(T0 + 3600), "to": str(T0 + 7200)}, T0 + 3600, T0 + 7200),
    ({"from": "2025-01-02"}, T0 + 86400, T0 + 3 * 86400 - 60),
    ({"to": "2025-01-01"}, T0, T0 + 86400 - 60),  # a bare date as `to` means through the end of that day
    ({"from": "2025-01-01T10:00:00Z", "to": "2025-01-01T12:00:00+01:00"}, T0 + 36000, T0 + 39600),
    ({"from": "2025-01-01T10:00:00", "to": "2025-01-01T10:00:30"}, T0 + 36000, T0 + 36000),
])
def test_range_parameters(client, params, first, last):
    body = get_bars(client, "minute", symbol="ACME", **params).json()
    assert (body["time"][0], body["time"][-1]) == (first, last)
    assert body["count"] == (last - first) // 60 + 1


def test_a_range_without_bars_is_empty_not_an_error(client):
    body = get_bars(client, "hour", symbol="ACME", **{"from": "2030-01-01"}).json()
    assert body["count"] == 0 and body["time"] == [] and body["close"] == []


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "yesterday"}, "from"),
    ({"to": "2025-02-30"}, "to"),
    ({"from": "99999999999999"}, "from"),
    ({"from": "2025-01-03", "to": "2025-01-02"}, "from"),
    ({"to": ""}, "to"),
])
def test_bad_range_parameters_are_422_naming_the_parameter(client, params, field):
    for timeframe in ("daily", "minute"):
        response = get_bars(client, timeframe, symbol="ACME", **params)
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "invalid_input" and error["details"][0]["field"] == field
        assert error["correlation_id"]


def test_missing_symbol_parameter_is_422(client):
    response = client.get("/bars/hour", headers=auth(ALICE_TOKEN))
    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "symbol"


def test_minute_range_cap(client, backend_app):
    backend_app.state.settings.minute_range_cap_days = 1
    too_long = get_bars(client, "minute", symbol="ACME", **{"from": "2025-01-01"})
    assert too_long.status_code == 422
    assert too_long.json()["error"]["details"][0]["field"] == "from"
    assert "at most 1 days" in too_long.json()["error"]["message"]
    named_to = get_bars(client, "minute", symbol="ACME", to="2025-01-03")
    assert named_to.status_code == 422 and named_to.json()["error"]["details"][0]["field"] == "to"
    # The cap counts the data the range can return: a wide request over one day of data is fine.
    one_day = get_bars(client, "minute", symbol="ACME", **{"from": "2025-01-03", "to": "2030-01-01"})
    assert one_day.status_code == 200 and one_day.json()["count"] == 1440
    assert get_bars(client, "hour", symbol="ACME").status_code == 200  # other timeframes are not capped


def test_openapi_documents_the_bars_shape(client):
    schema = client.get("/openapi.json").json()
    minute = schema["paths"]["/bars/minute"]["get"]
    assert minute["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("BarsResponse")
    assert {p["name"] for p in minute["parameters"]} >= {"symbol", "from", "to"}
    assert "/symbols/{symbol}" in schema["paths"]


def test_health_needs_no_token(client):
    assert client.get("/health").json() == {"status": "ok"}


def test_values_survive_json_exactly(client, backend_app):
    odd = make_minutes(5, start=T0, seed=11)
    odd.close[:] = np.clip(np.array([0.1, 1e-9, 123456.789, 1 / 3, 2.5]), odd.low, odd.high)
    odd.open[:] = odd.close
    store_bars(backend_app.state.bar_store, Instrument(symbol="ODD", name="Odd", asset_class=AssetClass.other,
                                                        synthetic=False), odd)
    body = get_bars(client, "minute", symbol="odd").json()
    assert body["close"] == odd.close.tolist()


@pytest.mark.parametrize("bucket", [7, 60, 1440])
def test_minute_bars_aggregated_by_the_backend_match_an_aggregate_of_the_raw_minutes(client, bucket):
    raw = get_bars(client, "minute", symbol="ACME").json()
    body = get_bars(client, "minute", symbol="ACME", bucket_minutes=bucket).json()
    assert body["source_count"] == raw["count"] == DAYS * 1440 and body["bucket_seconds"] == bucket * 60
    # An independent per-bucket computation over the raw bars the API returned.
    buckets: dict[int, list[int]] = {}
    for i, t in enumerate(raw["time"]):
        buckets.setdefault(t - t % (bucket * 60), []).append(i)
    assert body["time"] == sorted(buckets) and body["count"] == len(buckets)
    for k, t in enumerate(body["time"]):
        rows = buckets[t]
        assert body["open"][k] == raw["open"][rows[0]] and body["close"][k] == raw["close"][rows[-1]]
        assert body["high"][k] == max(raw["high"][i] for i in rows)
        assert body["low"][k] == min(raw["low"][i] for i in rows)
        assert body["volume"][k] == pytest.approx(sum(raw["volume"][i] for i in rows))


def test_bucket_width_is_validated_and_widens_the_minute_cap(client, backend_app):
    response = get_bars(client, "minute", symbol="ACME", bucket_minutes=0)
    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "bucket_minutes"
    assert get_bars(client, "minute", symbol="ACME", bucket_minutes="wide").status_code == 422
    backend_app.state.settings.minute_range_cap_days = 1
    assert get_bars(client, "minute", symbol="ACME").status_code == 422
    assert get_bars(client, "minute", symbol="ACME", bucket_minutes=2).status_code == 422  # 3 days > 1 day x 2
    assert get_bars(client, "minute", symbol="ACME", bucket_minutes=3).status_code == 200


def test_a_symbol_loaded_as_hourly_bars_serves_hours_and_days_and_names_them_for_minutes(client, backend_app):
    hourly = Instrument(symbol="HOURLY", name="Hourly", asset_class=AssetClass.fx, synthetic=False)
    hours = aggregate(MINUTES, 3600)
    store_bars(backend_app.state.bar_store, hourly, hours, Timeframe.hour)
    body = get_bars(client, "hour", symbol="hourly").json()
    assert (body["count"], body["bucket_seconds"], body["time"]) == (DAYS * 24, 3600, hours.time.tolist())
    assert get_bars(client, "daily", symbol="hourly").json()["count"] == DAYS
    minute = get_bars(client, "minute", symbol="hourly")
    assert minute.status_code == 404
    assert minute.json()["error"]["message"] == ("HOURLY has no minute bars: its data was loaded as hour bars, the "
                                                 "finest available (timeframes: hour, day)")
    info = SymbolInfo.model_validate(client.get("/symbols/HOURLY", headers=auth(ALICE_TOKEN)).json())
    assert sorted(d.timeframe for d in info.datasets) == [Timeframe.day, Timeframe.hour]

    run = client.post("/backtests", json={"symbol": "HOURLY", "strategy": "buy_and_hold", "timeframe": "minute"},
                      headers=auth(ALICE_TOKEN))
    assert run.status_code == 422
    detail = run.json()["error"]["details"][0]
    assert detail["field"] == "timeframe" and "loaded as hour bars" in detail["reason"]
    assert client.post("/backtests", json={"symbol": "HOURLY", "strategy": "buy_and_hold", "timeframe": "hour"},
                       headers=auth(ALICE_TOKEN)).status_code == 202
