"""The cached views of one process, built once from the api's settings: what an api node serves and what the
prewarm worker stores go through the same object, so the worker's bytes are the route's bytes on a miss.

It holds the Redis guard, the backend client, single flight, the stores still running and the response cache,
and answers the two cached views: a chart (:meth:`CachedViews.chart`) and a completed run's parts
(:meth:`CachedViews.run_parts`), each with a named result that says how it was obtained and under which key it is
stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from api.metrics import DependencyMetrics
from api.settings import ApiSettings
from api.views.cache import Encoded, Outcome, ResponseCache
from api.views.charts import chart_dataset, compute_chart
from api.views.pending_stores import PendingStores
from api.views.queries import RunCompleteQuery
from api.views.redis_guard import RedisGuard
from api.views.run_results import RunParts, compute_run_parts, encode_run_parts
from api.views.single_flight import SingleFlight
from api.views.upstream import Upstream
from common.default_views import ChartView
from common.keys import KeySpace


@dataclass(frozen=True)
class ChartResult:
    """A chart view's encoded bytes, how they were obtained and the key they are cached under."""

    entry: Encoded
    outcome: Outcome
    key: str


@dataclass(frozen=True)
class RunPartsResult:
    """A completed run's cached parts, how they were obtained and the key they are cached under."""

    parts: RunParts
    outcome: Outcome
    key: str


class CachedViews:
    def __init__(self, settings: ApiSettings, redis: aioredis.Redis, metrics: DependencyMetrics) -> None:
        self.settings = settings
        self.keys = KeySpace(settings.redis_key_prefix)
        self.guard = RedisGuard(redis, op_timeout_s=settings.redis_socket_timeout_s,
                                retry_after_s=settings.redis_retry_after_s,
                                retry_after_max_s=settings.redis_retry_after_max_s, metrics=metrics)
        self.upstream = Upstream(settings, metrics)
        self.stores = PendingStores(max_pending=settings.cache_store_max_pending,
                                    drain_s=settings.cache_store_drain_s)
        flight: SingleFlight = SingleFlight(self.guard, self.keys, self.stores,
                                            lock_ms=settings.single_flight_lock_ms,
                                            wait_s=settings.single_flight_wait_s)
        self.cache = ResponseCache(self.guard, flight, gzip_level=settings.gzip_level,
                                   gzip_min_bytes=settings.gzip_min_bytes)

    async def aclose(self) -> None:
        """Finish (or, past their time, cancel) the stores still running, then close the backend client."""
        await self.stores.aclose()
        await self.upstream.aclose()

    async def chart(self, authorization: str | None, view: ChartView, symbol_info: dict[str, Any]) -> ChartResult:
        """The encoded bytes of ``view``.

        ``symbol_info`` is the backend's ``GET /symbols/{symbol}``: its data version makes the key change when
        the data does.
        """
        dataset = chart_dataset(symbol_info, view.timeframe)
        key = view.cache_key(self.keys, dataset["data_version"])
        entry, outcome = await self.cache.get_or_compute(
            key, self.settings.chart_cache_ttl_s,
            lambda: compute_chart(self.upstream, authorization, view, dataset))
        return ChartResult(entry, outcome, key)

    def run_parts_key(self, run_id: str, query: RunCompleteQuery) -> str:
        return self.keys.run_complete(run_id, query.target_points, query.include_orders)

    async def run_parts(self, authorization: str | None, run_id: str, query: RunCompleteQuery) -> RunPartsResult:
        """The cached parts of a completed run (metrics, decimated equity, orders when asked for).

        Raises :class:`~api.views.run_results.RunNotCompleted` when the backend has no results for the run yet.
        """
        key = self.run_parts_key(run_id, query)
        level = self.settings.gzip_level
        parts, outcome = await self.cache.get_or_compute(
            key, self.settings.run_cache_ttl_s,
            lambda: compute_run_parts(self.upstream, authorization, run_id, query, level),
            encode=lambda computed: encode_run_parts(computed, level), decode=RunParts.unpack)
        return RunPartsResult(parts, outcome, key)

    async def keep(self, key: str, ttl_s: int) -> None:
        """Extend a cached entry's lifetime: its key names the data version (or the immutable run), so its bytes
        cannot have gone stale."""
        await self.guard.run(lambda r: r.expire(key, ttl_s))
