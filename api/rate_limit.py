"""Rate limits in Redis: sliding windows, counted with one Lua call per budget.

Every request counts twice, and is refused when either count is over its limit:

- against its **client address**, whatever credential it carries (none, invalid, invented or valid), so a
  new made-up token per request buys nothing; the address is the TCP peer's, or the one a configured
  trusted proxy put in ``X-Forwarded-For`` (``ProxyHeadersMiddleware`` rewrites the peer before this runs);
- against its **credential**, when it carries a well-formed bearer token: keyed on the token as the backend
  reads it (``common.credentials``), so ``bearer x``, ``BEARER x`` and ``Bearer  x`` share one budget.

WebSocket handshakes count too (their token comes later, inside the socket, so only the address budget
applies): a refused handshake is answered 429 before the socket opens.

Each budget is a sliding window, estimated from two fixed windows as Redis-backed limiters commonly do: the
previous window's count weighted by the share of it still inside the sliding window, plus the current one.
A plain fixed window would let a client spend its budget at the end of one window and again at the start of
the next, twice the limit in a moment; the estimate closes that. Refused requests count as well, so a
client that keeps hammering stays refused.

A malformed ``Authorization`` header gets no budget of its own, so hostile values cannot flood Redis with
keys. Over a limit the answer is 429 with ``Retry-After`` (whole seconds until the next request would fit).
When Redis is unavailable requests are let through: a broken limiter must not take the site down, and the
outage is already logged and shown by ``/ready``.

WebSocket handshakes that arrive together (thousands of viewers opening a run at once) share their round trips:
counts made while one is in flight go together in the next (``api.count_batch``), each still its own count.

The counting round trip also reads ahead the cache entries the request will look up (``api.views.read_ahead``),
so that a cache hit costs one round trip to Redis, not three. While this node holds requests counted ahead for
a request's subjects (``api.counted_ahead``) the request is counted already: a cache hit's round trip is then
only its reads ahead (one ``MGET``, no counting scripts), and a request with nothing to read ahead (a
passthrough call) makes no round trip at all.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from api.count_batch import Call, CountBatch
from api.counted_ahead import CountedAhead
from api.metrics import ApiMetrics
from api.views import ReadAhead, RedisGuard, RedisUnavailable
from common.credentials import credential_hash
from common.errors import error_response
from common.keys import KeySpace
from common.redis_client import call_scripts, get_many
from common.request_headers import header_index

# KEYS[1]: the current window's counter, KEYS[2]: the previous window's (one subject, so one hash slot).
# ARGV: the counter's expiry (ms), then the requests to count ahead (api.counted_ahead), the previous window's
# weight in the sliding estimate, and the estimate up to which counting ahead is allowed (half the budget).
_COUNT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local ahead = tonumber(ARGV[2])
if ahead > 0 and previous * tonumber(ARGV[3]) + n + ahead <= tonumber(ARGV[4]) then
  redis.call('INCRBY', KEYS[1], ahead)
else
  ahead = 0
end
return {n, previous, ahead}
"""
# Liveness, readiness and metrics must answer even for a caller that has used up its budget.
EXEMPT_PATHS = frozenset({"/health", "/ready", "/metrics"})
DENIAL_EXTENSION = "websocket.http.response"


@dataclass(frozen=True)
class SlidingWindow:
    """The arithmetic of one budget of ``limit`` requests per ``window_s`` seconds."""

    limit: int
    window_s: float

    def estimate(self, previous: int, current: int, elapsed_s: float) -> float:
        """Requests in the sliding window ending now, ``elapsed_s`` into the current fixed window."""
        return previous * (1.0 - elapsed_s / self.window_s) + current

    def retry_after_s(self, previous: int, current: int, elapsed_s: float) -> float:
        """Seconds until one more request would fit, if nothing else is sent meanwhile."""
        room = self.limit - 1  # what the estimate must fall to, so that the next request fits
        if current <= room and previous > 0:
            # Within this window: wait for enough of the previous window to slide out.
            fits_at_s = self.window_s * (1.0 - (room - current) / previous)
            return max(0.0, fits_at_s - elapsed_s)
        # This window alone is over: wait for it to become the previous one and slide out far enough.
        slide_s = self.window_s * (1.0 - room / current) if current > 0 else 0.0
        return (self.window_s - elapsed_s) + max(0.0, slide_s)


def buckets(scope: Scope, *, address: SlidingWindow, credential: SlidingWindow) -> list[tuple[str, SlidingWindow]]:
    """The (subject, budget) pairs a request counts against: its address always, its credential if it has one."""
    client = scope.get("client")
    found = [(f"a:{client[0]}" if client else "a:unknown", address)]
    token_hash = credential_hash(header_index(scope).get(b"authorization"))
    if token_hash:
        found.append((f"t:{token_hash}", credential))
    return found


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, *, guard: RedisGuard, keys: KeySpace, limit: int, address_limit: int,
                 window_s: int, metrics: ApiMetrics, read_ahead: ReadAhead | None = None,
                 count_ahead: int = 0) -> None:
        self.app = app
        self.read_ahead = read_ahead or ReadAhead(max_requests=0)
        self.counted_ahead = CountedAhead(count_ahead)
        self.guard = guard
        self.keys = keys
        self.credential_budget = SlidingWindow(limit, window_s)
        self.address_budget = SlidingWindow(address_limit, window_s)
        self.window_s = window_s
        # A counter must outlive the window after its own, where it is read as the previous one.
        self._expire_ms = (2 * window_s + 1) * 1000
        self.metrics = metrics
        self._count = guard.redis.register_script(_COUNT)
        self.handshakes = CountBatch(lambda calls, reads: guard.run(lambda r: call_scripts(r, calls, reads)))

    def _calls(self, counted: list[tuple[str, SlidingWindow]], window: int, elapsed_s: float) -> list[Call]:
        weight = repr(1.0 - elapsed_s / self.window_s)
        ahead = self.counted_ahead.reserve
        return [(self._count, [self.keys.rate_limit(subject, window), self.keys.rate_limit(subject, window - 1)],
                 [self._expire_ms, ahead, weight, budget.limit / 2]) for subject, budget in counted]

    async def _count_all(self, scope: Scope, counted: list[tuple[str, SlidingWindow]], window: int,
                         elapsed_s: float, reads: tuple[str, ...]) -> list:
        # One round trip for every budget and every read ahead; not a transaction, because the budgets live in
        # different Redis Cluster slots. Handshakes arriving together share theirs.
        calls = self._calls(counted, window, elapsed_s)
        if scope["type"] == "websocket":
            return await self.handshakes.run(calls, reads)
        return await self.guard.run(lambda r: call_scripts(r, calls, reads))

    def _counted(self, scope: Scope) -> bool:
        if scope["type"] == "websocket":
            return scope["path"] not in EXEMPT_PATHS
        return scope["type"] == "http" and scope["path"] not in EXEMPT_PATHS and scope["method"] != "OPTIONS"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._counted(scope):
            await self.app(scope, receive, send)
            return
        now = time.time()
        window, elapsed_s = int(now // self.window_s), now % self.window_s
        counted = buckets(scope, address=self.address_budget, credential=self.credential_budget)
        signature = self.read_ahead.signature(scope)
        reads = self.read_ahead.keys(signature)
        if self.counted_ahead.take([subject for subject, _budget in counted], window):
            # Counted already: what is left of the round trip is the reads ahead, if any.
            await self._serve(scope, receive, send, signature, await self._read(reads) if reads else {})
            return
        try:
            results = await self._count_all(scope, counted, window, elapsed_s, reads)
        except RedisUnavailable:
            await self.app(scope, receive, send)
            return
        counts, values = results[:len(counted)], results[len(counted):]
        waits = []
        for (current, previous, ahead), (subject, budget) in zip(counts, counted, strict=True):
            self.counted_ahead.grant(subject, window, ahead)
            if budget.estimate(previous, current, elapsed_s) > budget.limit:
                waits.append(budget.retry_after_s(previous, current, elapsed_s))
        if waits:
            self.metrics.rate_limited.inc()
            await refuse(scope, receive, send, max(1, math.ceil(max(waits))))
            return
        await self._serve(scope, receive, send, signature, dict(zip(reads, values, strict=True)))

    async def _read(self, reads: tuple[str, ...]) -> dict:
        """The values of ``reads`` for a request served on a lease; none when Redis is unavailable (the views then
        look up for themselves, and fall back as they always do)."""
        try:
            values = await self.guard.run(lambda r: get_many(r, reads))
        except RedisUnavailable:
            return {}
        return dict(zip(reads, values, strict=True))

    async def _serve(self, scope: Scope, receive: Receive, send: Send, signature, values: dict) -> None:
        """The counted request, with the values read ahead for it (and learning what to read next time)."""
        if signature is None:
            await self.app(scope, receive, send)
            return
        request_reads, token = self.read_ahead.begin(values)
        try:
            await self.app(scope, receive, send)
        finally:
            self.read_ahead.end(signature, request_reads, token)


async def refuse(scope: Scope, receive: Receive, send: Send, retry_after: int) -> None:
    """429 with ``Retry-After``; for a WebSocket handshake the same answer, before the socket opens, where the
    server can send one (otherwise the handshake is simply refused)."""
    if scope["type"] == "websocket" and DENIAL_EXTENSION not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008, "reason": "rate limited"})
        return
    response = error_response(429, "rate_limited", f"too many requests; retry after {retry_after} s",
                              headers={"Retry-After": str(retry_after)})
    await response(scope, receive, send)
