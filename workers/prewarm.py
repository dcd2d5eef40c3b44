"""The work of the prewarm jobs: warm one chart view, warm one completed run's page, drop stale chart entries.

Every entry is computed by the api's own cached views (:class:`api.views.CachedViews`, built from the api's
settings as an api node builds it), through the same cache and single flight, so the stored bytes are exactly
what a route computes on a miss. An entry that is already there has
its lifetime extended instead: its key carries the data version (or the immutable run's id), so its bytes
cannot have gone stale.
"""

from __future__ import annotations

from collections.abc import Awaitable

import redis.asyncio as aioredis

from api.settings import ApiSettings
from api.views import CachedViews, Outcome, RedisUnavailable, RunCompleteQuery, chart_dataset
from common.default_views import RUN_PAGE_INCLUDE_ORDERS, ChartView, run_chart_view
from common.errors import Conflict
from common.prewarm_queue import WARM_CHART, PrewarmQueue, arq_client
from workers.catalog import BackendCatalog
from workers.config import WorkerConfig
from workers.invalidation import drop_stale_chart_entries
from workers.metrics import WorkerMetrics


class Prewarmer:
    def __init__(self, config: WorkerConfig, api: ApiSettings, redis: aioredis.Redis, metrics: WorkerMetrics) -> None:
        if not config.service_token:
            raise ValueError("the worker needs the backend's service token (HEWSTON_SERVICE_TOKEN)")
        self.config = config
        self.api = api
        self.metrics = metrics
        # A job's point is the stored entry: it stores before it reports, never after.
        self.views = CachedViews(api.model_copy(update={"backend_url": config.backend_url,
                                                        "backend_ca_file": config.backend_ca_file,
                                                        "cache_store_max_pending": 0}), redis, metrics)
        self.keys, self.guard = self.views.keys, self.views.guard
        self.backend = BackendCatalog(self.views.upstream, config.service_token)
        self.queue = PrewarmQueue(arq_client(redis, self.keys), self.keys)

    async def aclose(self) -> None:
        await self.views.aclose()

    async def request(self, job: str, enqueue: Awaitable[bool]) -> bool:
        """Send one prewarm request and count whether it queued a job or found the same job there."""
        queued = await enqueue
        self.metrics.enqueued.labels(job, "queued" if queued else "duplicate").inc()
        return queued

    async def warm_chart(self, view: ChartView) -> str:
        symbol_info = await self.backend.symbol(view.symbol)
        chart = await self.views.chart(self.backend.authorization, view, symbol_info)
        await self._keep(chart.key, "chart", chart.outcome, self.api.chart_cache_ttl_s)
        return chart.outcome

    async def warm_run(self, run_id: str) -> str:
        """The run's complete response as its page opens it, then a request to warm the run's chart."""
        run = await self.backend.run(run_id)
        if run.get("status") != "completed":
            raise Conflict(f"run {run_id} is {run.get('status')}: only completed runs are warmed")
        query = RunCompleteQuery(include_orders=RUN_PAGE_INCLUDE_ORDERS)
        parts = await self.views.run_parts(self.backend.authorization, run_id, query)
        await self._keep(parts.key, "run", parts.outcome, self.api.run_cache_ttl_s)
        view = run_chart_view(run)
        dataset = chart_dataset(await self.backend.symbol(view.symbol), view.timeframe)
        queued = await self.request(WARM_CHART, self.queue.chart(view, dataset["data_version"]))
        return f"{parts.outcome}; chart {'queued' if queued else 'already queued'}"

    async def drop_stale_charts(self) -> str:
        current = {(info["symbol"], dataset["timeframe"]): dataset["data_version"]
                   for info in await self.backend.symbols() for dataset in info.get("datasets") or ()
                   if isinstance(dataset, dict) and isinstance(dataset.get("data_version"), int)}
        removed = await drop_stale_chart_entries(self.guard, self.keys, current)
        self.metrics.stale_removed.inc(removed)
        return f"{removed} stale chart entries removed"

    async def _keep(self, key: str, cache: str, outcome: Outcome, ttl_s: int) -> None:
        """Count what the job found; extend a found entry's lifetime; fail when nothing could be stored."""
        self.metrics.cache.labels(cache, outcome).inc()
        if outcome is Outcome.BYPASS:
            raise RedisUnavailable("Redis is unavailable, so nothing was stored")
        if outcome is Outcome.HIT:
            await self.views.keep(key, ttl_s)
