"""Prometheus metrics of one api app, in its own registry so that tests can build many apps side by side."""

from __future__ import annotations

from typing import Protocol

from prometheus_client import Counter, Gauge, Histogram

from common.service_metrics import REQUEST_BUCKETS_S as _BUCKETS_S
from common.service_metrics import ServiceMetrics, increments, observations


class DependencyMetrics(Protocol):
    """What the backend client and the Redis guard report into: the api's metrics, or the prewarm worker's."""

    redis_errors: Counter

    def observe_upstream(self, method: str, route: str, status: int | str, duration_s: float) -> None: ...


class ApiMetrics(ServiceMetrics):
    def __init__(self) -> None:
        super().__init__("api")
        self.cache = Counter(
            "hewston_api_cache_total", "Cache lookups by cache and outcome (hit, miss, wait_hit, bypass)",
            ("cache", "outcome"), registry=self.registry)
        self.cache_bytes = Counter(
            "hewston_api_cache_served_bytes_total", "Bytes of cached entries served (hit or wait_hit), by cache",
            ("cache",), registry=self.registry)
        self.redis_up = Gauge(
            "hewston_api_redis_up", "1 while this node reaches Redis, 0 while its breaker holds Redis for down",
            registry=self.registry)
        self.upstream_duration = Histogram(
            "hewston_api_upstream_duration_seconds", "Backend call latency by backend route and status",
            ("method", "route", "status"), buckets=_BUCKETS_S, registry=self.registry)
        self.redis_errors = Counter(
            "hewston_api_redis_errors_total", "Redis operations that failed (served uncached instead)",
            registry=self.registry)
        self.upstream_calls = Histogram(
            "hewston_api_upstream_calls", "Backend calls one request made, by route template",
            ("route",), buckets=(0, 1, 2, 3, 4, 6, 8), registry=self.registry)
        self.rate_limited = Counter(
            "hewston_api_rate_limited_total", "Requests refused by the rate limit", registry=self.registry)
        # Resolved once per label values: these are observed on every request (see common.service_metrics).
        self.upstream_calls_by_route = observations(self.upstream_calls)
        self._upstream_duration = observations(self.upstream_duration)
        self._cache = increments(self.cache)
        self._cache_bytes = increments(self.cache_bytes)

    def observe_upstream(self, method: str, route: str, status: int | str, duration_s: float) -> None:
        self._upstream_duration(method, route, str(status))(duration_s)

    def count_cache(self, cache: str, outcome: str, served_bytes: int = 0) -> None:
        self._cache(cache, str(outcome))(1)
        if served_bytes and outcome in ("hit", "wait_hit"):
            self._cache_bytes(cache)(served_bytes)
