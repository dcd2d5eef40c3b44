"""Single flight on a Redis Cluster: the entry and its lock share a hash slot, so one script reads the one and
takes the other, and misses on two nodes still compute once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from redis.crc import key_slot

from api.metrics import ApiMetrics
from api.views.cache import Encoded, ResponseCache
from api.views.pending_stores import PendingStores
from api.views.redis_guard import RedisGuard
from api.views.single_flight import SingleFlight
from bench.processes import RedisClusterServers
from common.keys import KeySpace
from common.redis_client import create_redis
from tests.api.test_store_after_answer import Backend
from tests.support.redis_servers import require_redis_server


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory) -> Iterator[str]:
    require_redis_server("a Redis Cluster of three primaries")
    with RedisClusterServers(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster.url


def test_a_lock_lives_in_its_entrys_slot():
    for prefix in ("hw", "{hw}", "a{b}c"):
        keys = KeySpace(prefix)
        for key in (keys.run_complete("r-1", 2000, True), keys.chart_data("BTC{USD}", "1M", 3, None, 5, 10)):
            assert key_slot(keys.single_flight_lock(key).encode()) == key_slot(key.encode())


async def test_misses_on_two_nodes_of_a_cluster_compute_once(redis_cluster):
    keys = KeySpace("hwtest-cluster")
    nodes = []
    for _ in range(2):
        redis = create_redis(redis_cluster, socket_timeout_s=2.0)
        guard = RedisGuard(redis, op_timeout_s=2.0, retry_after_s=0.2, retry_after_max_s=1.0, metrics=ApiMetrics())
        stores = PendingStores(max_pending=8, drain_s=1.0)
        nodes.append((ResponseCache(guard, SingleFlight(guard, keys, stores, lock_ms=5000, wait_s=5.0),
                                    gzip_level=1, gzip_min_bytes=64), stores, redis))
    backend = Backend(b'{"computed": "once"}', delay_s=0.1)
    key = keys.run_complete("cluster-run", 2000, True)
    try:
        results = await asyncio.gather(*(nodes[i % 2][0].get_or_compute(key, 60, backend) for i in range(10)))
        assert backend.calls == 1 and {entry.raw() for entry, _ in results} == {b'{"computed": "once"}'}
        for _, stores, _ in nodes:
            await stores.settle()
        redis = nodes[0][2]
        assert Encoded.unpack(await redis.get(key)).raw() == b'{"computed": "once"}'
        assert not await redis.exists(keys.single_flight_lock(key))
    finally:
        for _, stores, redis in nodes:
            await stores.aclose()
            await redis.delete(key)
            await redis.aclose()
