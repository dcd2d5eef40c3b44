"""Rate limit, size limits, CORS, correlation ids, access log and /metrics on a real api."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import SYMBOL
from tests.conftest import ALICE_TOKEN, auth

pytestmark = pytest.mark.redis


def test_body_and_query_limits(shared_backend, make_api):
    api = make_api(shared_backend.http_url, max_body_bytes=100, max_query_bytes=50)
    with httpx.Client(base_url=api.http_url, headers=auth(ALICE_TOKEN)) as client:
        too_big = client.post("/api/v1/backtests", content=b"x" * 101, headers={"Content-Type": "application/json"})
        assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "payload_too_large"

        def chunks():
            yield b"x" * 80
            yield b"x" * 80

        chunked = client.post("/api/v1/backtests", content=chunks(), headers={"Content-Type": "application/json"})
        assert chunked.status_code == 413
        long_query = client.get("/api/v1/chart-data", params={"symbol": SYMBOL, "timeframe": "1D", "x": "y" * 60})
        assert long_query.status_code == 414 and long_query.json()["error"]["code"] == "uri_too_long"


def test_cors_from_settings(shared_backend, make_api):
    api = make_api(shared_backend.http_url, cors_origins=["https://app.example"])
    preflight = httpx.options(f"{api.http_url}/api/v1/chart-data", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "Authorization"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    other = httpx.get(f"{api.http_url}/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_access_log_names_route_user_and_cache_but_never_the_token(shared_backend, make_api, capsys):
    api = make_api(shared_backend.http_url)
    params = {"symbol": SYMBOL, "timeframe": "1M_DECIMATED", "target_points": 50}
    httpx.get(f"{api.http_url}/api/v1/chart-data", params=params, headers=auth(ALICE_TOKEN))
    httpx.get(f"{api.http_url}/api/v1/chart-data", params=params, headers=auth(ALICE_TOKEN))
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "/api/v1/chart-data" in line and "request" in line]
    assert len(lines) >= 2
    assert all("alice" in line for line in lines[-2:])
    assert "miss" in lines[-2] and "hit" in lines[-1] and "status" in lines[-1]
    assert ALICE_TOKEN not in err


def test_metrics_expose_requests_cache_and_upstream(shared_backend, make_api):
    api = make_api(shared_backend.http_url)
    params = {"symbol": SYMBOL, "timeframe": "1D"}
    for _ in range(2):
        httpx.get(f"{api.http_url}/api/v1/chart-data", params=params, headers=auth(ALICE_TOKEN))
    text = httpx.get(f"{api.http_url}/metrics").text
    assert 'hewston_api_request_duration_seconds_count{method="GET",route="/api/v1/chart-data",status="200"} 2.0' \
        in text
    assert 'hewston_api_cache_total{cache="chart",outcome="hit"} 1.0' in text
    assert 'hewston_api_cache_total{cache="chart",outcome="miss"} 1.0' in text
    assert 'hewston_api_upstream_duration_seconds_count{method="GET",route="/bars/daily",status="200"} 1.0' in text


def test_ready_ok_with_both_and_unavailable_with_neither(shared_backend, make_api):
    from tests.support.servers import free_port

    ok = httpx.get(f"{make_api(shared_backend.http_url).http_url}/ready")
    assert ok.status_code == 200 and ok.json()["status"] == "ok"
    dead = make_api(f"http://127.0.0.1:{free_port()}", redis_url=f"redis://127.0.0.1:{free_port()}/0")
    down = httpx.get(f"{dead.http_url}/ready")
    assert down.status_code == 503 and down.json()["status"] == "unavailable"
    assert httpx.get(f"{dead.http_url}/health").json() == {"status": "ok"}
