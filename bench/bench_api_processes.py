"""Viewers of one run sustained at 30 frames a second by one api process and by two behind one port
(``hewston api --workers 2``, SO_REUSEPORT), on this 2-core machine, with the viewers' clients in their own
processes (``bench/ws_load.py``, as in the fan-out benchmark, whose ramp and criteria this one reuses).

The second process can only turn into viewers what the second core has left after the clients, Redis, the
relay and the backend: the ratio of the two maxima says how much that is.
"""

from __future__ import annotations

import os

from bench.bench_playback import TOKEN, prepare
from bench.bench_stream import BARS, Controller, Step, max_sustained, ramps
from bench.deployment import Deployment, measured_on_deployment
from bench.harness import machine_line, record_section


def main() -> None:
    results: dict[int, list[Step]] = {}
    load_before = os.getloadavg()[0]
    for workers in (1, 2):
        measured = measured_on_deployment("api_processes", lambda d, n=workers: measure(d, n))
        if measured is None:
            return
        results[workers] = measured[0]
    report(results, load_before)


def measure(deployment: Deployment, workers: int) -> list[Step]:
    run_id = prepare(deployment.data_dir, bars=BARS)
    roles = deployment.start_roles(api_workers=workers)
    controller = Controller(roles.api_port, run_id).start()
    try:
        # The fan-out benchmark's ramp for one server; CPU per viewer-message is left out (with several processes
        # the api's CPU is spread over children of the one started here).
        label = f"{workers} api process(es)"
        return ramps({label: (roles.stream_url(run_id), None)}, TOKEN, controller, deployment.work_dir)[label]
    finally:
        controller.stop()


def report(results: dict[int, list[Step]], load_before: float) -> None:
    one, two = max_sustained(results[1]), max_sustained(results[2])
    lines = [
        "## Viewers per api process (`bench/bench_api_processes.py`)",
        "",
        f"{machine_line()}; load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after. The fan-out "
        "benchmark's deployment and criteria (30 frames/s, mean ≥ 95 % of the source, slowest 1 % ≥ 85 %, p99 ≤ "
        "100 ms), once with one api process and once with `hewston api --workers 2` on the same port; the viewers' "
        "clients run in two processes of their own on the same 2 cores.",
        "",
        f"**Sustained viewers of one run: {one:,} with one api process, {two:,} with two "
        f"({two / one if one else float('nan'):.2f}×).** The second process turns into viewers only what the "
        "second core has left after the clients, Redis, the relay and the backend, which share the same two cores.",
        "",
        "| api processes | viewers | frames/s per viewer (mean) | slowest 1 % | p50 ms | p99 ms | sustained |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for workers, steps in results.items():
        for s in steps:
            lines.append(f"| {workers} | {s.viewers:,} | {s.fps_mean:.1f} | {s.fps_p1:.1f} | {s.p50_ms:.0f} | "
                         f"{s.p99_ms:.0f} | {'yes' if s.sustained else 'no'} |")
    record_section("api_processes", "\n".join(lines))
