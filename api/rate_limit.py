"""Rate limits in Redis: fixed windows counted with one Lua call per bucket (INCR, PEXPIRE on the first hit).

Every request counts twice, and is refused when either count is over its limit:

- against its **client address**, whatever credential it carries (none, invalid, invented or valid), so a
  new made-up token per request buys nothing; the address is the TCP peer's, or the one a configured
  trusted proxy put in ``X-Forwarded-For`` (``ProxyHeadersMiddleware`` rewrites the peer before this runs);
- against its **credential**, when it carries a well-formed bearer token: keyed on the token as the backend
  reads it (``common.credentials``), so ``bearer x``, ``BEARER x`` and ``Bearer  x`` share one budget.

A malformed ``Authorization`` header gets no bucket of its own, so hostile values cannot flood Redis with
keys. Over a limit the answer is 429 with ``Retry-After`` (seconds to the end of the window). When Redis is
unavailable requests are let through: a broken limiter must not take the site down, and the outage is
already logged and shown by ``/ready``.
"""

from __future__ import annotations

import math
import time

from starlette.types import ASGIApp, Receive, Scope, Send

from api.metrics import ApiMetrics
from api.redis_guard import RedisGuard, RedisUnavailable
from common.credentials import credential_hash
from common.errors import error_response
from common.keys import KeySpace

_COUNT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""
# Liveness, readiness and metrics must answer even for a caller that has used up its budget.
EXEMPT_PATHS = frozenset({"/health", "/ready", "/metrics"})


def buckets(scope: Scope, *, address_limit: int, credential_limit: int) -> list[tuple[str, int]]:
    """The (subject, limit) pairs a request counts against: its address always, its credential if it has one."""
    client = scope.get("client")
    found = [(f"a:{client[0]}" if client else "a:unknown", address_limit)]
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            token_hash = credential_hash(value)
            if token_hash:
                found.append((f"t:{token_hash}", credential_limit))
            break
    return found


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, *, guard: RedisGuard, keys: KeySpace, limit: int, address_limit: int,
                 window_s: int, metrics: ApiMetrics) -> None:
        self.app = app
        self.guard = guard
        self.keys = keys
        self.limit = limit
        self.address_limit = address_limit
        self.window_s = window_s
        self.metrics = metrics
        self._count = guard.redis.register_script(_COUNT)

    async def _count_all(self, redis, counted: list[tuple[str, int]], window: int, expire_ms: int) -> list[int]:
        # One round trip for every bucket; not a transaction, because the keys may live in different
        # Redis Cluster slots.
        pipe = redis.pipeline(transaction=False)
        for subject, _limit in counted:
            await self._count(keys=[self.keys.rate_limit(subject, window)], args=[expire_ms], client=pipe)
        return await pipe.execute()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        now = time.time()
        window = int(now // self.window_s)
        counted = buckets(scope, address_limit=self.address_limit, credential_limit=self.limit)
        # Expire a little after the window so that a slow clock on another node still counts correctly.
        expire_ms = (self.window_s + 1) * 1000
        try:
            counts = await self.guard.run(lambda r: self._count_all(r, counted, window, expire_ms))
        except RedisUnavailable:
            counts = [0] * len(counted)
        if any(count > limit for count, (_subject, limit) in zip(counts, counted, strict=True)):
            self.metrics.rate_limited.inc()
            retry_after = max(1, math.ceil((window + 1) * self.window_s - now))
            response = error_response(429, "rate_limited", f"too many requests; retry after {retry_after} s",
                                      headers={"Retry-After": str(retry_after)})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
