"""At start-up, refuse a Redis that may evict the playback streams' keys.

A Redis with ``maxmemory`` and an eviction policy other than ``noeviction`` frees memory by deleting keys: a run's
stream, its pinned snapshot or its state hash could vanish mid-playback, which viewers would see as history lost
(or worse, a relay resuming from nothing). With ``noeviction`` a full Redis refuses writes instead, which the
roles already handle as Redis being unavailable. So the api, the relay and the worker ask for
``maxmemory-policy`` when they start and refuse any other policy, unless ``HEWSTON_REDIS_EVICTION_ACCEPTED`` says
the operator accepts it (for example a Redis whose memory limit can never be reached). A Redis that does not
allow ``CONFIG`` (many managed services) cannot be asked: the role says so once and starts. A Redis Cluster is
asked on every primary.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError, ResponseError

from common.logging import get_logger
from common.redis_client import create_redis

SAFE_POLICY = "noeviction"
ACCEPT_SETTING = "HEWSTON_REDIS_EVICTION_ACCEPTED"

log = get_logger("hewston.redis")


async def eviction_policy(url: str, timeout_s: float = 5.0) -> str | None:
    """The server's ``maxmemory-policy``; None when it cannot be asked (CONFIG not allowed, or no answer)."""
    client = create_redis(url, socket_timeout_s=timeout_s)
    # A Redis Cluster is asked on every primary: each holds a share of the runs' keys.
    every_primary = {"target_nodes": RedisCluster.PRIMARIES} if isinstance(client, RedisCluster) else {}
    try:
        async with asyncio.timeout(timeout_s):
            answer = await client.config_get("maxmemory-policy", **every_primary)
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
    return _least_safe(answer)


def _least_safe(answer: dict[Any, Any]) -> str | None:
    """The policy of a ``CONFIG GET maxmemory-policy`` answer, or of the first node of a cluster's answers
    (one per node) whose policy is not the safe one."""
    answers = [value for value in answer.values() if isinstance(value, dict)] or [answer]
    policies = []
    for one in answers:
        policy = one.get("maxmemory-policy") or one.get(b"maxmemory-policy")
        policies.append(policy.decode() if isinstance(policy, bytes) else policy)
    return next((p for p in policies if p is not None and p != SAFE_POLICY), policies[0])


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
