"""Reading ahead on a real api and Redis: a repeated cache hit asks Redis once (the rate limit's round trip
carries the reads), and nothing read ahead ever stands in for the backend's access decision."""

from __future__ import annotations

import time

import httpx
import pytest

from api import request_info
from tests.conftest import ALICE_TOKEN, BOB_TOKEN, auth
from tests.support.rate_windows import start_in_fresh_window

pytestmark = pytest.mark.redis


def redis_calls(api) -> list[object]:
    """Every Redis operation the api's request path makes from now on (each one round trip); the node's own
    background work (the operations sampler, the stream) is not counted."""
    guard = api.server.config.app.state.redis_guard
    calls: list[object] = []
    run = guard.run

    async def counted(op):
        if request_info.current() is not None:  # inside a request (the access log's notes are current)
            calls.append(op)
        return await run(op)

    guard.run = counted
    return calls


def test_a_repeated_hit_asks_redis_once(shared_backend, make_api, completed_run):
    api = make_api(shared_backend.http_url)
    chart = {"symbol": "TEST", "timeframe": "1M_DECIMATED", "target_points": 500}
    complete = f"/api/v1/runs/{completed_run['id']}/complete"
    with httpx.Client(base_url=api.http_url, headers=auth(ALICE_TOKEN)) as client:
        for _ in range(2):  # a miss, then a hit that learns what the request reads
            client.get("/api/v1/chart-data", params=chart), client.get(complete)
        calls = redis_calls(api)
        hit = client.get("/api/v1/chart-data", params=chart)
        assert hit.status_code == 200 and hit.headers["x-cache"] == "hit" and len(calls) == 1
        calls.clear()
        hit = client.get(complete)
        assert hit.status_code == 200 and hit.json()["metadata"]["cache"] == "hit" and len(calls) == 1
        assert hit.json()["metadata"]["sources"]["run"] == "access_cache"
        # Another caller's identical request reads its own access decision, not the first caller's.
        calls.clear()
        other = client.get(complete, headers=auth(BOB_TOKEN))
        assert other.status_code == 404 and len(calls) > 1


def test_a_hit_read_ahead_is_refused_once_the_backend_withdraws_access(shared_backend, make_api, completed_run):
    api = make_api(shared_backend.http_url, access_cache_ttl_s=0.3)
    run_id = completed_run["id"]
    shares = f"{shared_backend.http_url}/backtests/{run_id}/shares"
    assert httpx.post(shares, json={"user": "bob"}, headers=auth(ALICE_TOKEN)).status_code == 200
    try:
        with httpx.Client(base_url=api.http_url, headers=auth(BOB_TOKEN)) as client:
            for _ in range(3):
                assert client.get(f"/api/v1/runs/{run_id}/complete").status_code == 200
            assert httpx.delete(f"{shares}/bob", headers=auth(ALICE_TOKEN)).status_code == 200
            time.sleep(0.4)  # the cached decision has expired: the next request asks the backend again
            refused = client.get(f"/api/v1/runs/{run_id}/complete")
            assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
    finally:
        httpx.delete(f"{shares}/bob", headers=auth(ALICE_TOKEN))


def test_the_rate_limit_still_refuses_a_request_it_reads_ahead_for(shared_backend, make_api):
    api = make_api(shared_backend.http_url, rate_limit_requests=3, rate_limit_address_requests=100,
                   rate_limit_window_s=30)
    start_in_fresh_window(30)
    chart = {"symbol": "TEST", "timeframe": "1D"}
    with httpx.Client(base_url=api.http_url, headers=auth(ALICE_TOKEN)) as client:
        codes = [client.get("/api/v1/chart-data", params=chart) for _ in range(4)]
    assert [r.status_code for r in codes] == [200, 200, 200, 429]
    assert codes[2].headers["x-cache"] == "hit" and codes[3].json()["error"]["code"] == "rate_limited"
