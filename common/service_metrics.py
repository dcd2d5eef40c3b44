"""What every HTTP service of Hewston measures alike, in a registry of its own (tests build many side by side).

The api and the backend record requests under the same names but their own prefix
(``hewston_api_…``/``hewston_backend_…``), with the same labels and buckets, so that a dashboard can put a call
through the api beside the same call made straight to the backend. Each also reports its process and its
event-loop lag (``common.process_metrics``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from common.process_metrics import LoopLagMonitor, add_process_metrics

# Sub-millisecond cache hits up to slow upstream calls.
REQUEST_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def children(metric: Any, max_children: int = 4096) -> Callable[..., Any]:
    """``metric.labels``, resolved once per combination of label values: prometheus_client checks the values
    and takes a lock on every ``labels()`` call, a measurable share of a sub-millisecond request. The children
    kept are the ones the metric keeps anyway (label values here are bounded: route templates, statuses)."""
    return lru_cache(maxsize=max_children)(metric.labels)


class ServiceMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, role: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        add_process_metrics(self.registry)
        self.loop_lag = LoopLagMonitor(self.registry)
        self.request_duration = Histogram(
            f"hewston_{role}_request_duration_seconds", "Time to serve a request, by route template",
            ("method", "route", "status"), buckets=REQUEST_BUCKETS_S, registry=self.registry)
        self.errors = Counter(
            f"hewston_{role}_errors_total", "Responses with status >= 500, by route template",
            ("method", "route", "status"), registry=self.registry)
        self._request_duration = children(self.request_duration)

    def observe_request(self, method: str, route: str, status: int, duration_s: float) -> None:
        labels = (method, route, str(status))
        self._request_duration(*labels).observe(duration_s)
        if status >= 500:
            self.errors.labels(*labels).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
