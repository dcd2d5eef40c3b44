"""Memory of an api node following 50 runs played at top speed: what it keeps is bounded in bytes.

Every role is its own process on 127.0.0.1: Redis, the backend, one relay, one api node with the default
bounds (``STREAM_RECENT_MB`` 16 per run, ``STREAM_NODE_MEMORY_MB`` 256 for the node). One owner per run
connects to the api node, sets the speed to 5,000 bars/s (the highest) and plays, reading everything it is sent:
each frame then carries about 167 bars. Once every run plays, the api node's resident memory and its
``hewston_stream_memory_bytes`` gauge (the recent messages it keeps) are sampled every second. The largest frame
seen gives what a count-only window (2,048 messages, text and prepared frame) would have held per run.
"""

from __future__ import annotations

import asyncio
import os
import time

import orjson
from websockets.asyncio.client import connect

from bench.bench_playback import TOKEN, prepare_runs
from bench.cluster import metric
from bench.deployment import Deployment, measured_on_deployment
from bench.harness import machine_line, record_section
from bench.processes import rss_kib
from common.models.playback import MAX_SPEED

RUNS = 50
BARS = 200_000  # 40 s at top speed: longer than the measurement
WARMUP_S = 10.0
MEASURE_S = 25.0
RECENT_MESSAGES = 2048  # the api's default count bound
MB = 1024 * 1024


class Owners:
    """One owner per run, playing it at top speed and reading everything until told to stop."""

    def __init__(self, api_port: int, run_ids: list[str]) -> None:
        self.urls = [f"ws://127.0.0.1:{api_port}/api/v1/runs/{run_id}/stream" for run_id in run_ids]
        self.frames = 0
        self.largest_frame = 0
        self.playing = 0
        self.frames_per_s = 0.0  # during the measurement
        self.stop = asyncio.Event()

    async def run(self) -> None:
        await asyncio.gather(*(self._owner(url) for url in self.urls))

    async def _owner(self, url: str) -> None:
        async with connect(url, compression=None, max_size=None, max_queue=None, open_timeout=60) as ws:
            await ws.send(orjson.dumps({"type": "auth", "token": TOKEN}).decode())
            await ws.send(orjson.dumps({"type": "speed", "value": MAX_SPEED}).decode())
            await ws.send(orjson.dumps({"type": "play"}).decode())
            counted = False
            while not self.stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 1.0)
                except TimeoutError:
                    continue
                if isinstance(raw, str) and raw.startswith('{"type":"frame"'):
                    self.frames += 1
                    self.largest_frame = max(self.largest_frame, len(raw))
                    if not counted:
                        counted, self.playing = True, self.playing + 1


def main() -> None:
    measured = measured_on_deployment("stream-memory", measure)
    if measured is not None:
        result, load_before = measured
        report(*result, load_before=load_before)


def measure(deployment: Deployment) -> tuple:
    run_ids = prepare_runs(deployment.data_dir, BARS, runs=RUNS)
    # Redis's own share: 50 runs at top speed would fill 128 MB each; the api node is what is measured here.
    roles = deployment.start_roles(relay_env={"HEWSTON_RELAY_RETENTION_MAX_MB": "8"})
    api, api_port, api_metrics = roles.api, roles.api_port, roles.api_metrics
    baseline_kib = rss_kib(api.pid) or 0
    owners = Owners(api_port, run_ids)
    samples: list[tuple[float, int, float]] = []  # (seconds since all played, RSS KiB, kept bytes)

    async def sample() -> None:
        try:
            started = time.monotonic()
            # Warm-up: every run playing (or a minute passed), and the windows filled for a while.
            while owners.playing < RUNS and time.monotonic() - started < 60:
                await asyncio.sleep(0.5)
            await asyncio.sleep(WARMUP_S)
            started, frames_before = time.monotonic(), owners.frames
            while time.monotonic() - started < MEASURE_S:
                await asyncio.sleep(1.0)
                kept = await asyncio.to_thread(metric, api_metrics, "hewston_stream_memory_bytes")
                samples.append((time.monotonic() - started, rss_kib(api.pid) or 0, kept or 0.0))
            owners.frames_per_s = (owners.frames - frames_before) / (time.monotonic() - started)
        finally:
            owners.stop.set()

    async def both() -> None:
        await asyncio.gather(owners.run(), sample())

    asyncio.run(both())
    measured = samples
    return measured, baseline_kib, owners


def report(samples: list[tuple[float, int, float]], baseline_kib: int, owners: Owners, *,
           load_before: float) -> None:
    node_bound_mb, run_bound_mb = 256, 16
    peak_rss_mb = max(s[1] for s in samples) / 1024
    peak_kept_mb = max(s[2] for s in samples) / MB
    mean_kept_mb = sum(s[2] for s in samples) / len(samples) / MB
    frame = owners.largest_frame
    count_only_mb = RUNS * RECENT_MESSAGES * 2 * frame / MB
    frames_per_s = owners.frames_per_s
    lines = [
        "## Api node memory with 50 runs at top speed (`bench/bench_stream_memory.py`)",
        "",
        f"{machine_line()}; load average {load_before:.2f} before the run, {os.getloadavg()[0]:.2f} after. Every "
        f"role its own process on 127.0.0.1 (Redis, backend, one relay, one api node with the default bounds: "
        f"`STREAM_RECENT_MB` {run_bound_mb} per run, `STREAM_NODE_MEMORY_MB` {node_bound_mb} per node). {RUNS} runs "
        f"of {BARS:,} bars, each played by its owner at {MAX_SPEED:,.0f} bars/s ({owners.playing} of them had "
        f"started). Sampled every second for {MEASURE_S:g} s, {WARMUP_S:g} s after every run had started.",
        "",
        f"**Recent messages kept by the node: at most {peak_kept_mb:.1f} MB (mean {mean_kept_mb:.1f} MB) against "
        f"its bound of {node_bound_mb} MB; resident memory at most {peak_rss_mb:.0f} MB** (it started at "
        f"{baseline_kib / 1024:.0f} MB). Largest frame {frame / 1024:.1f} KB: a window bounded by count alone "
        f"(2,048 messages, text and prepared frame) would hold up to {count_only_mb:,.0f} MB for these runs once "
        "each had sent 2,048 such frames.",
        "",
        f"Owners received {frames_per_s:,.0f} frames/s in all while measured ({frames_per_s / RUNS:.1f} per run; "
        "the backend sends 30 per run when the machine keeps up, and fewer, each with more bars, when it does "
        "not).",
        "",
        "| second | api resident MB | kept MB |",
        "| --- | --- | --- |",
    ]
    for at, rss, kept in samples[::5]:
        lines.append(f"| {at:.0f} | {rss / 1024:.0f} | {kept / MB:.1f} |")
    record_section("stream-memory", "\n".join(lines))


if __name__ == "__main__":
    main()
