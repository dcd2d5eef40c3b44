"""Redis client factory: a real server by URL, or the embedded in-process broker when no URL is given.

URLs: ``redis://[user:password@]host:port/db`` (or ``rediss://`` with TLS) for one server, and
``redis+sentinel://[user:password@]sentinel1:26379,sentinel2:26379/<service>/<db>`` for a primary that Redis
Sentinel watches: the client asks the sentinels where the primary is, and asks again after a failover.

The embedded broker is fakeredis with one shared server per process, so every role started by
``hewston up`` sees the same keys and streams without anything installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

import fakeredis
import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel

from common.logging import get_logger

_embedded_server: fakeredis.FakeServer | None = None


def embedded_server() -> fakeredis.FakeServer:
    global _embedded_server
    if _embedded_server is None:
        _embedded_server = fakeredis.FakeServer()
    return _embedded_server


def create_redis(url: str | None, *, socket_timeout_s: float = 10.0) -> aioredis.Redis:
    """Return an asyncio Redis client.

    ``socket_timeout_s`` must exceed any ``XREAD BLOCK`` time used with this client, or blocking reads time
    out at the socket before Redis answers.
    """
    if not url:
        return fakeredis.FakeAsyncRedis(server=embedded_server())
    options = {"socket_timeout": socket_timeout_s, "socket_connect_timeout": 2.0, "health_check_interval": 30}
    sentinel = sentinel_address(url)
    if sentinel is not None:
        sentinels = Sentinel(sentinel.sentinels, sentinel_kwargs={"socket_timeout": 2.0, "socket_connect_timeout": 2.0})
        return sentinels.master_for(sentinel.service, db=sentinel.db, username=sentinel.username,
                                    password=sentinel.password, **options)
    return aioredis.Redis.from_url(url, **options)


SENTINEL_SCHEME = "redis+sentinel://"


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
