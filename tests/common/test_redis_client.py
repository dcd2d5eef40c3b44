import asyncio
import subprocess

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bench.processes import RedisServer, free_ports
from common.redis_client import SentinelAddress, call_scripts, create_redis, sentinel_address
from workers.broker import redis_settings


async def test_embedded_broker_is_shared_within_the_process():
    a, b = create_redis(None), create_redis(None)
    await a.set("hw:test:shared", b"1")
    try:
        assert await b.get("hw:test:shared") == b"1"
    finally:
        await a.delete("hw:test:shared")
        await a.aclose()
        await b.aclose()


@pytest.mark.redis
async def test_real_redis_by_url(real_redis_url):
    client = create_redis(real_redis_url)
    try:
        assert await client.ping()
        await client.xadd("hw:test:stream", {"m": b"x"})
        assert await client.xlen("hw:test:stream") >= 1
    finally:
        await client.delete("hw:test:stream")
        await client.aclose()


def test_sentinel_urls_name_the_sentinels_the_service_and_the_database():
    address = sentinel_address("redis+sentinel://user:p%40ss@s1:26380,s2/cache/3")
    assert address == SentinelAddress([("s1", 26380), ("s2", 26379)], "cache", 3, "user", "p@ss")
    assert sentinel_address("redis+sentinel://s1") == SentinelAddress([("s1", 26379)], "mymaster", 0, None, None)
    assert sentinel_address("redis://127.0.0.1:6379/0") is None
    settings = redis_settings("redis+sentinel://s1:26380/cache/3")
    assert settings.sentinel and settings.host == [("s1", 26380)] and settings.sentinel_master == "cache"
    assert settings.database == 3


@pytest.mark.skipif(not RedisServer.installed(), reason="needs redis-server")
async def test_through_sentinel_clients_follow_the_primary_across_a_failover(tmp_path):
    primary_port, replica_port, sentinel_port = free_ports(3)
    primary = RedisServer(tmp_path / "primary", primary_port).start()
    replica = RedisServer(tmp_path / "replica", replica_port, args=("--replicaof", "127.0.0.1", str(primary_port)))
    conf = tmp_path / "sentinel.conf"
    conf.write_text(f"port {sentinel_port}\nbind 127.0.0.1\nsentinel monitor hw 127.0.0.1 {primary_port} 1\n"
                    "sentinel down-after-milliseconds hw 500\nsentinel failover-timeout hw 5000\n")
    sentinel = subprocess.Popen(["redis-server", str(conf), "--sentinel"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
    client = create_redis(f"redis+sentinel://127.0.0.1:{sentinel_port}/hw/0", socket_timeout_s=2)
    watcher = aioredis.Redis(port=sentinel_port, socket_timeout=2)
    try:
        replica.start()
        await _eventually(lambda: client.set("hw:test:sentinel", b"before"))

        async def replica_known() -> None:  # the sentinel learns of replicas from the primary, every 10 s
            if not any(r["port"] == replica_port for r in await watcher.sentinel_slaves("hw")):
                raise RedisError("replica not known yet")

        await _eventually(replica_known, timeout_s=30)
        primary.stop()  # the sentinel promotes the replica; the client finds it by asking again
        await _eventually(lambda: client.set("hw:test:sentinel", b"after"), timeout_s=30)
        assert await client.get("hw:test:sentinel") == b"after"
        assert (await client.info("replication"))["role"] == "master"
    finally:
        await client.aclose()
        await watcher.aclose()
        sentinel.kill()
        sentinel.wait(10)
        replica.stop()
        primary.stop()


async def _eventually(op, timeout_s: float = 15.0):
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            return await op()
        except (RedisError, OSError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


def test_a_role_on_its_own_without_redis_url_says_its_broker_is_private():
    from structlog.testing import capture_logs

    from common.redis_client import warn_if_private

    with capture_logs() as logs:
        warn_if_private("api", "redis://127.0.0.1:6379/0")
        assert logs == []
        warn_if_private("api", None)
    [warning] = logs
    assert warning["log_level"] == "warning" and warning["event"] == "private_embedded_broker"
    assert "REDIS_URL is not set" in warning["message"] and "hewston up" in warning["message"]


def _script_exists_calls(info: dict) -> int:
    return int(info.get("cmdstat_script|exists", {}).get("calls", 0))


@pytest.mark.redis
async def test_scripts_and_reads_in_one_pipeline_and_a_flushed_script_runs_exactly_once(real_redis_url):
    client = create_redis(real_redis_url)
    count = client.register_script("return redis.call('INCR', KEYS[1])")
    await client.set("hw:test:read", b"value")
    try:
        before = _script_exists_calls(await client.info("commandstats"))
        assert await call_scripts(client, [(count, ["hw:test:n"], [])], ["hw:test:read", "hw:test:absent"]) == \
            [1, b"value", None]
        # A server that lost its scripts (a restart, a flush): each call still runs once, not twice.
        await client.script_flush()
        assert await call_scripts(client, [(count, ["hw:test:n"], []), (count, ["hw:test:n"], [])]) == [2, 3]
        assert int(await client.get("hw:test:n")) == 3
        # The scripts are called by SHA alone: no SCRIPT EXISTS round trip before each pipeline.
        assert _script_exists_calls(await client.info("commandstats")) == before
    finally:
        await client.delete("hw:test:read", "hw:test:n")
        await client.aclose()
