"""What every role tells about its own process: CPU, resident memory, open descriptors, and event-loop lag.

prometheus_client's process collector (``process_cpu_seconds_total``, ``process_resident_memory_bytes``,
``process_open_fds``…) only reports into the default registry; each Hewston role keeps its own registry (tests
build many side by side), so the collector is added to it here.

Event-loop lag is what a request or a frame waits before the loop gets to it: a task sleeps a fixed interval
and records how late it woke. A blocking call anywhere in the process shows up here first.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Histogram, ProcessCollector

from common.periodic import Periodic

_LAG_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def add_process_metrics(registry: CollectorRegistry) -> None:
    ProcessCollector(registry=registry)


class LoopLagMonitor(Periodic):
    """Samples the event loop's lag every ``interval_s`` while started (a few microseconds per sample)."""

    def __init__(self, registry: CollectorRegistry, *, interval_s: float = 0.5) -> None:
        super().__init__("loop-lag-monitor", interval_s, self._sample)
        self.lag = Histogram("hewston_event_loop_lag_seconds",
                             "How late a timer fired on this process's event loop (blocking work shows here)",
                             buckets=_LAG_BUCKETS_S, registry=registry)
        self._last: float | None = None

    async def _sample(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.lag.observe(max(0.0, now - self._last - self.interval_s))
        self._last = now
