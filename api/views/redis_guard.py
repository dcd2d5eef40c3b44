"""Redis behind a circuit breaker: when Redis is unreachable the api serves uncached instead of failing.

After a failure the breaker opens for ``redis_retry_after_s`` (doubling on repeated failures up to
``redis_retry_after_max_s``); while it is open no request waits on Redis at all. The first call after that
tries again, and one success closes the breaker, so recovery needs no restart. The transitions are logged
once each, not once per request.

Each call gets ``op_timeout_s`` in all (connecting, writing, reading the answer). That deadline is the only one
the api's request-path client has: its sockets have no timeout of their own (see ``api.main``), so a call made
on that client outside :meth:`RedisGuard.run` would have no bound.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis

from api.metrics import DependencyMetrics
from common.logging import get_logger
from common.redis_client import REDIS_ERRORS

log = get_logger("hewston.api.redis")
T = TypeVar("T")


class RedisUnavailable(Exception):
    """Redis cannot be used right now; callers fall back to working without it."""


class RedisGuard:
    def __init__(self, redis: aioredis.Redis, *, op_timeout_s: float, retry_after_s: float,
                 retry_after_max_s: float, metrics: DependencyMetrics) -> None:
        self.redis = redis
        self.op_timeout_s = op_timeout_s
        self.retry_after_s = retry_after_s
        self.retry_after_max_s = retry_after_max_s
        self.metrics = metrics
        self._open_until = 0.0
        self._backoff_s = retry_after_s
        self._down = False

    @property
    def state(self) -> str:
        return "down" if self._down else "ok"

    async def run(self, op: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
        if self._down and time.monotonic() < self._open_until:
            raise RedisUnavailable("redis is marked unavailable")
        try:
            async with asyncio.timeout(self.op_timeout_s):
                result = await op(self.redis)
        except REDIS_ERRORS as exc:
            self._failed(exc)
            raise RedisUnavailable(str(exc) or type(exc).__name__) from exc
        self._succeeded()
        return result

    async def probe(self) -> tuple[str, float]:
        """Ping regardless of the breaker (for /ready); returns (state, latency in ms)."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.op_timeout_s):
                await self.redis.ping()
        except REDIS_ERRORS as exc:
            self._failed(exc)
            return "down", (time.perf_counter() - started) * 1000.0
        self._succeeded()
        return "ok", (time.perf_counter() - started) * 1000.0

    def _failed(self, exc: BaseException) -> None:
        self.metrics.redis_errors.inc()
        if not self._down:
            log.warning("redis_unavailable_serving_uncached", error=type(exc).__name__)
            self._backoff_s = self.retry_after_s
        else:
            self._backoff_s = min(self._backoff_s * 2, self.retry_after_max_s)
        self._down = True
        self._open_until = time.monotonic() + self._backoff_s

    def _succeeded(self) -> None:
        if self._down:
            log.info("redis_recovered")
            self._down = False
            self._backoff_s = self.retry_after_s
