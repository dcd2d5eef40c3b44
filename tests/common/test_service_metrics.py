"""The request path's shortcuts to prometheus_client's children record exactly what ``inc()`` and ``observe()``
record: the same exposition, bucket by bucket (this also catches a prometheus-client whose internals moved)."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from common.service_metrics import REQUEST_BUCKETS_S, increments, observations

# Below, on and above bucket bounds, past the last finite one, and zero.
AMOUNTS = [0.0, 0.0001, 0.0005, 0.00050001, 0.001, 0.003, 0.25, 7.5, 10.0, 11.0, 1e9, 0.0005]


def _registry() -> tuple[CollectorRegistry, Counter, Histogram]:
    registry = CollectorRegistry()
    counter = Counter("hw_test_total", "a counter", ("cache", "outcome"), registry=registry)
    histogram = Histogram("hw_test_seconds", "a histogram", ("route",), buckets=REQUEST_BUCKETS_S, registry=registry)
    return registry, counter, histogram


def _exposition(registry: CollectorRegistry) -> list[str]:
    return [line for line in generate_latest(registry).decode().splitlines() if "_created" not in line]


def test_the_shortcuts_record_what_inc_and_observe_record() -> None:
    by_api, counter, histogram = _registry()
    by_shortcut, counter2, histogram2 = _registry()
    add, record = increments(counter2), observations(histogram2)
    for i, amount in enumerate(AMOUNTS):
        route = f"/r{i % 3}"
        histogram.labels(route).observe(amount)
        record(route)(amount)
        counter.labels("chart", "hit").inc()
        add("chart", "hit")(1)
        counter.labels("chart", "bytes").inc(i * 1000)
        add("chart", "bytes")(i * 1000)
    assert _exposition(by_shortcut) == _exposition(by_api)
    # Not vacuous: amounts on a bound count in that bucket, and the last one is +Inf.
    assert 'hw_test_seconds_bucket{le="0.0005",route="/r2"} 2.0' in _exposition(by_api)
    assert 'hw_test_seconds_bucket{le="5.0",route="/r2"} 3.0' in _exposition(by_api)
    assert 'hw_test_seconds_bucket{le="10.0",route="/r2"} 4.0' in _exposition(by_api)
    assert 'hw_test_seconds_bucket{le="10.0",route="/r1"} 3.0' in _exposition(by_api)
    assert 'hw_test_seconds_bucket{le="+Inf",route="/r1"} 4.0' in _exposition(by_api)


def test_label_values_are_still_checked() -> None:
    _registry_, counter, histogram = _registry()
    with pytest.raises(ValueError):
        increments(counter)("only one value")
    with pytest.raises(ValueError):
        observations(histogram)("a", "b")
