"""Clients of a test's broker (a Redis URL, or None for the embedded broker), and removing one key space from it
after a test or a benchmark used it."""

from __future__ import annotations

import fakeredis
import redis

from common.keys import KeySpace
from common.redis_client import embedded_server


def sync_client(redis_url: str | None) -> redis.Redis:
    """A blocking client of the broker: the server at ``redis_url``, or this process's embedded broker."""
    return redis.Redis.from_url(redis_url) if redis_url else fakeredis.FakeRedis(server=embedded_server())


def delete_key_space(redis_url: str | None, keys: KeySpace) -> None:
    client = sync_client(redis_url)
    try:
        found = [key for pattern in (keys.pattern(), keys.job_pattern())
                 for key in client.scan_iter(pattern, count=1000)]
        if found:
            client.delete(*found)
    finally:
        client.close()
