"""Single flight: concurrent misses for one key compute once, on this node and across nodes.

On one node, callers of the same key share one future. Across nodes, one script call per look reads the cached
value and, when there is none, takes the key's lock (``SET lock NX PX``, in the value's hash slot): a miss costs
one round trip to Redis before the computation starts. The node holding the lock computes; the others poll with
exponential backoff until the value appears, the lock disappears without a value (the computing node failed:
the next look takes the lock), or ``wait_s`` has passed, after which they compute themselves so that nobody
waits unboundedly on a lost node.

The computing caller answers as soon as its value is ready. Storing the value and then releasing the lock run
after that, as a task of :class:`~api.views.pending_stores.PendingStores`: the lock is released only once the
value is stored, so another node never finds neither, and callers on this node that arrive meanwhile take the
computed value from the future it stays under until the store is done.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from api.views.outcome import Outcome
from api.views.pending_stores import PendingStores
from api.views.redis_guard import RedisGuard, RedisUnavailable
from common.keys import KeySpace
from common.tasks import raise_if_cancelled

T = TypeVar("T")

# KEYS[1]: the cached value, KEYS[2]: its lock (one hash slot). ARGV: our token, the lock's lifetime in ms, and
# 1 to take the lock whatever the value (one we cannot read, written by an incompatible version).
# Returns {value, 0} for a value, {false, 1} when the lock is now ours, {false, 0} when another holds it.
_GET_OR_LOCK = """
if ARGV[3] ~= '1' then
  local value = redis.call('GET', KEYS[1])
  if value then return {value, 0} end
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {false, 1} end
return {false, 0}
"""
# Delete the lock only if we still hold it: a lock that expired and was taken by another node stays theirs.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Computation(Generic[T]):
    """A computed value, and how to store it (None: it must not be shared)."""

    value: T
    store: Callable[[], Awaitable[None]] | None = None


class SingleFlight(Generic[T]):
    def __init__(self, guard: RedisGuard, keys: KeySpace, stores: PendingStores, *, lock_ms: int, wait_s: float,
                 first_poll_s: float = 0.002, max_poll_s: float = 0.05) -> None:
        self.guard = guard
        self.keys = keys
        self.stores = stores
        self.lock_ms = lock_ms
        self.wait_s = wait_s
        self.first_poll_s = first_poll_s
        self.max_poll_s = max_poll_s
        self._inflight: dict[str, asyncio.Future[tuple[T, Outcome]]] = {}
        self._get_or_lock = guard.redis.register_script(_GET_OR_LOCK)
        self._release = guard.redis.register_script(_RELEASE)

    async def run(self, key: str, decode: Callable[[bytes], T | None],
                  compute: Callable[[], Awaitable[Computation[T]]]) -> tuple[T, Outcome]:
        """Value for ``key`` and its outcome: ``hit`` (it was cached), ``miss`` (we computed), ``wait_hit``
        (another node or caller computed it meanwhile), or ``bypass`` (Redis unavailable: computed, not stored).

        ``decode`` reads a cached value (None for bytes it cannot read); ``compute`` computes one and says how
        to store it.
        """
        pending = self._inflight.get(key)
        if pending is not None:
            # A value already computed here (its store still running) is as good as a cached one.
            outcome = Outcome.HIT if pending.done() else Outcome.WAIT_HIT
            value, _ = await asyncio.shield(pending)
            return value, outcome
        future: asyncio.Future[tuple[T, Outcome]] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        storing: asyncio.Task[None] | None = None
        try:
            value, outcome, storing = await self._distributed(key, decode, compute)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: with no waiters this is not an "unretrieved exception"
            raise
        else:
            future.set_result((value, outcome))
            return value, outcome
        finally:
            if storing is None:
                self._forget(key, future)
            else:
                storing.add_done_callback(lambda _task: self._forget(key, future))

    def _forget(self, key: str, future: asyncio.Future) -> None:
        if self._inflight.get(key) is future:
            del self._inflight[key]

    async def _distributed(self, key: str, decode: Callable[[bytes], T | None],
                           compute: Callable[[], Awaitable[Computation[T]]]
                           ) -> tuple[T, Outcome, asyncio.Task[None] | None]:
        lock_key = self.keys.single_flight_lock(key)
        token = uuid.uuid4().hex
        deadline = time.monotonic() + self.wait_s
        delay = self.first_poll_s
        outcome, unreadable = Outcome.HIT, False
        try:
            while True:
                args = [token, self.lock_ms, int(unreadable)]
                data, locked = await self.guard.run(lambda _r, args=args: self._get_or_lock(
                    keys=[key, lock_key], args=args))
                # A request the server cancelled (its graceful period over) whose cancellation this call swallowed
                # ends here, instead of polling on for wait_s and then computing.
                raise_if_cancelled()
                if locked:
                    break
                value = decode(data) if data else None
                if value is not None:
                    return value, outcome, None
                if data:
                    unreadable = True  # take the lock over it at once, and replace it
                    continue
                if time.monotonic() >= deadline:
                    # The computing node is too slow or gone: answer this caller without waiting any longer.
                    computation = await compute()
                    storing = await self._after(key, computation.store)
                    return computation.value, Outcome.MISS, storing
                outcome = Outcome.WAIT_HIT
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_poll_s)
        except RedisUnavailable:
            return (await compute()).value, Outcome.BYPASS, None
        try:
            computation = await compute()
        except BaseException:
            await self._after(key, None, lock_key, token)
            raise
        return computation.value, Outcome.MISS, await self._after(key, computation.store, lock_key, token)

    async def _after(self, key: str, store: Callable[[], Awaitable[None]] | None, lock_key: str | None = None,
                     token: str = "") -> asyncio.Task[None] | None:
        """Store the value (when it may be shared), then release the lock (when we hold it), after the answer."""
        if store is None and lock_key is None:
            return None

        async def finish() -> None:
            try:
                if store is not None:
                    await store()
            finally:
                if lock_key is not None:
                    try:
                        await self.guard.run(lambda _r: self._release(keys=[lock_key], args=[token]))
                    except RedisUnavailable:
                        pass  # the lock expires by itself after lock_ms

        return await self.stores.submit(key, finish)
