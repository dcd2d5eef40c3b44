"""Prometheus metrics of the shared stream on one api node (registered in the api's own registry)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

_LAG_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class StreamMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.node = Info("hewston_stream_node", "This api node's id (in the demand it records, and its viewers' "
                         "client ids)", registry=registry)
        self.viewers = Gauge("hewston_stream_viewers", "Viewers connected to this node's streams",
                             registry=registry)
        self.runs = Gauge("hewston_stream_runs", "Runs with viewers on this node", registry=registry)
        self.messages_in = Counter("hewston_stream_messages_in_total",
                                   "Messages read from run streams (once per node)", registry=registry)
        self.messages_out = Counter("hewston_stream_messages_out_total", "Messages written to viewers' sockets",
                                    registry=registry)
        self.resyncs = Counter("hewston_stream_resyncs_total",
                               "Viewers that fell behind and were resynchronised from a snapshot", registry=registry)
        self.skipped = Counter("hewston_stream_skipped_messages_total",
                               "Messages resynchronised viewers skipped", registry=registry)
        self.resumes = Counter("hewston_stream_resumes_total",
                               "Viewer connections by resume outcome: fresh, recovered, reset",
                               ("outcome",), registry=registry)
        self.degraded = Counter("hewston_stream_degraded_viewers_total",
                                "Viewers given a private direct playback because Redis was unavailable",
                                registry=registry)
        self.controls = Counter("hewston_stream_controls_total",
                                "Viewer controls by outcome: forwarded, forbidden, invalid, rate_limited, unavailable",
                                ("outcome",), registry=registry)
        self.reloads = Counter("hewston_stream_reloads_total",
                               "Run feeds reloaded because the stream's epoch changed (history lost)",
                               registry=registry)
        self.dropped = Counter("hewston_stream_viewers_dropped_total",
                               "Viewers this node let go, by reason (write_deadline: the client stopped reading)",
                               ("reason",), registry=registry)
        self.went_back = Counter("hewston_stream_went_back_total",
                                 "Run streams found behind what this node had delivered (failover that lost writes, "
                                 "AOF crash, restore); each ends its epoch", registry=registry)
        self.delivery_lag = Histogram("hewston_stream_delivery_lag_seconds",
                                      "From the relay's append to this node's fan-out", buckets=_LAG_BUCKETS_S,
                                      registry=registry)
        self.memory_bytes = Gauge("hewston_stream_memory_bytes",
                                  "Bytes of recent messages this node keeps for its runs' viewers (bounded by "
                                  "stream_node_memory_mb)", registry=registry)
        self.task_restarts = Counter("hewston_stream_task_restarts_total",
                                     "Background tasks (stream-reader, stream-housekeeping) that failed and were "
                                     "started again", ("task",), registry=registry)
