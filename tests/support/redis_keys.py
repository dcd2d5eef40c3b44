"""Remove one key space from a real Redis after a test or a benchmark used it."""

from __future__ import annotations

import redis

from common.keys import KeySpace


def delete_key_space(redis_url: str, keys: KeySpace) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        found = [key for pattern in (keys.pattern(), keys.job_pattern())
                 for key in client.scan_iter(pattern, count=1000)]
        if found:
            client.delete(*found)
    finally:
        client.close()
