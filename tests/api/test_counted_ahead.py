"""Requests counted ahead: a passthrough call of a client far from its limits skips the rate limit's round trip,
and a cache hit's round trip carries only its reads, yet every request is counted in Redis before it is served
and the limit refuses exactly where it did."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from api.counted_ahead import CountedAhead
from bench.processes import RedisServer
from common.credentials import credential_hash
from common.keys import KeySpace
from tests.api.test_read_ahead_api import redis_calls
from tests.conftest import ALICE_TOKEN, auth
from tests.support.rate_windows import start_in_fresh_window
from tests.support.redis_keys import sync_client
from tests.support.redis_servers import require_redis_server


def test_a_lease_is_spent_only_when_every_subject_has_one_in_this_window() -> None:
    leases = CountedAhead(reserve=2)
    leases.grant("a:1", 7, 2)
    assert not leases.take(["a:1", "t:x"], 7)  # the credential has none: nothing is spent
    leases.grant("t:x", 7, 1)
    assert leases.take(["a:1", "t:x"], 7)
    assert not leases.take(["a:1", "t:x"], 7)  # the credential's single request is spent
    assert leases.take(["a:1"], 7) and not leases.take(["a:1"], 7)
    leases.grant("a:1", 7, 3)
    assert not leases.take(["a:1"], 8)  # a lease belongs to its window
    leases.grant("a:1", 8, 0)  # nothing counted ahead: the old lease stays, and is still not this window's
    assert not leases.take(["a:1"], 8)


def test_leases_are_bounded() -> None:
    leases = CountedAhead(reserve=1, max_subjects=3)
    for i in range(5):
        leases.grant(f"a:{i}", 1, 1)
    assert len(leases) == 3 and not leases.take(["a:0"], 1) and leases.take(["a:4"], 1)


def _scripts_run(api) -> int:
    """How many Lua scripts the api's Redis server has run so far (the rate limit counts with one per budget)."""
    stats = sync_client(api.app_settings.redis_url).info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("evalsha", "eval"))


def _counter(api, window_s: int) -> int:
    keys = KeySpace(api.app_settings.redis_key_prefix)
    key = keys.rate_limit(f"t:{credential_hash(f'Bearer {ALICE_TOKEN}'.encode())}", int(time.time() // window_s))
    value = sync_client(api.app_settings.redis_url).get(key)
    return int(value or 0)


@contextmanager
def _alice(backend_url: str, make_api, *, limit: int, count_ahead: int) -> Iterator[tuple[object, httpx.Client, list]]:
    """An api with Alice's budget ``limit`` (and a large address budget), at the start of a fresh window: the api,
    Alice's client and the list of Redis calls its request path makes from now on."""
    api = make_api(backend_url, rate_limit_requests=limit, rate_limit_address_requests=1000,
                   rate_limit_window_s=30, rate_limit_count_ahead=count_ahead)
    start_in_fresh_window(30)
    with httpx.Client(base_url=api.http_url, headers=auth(ALICE_TOKEN)) as client:
        yield api, client, redis_calls(api)


@pytest.mark.redis
def test_passthrough_calls_spend_requests_counted_ahead(shared_backend, make_api):
    with _alice(shared_backend.http_url, make_api, limit=100, count_ahead=4) as (api, client, calls):
        assert client.get("/api/v1/symbols").status_code == 200
        assert len(calls) == 1 and _counter(api, 30) == 5  # this request and the four counted ahead
        for _ in range(4):
            assert client.get("/api/v1/symbols").status_code == 200
        assert len(calls) == 1 and _counter(api, 30) == 5  # served on the lease: no round trip, no new count
        assert client.get("/api/v1/symbols").status_code == 200
        assert len(calls) == 2 and _counter(api, 30) == 10


@pytest.mark.redis
def test_the_limit_refuses_exactly_where_it_did(shared_backend, make_api):
    with _alice(shared_backend.http_url, make_api, limit=20, count_ahead=4) as (api, client, calls):
        codes = [client.get("/api/v1/symbols").status_code for _ in range(22)]
        # Leases only while half the budget is left, lease included: requests 2-5 and 7-10 made no round trip.
        assert len(calls) == 22 - 8
        assert _counter(api, 30) == 22
    assert codes == [200] * 20 + [429, 429]


@pytest.mark.redis
def test_nothing_is_counted_ahead_when_turned_off(shared_backend, make_api):
    with _alice(shared_backend.http_url, make_api, limit=100, count_ahead=0) as (api, client, calls):
        for _ in range(3):
            assert client.get("/api/v1/symbols").status_code == 200
        assert len(calls) == 3 and _counter(api, 30) == 3


@pytest.mark.redis
def test_a_cache_hit_on_a_lease_only_reads(shared_backend, make_api):
    chart = {"symbol": "TEST", "timeframe": "1M_DECIMATED", "target_points": 500}
    with _alice(shared_backend.http_url, make_api, limit=100, count_ahead=8) as (api, client, calls):
        for _ in range(3):  # counted with eight ahead; a miss, then hits that learn what the request reads
            assert client.get("/api/v1/chart-data", params=chart).status_code == 200
        calls.clear()
        scripts = _scripts_run(api)
        for _ in range(6):  # the rest of the lease
            hit = client.get("/api/v1/chart-data", params=chart)
            assert hit.status_code == 200 and hit.headers["x-cache"] == "hit"
        # One round trip per hit, as before, but no counting script in it and nothing more counted.
        assert len(calls) == 6 and _scripts_run(api) == scripts and _counter(api, 30) == 9
        assert client.get("/api/v1/chart-data", params=chart).headers["x-cache"] == "hit"
        assert len(calls) == 7 and _scripts_run(api) > scripts and _counter(api, 30) == 18  # the lease is spent


@pytest.mark.redis
def test_cache_hits_on_leases_are_refused_exactly_where_they_were(shared_backend, make_api):
    chart = {"symbol": "TEST", "timeframe": "1D"}
    with _alice(shared_backend.http_url, make_api, limit=20, count_ahead=4) as (api, client, _calls):
        codes = [client.get("/api/v1/chart-data", params=chart).status_code for _ in range(22)]
        assert _counter(api, 30) == 22
    assert codes == [200] * 20 + [429, 429]


@pytest.mark.redis
def test_a_hit_on_a_lease_is_served_uncached_when_redis_goes_away(shared_backend, make_api, tmp_path):
    require_redis_server("a Redis of the test's own to stop")
    chart = {"symbol": "TEST", "timeframe": "1M_DECIMATED", "target_points": 500}
    with RedisServer(tmp_path / "redis") as server:
        api = make_api(shared_backend.http_url, redis_url=server.url, rate_limit_requests=100,
                       rate_limit_address_requests=1000, rate_limit_window_s=30, rate_limit_count_ahead=8)
        start_in_fresh_window(30)
        with httpx.Client(base_url=api.http_url, headers=auth(ALICE_TOKEN)) as client:
            for _ in range(3):  # counted with eight ahead; a miss, then hits that learn what they read
                assert client.get("/api/v1/chart-data", params=chart).status_code == 200
            server.stop()
            # On the lease, the reads ahead fail: the request is served as any request is without Redis.
            answer = client.get("/api/v1/chart-data", params=chart)
            assert answer.status_code == 200 and answer.headers["x-cache"] == "bypass"
