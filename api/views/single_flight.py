"""Single flight: concurrent misses for one key compute once, on this node and across nodes.

On one node, callers of the same key share one future. Across nodes, the node that wins ``SET lock NX PX``
computes and stores the value; the others poll the cache with exponential backoff until the value appears,
the lock disappears without a value (the computing node failed: the next one takes the lock), or
``wait_s`` has passed, after which they compute themselves so that nobody waits unboundedly on a lost node.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from api.views.outcome import Outcome
from api.views.redis_guard import RedisGuard, RedisUnavailable
from common.keys import KeySpace

T = TypeVar("T")

# Delete the lock only if we still hold it: a lock that expired and was taken by another node stays theirs.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class SingleFlight(Generic[T]):
    def __init__(self, guard: RedisGuard, keys: KeySpace, *, lock_ms: int, wait_s: float,
                 first_poll_s: float = 0.002, max_poll_s: float = 0.05) -> None:
        self.guard = guard
        self.keys = keys
        self.lock_ms = lock_ms
        self.wait_s = wait_s
        self.first_poll_s = first_poll_s
        self.max_poll_s = max_poll_s
        self._inflight: dict[str, asyncio.Future[tuple[T, Outcome]]] = {}
        self._release = guard.redis.register_script(_RELEASE)

    async def local(self, key: str, compute: Callable[[], Awaitable[T]]) -> T:
        """Coalesce on this node only (used when Redis is unavailable)."""
        async def run() -> tuple[T, Outcome]:
            return await compute(), Outcome.BYPASS

        value, _ = await self._coalesce(key, run)
        return value

    async def run(self, key: str, lookup: Callable[[], Awaitable[T | None]],
                  compute: Callable[[bool], Awaitable[T]]) -> tuple[T, Outcome]:
        """Value for ``key`` and its outcome: ``miss`` (we computed), ``wait_hit`` (another node or caller
        computed it), or ``bypass`` (Redis unavailable, computed without caching).

        ``compute(store)`` computes the value and stores it in the cache when ``store`` is true.
        """
        return await self._coalesce(key, lambda: self._distributed(key, lookup, compute))

    async def _coalesce(self, key: str, run: Callable[[], Awaitable[tuple[T, Outcome]]]) -> tuple[T, Outcome]:
        pending = self._inflight.get(key)
        if pending is not None:
            value, _ = await asyncio.shield(pending)
            return value, Outcome.WAIT_HIT
        future: asyncio.Future[tuple[T, Outcome]] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await run()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: with no waiters this is not an "unretrieved exception"
            raise
        else:
            future.set_result(result)
            return result
        finally:
            self._inflight.pop(key, None)

    async def _distributed(self, key: str, lookup: Callable[[], Awaitable[T | None]],
                           compute: Callable[[bool], Awaitable[T]]) -> tuple[T, Outcome]:
        lock_key = self.keys.single_flight_lock(key)
        token = uuid.uuid4().hex
        deadline = time.monotonic() + self.wait_s
        delay = self.first_poll_s
        try:
            while True:
                if await self.guard.run(lambda r: r.set(lock_key, token, nx=True, px=self.lock_ms)):
                    return await self._compute_holding(key, lock_key, token, lookup, compute)
                if time.monotonic() >= deadline:
                    break
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_poll_s)
                value = await lookup()
                if value is not None:
                    return value, Outcome.WAIT_HIT
        except RedisUnavailable:
            return await compute(False), Outcome.BYPASS
        # The computing node is too slow or gone: answer this caller without waiting any longer.
        return await compute(True), Outcome.MISS

    async def _compute_holding(self, key: str, lock_key: str, token: str,
                               lookup: Callable[[], Awaitable[T | None]],
                               compute: Callable[[bool], Awaitable[T]]) -> tuple[T, Outcome]:
        try:
            # Another node may have stored the value between our cache miss and taking the lock.
            value = await lookup()
            if value is not None:
                return value, Outcome.WAIT_HIT
            return await compute(True), Outcome.MISS
        finally:
            try:
                await self.guard.run(lambda _r: self._release(keys=[lock_key], args=[token]))
            except RedisUnavailable:
                pass  # the lock expires by itself after lock_ms
