"""Bursty readers beside 1,000 healthy viewers of one run: the healthy viewers' latency must not change.

The deployment of ``bench_stream`` (every role its own process: Redis, backend, one relay, one api node; one run
played at 30 bars/s). 1,000 healthy viewers (``bench/ws_load.py``) measure their frame rate and latency over a
window, in rounds that alternate, side by side: alone, then beside ``BURSTY`` bursty readers
(``bench/bursty_load.py``: small receive buffers, reading in bursts with 0.5–3 s stalls), ``PAIRS`` times, so
that the load of a shared machine weighs on both alike. The target: the healthy viewers' median p99 beside the
bursty readers within 10 % of their median p99 alone.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import orjson

from bench.bench_playback import TOKEN, prepare
from bench.bench_stream import BARS, WINDOW_S, Controller, Step, run_step
from bench.deployment import Deployment, measured_on_deployment
from bench.harness import machine_line, record_section
from bench.processes import cpu_seconds

HEALTHY = 1000
BURSTY = 100
PAIRS = 3


def with_bursty_readers(url: str, controller: Controller, work_dir: Path) -> tuple[Step, dict]:
    """One healthy round while ``BURSTY`` bursty readers watch the same run (they start a little earlier, so
    that their sockets are already backed up when the round begins)."""
    out = work_dir / "bursty.json"
    seconds = 3.0 + (3.0 + HEALTHY / 200) + WINDOW_S + 2.0
    proc = subprocess.Popen([sys.executable, "-m", "bench.bursty_load", url, "--viewers", str(BURSTY),
                             "--seconds", str(seconds), "--out", str(out), "--auth-token", TOKEN])
    try:
        time.sleep(3.0)
        step = run_step(url, HEALTHY, TOKEN, controller, work_dir)
        proc.wait(timeout=seconds + 30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return step, orjson.loads(out.read_bytes())


def measure(deployment: Deployment) -> tuple[list[Step], list[Step], list[dict], list[tuple[float, float]]]:
    run_id = prepare(deployment.data_dir, bars=BARS)
    roles = deployment.start_roles()
    url, work_dir = roles.stream_url(run_id), deployment.work_dir
    controller = Controller(roles.api_port, run_id).start()
    alone: list[Step] = []
    beside: list[Step] = []
    bursty: list[dict] = []
    # The api node's CPU seconds per round: unlike latency, hardly moved by other work on a shared machine.
    cpu: list[tuple[float, float]] = []
    try:
        for _ in range(PAIRS):
            started = cpu_seconds(roles.api.pid)
            alone.append(run_step(url, HEALTHY, TOKEN, controller, work_dir))
            between = cpu_seconds(roles.api.pid)
            time.sleep(2.0)
            paused = cpu_seconds(roles.api.pid)
            step, readers = with_bursty_readers(url, controller, work_dir)
            cpu.append((between - started, cpu_seconds(roles.api.pid) - paused))
            beside.append(step)
            bursty.append(readers)
            time.sleep(2.0)
    finally:
        controller.stop()
    return alone, beside, bursty, cpu


def main() -> None:
    measured = measured_on_deployment("stream-slow-readers", measure)
    if measured is not None:
        result, load_before = measured
        report(*result, load_before=load_before)


def report(alone: list[Step], beside: list[Step], bursty: list[dict], cpu: list[tuple[float, float]], *,
           load_before: float) -> None:
    alone_p99 = statistics.median(s.p99_ms for s in alone)
    beside_p99 = statistics.median(s.p99_ms for s in beside)
    ratio = beside_p99 / alone_p99 if alone_p99 else float("nan")
    frames = sum(sum(readers["frames"]) for readers in bursty)
    seconds = sum(readers["seconds"] for readers in bursty)
    lines = [
        "## Bursty readers beside healthy viewers (`bench/bench_stream_slow_readers.py`)",
        "",
        f"{machine_line()}; load average {load_before:.2f} before the run, {os.getloadavg()[0]:.2f} after. The "
        f"deployment of the fan-out benchmark (every role its own process; one run at 30 bars/s). {HEALTHY:,} "
        f"healthy viewers measured over {WINDOW_S:g} s per round, {PAIRS} pairs of rounds side by side: alone, then "
        f"beside {BURSTY} bursty readers (4 KB receive buffers; read 0.2–1 s, then stall 0.5–3 s, each on its own "
        "random schedule). Latency: receive time minus the relay's append time.",
        "",
        f"**Healthy viewers' median p99 beside the bursty readers: {beside_p99:.0f} ms, against {alone_p99:.0f} ms "
        f"alone (ratio {ratio:.2f}; target ≤ 1.10).** The bursty readers stalled "
        f"{sum(r['stalls'] for r in bursty):,} times in all and received {frames / seconds / BURSTY:.1f} frames/s "
        f"each on average (they catch up after each stall); {sum(r['skipped'] for r in bursty):,} `skipped` "
        f"notices (resynchronisations) and {sum(r['closed'] for r in bursty)} closes by the server.",
        "",
        *([f"**Caveat:** the source itself fell to {min(x.source_fps for x in alone + beside):.0f} frames/s in "
           "some rounds (the relay and the backend did not get the CPU they needed): the machine was overloaded, "
           "and these latencies measure that more than the api node. Compare the rounds whose source kept 30.", ""]
          if min(x.source_fps for x in alone + beside) < 28 else []),
        f"The api node's CPU time per round (the same rounds; the bursty round also counts its readers' 3 s "
        f"head start): median {statistics.median(c[0] for c in cpu):.1f} s alone, "
        f"{statistics.median(c[1] for c in cpu):.1f} s beside the bursty readers.",
        "",
        "| round | frames/s per viewer (mean) | slowest 1 % | source frames/s | p50 ms | p99 ms | api CPU s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for i, (a, b, (cpu_a, cpu_b)) in enumerate(zip(alone, beside, cpu, strict=True), 1):
        for name, s, used in ((f"{i}: alone", a, cpu_a), (f"{i}: beside {BURSTY} bursty readers", b, cpu_b)):
            lines.append(f"| {name} | {s.fps_mean:.1f} | {s.fps_p1:.1f} | {s.source_fps:.1f} | {s.p50_ms:.0f} | "
                         f"{s.p99_ms:.0f} | {used:.1f} |")
    record_section("stream-slow-readers", "\n".join(lines))


if __name__ == "__main__":
    main()
