"""Chart data through a real api, a real backend over loopback and a real Redis."""

from __future__ import annotations

import gzip
from concurrent.futures import ThreadPoolExecutor

import httpx
import orjson
import pytest

from backend.market.aggregate import aggregate
from common.models.bars import AssetClass, Instrument, Timeframe
from tests.api.conftest import INSTRUMENT, MINUTES, SYMBOL, make_minutes
from tests.conftest import ALICE_TOKEN, auth
from tests.support.servers import free_port

pytestmark = pytest.mark.redis
DECIMATED = {"symbol": SYMBOL, "timeframe": "1M_DECIMATED", "target_points": 500}


def upstream_calls(client: httpx.Client, route: str) -> float:
    text = client.get("/metrics").text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("hewston_api_upstream_duration_seconds_count") and f'route="{route}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_miss_then_hit_with_etag_gzip_and_304(shared_backend, make_api):
    api = make_api(shared_backend.http_url)
    with httpx.Client(base_url=api.http_url, headers=auth(ALICE_TOKEN)) as client:
        miss = client.get("/api/v1/chart-data", params=DECIMATED)
        assert miss.status_code == 200 and miss.headers["x-cache"] == "miss"
        body = miss.json()
        assert body["source_points"] == MINUTES and body["returned_points"] <= 500
        assert body["bucket_seconds"] == 60 * 9 and body["data_version"] == 1
        assert len(body["time"]) == body["returned_points"] == len(body["volume"])
        assert sum(body["volume"]) == pytest.approx(float(make_minutes().volume.sum()))
        hit = client.get("/api/v1/chart-data", params=DECIMATED)
        assert hit.headers["x-cache"] == "hit" and hit.json() == body
        assert hit.headers["etag"] == miss.headers["etag"] and hit.headers["content-encoding"] == "gzip"
        assert upstream_calls(client, "/bars/minute") == 1
        # A client that does not accept gzip gets the same JSON, uncompressed.
        plain = client.get("/api/v1/chart-data", params=DECIMATED, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and orjson.loads(plain.content) == body
        not_modified = client.get("/api/v1/chart-data", params=DECIMATED,
                                  headers={"If-None-Match": hit.headers["etag"]})
        assert not_modified.status_code == 304 and not_modified.content == b""
        # Raw bytes on the wire really are gzip.
        with client.stream("GET", "/api/v1/chart-data", params=DECIMATED) as streamed:
            raw = b"".join(streamed.iter_raw())
        assert orjson.loads(gzip.decompress(raw)) == body


@pytest.mark.parametrize(("timeframe", "rows", "bucket"), [("1D", 3, 86400), ("1H", 72, 3600), ("1M", MINUTES, 60)])
def test_plain_timeframes_map_to_backend_bars(shared_backend, make_api, timeframe, rows, bucket):
    api = make_api(shared_backend.http_url)
    response = httpx.get(f"{api.http_url}/api/v1/chart-data", params={"symbol": SYMBOL, "timeframe": timeframe},
                         headers=auth(ALICE_TOKEN))
    body = response.json()
    assert response.status_code == 200 and body["returned_points"] == rows and body["bucket_seconds"] == bucket


def test_date_range_and_target_larger_than_source(shared_backend, make_api):
    api = make_api(shared_backend.http_url)
    params = {"symbol": SYMBOL, "timeframe": "1M_DECIMATED", "from_date": "2024-01-02", "to_date": "2024-01-02",
              "target_points": 100_000}
    body = httpx.get(f"{api.http_url}/api/v1/chart-data", params=params, headers=auth(ALICE_TOKEN)).json()
    assert body["source_points"] == body["returned_points"] == 1440 and body["bucket_seconds"] == 60
    assert body["time"][0] == 1_704_153_600 and body["to_date"] == 1_704_239_999


def test_empty_range(shared_backend, make_api):
    api = make_api(shared_backend.http_url)
    params = {**DECIMATED, "from_date": "2030-01-01", "to_date": "2030-01-02"}
    body = httpx.get(f"{api.http_url}/api/v1/chart-data", params=params, headers=auth(ALICE_TOKEN)).json()
    assert body["source_points"] == 0 and body["time"] == []


@pytest.mark.parametrize(("params", "field"), [
    ({"timeframe": "1M"}, "symbol"),
    ({"symbol": SYMBOL, "timeframe": "5M"}, "timeframe"),
    ({"symbol": SYMBOL, "timeframe": "1M_DECIMATED", "target_points": 1}, "target_points"),
    ({"symbol": SYMBOL, "timeframe": "1M_DECIMATED", "target_points": 100_001}, "target_points"),
    ({"symbol": SYMBOL, "timeframe": "1M_DECIMATED", "target_points": "many"}, "target_points"),
    ({"symbol": SYMBOL, "timeframe": "1D", "from_date": "yesterday"}, "from_date"),
    ({"symbol": SYMBOL, "timeframe": "1D", "from_date": "2024-02-01", "to_date": "2024-01-01"}, "to_date"),
    ({"symbol": SYMBOL, "timeframe": "1D", "to_date": "99999999999999"}, "to_date"),
    ({"symbol": "../etc", "timeframe": "1D"}, "symbol"),
])
def test_bad_parameters_get_422_naming_the_parameter(shared_backend, make_api, params, field):
    api = make_api(shared_backend.http_url)
    response = httpx.get(f"{api.http_url}/api/v1/chart-data", params=params, headers=auth(ALICE_TOKEN))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input" and field in [d["field"] for d in error["details"]]


def test_auth_and_unknown_symbol_come_from_the_backend(shared_backend, make_api):
    api = make_api(shared_backend.http_url)
    url = f"{api.http_url}/api/v1/chart-data"
    assert httpx.get(url, params=DECIMATED).status_code == 401
    assert httpx.get(url, params=DECIMATED, headers=auth("hw_wrong")).status_code == 401
    missing = httpx.get(url, params={**DECIMATED, "symbol": "NOPE"}, headers=auth(ALICE_TOKEN))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    # A cached answer is never served to a caller the backend refuses.
    assert httpx.get(url, params=DECIMATED, headers=auth(ALICE_TOKEN)).status_code == 200
    assert httpx.get(url, params=DECIMATED, headers=auth("hw_wrong")).status_code == 401


def test_an_hourly_symbol_serves_1h_and_1d_and_says_finer_timeframes_are_not_available(market_backend, make_api,
                                                                                        backend_app):
    hours = aggregate(make_minutes(), 3600)
    backend_app.state.bar_store.write_bars(
        Instrument(symbol="HOURLY", name="Hourly", asset_class=AssetClass.fx, synthetic=False), hours, Timeframe.hour)
    api = make_api(market_backend.http_url)
    url = f"{api.http_url}/api/v1/chart-data"
    body = httpx.get(url, params={"symbol": "HOURLY", "timeframe": "1H"}, headers=auth(ALICE_TOKEN)).json()
    assert (body["source_points"], body["bucket_seconds"], body["time"]) == (72, 3600, hours.time.tolist())
    assert httpx.get(url, params={"symbol": "HOURLY", "timeframe": "1D"}, headers=auth(ALICE_TOKEN)).json()[
        "source_points"] == 3
    for finer in ("1M", "1M_DECIMATED"):
        response = httpx.get(url, params={"symbol": "HOURLY", "timeframe": finer}, headers=auth(ALICE_TOKEN))
        assert response.status_code == 404
        assert response.json()["error"]["message"] == (f"{finer} is not available for HOURLY: it has no minute "
                                                       "bars (available: 1D, 1H)")


def test_new_data_version_misses_the_cache(market_backend, make_api, backend_app):
    api = make_api(market_backend.http_url, access_cache_ttl_s=0.001)
    url = f"{api.http_url}/api/v1/chart-data"
    first = httpx.get(url, params=DECIMATED, headers=auth(ALICE_TOKEN))
    backend_app.state.bar_store.write_minutes(INSTRUMENT, make_minutes(seed=99))
    second = httpx.get(url, params=DECIMATED, headers=auth(ALICE_TOKEN))
    assert second.headers["x-cache"] == "miss" and second.json()["data_version"] == 2
    assert second.headers["etag"] != first.headers["etag"]


def test_concurrent_misses_on_two_nodes_make_one_backend_call(shared_backend, make_api):
    node_a = make_api(shared_backend.http_url)
    node_b = make_api(shared_backend.http_url, prefix=node_a.app_settings.redis_key_prefix)
    urls = [f"{(node_a, node_b)[i % 2].http_url}/api/v1/chart-data" for i in range(12)]
    params = {**DECIMATED, "target_points": 321}
    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(lambda u: httpx.get(u, params=params, headers=auth(ALICE_TOKEN)), urls))
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    outcomes = [r.headers["x-cache"] for r in responses]
    assert outcomes.count("miss") == 1
    with httpx.Client(base_url=node_a.http_url) as a, httpx.Client(base_url=node_b.http_url) as b:
        assert upstream_calls(a, "/bars/minute") + upstream_calls(b, "/bars/minute") == 1


def test_redis_down_serves_uncached_and_ready_says_degraded(shared_backend, make_api):
    api = make_api(shared_backend.http_url, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with httpx.Client(base_url=api.http_url, headers=auth(ALICE_TOKEN)) as client:
        for _ in range(2):
            response = client.get("/api/v1/chart-data", params=DECIMATED)
            assert response.status_code == 200 and response.headers["x-cache"] == "bypass"
        ready = client.get("/ready")
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded" and ready.json()["redis"]["state"] == "down"
        assert ready.json()["backend"]["state"] == "ok"


def test_backend_down_is_503_with_correlation_id(make_api):
    api = make_api(f"http://127.0.0.1:{free_port()}")
    response = httpx.get(f"{api.http_url}/api/v1/chart-data", params=DECIMATED,
                         headers={**auth(ALICE_TOKEN), "X-Request-ID": "trace-me-42"})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "service_unavailable" and error["correlation_id"] == "trace-me-42"
    assert response.headers["x-request-id"] == "trace-me-42"
    ready = httpx.get(f"{api.http_url}/ready").json()
    assert ready["status"] == "degraded" and ready["backend"]["state"] == "down"


def test_a_tiny_target_over_the_whole_range_still_aggregates(shared_backend, make_api):
    api = make_api(shared_backend.http_url)
    response = httpx.get(f"{api.http_url}/api/v1/chart-data", headers=auth(ALICE_TOKEN),
                         params={**DECIMATED, "target_points": 2})
    body = response.json()
    assert response.status_code == 200 and 1 <= body["returned_points"] <= 2
    assert body["source_points"] == MINUTES and sum(body["volume"]) == pytest.approx(
        float(make_minutes().volume.sum()))


def metric(client: httpx.Client, name: str, label: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + "{") and label in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_access_log_counts_backend_calls_per_request_and_cached_bytes_served(shared_backend, make_api):
    api = make_api(shared_backend.http_url)
    params = {**DECIMATED, "target_points": 123}
    with httpx.Client(base_url=api.http_url, headers=auth(ALICE_TOKEN)) as client:
        assert client.get("/api/v1/chart-data", params=params).headers["x-cache"] == "miss"
        hit = client.get("/api/v1/chart-data", params=params, headers={"Accept-Encoding": "gzip"})
        assert hit.headers["x-cache"] == "hit"
        route = 'route="/api/v1/chart-data"'
        assert metric(client, "hewston_api_upstream_calls_count", route) == 2
        # The miss asked for the symbol and the bars; the hit asked at most for the symbol again.
        assert 2 <= metric(client, "hewston_api_upstream_calls_sum", route) <= 3
        assert metric(client, "hewston_api_cache_served_bytes_total", 'cache="chart"') == int(
            hit.headers["content-length"])
