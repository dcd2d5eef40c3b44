"""Bursty readers beside 1,000 healthy viewers of one run: the healthy viewers' latency must not change.

The deployment of ``bench_stream`` (every role its own process: Redis, backend, one relay, one api node; one run
played at 30 bars/s). 1,000 healthy viewers (``bench/ws_load.py``) measure their frame rate and latency over a
window three times, side by side: alone, beside ``BURSTY`` bursty readers (``bench/bursty_load.py``: small
receive buffers, reading in bursts with 0.5–3 s stalls), and alone again. The target: the healthy viewers' p99
with the bursty readers within 10 % of their p99 without (the mean of the two rounds without).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from bench.bench_playback import TOKEN
from bench.bench_stream import WINDOW_S, Controller, Step, run_step, start_roles
from bench.harness import machine_line, record_section
from bench.redis_server import redis_for_bench
from bench.services import stop_service
from common.logging import configure_logging

HEALTHY = 1000
BURSTY = 100


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


def main() -> None:
    configure_logging(json_logs=True, level="WARNING")
    load_before = os.getloadavg()[0]
    with redis_for_bench() as redis_url:
        if redis_url is None:
            record_section("stream-slow-readers", "Skipped: the slow-reader benchmark needs redis-server.")
            return
        work_dir = Path(tempfile.mkdtemp(prefix="hewston-bench-bursty-"))
        procs: list[subprocess.Popen[bytes]] = []
        try:
            roles = start_roles(redis_url, work_dir, procs)
            controller = Controller(roles.api_port, roles.run_id).start()
            try:
                before = run_step(roles.stream_url, HEALTHY, TOKEN, controller, work_dir)
                time.sleep(2.0)
                beside, bursty = with_bursty_readers(roles.stream_url, controller, work_dir)
                time.sleep(2.0)
                after = run_step(roles.stream_url, HEALTHY, TOKEN, controller, work_dir)
            finally:
                controller.stop()
        finally:
            for proc in reversed(procs):
                stop_service(proc)
            shutil.rmtree(work_dir, ignore_errors=True)
    report(before, beside, after, bursty, load_before=load_before)


def report(before: Step, beside: Step, after: Step, bursty: dict, *, load_before: float) -> None:
    alone_p99 = (before.p99_ms + after.p99_ms) / 2
    ratio = beside.p99_ms / alone_p99 if alone_p99 else float("nan")
    frames = bursty["frames"]
    lines = [
        "## Bursty readers beside healthy viewers (`bench/bench_stream_slow_readers.py`)",
        "",
        f"{machine_line()}; load average {load_before:.2f} before the run, {os.getloadavg()[0]:.2f} after. The "
        f"deployment of the fan-out benchmark (every role its own process; one run at 30 bars/s). {HEALTHY:,} "
        f"healthy viewers measured over {WINDOW_S:g} s, three rounds side by side: alone, beside {BURSTY} bursty "
        "readers (4 KB receive buffers; read 0.2–1 s, then stall 0.5–3 s, each on its own random schedule), and "
        "alone again. Latency: receive time minus the relay's append time.",
        "",
        f"**Healthy viewers' p99 beside the bursty readers: {beside.p99_ms:.0f} ms, against {alone_p99:.1f} ms "
        f"alone (ratio {ratio:.2f}; target ≤ 1.10).** The bursty readers stalled {bursty['stalls']:,} times in "
        f"all, received {sum(frames):,} frames in their window (the source sent "
        f"{beside.source_fps * WINDOW_S * BURSTY:,.0f} to {BURSTY} of them) and {bursty['skipped']:,} `skipped` "
        f"notices (each one a resynchronisation); {bursty['closed']} were closed by the server.",
        "",
        "| round | frames/s per viewer (mean) | slowest 1 % | source frames/s | p50 ms | p99 ms |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, s in (("alone", before), (f"beside {BURSTY} bursty readers", beside), ("alone again", after)):
        lines.append(f"| {name} | {s.fps_mean:.1f} | {s.fps_p1:.1f} | {s.source_fps:.1f} | {s.p50_ms:.0f} | "
                     f"{s.p99_ms:.0f} |")
    record_section("stream-slow-readers", "\n".join(lines))


if __name__ == "__main__":
    main()
