"""The prewarm queue: the jobs the worker runs, asked for by its own discovery and by the api after a miss.

Each warming job warms one cache entry and its id names that entry (data version included), so asking twice
for the same work queues one job: arq refuses an id while its job is queued or running, and for as long as
its result is kept. The worker keeps results for half the cache lifetime; asking after that queues the job
again, which finds the entry and extends its lifetime, so a default view never expires while it is kept warm.

Jobs travel as JSON (orjson), never pickle: nothing read from Redis is ever executed.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import redis.asyncio as aioredis
from arq.connections import ArqRedis

from common.default_views import RUN_EQUITY_TARGET_POINTS, RUN_PAGE_INCLUDE_ORDERS, ChartView
from common.keys import KeySpace

WARM_CHART = "warm_chart"
WARM_RUN = "warm_run"
DROP_STALE_CHARTS = "drop_stale_charts"


def _describe(value: Any) -> str:
    # A failed job's result is its exception: kept as its type and message.
    return f"{type(value).__name__}: {value}"


def serialize_job(data: dict[str, Any]) -> bytes:
    return orjson.dumps(data, default=_describe)


def deserialize_job(data: bytes) -> dict[str, Any]:
    return orjson.loads(data)


def arq_client(redis: aioredis.Redis, keys: KeySpace) -> ArqRedis:
    """An arq client on ``redis``'s connections, speaking the worker's queue and job encoding."""
    return ArqRedis(pool_or_conn=redis.connection_pool, job_serializer=serialize_job,
                    job_deserializer=deserialize_job, default_queue_name=keys.prewarm_queue())


def versions_digest(versions: dict[str, int]) -> str:
    """A short, order-independent name for a set of data versions (symbol or symbol/timeframe -> version)."""
    canonical = orjson.dumps(versions, option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(canonical, digest_size=8).hexdigest()


class PrewarmQueue:
    def __init__(self, arq: ArqRedis, keys: KeySpace) -> None:
        self.arq = arq
        self.keys = keys

    async def chart(self, view: ChartView, data_version: int) -> bool:
        """Warm ``view`` (of data version ``data_version``); False when that job is already queued or done."""
        job_id = self.keys.prewarm_job(view.cache_key(self.keys, data_version))
        return await self._enqueue(WARM_CHART, job_id, view.symbol, view.timeframe.value, view.from_s, view.to_s,
                                   view.target_points)

    async def run(self, run_id: str) -> bool:
        """Warm a completed run's page: its complete response and its chart."""
        cache_key = self.keys.run_complete(run_id, RUN_EQUITY_TARGET_POINTS, RUN_PAGE_INCLUDE_ORDERS)
        return await self._enqueue(WARM_RUN, self.keys.prewarm_job(cache_key), run_id)

    async def drop_stale_charts(self, versions: dict[str, int]) -> bool:
        """Remove chart entries older than the current data versions (``versions`` names the job only)."""
        return await self._enqueue(DROP_STALE_CHARTS, self.keys.drop_stale_charts_job(versions_digest(versions)))

    async def _enqueue(self, function: str, job_id: str, *args: Any) -> bool:
        return await self.arq.enqueue_job(function, *args, _job_id=job_id) is not None
