"""The shared stream on a Redis Cluster of three primaries (``redis+cluster://``): the api node reads with one
blocking ``XREAD`` per cluster node, the relay's scripts each touch one slot, and viewers of runs that live on
different nodes get every message in order."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import redis
from redis.crc import key_slot

from bench.processes import RedisClusterServers, RedisServer
from common.keys import KeySpace
from common.redis_client import cluster_address, create_redis
from tests.api.conftest import SYMBOL, create_run
from tests.stream.conftest import ALICE, Stack
from tests.support.stream_client import StreamViewer


def test_every_key_a_script_touches_shares_one_slot():
    keys = KeySpace("hw")
    for run_id in ("run-1", "a:b{c}", "üñï"):
        slots = {key_slot(key.encode()) for key in keys.run_stream(run_id).all()}
        assert len(slots) == 1, run_id
    for subject in ("a:127.0.0.1", "t:abc{x}"):
        assert key_slot(keys.rate_limit(subject, 7).encode()) == key_slot(keys.rate_limit(subject, 6).encode())


def test_cluster_urls_name_their_seed_nodes():
    address = cluster_address("redis+cluster://u:p%40ss@10.0.0.1:7000,10.0.0.2,10.0.0.3:7002")
    assert address is not None
    assert address.nodes == [("10.0.0.1", 7000), ("10.0.0.2", 6379), ("10.0.0.3", 7002)]
    assert (address.username, address.password) == ("u", "p@ss")
    assert cluster_address("redis://127.0.0.1:6379/0") is None


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory) -> Iterator[str]:
    if not RedisServer.installed():
        if os.environ.get("HEWSTON_REQUIRE_REDIS") == "1":
            pytest.fail("HEWSTON_REQUIRE_REDIS=1 but redis-server is not installed")
        pytest.skip("needs redis-server and redis-cli (a Redis Cluster of three primaries)")
    with RedisClusterServers(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster.url


@pytest.fixture
async def cluster_stack(stream_backend, redis_cluster) -> AsyncIterator[Stack]:
    stack = Stack(stream_backend, redis_cluster, f"hwtest-{uuid.uuid4().hex[:8]}")
    try:
        yield stack
    finally:
        await stack.stop()


async def _runs_on_two_nodes(stack: Stack) -> tuple[str, str]:
    """Two completed runs whose streams live on different cluster nodes."""
    keys = KeySpace(stack.prefix)
    redis = create_redis(stack.broker_url)
    try:
        await redis.initialize()
        first = create_run(stack.backend.http_url, ALICE)["id"]
        node = redis.get_node_from_key(keys.run_stream(first).stream).name
        for _ in range(20):
            other = create_run(stack.backend.http_url, ALICE)["id"]
            if redis.get_node_from_key(keys.run_stream(other).stream).name != node:
                return first, other
    finally:
        await redis.aclose()
    raise AssertionError("twenty runs all landed on one cluster node")


async def test_viewers_of_runs_on_different_cluster_nodes_get_every_message_and_survive_a_takeover(cluster_stack):
    first, second = await _runs_on_two_nodes(cluster_stack)
    relay = cluster_stack.relay()
    api = cluster_stack.api()
    async with StreamViewer(api.http_url, first, ALICE) as a, StreamViewer(api.http_url, second, ALICE) as b:
        await a.play()
        await b.play()
        await a.until_cursor(300)
        await b.until_cursor(300)
        cluster_stack.relay()
        await cluster_stack.kill(relay)  # the other relay takes both runs over after the lease TTL
        await a.until_cursor(a.continuity.cursor + 600, timeout_s=30)
        await b.until_cursor(b.continuity.cursor + 600, timeout_s=30)
    # A viewer resuming from its point on another api node recovers everything it missed.
    other_api = cluster_stack.api()
    async with StreamViewer(other_api.http_url, first, ALICE, continue_from=a) as resumed:
        hello = await resumed.recv()
        assert hello["resume"] == "recovered"
        await resumed.until_cursor(a.continuity.cursor + 10)
    for viewer in (a, b):
        assert viewer.continuity.resets == ["connect"]  # strict: no gap and no duplicate throughout


async def test_rest_caches_and_rate_limits_on_the_cluster(cluster_stack):
    # The stream's backend serves minute bars of tests.api.conftest.SYMBOL, like the chart-data tests' backend.
    api = cluster_stack.api(rate_limit_requests=5, rate_limit_window_s=60)
    params = {"symbol": SYMBOL, "timeframe": "1M_DECIMATED", "target_points": 500}
    async with httpx.AsyncClient(base_url=api.http_url, headers={"Authorization": f"Bearer {ALICE}"}) as client:
        miss = await client.get("/api/v1/chart-data", params=params)
        hit = await client.get("/api/v1/chart-data", params=params)
        assert (miss.status_code, miss.headers["x-cache"]) == (200, "miss")
        assert (hit.status_code, hit.headers["x-cache"]) == (200, "hit") and hit.content == miss.content
        statuses = [(await client.get("/api/v1/symbols")).status_code for _ in range(6)]
    assert statuses[-1] == 429  # the token's budget of 5 a minute, counted on the cluster


def _migrate_slot(cluster_url: str, key: str) -> bool:
    """Move the slot of ``key`` to another primary while it is in use, as ``redis-cli --cluster reshard`` does:
    IMPORTING/MIGRATING, MIGRATE of every key in it, then the new owner announced to every node."""
    address = cluster_address(cluster_url)
    assert address is not None
    clients = [redis.Redis(host=host, port=port, socket_timeout=10) for host, port in address.nodes]
    try:
        slot = key_slot(key.encode())
        ids = {client: client.execute_command("CLUSTER", "MYID").decode() for client in clients}
        source = next(c for c in clients if slot in _slots_of(c, ids[c]))
        target = next(c for c in clients if c is not source)
        target.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", ids[source])
        source.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", ids[target])
        host, port = target.connection_pool.connection_kwargs["host"], target.connection_pool.connection_kwargs["port"]
        while keys := source.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100):
            source.execute_command("MIGRATE", host, port, "", 0, 5000, "KEYS", *keys)
        for client in (target, source, *[c for c in clients if c not in (source, target)]):
            client.execute_command("CLUSTER", "SETSLOT", slot, "NODE", ids[target])
        return slot in _slots_of(source, ids[target]) and bool(target.exists(key))
    finally:
        for client in clients:
            client.close()


def _slots_of(client: redis.Redis, node_id: str) -> set[int]:
    owned: set[int] = set()
    for start, end, *nodes in client.execute_command("CLUSTER", "SLOTS"):
        if nodes[0][2].decode() == node_id:
            owned.update(range(start, end + 1))
    return owned


async def test_a_watched_run_whose_slot_migrates_while_it_plays_goes_on_without_gap_or_repeat(cluster_stack):
    run_id = create_run(cluster_stack.backend.http_url, ALICE)["id"]
    cluster_stack.relay()
    api = cluster_stack.api()
    async with StreamViewer(api.http_url, run_id, ALICE) as viewer:
        await viewer.play()
        await viewer.until_cursor(300)
        assert await asyncio.to_thread(_migrate_slot, cluster_stack.broker_url,
                                       KeySpace(cluster_stack.prefix).run_stream(run_id).stream)
        await viewer.until_cursor(viewer.continuity.cursor + 900, timeout_s=30)
    assert viewer.continuity.resets == ["connect"]  # strict: no gap and no duplicate throughout


@pytest.fixture(scope="module")
def replicated_cluster(tmp_path_factory) -> Iterator[RedisClusterServers]:
    if not RedisServer.installed():
        if os.environ.get("HEWSTON_REQUIRE_REDIS") == "1":
            pytest.fail("HEWSTON_REQUIRE_REDIS=1 but redis-server is not installed")
        pytest.skip("needs redis-server and redis-cli (a Redis Cluster of three primaries with replicas)")
    with RedisClusterServers(tmp_path_factory.mktemp("replicated"), replicas=1) as cluster:
        yield cluster


def _owner_port(cluster_url: str, key: str) -> int:
    host, port = (cluster_address(cluster_url) or pytest.fail("not a cluster URL")).nodes[0]
    with redis.Redis(host=host, port=port, socket_timeout=5) as client:
        slot = key_slot(key.encode())
        for start, end, primary, *_replicas in client.execute_command("CLUSTER", "SLOTS"):
            if start <= slot <= end:
                return int(primary[1])
    raise AssertionError(f"no node owns slot {slot}")


async def test_when_the_primary_of_a_watched_run_dies_its_replica_takes_over_and_playback_goes_on(
        stream_backend, replicated_cluster):
    stack = Stack(stream_backend, replicated_cluster.url, f"hwtest-{uuid.uuid4().hex[:8]}")
    try:
        run_id = create_run(stream_backend.http_url, ALICE)["id"]
        stack.relay()
        api = stack.api()
        async with StreamViewer(api.http_url, run_id, ALICE) as viewer:
            await viewer.play()
            await viewer.until_cursor(300)
            port = _owner_port(replicated_cluster.url, KeySpace(stack.prefix).run_stream(run_id).stream)
            next(node for node in replicated_cluster.nodes if node.port == port).stop()  # SIGKILL
            # The replica is promoted after the node timeout (2 s); replication is asynchronous, so what the
            # viewer gets is either nothing missing and nothing twice, or a history_lost reset into a new epoch
            # (the stream went backwards), and playback goes on either way: never silence.
            await viewer.until_cursor(viewer.continuity.cursor + 600, timeout_s=60)
        assert viewer.continuity.resets[0] == "connect"
        assert set(viewer.continuity.resets[1:]) <= {"history_lost"}
    finally:
        await stack.stop()
