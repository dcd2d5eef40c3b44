"""What a cache miss finishes after its answer has gone out: storing the entry in Redis and releasing its lock.

Storing a run's half-megabyte entry takes a millisecond or more, and the caller does not need it: the answer is
already computed. So the computing request answers first and its store runs as a task here. Waiters are not
short-changed: callers on this node share the computed answer at once, and other nodes read the stored entry,
which single flight writes completely before it releases the lock they watch.

The tasks are bounded twice. At most ``max_pending`` run at a time; past that, a request stores before it
answers, as it would with no tasks at all (``max_pending=0`` always does, which the prewarm worker wants: its job
is the store). At shutdown :meth:`aclose` waits ``drain_s`` for the stores still running and cancels the rest;
a cancelled store leaves nothing half-written (one SET), and its lock expires by itself.

A store that fails is logged and dropped: its answer was sent, and the next request for the key misses and
computes again.

Started as soon as it is submitted, a store would take its first step (copying the entry, writing it to the
Redis socket) before the request's own task resumes to send the answer. A route that serves cached views
therefore calls :func:`answering` first and sets the event it returns when its response is ready: stores
submitted in that request wait for it, so they run while the response is being written, not before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar

from common.logging import get_logger

log = get_logger("hewston.api.cache")
_answered: ContextVar[asyncio.Event | None] = ContextVar("hewston_answered", default=None)


def answering() -> asyncio.Event:
    """For a route, before it looks up a cached view: the stores this request leaves behind start once the
    returned event is set (when the route's response is ready, or the route failed)."""
    answered = asyncio.Event()
    _answered.set(answered)
    return answered


class PendingStores:
    def __init__(self, *, max_pending: int, drain_s: float) -> None:
        self.max_pending = max_pending
        self.drain_s = drain_s
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    async def submit(self, key: str, store: Callable[[], Awaitable[None]]) -> asyncio.Task[None] | None:
        """Run ``store`` (the entry of ``key``) after the answer, as a task; or now, when too many are running.

        Returns the task, or None when the store has already run."""
        if len(self._tasks) >= self.max_pending:
            await _logged(key, store)
            return None
        task = asyncio.create_task(_logged(key, store, _answered.get()), name=f"store {key}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def settle(self) -> None:
        """Wait until every store submitted so far has finished (a failed one counts as finished)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def aclose(self) -> None:
        """At shutdown: let running stores finish for up to ``drain_s``, then cancel the rest and wait for them."""
        if not self._tasks:
            return
        _done, late = await asyncio.wait(set(self._tasks), timeout=self.drain_s)
        for task in late:
            task.cancel()
        if late:
            log.warning("cache_stores_cancelled_at_shutdown", count=len(late))
            await asyncio.gather(*late, return_exceptions=True)


async def _logged(key: str, store: Callable[[], Awaitable[None]], answered: asyncio.Event | None = None) -> None:
    try:
        if answered is not None:
            await answered.wait()
        await store()
    except Exception as exc:  # the answer has been sent: a failed store must not reach anyone but the log
        log.warning("cache_store_failed", key=key, error=type(exc).__name__)
