"""A miss answers first and stores its entry after, on a real Redis: waiters on other nodes still get the stored
entry, a failed store is logged and recomputed, shutdown finishes or cancels what is pending, and a miss asks
Redis once before it computes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
import redis.asyncio as aioredis
from structlog.testing import capture_logs

from api.main import create_app
from api.metrics import ApiMetrics
from api.views.cache import Computed, Encoded, ResponseCache
from api.views.pending_stores import PendingStores, answering
from api.views.queries import RunCompleteQuery
from api.views.redis_guard import RedisGuard
from api.views.single_flight import SingleFlight
from common.keys import KeySpace
from tests.api.conftest import SYMBOL, api_settings
from tests.conftest import ALICE_TOKEN, auth
from tests.support.redis_keys import delete_key_space, sync_client

pytestmark = pytest.mark.redis


class Node:
    """One api node's response cache on its own connection to the shared Redis."""

    def __init__(self, url: str, keys: KeySpace, *, wait_s: float = 5.0, max_pending: int = 8) -> None:
        self.redis = aioredis.Redis.from_url(url)
        self.guard = RedisGuard(self.redis, op_timeout_s=1.0, retry_after_s=0.2, retry_after_max_s=1.0,
                                metrics=ApiMetrics())
        self.stores = PendingStores(max_pending=max_pending, drain_s=1.0)
        self.cache = ResponseCache(self.guard, SingleFlight(self.guard, keys, self.stores, lock_ms=5000,
                                                            wait_s=wait_s), gzip_level=1, gzip_min_bytes=64)

    async def aclose(self) -> None:
        await self.stores.aclose()
        await self.redis.aclose()


@pytest.fixture
async def space(real_redis_url) -> AsyncIterator[tuple[str, KeySpace]]:
    keys = KeySpace(f"hwtest-{uuid.uuid4().hex[:8]}")
    yield real_redis_url, keys
    delete_key_space(real_redis_url, keys)


@pytest.fixture
async def nodes(space) -> AsyncIterator[Callable[..., Node]]:
    """Nodes on the test's key space, closed after the test."""
    url, keys = space
    made: list[Node] = []

    def make(**options) -> Node:
        made.append(Node(url, keys, **options))
        return made[-1]

    yield make
    for each in made:
        await each.aclose()


class Backend:
    """A computation that counts its calls."""

    def __init__(self, raw: bytes = b'{"answer": "' + b"x" * 400 + b'"}', delay_s: float = 0.0) -> None:
        self.raw, self.delay_s, self.calls = raw, delay_s, 0

    async def __call__(self) -> Computed:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        return Computed(self.raw)


async def test_a_miss_answers_before_its_store_and_the_other_nodes_wait_for_the_stored_entry(space, nodes):
    _, keys = space
    a, b = nodes(), nodes()
    key = f"{keys.prefix}:k"
    gate = asyncio.Event()
    real_put = a.cache.put

    async def slow_put(*args) -> None:
        await gate.wait()
        await real_put(*args)

    a.cache.put = slow_put  # type: ignore[method-assign]
    backend = Backend()
    try:
        entry, outcome = await asyncio.wait_for(a.cache.get_or_compute(key, 60, backend), 2.0)
        assert outcome == "miss" and entry.raw() == backend.raw
        # Answered, not yet stored: the lock is still held, so another node waits instead of computing.
        assert await a.redis.get(key) is None and await a.redis.exists(keys.single_flight_lock(key))
        waiter = asyncio.create_task(b.cache.get_or_compute(key, 60, backend))
        await asyncio.sleep(0.1)
        assert not waiter.done()
        # A caller on the computing node takes the computed answer at once.
        again, outcome = await asyncio.wait_for(a.cache.get_or_compute(key, 60, backend), 1.0)
        assert outcome == "hit" and again == entry
        gate.set()
        stored, outcome = await asyncio.wait_for(waiter, 2.0)
        assert outcome == "wait_hit" and stored == entry and backend.calls == 1
        await a.stores.settle()
        # The lock goes once the entry is stored, never before.
        assert Encoded.unpack(await a.redis.get(key)) == entry
        assert not await a.redis.exists(keys.single_flight_lock(key))
    finally:
        gate.set()


async def test_a_failed_store_is_logged_and_the_next_request_computes_again(space, nodes):
    keys = space[1]
    node = nodes()
    key = f"{keys.prefix}:k"
    real_put = node.cache.put

    async def failing_put(*_args) -> None:
        raise ConnectionResetError("connection reset while storing")

    node.cache.put = failing_put  # type: ignore[method-assign]
    backend = Backend()
    with capture_logs() as logs:
        entry, outcome = await node.cache.get_or_compute(key, 60, backend)
        await node.stores.settle()
    assert outcome == "miss" and entry.raw() == backend.raw
    failed = [log for log in logs if log["event"] == "cache_store_failed"]
    assert failed == [{"event": "cache_store_failed", "key": key, "error": "ConnectionResetError",
                       "log_level": "warning"}]
    # Nothing stored and the lock released: the next request computes, and this time its entry is stored.
    assert await node.redis.get(key) is None and not await node.redis.exists(keys.single_flight_lock(key))
    node.cache.put = real_put  # type: ignore[method-assign]
    _, outcome = await node.cache.get_or_compute(key, 60, backend)
    assert outcome == "miss" and backend.calls == 2
    await node.stores.settle()
    _, outcome = await node.cache.get_or_compute(key, 60, backend)
    assert outcome == "hit" and backend.calls == 2


async def test_shutdown_finishes_pending_stores_and_cancels_those_past_their_time(space):
    url, keys = space
    client = aioredis.Redis.from_url(url)
    stores = PendingStores(max_pending=8, drain_s=0.3)
    hanging_cancelled = asyncio.Event()

    async def slow() -> None:
        await asyncio.sleep(0.05)
        await client.set(f"{keys.prefix}:slow", b"stored")

    async def hanging() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            hanging_cancelled.set()
            raise

    try:
        assert await stores.submit("slow", slow) is not None and await stores.submit("hanging", hanging) is not None
        assert len(stores) == 2
        started = time.monotonic()
        with capture_logs() as logs:
            await stores.aclose()
        assert time.monotonic() - started < 1.0
        assert await client.get(f"{keys.prefix}:slow") == b"stored" and hanging_cancelled.is_set()
        assert len(stores) == 0
        assert [log["count"] for log in logs if log["event"] == "cache_stores_cancelled_at_shutdown"] == [1]
    finally:
        await client.aclose()


async def test_at_the_limit_of_pending_stores_a_miss_stores_before_it_answers(space, nodes):
    keys = space[1]
    node = nodes(max_pending=0)
    key = f"{keys.prefix}:k"
    entry, outcome = await node.cache.get_or_compute(key, 60, Backend())
    assert outcome == "miss" and len(node.stores) == 0
    assert Encoded.unpack(await node.redis.get(key)) == entry
    assert not await node.redis.exists(keys.single_flight_lock(key))


async def test_a_miss_asks_redis_once_before_it_computes(space, nodes):
    keys = space[1]
    node = nodes()
    asked: list[int] = []
    real_run = node.guard.run

    async def counting(op):
        asked.append(1)
        return await real_run(op)

    node.guard.run = counting  # type: ignore[method-assign]
    before_compute: list[int] = []

    async def compute() -> Computed:
        before_compute.append(len(asked))
        return Computed(b"{}")

    _, outcome = await node.cache.get_or_compute(f"{keys.prefix}:k", 60, compute)
    assert outcome == "miss" and before_compute == [1]


async def test_an_entry_it_cannot_read_is_replaced_without_waiting(space, nodes):
    keys = space[1]
    node = nodes(wait_s=5.0)
    key = f"{keys.prefix}:k"
    await node.redis.set(key, b"written by an incompatible version")
    started = time.monotonic()
    entry, outcome = await node.cache.get_or_compute(key, 60, Backend())
    assert outcome == "miss" and time.monotonic() - started < 1.0
    await node.stores.settle()
    assert Encoded.unpack(await node.redis.get(key)) == entry


async def test_the_api_finishes_a_pending_store_before_it_shuts_down(shared_backend, completed_run, real_redis_url,
                                                                     clean_redis):
    settings = api_settings(shared_backend.http_url, real_redis_url)
    clean_redis.append(settings.redis_key_prefix)
    app = create_app(settings)
    views = app.state.views
    real_put = views.cache.put

    async def slow_put(*args) -> None:
        await asyncio.sleep(0.3)
        await real_put(*args)

    views.cache.put = slow_put
    query = RunCompleteQuery(target_points=173, include_orders=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api",
                                     headers=auth(ALICE_TOKEN)) as client:
            response = await client.get(f"/api/v1/runs/{completed_run['id']}/complete",
                                        params={"target_points": query.target_points})
        assert response.status_code == 200 and response.headers["x-cache"] == "miss" and len(views.stores) == 1
    assert len(views.stores) == 0
    client = sync_client(real_redis_url)
    try:
        assert client.exists(views.run_parts_key(completed_run["id"], query))
    finally:
        client.close()


async def test_a_chart_data_miss_answers_before_its_entry_is_stored(shared_backend, real_redis_url, clean_redis):
    settings = api_settings(shared_backend.http_url, real_redis_url)
    clean_redis.append(settings.redis_key_prefix)
    app = create_app(settings)
    views = app.state.views
    real_put = views.cache.put
    store_s = 0.5

    async def slow_put(*args) -> None:
        await asyncio.sleep(store_s)
        await real_put(*args)

    views.cache.put = slow_put
    params = {"symbol": SYMBOL, "timeframe": "1M_DECIMATED", "target_points": 311}
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api",
                                     headers=auth(ALICE_TOKEN)) as client:
            started = time.monotonic()
            miss = await client.get("/api/v1/chart-data", params=params)
            assert miss.status_code == 200 and miss.headers["x-cache"] == "miss"
            assert time.monotonic() - started < store_s and len(views.stores) == 1
            # Asked again while the entry is being stored: this node's computed answer, the same bytes.
            again = await client.get("/api/v1/chart-data", params=params)
            assert again.headers["x-cache"] == "hit" and again.content == miss.content
            await views.stores.settle()
            assert await views.guard.redis.keys(f"{settings.redis_key_prefix}:chart:*")
            stored = await client.get("/api/v1/chart-data", params=params)
            assert stored.headers["x-cache"] == "hit" and stored.content == miss.content
            assert stored.headers["etag"] == miss.headers["etag"]


async def test_a_store_waits_until_its_request_has_its_response():
    stores = PendingStores(max_pending=8, drain_s=1.0)
    steps: list[str] = []

    async def store() -> None:
        steps.append("stored")

    async def request() -> None:
        answered = answering()
        await stores.submit("k", store)
        for _ in range(5):
            await asyncio.sleep(0)  # the request goes on awaiting other things (its response is not ready)
        steps.append("answered")
        answered.set()

    await asyncio.create_task(request())
    await stores.settle()
    assert steps == ["answered", "stored"]
    # Outside a request (the prewarm worker, a test) a store starts at once.
    await stores.submit("k", store)
    await asyncio.sleep(0)
    assert steps == ["answered", "stored", "stored"]
