"""One node's metrics as plain numbers, and what two readings a few seconds apart say about that window.

Counters and histograms only ever grow, so the difference of two readings is what happened in between: a
rate is that difference over the elapsed time, and a percentile is interpolated inside the histogram bucket
where it falls, exactly as Prometheus's ``histogram_quantile`` does, so the page and Grafana agree.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry


@dataclass
class Distribution:
    """A histogram's cumulative state: observations, their sum, and the cumulative count per upper bound."""

    count: float = 0.0
    total: float = 0.0
    buckets: dict[float, float] = field(default_factory=lambda: defaultdict(float))

    def minus(self, earlier: Distribution | None) -> Distribution:
        if earlier is None:
            return self
        out = Distribution(self.count - earlier.count, self.total - earlier.total)
        for bound, value in self.buckets.items():
            out.buckets[bound] = value - earlier.buckets.get(bound, 0.0)
        return out

    def quantile(self, q: float) -> float | None:
        """The q-quantile (0..1) in the histogram's unit, or None when nothing was observed."""
        if self.count <= 0:
            return None
        rank = q * self.count
        lower_bound, lower_count = 0.0, 0.0
        for bound in sorted(self.buckets):
            count = self.buckets[bound]
            if count >= rank:
                if math.isinf(bound):
                    return lower_bound  # beyond the last finite bound: the bound is all we know
                width = count - lower_count
                return lower_bound + (bound - lower_bound) * ((rank - lower_count) / width if width else 1.0)
            lower_bound, lower_count = bound, count
        return lower_bound


@dataclass
class Reading:
    """Everything the operations page derives from, read from one registry at ``at_s`` (monotonic)."""

    at_s: float
    counters: dict[tuple[str, tuple[str, ...]], float] = field(default_factory=lambda: defaultdict(float))
    gauges: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    histograms: dict[tuple[str, tuple[str, ...]], Distribution] = field(default_factory=dict)

    def counter(self, name: str, *labels: str) -> float:
        return self.counters.get((name, labels), 0.0)

    def histogram(self, name: str, *labels: str) -> Distribution:
        return self.histograms.get((name, labels), Distribution())

    def labels_of(self, name: str) -> list[tuple[str, ...]]:
        return sorted({labels for (metric, labels) in (*self.counters, *self.histograms) if metric == name})


# Which labels to keep per metric (the rest are summed over): the page's breakdowns, nothing finer.
_KEEP = {
    "hewston_api_request_duration_seconds": ("route",),
    "hewston_api_errors": ("route",),
    "hewston_api_upstream_duration_seconds": ("route",),
    "hewston_api_upstream_calls": ("route",),
    "hewston_api_cache": ("cache", "outcome"),
    "hewston_stream_resumes": ("outcome",),
}


def read(registry: CollectorRegistry, at_s: float) -> Reading:
    reading = Reading(at_s)
    for family in registry.collect():
        keep = _KEEP.get(family.name, ())
        for sample in family.samples:
            labels = tuple(sample.labels.get(name, "") for name in keep)
            if family.type == "counter" and sample.name.endswith("_total"):
                reading.counters[(family.name, labels)] += sample.value
            elif family.type == "gauge":
                reading.gauges[sample.name] += sample.value
            elif family.type == "histogram":
                dist = reading.histograms.setdefault((family.name, labels), Distribution())
                if sample.name.endswith("_bucket"):
                    dist.buckets[float(sample.labels["le"])] += sample.value
                elif sample.name.endswith("_count"):
                    dist.count += sample.value
                elif sample.name.endswith("_sum"):
                    dist.total += sample.value
    return reading
