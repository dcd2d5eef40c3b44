"""Rate limit per caller in Redis: fixed windows counted with one Lua call (INCR, PEXPIRE on the first hit).

The caller is the hash of its token, or its address when it sends none. Over the limit the answer is 429
with ``Retry-After`` (seconds to the end of the window). When Redis is unavailable requests are let through:
a broken limiter must not take the site down, and the outage is already logged and shown by ``/ready``.
"""

from __future__ import annotations

import math
import time

from starlette.types import ASGIApp, Receive, Scope, Send

from api import request_info
from api.metrics import ApiMetrics
from api.redis_guard import RedisGuard, RedisUnavailable
from common.errors import error_response
from common.keys import KeySpace

_COUNT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""
# Liveness, readiness and metrics must answer even for a caller that has used up its budget.
EXEMPT_PATHS = frozenset({"/health", "/ready", "/metrics"})


def subject(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            token_hash = request_info.token_hash(value.decode("latin-1"))
            if token_hash:
                return f"t:{token_hash}"
    client = scope.get("client")
    return f"a:{client[0]}" if client else "a:unknown"


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, *, guard: RedisGuard, keys: KeySpace, limit: int, window_s: int,
                 metrics: ApiMetrics) -> None:
        self.app = app
        self.guard = guard
        self.keys = keys
        self.limit = limit
        self.window_s = window_s
        self.metrics = metrics
        self._count = guard.redis.register_script(_COUNT)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        now = time.time()
        window = int(now // self.window_s)
        key = self.keys.rate_limit(subject(scope), window)
        try:
            # Expire a little after the window so that a slow clock on another node still counts correctly.
            count = await self.guard.run(
                lambda _r: self._count(keys=[key], args=[(self.window_s + 1) * 1000]))
        except RedisUnavailable:
            count = 0
        if count > self.limit:
            self.metrics.rate_limited.inc()
            retry_after = max(1, math.ceil((window + 1) * self.window_s - now))
            response = error_response(429, "rate_limited", f"too many requests; retry after {retry_after} s",
                                      headers={"Retry-After": str(retry_after)})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
