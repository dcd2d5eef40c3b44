"""The capacity model of docs/scaling.md: from per-message costs measured on this machine
(``bench/bench_capacity.py`` writes them to ``docs/capacity-inputs.json``) to the hardware a workload needs.

``python -m bench.capacity`` prints the table docs/scaling.md shows (a test keeps the two equal). The model is
deliberately simple, and every term is one the measurements give:

- **api cores** = viewer-messages per second × CPU per viewer-message, plus each api node reading each run it
  serves (runs × api nodes × messages per second × CPU per message read), at a planned utilisation;
- **relay cores** = watched runs × CPU per relayed run-second, at the same utilisation;
- **Redis primaries** = Redis CPU: each watched run's appends, scripts and one api node's reads (measured per
  run-second), plus one ``XREAD`` per message for every further api node reading the run (on a cluster each
  run's stream is a blocking read of its own), spread over primaries of one core each at the same utilisation;
- **egress** = viewer-messages per second × bytes per frame (plus TCP/IP and WebSocket framing).

Viewers of one run are spread over the fewest api nodes that can carry them (a run's messages are read once
per node that serves it, so concentrating a run's viewers saves reads); distinct runs spread over all nodes.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

INPUTS = Path(__file__).resolve().parent.parent / "docs" / "capacity-inputs.json"

# Planning margin: cores (api, relay, and each Redis primary's one core) run at most this busy.
UTILISATION = 0.7
FRAMING_BYTES = 66  # TCP/IP headers and the WebSocket frame header per message, roughly
CORES_PER_API_NODE = 1  # one api process per core (hewston api --workers N on an N-core host)


@dataclass(frozen=True)
class Inputs:
    """What the benchmark measured (per message, per run, per operation), and the source's rate."""

    api_cpu_us_per_viewer_message: float  # writing one message to one viewer
    api_cpu_us_per_message_read: float    # an api node reading one message of a run (and its owner's copy)
    relay_cpu_ms_per_run_second: float    # relaying one run for a second
    redis_cpu_ms_per_run_second: float    # one run's appends, scripts and one api node's reads, for a second
    redis_cpu_us_per_read: float          # one XREAD (each further api node reading a run: one per message)
    frame_bytes: float
    messages_per_second: float = 30.0

    @classmethod
    def load(cls, path: Path = INPUTS) -> Inputs:
        return cls(**json.loads(path.read_text())["inputs"])


@dataclass(frozen=True)
class Workload:
    name: str
    runs: int
    viewers_per_run: int


@dataclass(frozen=True)
class Plan:
    workload: Workload
    api_nodes: int
    relays: int
    primaries: int
    egress_gbit_s: float
    bottleneck: str


WORKLOADS = (
    Workload("1,000 runs × 100 viewers", 1_000, 100),
    Workload("10 runs × 100,000 viewers", 10, 100_000),
    Workload("100,000 runs × 2 viewers", 100_000, 2),
)


def plan(workload: Workload, inputs: Inputs) -> Plan:
    rate = inputs.messages_per_second
    viewer_messages = workload.runs * workload.viewers_per_run * rate
    # Viewers one api core carries of one run, all its CPU spent on fan-out and the run's read.
    per_node = UTILISATION * 1e6 / (rate * inputs.api_cpu_us_per_viewer_message)
    nodes_per_run = max(1, math.ceil(workload.viewers_per_run / per_node))
    reads = workload.runs * nodes_per_run  # (run, api node) pairs: each node reads each run it serves once
    api_cpu_s = (viewer_messages * inputs.api_cpu_us_per_viewer_message
                 + reads * rate * inputs.api_cpu_us_per_message_read) / 1e6
    api_nodes = max(nodes_per_run, math.ceil(api_cpu_s / UTILISATION / CORES_PER_API_NODE))
    relays = max(1, math.ceil(workload.runs * inputs.relay_cpu_ms_per_run_second / 1e3 / UTILISATION))
    redis_cpu_s = (workload.runs * inputs.redis_cpu_ms_per_run_second / 1e3
                   + (reads - workload.runs) * rate * inputs.redis_cpu_us_per_read / 1e6)
    primaries = max(1, math.ceil(redis_cpu_s / UTILISATION))
    egress = viewer_messages * (inputs.frame_bytes + FRAMING_BYTES) * 8 / 1e9
    shares = {"api cores": api_nodes, "relay cores": relays, "Redis primaries": primaries}
    return Plan(workload, api_nodes, relays, primaries, egress, max(shares, key=lambda k: shares[k]))


def table(inputs: Inputs) -> str:
    lines = ["| workload | api nodes (cores) | relays (cores) | Redis Cluster primaries | egress | largest need |",
             "| --- | --- | --- | --- | --- | --- |"]
    for workload in WORKLOADS:
        p = plan(workload, inputs)
        lines.append(f"| {workload.name} | {p.api_nodes:,} | {p.relays:,} | {p.primaries:,} | "
                     f"{p.egress_gbit_s:,.1f} Gbit/s | {p.bottleneck} |")
    return "\n".join(lines)


def main() -> int:
    print(table(Inputs.load()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
