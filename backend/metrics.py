"""Prometheus metrics of the backend, in its own registry (tests build several backends in one process).

Requests are measured as the api measures them (``common.service_metrics``), so a dashboard can put a call
made directly to the backend beside the same call made through the api. Run executions and playback connections
are what the backend spends its CPU on.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram

from common.service_metrics import ServiceMetrics

_RUN_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class BackendMetrics(ServiceMetrics):
    def __init__(self) -> None:
        super().__init__("backend")
        self.run_executions = Counter(
            "hewston_backend_run_executions_total", "Backtests executed, by outcome: completed, failed",
            ("outcome",), registry=self.registry)
        self.run_duration = Histogram(
            "hewston_backend_run_duration_seconds", "Time one backtest took to execute, by outcome",
            ("outcome",), buckets=_RUN_BUCKETS_S, registry=self.registry)
        self.playback_connections = Gauge(
            "hewston_backend_playback_connections", "Open playback WebSocket connections", registry=self.registry)
        self.decimations = Counter(
            "hewston_backend_decimations_total", "Lines long enough for the decimation processes, by where they "
            "were decimated: pool (a worker), loop (no worker ready, busy, slow or broken)", ("where",),
            registry=self.registry)
        self.playback_opened = Counter(
            "hewston_backend_playback_connections_opened_total", "Playback connections opened",
            registry=self.registry)

    def decimated(self, where: str) -> None:
        self.decimations.labels(where).inc()

    def run_finished(self, outcome: str, duration_s: float) -> None:
        self.run_executions.labels(outcome).inc()
        self.run_duration.labels(outcome).observe(duration_s)

    def count_connections(self, open_connections: Callable[[], int]) -> None:
        """Read the open playback connections when scraped, from whoever keeps them."""
        self.playback_connections.set_function(open_connections)
