"""Every few seconds, what this node did in the last window, kept as a short history and shared in Redis.

A node reads its own registry (``readings``), derives the last interval's rates and percentiles, appends them
to a bounded history (the page's sparklines), derives the same over a longer window (``table_window_s``: the
per-route and per-cache tables, steadier than one interval) and writes the lot under its id in one Redis hash,
so that whichever node answers ``/api/v1/ops/summary`` can show every node. A node that stops writing ages
out of the summary. Sampling costs one registry walk per interval (on a thread), nothing per request.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import orjson
from prometheus_client import CollectorRegistry

from api.ops.readings import Distribution, Reading, read
from api.views import RedisGuard, RedisUnavailable
from common.keys import KeySpace
from common.periodic import Periodic

# Cache outcomes that served stored bytes (a wait_hit found what another request computed).
HITS = ("hit", "wait_hit")
MISSES = ("miss",)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 3)


def _per_s(value: float, window_s: float) -> float:
    return round(max(0.0, value) / window_s, 3) if window_s > 0 else 0.0


def window(now: Reading, before: Reading | None) -> dict[str, Any]:
    """What happened between two readings (since the process started, without an earlier one)."""
    span_s = now.at_s - before.at_s if before is not None else 0.0

    def delta(name: str, *labels: str) -> float:
        return now.counter(name, *labels) - (before.counter(name, *labels) if before else 0.0)

    def dist(name: str, *labels: str):
        return now.histogram(name, *labels).minus(before.histogram(name, *labels) if before else None)

    routes = []
    for (route,) in now.labels_of("hewston_api_request_duration_seconds"):
        served = dist("hewston_api_request_duration_seconds", route)
        backend = dist("hewston_api_upstream_duration_seconds", route.removeprefix("/api/v1"))
        calls = dist("hewston_api_upstream_calls", route)
        routes.append({
            "route": route, "requests_per_s": _per_s(served.count, span_s),
            "p50_ms": _ms(served.quantile(0.5)), "p95_ms": _ms(served.quantile(0.95)),
            "p99_ms": _ms(served.quantile(0.99)), "errors_per_s": _per_s(delta("hewston_api_errors", route), span_s),
            # The same call's time in the backend, where the api forwards it as it came (passthrough).
            "backend_p95_ms": _ms(backend.quantile(0.95)),
            "upstream_calls_per_request": round(calls.total / calls.count, 3) if calls.count else None})
    caches = []
    for cache in sorted({labels[0] for labels in now.labels_of("hewston_api_cache")}):
        hits = sum(delta("hewston_api_cache", cache, outcome) for outcome in HITS)
        misses = sum(delta("hewston_api_cache", cache, outcome) for outcome in MISSES)
        caches.append({"cache": cache, "hits": hits, "misses": misses,
                       "hit_ratio": round(hits / (hits + misses), 4) if hits + misses else None})
    served = _summed(dist, now, "hewston_api_request_duration_seconds")
    backend_all = _summed(dist, now, "hewston_api_upstream_duration_seconds")
    hits = sum(c["hits"] for c in caches)
    lookups = hits + sum(c["misses"] for c in caches)
    gauges = now.gauges
    cpu = delta("process_cpu_seconds")
    return {
        "window_s": round(span_s, 3),
        "requests_per_s": _per_s(served.count, span_s),
        "errors_per_s": _per_s(sum(delta("hewston_api_errors", r) for (r,) in now.labels_of("hewston_api_errors")),
                               span_s),
        "p95_ms": _ms(served.quantile(0.95)),
        "backend_p95_ms": _ms(backend_all.quantile(0.95)),
        "cache_hit_ratio": round(hits / lookups, 4) if lookups else None,
        "viewers": gauges.get("hewston_stream_viewers", 0.0),
        "runs": gauges.get("hewston_stream_runs", 0.0),
        "messages_in_per_s": _per_s(delta("hewston_stream_messages_in"), span_s),
        "fanout_p95_ms": _ms(dist("hewston_stream_delivery_lag_seconds").quantile(0.95)),
        "resyncs": delta("hewston_stream_resyncs"),
        "resumes": {outcome: delta("hewston_stream_resumes", outcome)
                    for (outcome,) in now.labels_of("hewston_stream_resumes")},
        "redis_errors": delta("hewston_api_redis_errors"),
        "cpu_percent": round(100.0 * cpu / span_s, 1) if span_s > 0 else None,
        "rss_mb": round(gauges.get("process_resident_memory_bytes", 0.0) / 2**20, 1),
        "open_fds": gauges.get("process_open_fds", 0.0),
        "loop_lag_p95_ms": _ms(dist("hewston_event_loop_lag_seconds").quantile(0.95)),
        "routes": sorted(routes, key=lambda r: -r["requests_per_s"]),
        "caches": caches,
    }


def _summed(dist: Callable[..., Distribution], now: Reading, name: str) -> Distribution:
    """One histogram's window over all its label sets (every route together)."""
    out = Distribution()
    for labels in now.labels_of(name):
        part = dist(name, *labels)
        out.count += part.count
        out.total += part.total
        for bound, value in part.buckets.items():
            out.buckets[bound] += value
    return out


# Per-point fields of the history (the sparklines); the breakdowns stay in the latest window only.
SERIES = ("requests_per_s", "errors_per_s", "p95_ms", "backend_p95_ms", "cache_hit_ratio", "viewers",
          "messages_in_per_s", "fanout_p95_ms", "resyncs", "cpu_percent", "rss_mb", "loop_lag_p95_ms")


class OpsSampler(Periodic):
    def __init__(self, registry: CollectorRegistry, guard: RedisGuard, keys: KeySpace, *, node_id: str,
                 interval_s: float, history_points: int, table_window_s: float,
                 runs: Callable[[], dict[str, int]]) -> None:
        super().__init__("ops-sampler", interval_s, self._sample_and_share)
        self.registry = registry
        self.guard = guard
        self.keys = keys
        self.node_id = node_id
        # Viewers per run on this node, read when sampling (the stream hub's feeds).
        self.runs = runs
        self.history: deque[dict[str, Any]] = deque(maxlen=history_points)
        self.latest: dict[str, Any] = {}
        self._readings: deque[Reading] = deque(maxlen=max(2, math.ceil(table_window_s / interval_s) + 1))

    def _derive(self) -> tuple[Reading, dict[str, Any], dict[str, Any]]:
        """A reading now, the last interval's point and the table window (reads the readings, changes nothing)."""
        now = read(self.registry, time.monotonic())
        point = window(now, self._readings[-1] if self._readings else None)
        latest = window(now, self._readings[0]) if len(self._readings) > 1 else point
        return now, point, latest

    def sample(self) -> dict[str, Any]:
        """Take a reading now and derive the window since the previous one."""
        return self._keep(*self._derive())

    def _keep(self, now: Reading, point: dict[str, Any], latest: dict[str, Any]) -> dict[str, Any]:
        self._readings.append(now)
        latest["at_ms"] = int(time.time() * 1000)
        latest["node"] = self.node_id
        latest["viewers_by_run"] = self.runs()
        self.latest = latest
        self.history.append({"at_ms": latest["at_ms"], **{name: point[name] for name in SERIES}})
        return latest

    def share(self) -> bytes:
        return orjson.dumps({"latest": self.latest, "history": list(self.history)})

    async def publish(self) -> None:
        data = self.share()
        key = self.keys.ops_nodes()
        await self.guard.run(lambda r: r.hset(key, self.node_id, data))

    async def _sample_and_share(self) -> None:
        # Walking the registry takes milliseconds per hundred label sets: done on a thread, so the event loop
        # (and the stream's fan-out) waits at most one interpreter switch interval at a time, not the whole walk.
        # Only this task changes the readings, and it waits here, so the thread reads them undisturbed.
        self._keep(*await asyncio.to_thread(self._derive))
        try:
            await self.publish()
        except RedisUnavailable:
            pass  # the summary shows the nodes it can; this node's share returns with Redis
