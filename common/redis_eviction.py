"""At start-up, refuse a Redis that may evict the playback streams' keys.

A Redis with ``maxmemory`` and an eviction policy other than ``noeviction`` frees memory by deleting keys: a run's
stream, its pinned snapshot or its state hash could vanish mid-playback, which viewers would see as history lost
(or worse, a relay resuming from nothing). With ``noeviction`` a full Redis refuses writes instead, which the
roles already handle as Redis being unavailable. So the api, the relay and the worker ask for
``maxmemory-policy`` when they start and refuse any other policy, unless ``HEWSTON_REDIS_EVICTION_ACCEPTED`` says
the operator accepts it (for example a Redis whose memory limit can never be reached). A Redis that does not
allow ``CONFIG`` (many managed services) cannot be asked: the role says so once and starts.
"""

from __future__ import annotations

import asyncio

from redis.exceptions import RedisError, ResponseError

from common.logging import get_logger
from common.redis_client import create_redis

SAFE_POLICY = "noeviction"
ACCEPT_SETTING = "HEWSTON_REDIS_EVICTION_ACCEPTED"

log = get_logger("hewston.redis")


async def eviction_policy(url: str, timeout_s: float = 5.0) -> str | None:
    """The server's ``maxmemory-policy``; None when it cannot be asked (CONFIG not allowed, or no answer)."""
    client = create_redis(url, socket_timeout_s=timeout_s)
    try:
        async with asyncio.timeout(timeout_s):
            answer = await client.config_get("maxmemory-policy")
    except ResponseError as exc:  # NOPERM, or a managed Redis that renamed or disabled CONFIG
        log.warning("redis_eviction_policy_unknown", reason=str(exc).split("\n")[0][:200],
                    message=f"cannot read Redis's maxmemory-policy; make sure it is {SAFE_POLICY}, or the playback "
                            "streams' keys may be evicted")
        return None
    except (RedisError, OSError, TimeoutError) as exc:
        # Unreachable now: the role starts and copes as with any Redis outage; the check is for a Redis that answers.
        log.warning("redis_eviction_policy_unchecked", error=type(exc).__name__)
        return None
    finally:
        await client.aclose()
    policy = answer.get("maxmemory-policy") or answer.get(b"maxmemory-policy")
    return policy.decode() if isinstance(policy, bytes) else policy


def eviction_refusal(role: str, url: str | None, *, accepted: bool) -> str | None:
    """Why ``role`` must not start on the Redis at ``url`` (one line), or None. The embedded broker (no URL)
    never evicts."""
    if not url:
        return None
    policy = asyncio.run(eviction_policy(url))
    if policy is None or policy == SAFE_POLICY:
        return None
    if accepted:
        log.warning("redis_eviction_accepted", policy=policy,
                    message=f"Redis's maxmemory-policy is {policy}, accepted by {ACCEPT_SETTING}")
        return None
    return (f"Redis's maxmemory-policy is {policy}: under memory pressure it may evict the playback streams' keys "
            f"(a run's stream, its pinned snapshot, its state), and viewers would lose their history; set it to "
            f"{SAFE_POLICY} (CONFIG SET maxmemory-policy {SAFE_POLICY}), or set {ACCEPT_SETTING}=true to start the "
            f"{role} anyway")
