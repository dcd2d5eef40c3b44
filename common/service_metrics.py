"""What every HTTP service of Hewston measures alike, in a registry of its own (tests build many side by side).

The api and the backend record requests under the same names but their own prefix
(``hewston_api_…``/``hewston_backend_…``), with the same labels and buckets, so that a dashboard can put a call
through the api beside the same call made straight to the backend. Each also reports its process and its
event-loop lag (``common.process_metrics``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from functools import lru_cache

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from common.process_metrics import LoopLagMonitor, add_process_metrics

# Sub-millisecond cache hits up to slow upstream calls.
REQUEST_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


# Metrics observed on every request are resolved once per combination of label values, down to the value objects
# a child finally adds to: prometheus_client checks the label values and takes a lock on every ``labels()``
# call, and checks on every ``inc()``/``observe()`` what a child made by ``labels()`` always is (observable, no
# exemplar), a measurable share of a sub-millisecond request. The children kept are the ones the metric keeps
# anyway (label values here are bounded: route templates, statuses). prometheus-client is pinned, and
# tests/common/test_service_metrics.py checks that the exposition is the one ``inc()``/``observe()`` make.
def increments(counter: Counter, max_children: int = 4096) -> Callable[..., Callable[[float], None]]:
    """``increments(counter)(*label_values)(amount)`` adds a non-negative ``amount`` as ``inc(amount)`` does."""
    return lru_cache(maxsize=max_children)(lambda *values: counter.labels(*values)._value.inc)


def observations(histogram: Histogram, max_children: int = 4096) -> Callable[..., Callable[[float], None]]:
    """``observations(histogram)(*label_values)(amount)`` records ``amount`` as ``observe(amount)`` does."""

    def child(*values: str) -> Callable[[float], None]:
        labelled = histogram.labels(*values)
        bounds = labelled._upper_bounds  # ascending, ending with +Inf
        add_to_bucket = [bucket.inc for bucket in labelled._buckets]
        add_to_sum = labelled._sum.inc

        def observe(amount: float) -> None:
            add_to_sum(amount)
            add_to_bucket[bisect_left(bounds, amount)](1)  # the first bucket whose bound is >= amount

        return observe

    return lru_cache(maxsize=max_children)(child)


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
        self._request_duration = observations(self.request_duration)

    def observe_request(self, method: str, route: str, status: int, duration_s: float) -> None:
        labels = (method, route, str(status))
        self._request_duration(*labels)(duration_s)
        if status >= 500:
            self.errors.labels(*labels).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
