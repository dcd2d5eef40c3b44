"""Response cache, single flight across two "nodes" and the Redis breaker, over fakeredis and a dead port."""

from __future__ import annotations

import asyncio
import gzip

import fakeredis
import pytest
import redis.asyncio as aioredis

from api.metrics import ApiMetrics
from api.views.cache import Computed, Encoded, ResponseCache, encode, etag_matches
from api.views.pending_stores import PendingStores
from api.views.redis_guard import RedisGuard, RedisUnavailable
from api.views.single_flight import SingleFlight
from common.keys import KeySpace
from common.spliceable_gzip import accepts_gzip
from tests.support.servers import free_port


def guard_for(client, **kw) -> RedisGuard:
    return RedisGuard(client, op_timeout_s=kw.get("timeout", 0.5), retry_after_s=kw.get("retry", 0.2),
                      retry_after_max_s=1.0, metrics=ApiMetrics())


def node(server: fakeredis.FakeServer, keys: KeySpace, wait_s: float = 2.0) -> ResponseCache:
    guard = guard_for(fakeredis.FakeAsyncRedis(server=server))
    return ResponseCache(guard, SingleFlight(guard, keys, PendingStores(max_pending=8, drain_s=1.0), lock_ms=2000,
                                             wait_s=wait_s), gzip_level=3, gzip_min_bytes=64)


def test_encoded_pack_unpack_and_bodies():
    raw = b'{"x": "' + b"a" * 500 + b'"}'
    entry = encode(raw, gzip_level=3, gzip_min_bytes=64)
    assert entry.gzipped and gzip.decompress(entry.payload) == raw
    again = Encoded.unpack(entry.pack())
    assert again == entry and again.raw() == raw
    assert again.body(True) == (entry.payload, "gzip") and again.body(False) == (raw, None)
    small = encode(b"{}", gzip_level=3, gzip_min_bytes=64)
    assert not small.gzipped and small.body(True) == (b"{}", None) and small.raw() == b"{}"
    assert Encoded.unpack(b"junk") is None
    assert entry.etag.startswith('W/"') and entry.digest == encode(raw, gzip_level=0, gzip_min_bytes=1).digest


@pytest.mark.parametrize(("header", "expected"), [
    ("gzip, deflate, br", True), ("br;q=1.0, gzip;q=0.5", True), ("gzip;q=0", False), ("identity", False),
    ("*", True), (None, False), ("", False)])
def test_accepts_gzip(header, expected):
    assert accepts_gzip(header) is expected


def test_etag_matching_is_weak_and_handles_lists():
    assert etag_matches('W/"abc"', 'W/"abc"') and etag_matches('"abc"', 'W/"abc"')
    assert etag_matches('"x", W/"abc"', 'W/"abc"') and etag_matches("*", 'W/"abc"')
    assert not etag_matches('"abd"', 'W/"abc"') and not etag_matches(None, 'W/"abc"')


async def test_hit_after_miss():
    cache = node(fakeredis.FakeServer(), KeySpace("t1"))
    calls = 0

    async def compute() -> Computed:
        nonlocal calls
        calls += 1
        return Computed(b'{"v": 1}')

    first, outcome1 = await cache.get_or_compute("t1:k", 60, compute)
    second, outcome2 = await cache.get_or_compute("t1:k", 60, compute)
    assert (outcome1, outcome2) == ("miss", "hit") and calls == 1 and first == second


async def test_uncacheable_answers_are_not_stored():
    cache = node(fakeredis.FakeServer(), KeySpace("t2"))

    async def compute() -> Computed:
        return Computed(b"{}", cacheable=False)

    _, outcome = await cache.get_or_compute("t2:k", 60, compute)
    assert outcome == "miss" and await cache.get("t2:k") is None


async def test_single_flight_across_nodes_computes_once():
    server, keys = fakeredis.FakeServer(), KeySpace("t3")
    nodes = [node(server, keys), node(server, keys)]
    calls = 0

    async def compute() -> Computed:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.1)
        return Computed(b'{"slow": true}')

    results = await asyncio.gather(*(nodes[i % 2].get_or_compute("t3:k", 60, compute) for i in range(20)))
    assert calls == 1
    assert {entry.raw() for entry, _ in results} == {b'{"slow": true}'}
    outcomes = [o for _, o in results]
    assert outcomes.count("miss") == 1 and outcomes.count("wait_hit") == 19
    # The lock is released once the value is stored.
    await nodes[0].flight.stores.settle()
    await nodes[1].flight.stores.settle()
    assert not await nodes[0].guard.redis.exists(keys.single_flight_lock("t3:k"))


async def test_waiters_compute_themselves_when_the_holder_fails():
    server, keys = fakeredis.FakeServer(), KeySpace("t4")
    a, b = node(server, keys), node(server, keys, wait_s=1.0)
    gate = asyncio.Event()

    async def failing() -> Computed:
        await gate.wait()
        raise RuntimeError("backend fell over")

    async def working() -> Computed:
        return Computed(b"{}")

    holder = asyncio.create_task(a.get_or_compute("t4:k", 60, failing))
    await asyncio.sleep(0.02)
    waiter = asyncio.create_task(b.get_or_compute("t4:k", 60, working))
    await asyncio.sleep(0.02)
    gate.set()
    with pytest.raises(RuntimeError):
        await holder
    entry, outcome = await waiter
    assert outcome == "miss" and entry.raw() == b"{}"


async def test_waiter_gives_up_after_the_bounded_wait():
    server, keys = fakeredis.FakeServer(), KeySpace("t5")
    client = fakeredis.FakeAsyncRedis(server=server)
    await client.set(keys.single_flight_lock("t5:k"), "someone-else", px=10_000)
    cache = node(server, keys, wait_s=0.1)

    async def compute() -> Computed:
        return Computed(b"{}")

    entry, outcome = await cache.get_or_compute("t5:k", 60, compute)
    await cache.flight.stores.settle()
    assert outcome == "miss" and await cache.get("t5:k") == entry


async def test_dead_redis_is_bypassed_and_the_breaker_skips_it():
    dead = aioredis.Redis(host="127.0.0.1", port=free_port(), socket_timeout=0.2, socket_connect_timeout=0.2)
    guard = guard_for(dead, retry=60)
    cache = ResponseCache(guard, SingleFlight(guard, KeySpace("t6"), PendingStores(max_pending=8, drain_s=1.0),
                                              lock_ms=1000, wait_s=1.0), gzip_level=1, gzip_min_bytes=10)
    calls = 0

    async def compute() -> Computed:
        nonlocal calls
        calls += 1
        return Computed(b'{"ok": true}')

    entry, outcome = await cache.get_or_compute("t6:k", 60, compute)
    assert outcome == "bypass" and entry.raw() == b'{"ok": true}' and guard.state == "down"
    errors_after_first = guard.metrics.redis_errors._value.get()
    entry, outcome = await cache.get_or_compute("t6:k", 60, compute)
    assert outcome == "bypass" and calls == 2
    # The open breaker answered without touching the socket.
    assert guard.metrics.redis_errors._value.get() == errors_after_first
    with pytest.raises(RedisUnavailable):
        await guard.run(lambda r: r.get("x"))
    assert (await guard.probe())[0] == "down"
    await dead.aclose()


async def test_breaker_recovers_without_restart():
    server = fakeredis.FakeServer()
    guard = guard_for(fakeredis.FakeAsyncRedis(server=server), retry=0.05)
    server.connected = False
    with pytest.raises(RedisUnavailable):
        await guard.run(lambda r: r.set("k", 1))
    assert guard.state == "down"
    server.connected = True
    await asyncio.sleep(0.06)
    assert await guard.run(lambda r: r.set("k", 1))
    assert guard.state == "ok"
    assert await guard.probe() == ("ok", pytest.approx(0, abs=1000))
