"""Redis client factory: a real server by URL, or the embedded in-process broker when no URL is given.

The embedded broker is fakeredis with one shared server per process, so every role started by
``hewston up`` sees the same keys and streams without anything installed.
"""

from __future__ import annotations

import fakeredis
import redis.asyncio as aioredis

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
    return aioredis.Redis.from_url(url, socket_timeout=socket_timeout_s, socket_connect_timeout=2.0,
                                   health_check_interval=30)


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
