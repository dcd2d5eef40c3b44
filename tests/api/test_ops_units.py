"""The arithmetic of the operations summary: percentiles as Prometheus interpolates them, windows between two
readings, and the nodes' shares merged."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram

from api.ops.readings import Distribution, read
from api.ops.sampler import window
from api.ops.summary import degraded, merge_caches, merge_history, merge_routes


def distribution(counts: dict[float, float]) -> Distribution:
    dist = Distribution(count=max(counts.values()))
    dist.buckets.update(counts)
    return dist


def test_quantiles_interpolate_inside_the_bucket_like_histogram_quantile():
    # 100 observations: 50 up to 10 ms, 40 more up to 100 ms, 10 more up to 1 s.
    dist = distribution({0.01: 50, 0.1: 90, 1.0: 100, float("inf"): 100})
    assert dist.quantile(0.5) == pytest.approx(0.01)
    assert dist.quantile(0.7) == pytest.approx(0.01 + 0.09 * (20 / 40))
    assert dist.quantile(0.95) == pytest.approx(0.1 + 0.9 * 0.5)
    assert Distribution().quantile(0.5) is None


def test_a_quantile_beyond_the_last_bound_is_that_bound():
    assert distribution({0.1: 1, float("inf"): 10}).quantile(0.99) == pytest.approx(0.1)


def test_a_window_counts_only_what_happened_between_two_readings():
    registry = CollectorRegistry()
    requests = Histogram("hewston_api_request_duration_seconds", "x", ("method", "route", "status"),
                         buckets=(0.01, 0.1), registry=registry)
    cache = Counter("hewston_api_cache_total", "x", ("cache", "outcome"), registry=registry)
    for _ in range(10):
        requests.labels("GET", "/api/v1/symbols", "200").observe(0.5)  # before the window: slow
    cache.labels("chart", "miss").inc(5)
    before = read(registry, at_s=100.0)
    for _ in range(20):
        requests.labels("GET", "/api/v1/symbols", "200").observe(0.005)
    cache.labels("chart", "hit").inc(3)
    cache.labels("chart", "wait_hit").inc(1)
    now = read(registry, at_s=102.0)
    result = window(now, before)
    [route] = result["routes"]
    assert route["route"] == "/api/v1/symbols" and route["requests_per_s"] == 10.0
    assert route["p95_ms"] < 10.0  # the slow calls before the window do not count
    assert result["caches"] == [{"cache": "chart", "hits": 4.0, "misses": 0.0, "hit_ratio": 1.0}]
    assert result["window_s"] == 2.0


def test_nodes_merge_rates_add_and_percentiles_take_the_worst():
    a = {"routes": [{"route": "/r", "requests_per_s": 2.0, "errors_per_s": 0.0, "p50_ms": 1.0, "p95_ms": 5.0,
                     "p99_ms": 9.0, "backend_p95_ms": 3.0, "upstream_calls_per_request": 1.0}],
         "caches": [{"cache": "chart", "hits": 3.0, "misses": 1.0}]}
    b = {"routes": [{"route": "/r", "requests_per_s": 1.0, "errors_per_s": 0.5, "p50_ms": 2.0, "p95_ms": 8.0,
                     "p99_ms": 12.0, "backend_p95_ms": 4.0, "upstream_calls_per_request": 1.0}],
         "caches": [{"cache": "chart", "hits": 1.0, "misses": 3.0}]}
    [route] = merge_routes([a, b])
    assert (route["requests_per_s"], route["errors_per_s"], route["p95_ms"], route["added_p95_ms"]) == \
        (3.0, 0.5, 8.0, 4.0)
    assert merge_caches([a, b]) == [{"cache": "chart", "hits": 4.0, "misses": 4.0, "hit_ratio": 0.5}]


def test_histories_of_nodes_merge_by_interval():
    point = {"requests_per_s": 1.0, "errors_per_s": 0.0, "viewers": 2.0, "messages_in_per_s": 30.0, "resyncs": 0.0,
             "p95_ms": 5.0, "backend_p95_ms": None, "fanout_p95_ms": 2.0, "loop_lag_p95_ms": 1.0,
             "cpu_percent": 10.0, "rss_mb": 100.0, "cache_hit_ratio": 0.5}
    merged = merge_history([[{**point, "at_ms": 2_100}, {**point, "at_ms": 4_050}],
                            [{**point, "at_ms": 2_900, "p95_ms": 9.0, "cache_hit_ratio": 1.0}]], step_ms=2_000)
    assert [(p["at_ms"], p["viewers"], p["p95_ms"], p["cache_hit_ratio"]) for p in merged] == [
        (2_000, 4.0, 9.0, 0.75), (4_000, 2.0, 5.0, 0.5)]


def test_degraded_names_what_needs_a_look():
    totals = {"errors_per_s": 0.5, "resyncs": 2.0}
    problems = degraded({"redis": "down", "backend": "ok"}, totals, [{"run_id": "r1", "relay": None},
                                                                    {"run_id": "r2", "relay": "abc"}])
    assert problems == ["redis is down", "the api answers 0.5 errors (5xx) per second",
                        "run r1 has viewers but no relay holds it", "2 viewers fell behind and were resynchronised"]
    assert degraded({"redis": "ok"}, {"errors_per_s": 0.0, "resyncs": 0.0}, []) == []
