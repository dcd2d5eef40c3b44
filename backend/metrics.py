"""Prometheus metrics of the backend, in its own registry (tests build several backends in one process).

The same request measures as the api's (method, route template, status), so a dashboard can put a call made
directly to the backend beside the same call made through the api. Run executions and playback connections
are what the backend spends its CPU on.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from common.process_metrics import LoopLagMonitor, add_process_metrics

_REQUEST_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_RUN_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class BackendMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        add_process_metrics(self.registry)
        self.loop_lag = LoopLagMonitor(self.registry)
        self.request_duration = Histogram(
            "hewston_backend_request_duration_seconds", "Time to serve a request, by route template",
            ("method", "route", "status"), buckets=_REQUEST_BUCKETS_S, registry=self.registry)
        self.errors = Counter(
            "hewston_backend_errors_total", "Responses with status >= 500, by route template",
            ("method", "route", "status"), registry=self.registry)
        self.run_executions = Counter(
            "hewston_backend_run_executions_total", "Backtests executed, by outcome: completed, failed",
            ("outcome",), registry=self.registry)
        self.run_duration = Histogram(
            "hewston_backend_run_duration_seconds", "Time one backtest took to execute, by outcome",
            ("outcome",), buckets=_RUN_BUCKETS_S, registry=self.registry)
        self.playback_connections = Gauge(
            "hewston_backend_playback_connections", "Open playback WebSocket connections", registry=self.registry)
        self.playback_opened = Counter(
            "hewston_backend_playback_connections_opened_total", "Playback connections opened",
            registry=self.registry)

    def observe_request(self, method: str, route: str, status: int, duration_s: float) -> None:
        labels = (method, route, str(status))
        self.request_duration.labels(*labels).observe(duration_s)
        if status >= 500:
            self.errors.labels(*labels).inc()

    def run_finished(self, outcome: str, duration_s: float) -> None:
        self.run_executions.labels(outcome).inc()
        self.run_duration.labels(outcome).observe(duration_s)

    def count_connections(self, open_connections: Callable[[], int]) -> None:
        """Read the open playback connections when scraped, from whoever keeps them."""
        self.playback_connections.set_function(open_connections)

    def render(self) -> bytes:
        return generate_latest(self.registry)
