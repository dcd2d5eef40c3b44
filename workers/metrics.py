"""Prometheus metrics of one worker, in its own registry, served on the worker's own small HTTP server.

The worker has no web app of its own, so prometheus_client's HTTP server (a daemon thread) exposes
``/metrics`` on ``HEWSTON_WORKER_METRICS_PORT``.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, start_http_server

from common.process_metrics import add_process_metrics

_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class WorkerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        add_process_metrics(self.registry)
        self.jobs = Counter(
            "hewston_worker_jobs_total", "Prewarm jobs by job and outcome: done, failed (bad data, or out of "
            "tries) or retried (backend or Redis unavailable: tried again later)", ("job", "outcome"),
            registry=self.registry)
        self.job_duration = Histogram(
            "hewston_worker_job_duration_seconds", "Time a prewarm job took, by job and outcome",
            ("job", "outcome"), buckets=_BUCKETS_S, registry=self.registry)
        self.queue_depth = Gauge(
            "hewston_worker_queue_depth", "Jobs waiting in the prewarm queue, deferred retries included",
            registry=self.registry)
        self.enqueued = Counter(
            "hewston_worker_enqueued_total", "Prewarm requests of the discovery by job and outcome: queued, or "
            "duplicate (the same job is queued, running or recently done)", ("job", "outcome"),
            registry=self.registry)
        self.discoveries = Counter(
            "hewston_worker_discoveries_total", "Discovery cycles by outcome: done, backend_unavailable, failed",
            ("outcome",), registry=self.registry)
        self.cache = Counter(
            "hewston_worker_cache_total", "Entries a job found (hit: its lifetime was extended) or computed "
            "(miss), by cache", ("cache", "outcome"), registry=self.registry)
        self.stale_removed = Counter(
            "hewston_worker_stale_entries_removed_total", "Chart entries of old data versions removed",
            registry=self.registry)
        self.upstream_duration = Histogram(
            "hewston_worker_upstream_duration_seconds", "Backend call latency by backend route and status",
            ("method", "route", "status"), buckets=_BUCKETS_S, registry=self.registry)
        self.redis_errors = Counter(
            "hewston_worker_redis_errors_total", "Redis operations that failed", registry=self.registry)
        # The same job outcomes as plain numbers, for the health line in the log.
        self.totals: Tally[str] = Tally()

    def job_finished(self, job: str, outcome: str, duration_s: float) -> None:
        self.jobs.labels(job, outcome).inc()
        self.job_duration.labels(job, outcome).observe(duration_s)
        self.totals[outcome] += 1

    def observe_upstream(self, method: str, route: str, status: int | str, duration_s: float) -> None:
        self.upstream_duration.labels(method, route, str(status)).observe(duration_s)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def serve(self, host: str, port: int) -> Callable[[], None]:
        """Serve ``/metrics`` on ``host:port`` from a daemon thread; returns the function that stops it."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)

        def stop() -> None:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

        return stop
