"""Shared-stream fan-out: how many viewers of one run one api process sustains at 30 frames a second, against two
floors of the same server stack measured side by side; and how many backend playback connections the viewers cost.

Every role is its own process on 127.0.0.1: Redis, the backend, one relay, one api node; the viewers are lean
WebSocket clients (``bench/ws_load.py``) in two processes. A controlling viewer plays a long run at 30 bars/s,
so the relay publishes one frame per bar, 30 a second. For each number of viewers N, the clients connect, then
count the frames each receives over a window and how late each is: receive time minus the ``ts`` the relay
stamped when it appended the frame (so it covers Redis, the api node's read, its fan-out and the socket). The
same clients then do the same against the two loops of ``bench/bare_broadcast.py``, which send one frame to every
socket 30 times a second with nothing else: the naive one (``await send`` per viewer) and the prepared one (one
frame built once and written to every transport as the stream writes it) — the ceiling of one uvicorn process
on this machine.

N is sustained when the viewers' mean frame rate is at least 95 % of the source's, the slowest 1 % of viewers
get at least 85 % of it, and p99 latency is at most 100 ms. The server's CPU time over each window, divided by
the frames its viewers received in it, is its cost per viewer-message.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
from websockets.asyncio.client import connect

from bench.bench_playback import TOKEN, prepare
from bench.cluster import relay_upstream_connections
from bench.cpu import CpuDuring
from bench.deployment import Deployment, measured_on_deployment
from bench.harness import machine_line, record_section
from bench.processes import free_ports
from bench.services import start_service, stop_service
from bench.ws_load import run_clients

FPS = 30
BARS = 200_000  # nearly two hours of playback at 30 bars/s
VIEWERS = (500, 1000, 1500, 2000, 2500, 2750, 3000, 3250, 3500, 3750, 4000, 4500, 5000)
CLIENT_PROCESSES = 2
WINDOW_S = 8.0
PLOT = Path(__file__).resolve().parent.parent / "docs" / "images" / "stream-fanout.png"


@dataclass(frozen=True)
class Step:
    viewers: int
    fps_mean: float
    fps_p1: float
    p50_ms: float
    p99_ms: float
    source_fps: float
    cpu_us: float  # the server's CPU µs per viewer-message received in the window

    @property
    def sustained(self) -> bool:
        return self.fps_mean >= 0.95 * self.source_fps and self.fps_p1 >= 0.85 * self.source_fps \
            and self.p99_ms <= 100.0


class Controller:
    """The run's owner: starts the playback at 30 bars/s and stays connected (the run stays demanded), counting
    the frames the stream publishes so that viewers' rates are compared with the real source rate."""

    def __init__(self, api_port: int, run_id: str) -> None:
        self.url = f"ws://127.0.0.1:{api_port}/api/v1/runs/{run_id}/stream"
        self.frames: list[float] = []
        self.template: bytes | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> Controller:
        self._thread.start()
        deadline = time.monotonic() + 30
        while self.template is None:
            if time.monotonic() > deadline:
                raise RuntimeError("the stream did not start playing")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def source_fps(self, start: float, stop: float) -> float:
        return sum(1 for t in self.frames if start <= t < stop) / (stop - start)

    async def _run(self) -> None:
        async with connect(self.url, compression=None, max_size=None) as ws:
            await ws.send(orjson.dumps({"type": "auth", "token": TOKEN}).decode())
            await ws.send(orjson.dumps({"type": "speed", "value": FPS}).decode())
            await ws.send(orjson.dumps({"type": "play"}).decode())
            while not self._stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 1.0)
                except TimeoutError:
                    continue
                if isinstance(raw, str) and raw.startswith('{"type":"frame"'):
                    self.frames.append(time.time())
                    self.template = self.template or raw.encode()


def run_step(url: str, viewers: int, token: str | None, source: Controller, work_dir: Path,
             server_pid: int | None = None) -> Step:
    ramp_s = 3.0 + viewers / 200
    start = time.time() + ramp_s
    cpu = CpuDuring(server_pid, start, start + WINDOW_S)
    results = run_clients(url, viewers, start=start, seconds=WINDOW_S, token=token, out_dir=work_dir,
                          processes=CLIENT_PROCESSES)
    frames: list[int] = []
    histogram = np.zeros(0, dtype=np.int64)
    for result in results:
        frames += result["frames"]
        counts = np.array(result["histogram"], dtype=np.int64)
        histogram = counts if histogram.size == 0 else histogram + counts
    rates = np.array(frames) / WINDOW_S
    cumulative = np.cumsum(histogram)
    total = cumulative[-1] if cumulative.size and cumulative[-1] else 1

    def percentile(p: float) -> float:
        return float(np.searchsorted(cumulative, p * total))

    delivered = sum(frames)
    cpu_us = cpu.seconds() * 1e6 / delivered if delivered and server_pid else float("nan")
    return Step(viewers, float(rates.mean()), float(np.percentile(rates, 1)), percentile(0.5), percentile(0.99),
                source.source_fps(start, start + WINDOW_S), cpu_us)


def ramps(servers: dict[str, tuple[str, int | None]], token: str | None, source: Controller,
          work_dir: Path) -> dict[str, list[Step]]:
    """Each server (name: url, pid) through the growing numbers of viewers, interleaved (every server at N before
    any at the next N), so that a change in the machine's load meets all of them alike. A step a server did not
    sustain is measured once more (others' work on this machine comes in bursts; every server gets the same second
    chance) and the better of the two kept; a server stops after two steps in a row it did not sustain."""
    steps: dict[str, list[Step]] = {name: [] for name in servers}
    failures = dict.fromkeys(servers, 0)
    for viewers in VIEWERS:
        for name, (url, pid) in servers.items():
            if failures[name] >= 2:
                continue
            step = run_step(url, viewers, token, source, work_dir, pid)
            print(f"{name}: {step}", flush=True)
            if not step.sustained:
                time.sleep(2.0)
                again = run_step(url, viewers, token, source, work_dir, pid)
                print(f"{name} (again): {again}", flush=True)
                step = again if again.sustained or again.p99_ms < step.p99_ms else step
            steps[name].append(step)
            failures[name] = 0 if step.sustained else failures[name] + 1
            time.sleep(2.0)
        if all(count >= 2 for count in failures.values()):
            break
    return steps


def max_sustained(steps: list[Step]) -> int:
    return max((s.viewers for s in steps if s.sustained), default=0)


def plot(series: list[tuple[list[Step], str, str]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (latency, rate) = plt.subplots(1, 2, figsize=(11, 4), dpi=110)
    for steps, name, color in series:
        xs = [s.viewers for s in steps]
        latency.plot(xs, [s.p99_ms for s in steps], "o-", color=color, label=f"{name}, p99")
        latency.plot(xs, [s.p50_ms for s in steps], "o--", color=color, alpha=0.6, label=f"{name}, p50")
        rate.plot(xs, [s.fps_mean for s in steps], "o-", color=color, label=f"{name}, mean")
        rate.plot(xs, [s.fps_p1 for s in steps], "o--", color=color, alpha=0.6, label=f"{name}, slowest 1 %")
    latency.axhline(100, color="tab:red", linewidth=1, linestyle=":", label="p99 target (100 ms)")
    latency.set_ylabel("latency, relay append to viewer (ms, log)")
    latency.set_yscale("log")
    rate.axhline(FPS, color="tab:red", linewidth=1, linestyle=":", label=f"source ({FPS} frames/s)")
    rate.set_ylabel("frames/s per viewer")
    rate.set_ylim(0, FPS * 1.15)
    for ax in (latency, rate):
        ax.set_xlabel("viewers of one run (one api process)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(PLOT)
    plt.close(fig)


def main() -> None:
    measured = measured_on_deployment("stream", measure)
    if measured is not None:
        result, load_before = measured
        report(*result, load_before=load_before)


def measure(deployment: Deployment) -> tuple:
    run_id = prepare(deployment.data_dir, bars=BARS)
    roles = deployment.start_roles()
    work_dir, relay_metrics, stream_url = deployment.work_dir, roles.relay_metrics, roles.stream_url(run_id)
    controller = Controller(roles.api_port, run_id).start()
    floors: list = []
    try:
        upstream_at_one = relay_upstream_connections(relay_metrics)
        frame_file = work_dir / "frame.json"
        frame_file.write_bytes(controller.template or b"")
        env = {"HEWSTON_BENCH_FRAME_FILE": str(frame_file)}
        naive_port, prepared_port = free_ports(2)
        floors.append(start_service("bench.bare_broadcast:create_app", naive_port, env))
        floors.append(start_service("bench.bare_broadcast:create_prepared_app", prepared_port, env))
        steps = ramps({"stream": (stream_url, roles.api.pid),
                       "naive loop": (f"ws://127.0.0.1:{naive_port}/ws", floors[0].pid),
                       "prepared-frame loop": (f"ws://127.0.0.1:{prepared_port}/ws", floors[1].pid)},
                      TOKEN, controller, work_dir)
        upstream_at_many = relay_upstream_connections(relay_metrics)
        thousand = run_step(stream_url, 1000, TOKEN, controller, work_dir)
        upstream_at_thousand = relay_upstream_connections(relay_metrics)
    finally:
        for proc in floors:
            stop_service(proc)
        controller.stop()
    return (steps["stream"], steps["naive loop"], steps["prepared-frame loop"], thousand,
            (upstream_at_one, upstream_at_thousand, upstream_at_many), len(controller.template))


def cpu_at(steps: list[Step], viewers: int) -> float:
    """CPU µs per viewer-message at ``viewers`` (NaN when that step was not run)."""
    return next((s.cpu_us for s in steps if s.viewers == viewers), float("nan"))


def met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def report(ours: list[Step], naive: list[Step], ceiling: list[Step], thousand: Step, upstream: tuple[int, int, int],
           frame_bytes: int, *, load_before: float) -> None:
    plot([(ours, "Hewston stream (relay → Redis → api)", "tab:blue"),
          (naive, "naive loop (await send per viewer)", "tab:gray"),
          (ceiling, "prepared-frame loop (ceiling)", "tab:green")])
    best, naive_best, ceiling_best = max_sustained(ours), max_sustained(naive), max_sustained(ceiling)
    to_naive = best / naive_best if naive_best else float("nan")
    to_ceiling = best / ceiling_best if ceiling_best else float("nan")
    # CPU per viewer-message compared where both sustained the load (the largest such step).
    common = max((s.viewers for s in ours if s.sustained and any(c.viewers == s.viewers and c.sustained
                                                                 for c in ceiling)), default=0)
    cpu_ours, cpu_ceiling = cpu_at(ours, common), cpu_at(ceiling, common)
    lines = [
        "## Shared stream fan-out (`bench/bench_stream.py`)",
        "",
        f"{machine_line()}; load average {load_before:.2f} before the run, {os.getloadavg()[0]:.2f} after (other "
        "work shares this 2-core machine; the three servers took turns at each step, with the same clients). Every "
        "role its own process on 127.0.0.1: Redis, backend, one relay, one api node (uvicorn, per-message deflate "
        f"off); viewers in {CLIENT_PROCESSES} processes of `bench/ws_load.py`. One run played at {FPS} bars/s (one "
        f"frame per bar, {frame_bytes} bytes each); each step counts frames over {WINDOW_S:g} s. Latency: receive "
        "time minus the relay's append time (`ts`). Sustained: mean ≥ 95 % of the source's frames/s, slowest 1 % "
        "of viewers ≥ 85 %, p99 ≤ 100 ms; a step not sustained is measured once more, for every server alike, and "
        "the better try kept. The floors (`bench/bare_broadcast.py`): the naive loop awaits "
        "`send_text` for every viewer; the prepared-frame loop builds each frame once and writes it to every "
        "writable transport, as the stream does, with none of the stream's bookkeeping. CPU: the server "
        "process's CPU time over the window divided by the frames its viewers received.",
        "",
        f"**Sustained viewers of one run: {best:,} through the stream, {naive_best:,} for the naive loop, "
        f"{ceiling_best:,} for the prepared-frame loop: {to_naive:.2f}× the naive loop, {to_ceiling:.2f}× the "
        f"ceiling (target ≥ 0.9×: {met(to_ceiling >= 0.9)}; and ≥ 1,500 viewers: {met(best >= 1500)}).** CPU per "
        f"viewer-message at {common:,} viewers: {cpu_ours:.1f} µs for the stream, {cpu_ceiling:.1f} µs for the "
        f"ceiling ({cpu_ours / cpu_ceiling:.2f}×: on CPU alone, which others' work on the machine does not "
        f"change, the stream carries {cpu_ceiling / cpu_ours:.2f}× the ceiling's viewers). Backend playback "
        f"connections: {upstream[0]} with one viewer, "
        f"{upstream[1]} with 1,000 (and {upstream[2]} after the largest step): one per watched run.",
        "",
        "| server | viewers | frames/s per viewer (mean) | slowest 1 % | source frames/s | p50 ms | p99 ms | "
        "CPU µs per viewer-message | sustained |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, steps in (("stream", ours), ("naive loop", naive), ("prepared-frame loop", ceiling)):
        for s in steps:
            lines.append(f"| {name} | {s.viewers:,} | {s.fps_mean:.1f} | {s.fps_p1:.1f} | {s.source_fps:.1f} | "
                         f"{s.p50_ms:.0f} | {s.p99_ms:.0f} | {s.cpu_us:.1f} | {'yes' if s.sustained else 'no'} |")
    lines += ["", f"1,000 viewers again, for the upstream count: {thousand.fps_mean:.1f} frames/s, p99 "
              f"{thousand.p99_ms:.0f} ms.", "", "![latency and frame rate against viewers](images/stream-fanout.png)"]
    record_section("stream", "\n".join(lines))
