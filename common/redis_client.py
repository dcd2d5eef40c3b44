"""Redis client factory: a real server by URL, or the embedded in-process broker when no URL is given.

URLs: ``redis://[user:password@]host:port/db`` (or ``rediss://`` with TLS) for one server,
``redis+sentinel://[user:password@]sentinel1:26379,sentinel2:26379/<service>/<db>`` for a primary that Redis
Sentinel watches: the client asks the sentinels where the primary is, and asks again after a failover; and
``redis+cluster://[user:password@]host1:port1,host2:port2`` for a Redis Cluster, given any of its nodes as
seeds: the client learns the slot map from them and follows ``MOVED``/``ASK`` and slot migrations.

The embedded broker is fakeredis with one shared server per process, so every role started by
``hewston up`` sees the same keys and streams without anything installed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import fakeredis
import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.sentinel import Sentinel
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, RedisClusterException, RedisError

from common.logging import get_logger
from common.redis_ready import pool_parser_options

_embedded_server: fakeredis.FakeServer | None = None

# What a Redis call raises when Redis (or a cluster's node, or the whole cluster) cannot answer right now.
REDIS_ERRORS = (RedisError, RedisClusterException, OSError, TimeoutError)


def embedded_server() -> fakeredis.FakeServer:
    global _embedded_server
    if _embedded_server is None:
        _embedded_server = fakeredis.FakeServer()
    return _embedded_server


def create_redis(url: str | None, *, socket_timeout_s: float | None = 10.0) -> aioredis.Redis:
    """Return an asyncio Redis client.

    ``socket_timeout_s`` must exceed any ``XREAD BLOCK`` time used with this client, or blocking reads time
    out at the socket before Redis answers. None leaves the socket without a timeout of its own: only for a
    client whose every call runs under a deadline of its caller's (the api's request path, see
    ``api.views.redis_guard``), since on Python 3.11 redis-py's socket timeout costs each command a task and
    two timers.
    """
    if not url:
        return fakeredis.FakeAsyncRedis(server=embedded_server())
    options = {"socket_timeout": socket_timeout_s, "socket_connect_timeout": 2.0, "health_check_interval": 30}
    cluster = cluster_address(url)
    if cluster is not None:  # a cluster's nodes keep connections of their own, without the pool's check
        return RedisCluster(startup_nodes=[ClusterNode(host, port) for host, port in cluster.nodes],  # type: ignore[return-value]
                            username=cluster.username, password=cluster.password, **options)
    options.update(pool_parser_options())
    sentinel = sentinel_address(url)
    if sentinel is not None:
        sentinels = Sentinel(sentinel.sentinels, sentinel_kwargs={"socket_timeout": 2.0, "socket_connect_timeout": 2.0})
        return sentinels.master_for(sentinel.service, db=sentinel.db, username=sentinel.username,
                                    password=sentinel.password, **options)
    return aioredis.Redis.from_url(url, **options)


SENTINEL_SCHEME = "redis+sentinel://"
CLUSTER_SCHEME = "redis+cluster://"


@dataclass(frozen=True)
class ClusterAddress:
    nodes: list[tuple[str, int]]
    username: str | None
    password: str | None


def cluster_address(url: str) -> ClusterAddress | None:
    """The seed nodes of a ``redis+cluster://`` URL (None for any other URL); a missing port is 6379."""
    if not url.startswith(CLUSTER_SCHEME):
        return None
    credentials, _, rest = url[len(CLUSTER_SCHEME):].rpartition("@")
    hosts = rest.partition("/")[0]
    username, _, password = credentials.partition(":") if ":" in credentials else ("", "", credentials)
    nodes = []
    for host in hosts.split(","):
        name, _, port = host.rpartition(":") if ":" in host else (host, "", "6379")
        nodes.append((name, int(port)))
    return ClusterAddress(nodes, unquote(username) or None, unquote(password) or None)


def is_cluster(redis: Any) -> bool:
    return isinstance(redis, RedisCluster)


async def call_scripts(redis: aioredis.Redis, calls: list[tuple[AsyncScript, list[str], list[Any]]],
                       reads: Sequence[str] = ()) -> list[Any]:
    """Run several scripts, and GET the keys ``reads``, in one round trip on one server (a pipeline, not a
    transaction); the scripts' results come first, then the values read. A cluster client refuses scripts in a
    pipeline (their keys live on different nodes), so there every call runs concurrently.

    Scripts are called by their SHA alone: redis-py's pipeline would first ask ``SCRIPT EXISTS`` on every
    execution, a second round trip. A call the server answers ``NOSCRIPT`` (it restarted, or was flushed) did not
    run; it alone runs again, loading its script, so every call runs exactly once."""
    if is_cluster(redis):
        return list(await asyncio.gather(*(script(keys=keys, args=args) for script, keys, args in calls),
                                         *(redis.get(key) for key in reads)))
    async with redis.pipeline(transaction=False) as pipe:
        for script, keys, args in calls:
            pipe.evalsha(script.sha, len(keys), *keys, *args)
        for key in reads:
            pipe.get(key)
        results = await pipe.execute(raise_on_error=False)
    for i, (script, keys, args) in enumerate(calls):
        if isinstance(results[i], NoScriptError):
            results[i] = await script(keys=keys, args=args)
    failed = next((result for result in results if isinstance(result, Exception)), None)
    if failed is not None:
        raise failed
    return results


async def get_many(redis: aioredis.Redis, keys: Sequence[str]) -> list[Any]:
    """The values of ``keys`` (None where there is none), in one round trip: one ``MGET`` on one server; on a
    cluster, concurrent ``GET``s, since the keys may live in different slots."""
    if is_cluster(redis):
        return list(await asyncio.gather(*(redis.get(key) for key in keys)))
    return await redis.mget(keys)


@dataclass(frozen=True)
class SentinelAddress:
    sentinels: list[tuple[str, int]]
    service: str
    db: int
    username: str | None
    password: str | None


def sentinel_address(url: str) -> SentinelAddress | None:
    """The parts of a ``redis+sentinel://`` URL (None for any other URL); a missing port is 26379, a missing
    service ``mymaster``, a missing database 0."""
    if not url.startswith(SENTINEL_SCHEME):
        return None
    credentials, _, rest = url[len(SENTINEL_SCHEME):].rpartition("@")
    hosts, _, path = rest.partition("/")
    parts = [part for part in path.split("/") if part]
    username, _, password = credentials.partition(":") if ":" in credentials else ("", "", credentials)
    sentinels = []
    for host in hosts.split(","):
        name, _, port = host.rpartition(":") if ":" in host else (host, "", "26379")
        sentinels.append((name, int(port)))
    return SentinelAddress(sentinels, parts[0] if parts else "mymaster", int(parts[1]) if len(parts) > 1 else 0,
                           unquote(username) or None, unquote(password) or None)


def warn_if_private(role: str, url: str | None) -> None:
    """Say loudly, at start-up, that a role started on its own without ``REDIS_URL`` shares nothing with any
    other process: its broker is private to it."""
    if url:
        return
    get_logger("hewston").warning(
        "private_embedded_broker", role=role,
        message=f"REDIS_URL is not set: this {role} uses a private embedded broker that no other process shares "
                "(no shared cache, rate limits or playback streams, and no relay can reach it). Set REDIS_URL to "
                "the Redis every role uses, or run every role in one process with `hewston up`.")
