"""After a miss on a view the frontend opens first, ask the prewarm worker to warm the rest of that page.

A miss on a default view (:mod:`common.default_views`) means the worker has not warmed it: a data version it
has not discovered yet, or an entry that expired while no worker ran. The route has just computed and stored
that view itself; the worker warms its siblings (the symbol's other default views, or a run's chart) before
the viewer asks for them. Views with other ranges or targets are not worth keeping warm: the cache keeps
them for as long as they are asked for.

The request is sent in the background, so a response never waits for it, and through the Redis guard, so a
Redis outage costs nothing but the warming.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any

import redis.asyncio as aioredis

from api.views.charts import chart_dataset
from api.views.queries import RunCompleteQuery
from api.views.redis_guard import RedisGuard, RedisUnavailable
from common.default_views import ChartView, is_default_run_query, symbol_views
from common.keys import KeySpace
from common.logging import get_logger
from common.prewarm_queue import PrewarmQueue, arq_client

log = get_logger("hewston.api.prewarm")

# One enqueue, given the queue: True when a job was queued, False when the same job was already there.
Request = Callable[[PrewarmQueue], Awaitable[bool]]


class PrewarmTrigger:
    def __init__(self, guard: RedisGuard, keys: KeySpace, queue_redis: aioredis.Redis | None) -> None:
        """``queue_redis``: the Redis of the job queue (``HEWSTON_QUEUE_REDIS_URL``, or the cache's own); None
        when there is none (a Redis Cluster without a queue of its own): misses then ask for nothing, and the
        cache is warmed by the requests themselves."""
        self.guard = guard
        self.queue = PrewarmQueue(arq_client(queue_redis, keys), keys) if queue_redis is not None else None
        self._pending: set[asyncio.Task[None]] = set()

    def chart_missed(self, view: ChartView, symbol_info: dict[str, Any]) -> None:
        if self.queue is not None:
            self._spawn(self._chart_missed(view, symbol_info))

    def run_missed(self, run_id: str, query: RunCompleteQuery) -> None:
        if self.queue is not None and is_default_run_query(query.target_points, query.include_orders):
            self._spawn(self._enqueue([partial(PrewarmQueue.run, run_id=run_id)]))

    def _spawn(self, request: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(self._quietly(request))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _chart_missed(self, view: ChartView, symbol_info: dict[str, Any]) -> None:
        views = symbol_views(symbol_info)
        if view in views:
            await self._enqueue([partial(PrewarmQueue.chart, view=v,
                                         data_version=chart_dataset(symbol_info, v.timeframe)["data_version"])
                                 for v in views])

    async def _enqueue(self, requests: list[Request]) -> None:
        for request in requests:
            await self.guard.run(lambda _redis, request=request: request(self.queue))  # type: ignore[arg-type]

    @staticmethod
    async def _quietly(request: Coroutine[Any, Any, None]) -> None:
        try:
            await request
        except RedisUnavailable:
            pass  # the guard has logged the outage; the worker's discovery catches up
        except Exception as exc:  # asking for warming must never disturb a response
            log.warning("prewarm_request_failed", error=type(exc).__name__)

    async def wait_sent(self) -> None:
        """Wait until every request made so far has been sent (for shutdown and tests)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._pending):
            task.cancel()
        await self.wait_sent()
