"""Prometheus metrics of one relay, in its own registry (tests run several relays in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from common.process_metrics import LoopLagMonitor, add_process_metrics

_LAG_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class RelayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        add_process_metrics(self.registry)
        self.loop_lag = LoopLagMonitor(self.registry)
        # Which relay this is: a run's lease token starts with this id, so an operator can tell who holds a run.
        self.identity = Info("hewston_relay", "This relay's id (the prefix of the lease tokens it holds)",
                             registry=self.registry)
        self.runs_held = Gauge("hewston_relay_runs_held", "Runs whose lease this relay holds",
                               registry=self.registry)
        self.upstream_connections = Gauge("hewston_relay_upstream_connections",
                                          "Open playback connections to the backend", registry=self.registry)
        self.messages = Counter("hewston_relay_messages_total",
                                "Backend messages by outcome (published, dropped, reply) and type",
                                ("outcome", "type"), registry=self.registry)
        self.append_lag = Histogram("hewston_relay_append_lag_seconds",
                                    "From receiving a backend message to its append to the stream",
                                    buckets=_LAG_BUCKETS_S, registry=self.registry)
        self.lease_changes = Counter("hewston_relay_lease_changes_total",
                                     "Lease events: claimed, took_over, released, lost",
                                     ("event",), registry=self.registry)
        self.upstream_events = Counter("hewston_relay_upstream_events_total",
                                       "Upstream connection events: connected, lost, refused",
                                       ("event",), registry=self.registry)
        self.controls = Counter("hewston_relay_controls_total",
                                "Viewer controls by outcome: forwarded, rejected (an error went back), unavailable",
                                ("outcome",), registry=self.registry)
        self.task_restarts = Counter("hewston_relay_task_restarts_total",
                                     "Background tasks (relay-scan, relay-controls) that failed and were started again",
                                     ("task",), registry=self.registry)
