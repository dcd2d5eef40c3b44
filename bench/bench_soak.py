"""Soak: many viewers of several runs for ten minutes while the relay holding a run is killed every minute.

The deployment is the production shape on one machine (``bench.cluster``): redis-server, the backend, two api
nodes, three relays and the worker, each its own process started from the Procfile's commands. Every viewer is
a real WebSocket client checking each message (``tests.support.stream_client``, lenient: problems are counted,
not raised). Recorded: messages delivered, gaps and duplicates (both must be 0), resets, relay-publish to viewer
latency, and every process's resident memory over time (flat once the streams' retention is full). The plot
goes to docs/images/soak-benchmark.png, the numbers to docs/benchmarks.md.

``HEWSTON_SOAK_S`` (600) and ``HEWSTON_SOAK_VIEWERS`` (120) shorten or widen a run; only 127.0.0.1 is used.
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from websockets.exceptions import ConnectionClosed

from bench.cluster import ALICE, Cluster, create_run
from bench.harness import DOC, machine_line, record_section
from bench.processes import rss_kib
from tests.support.stream_client import Continuity, StreamViewer

DURATION_S = float(os.environ.get("HEWSTON_SOAK_S", "600"))
VIEWERS = int(os.environ.get("HEWSTON_SOAK_VIEWERS", "120"))
# Every viewer connects from 127.0.0.1.
SETTINGS = {"HEWSTON_LOG_LEVEL": "WARNING", "HEWSTON_API_STREAM_MAX_SOCKETS_PER_ADDRESS": str(10**6)}
RUNS = 4
RELAYS = 3
KILL_EVERY_S = 60.0
SAMPLE_EVERY_S = 5.0
SPEED = 300  # bars a second: ten a frame; a year of minutes lasts 29 minutes
PLOT = DOC.parent / "images" / "soak-benchmark.png"


@dataclass
class Totals:
    messages: int = 0
    reconnects: int = 0
    latencies_ms: array = field(default_factory=lambda: array("d"))
    windows: list[tuple[float, float]] = field(default_factory=list)  # (t, p99 ms) per sample window
    window_latencies: list[float] = field(default_factory=list)
    viewers: list[StreamViewer] = field(default_factory=list)


async def watch(api_url: str, run_id: str, totals: Totals, stop_at: float, controller: bool) -> None:
    viewer = StreamViewer(api_url, run_id, ALICE, validate=False, keep_messages=False,
                          continuity=Continuity(strict=False, keep_bars=False))
    await viewer.__aenter__()
    if controller:
        await viewer.play(SPEED)
    try:
        while time.monotonic() < stop_at:
            try:
                message = await viewer.recv(timeout_s=max(0.1, min(15.0, stop_at - time.monotonic())))
            except TimeoutError:
                continue
            except ConnectionClosed:
                # Not expected here (no api node is stopped): count it, and resume where the viewer was.
                totals.reconnects += 1
                viewer = StreamViewer(api_url, run_id, ALICE, validate=False, keep_messages=False,
                                      continue_from=viewer)
                await viewer.__aenter__()
                continue
            totals.messages += 1
            if message["type"] == "frame":
                latency = time.time() * 1000 - message["ts"]
                totals.latencies_ms.append(latency)
                totals.window_latencies.append(latency)
    finally:
        totals.viewers.append(viewer)
        await viewer.close()


async def kill_relays(cluster: Cluster, runs: list[str], stop_at: float, kills: list[tuple[float, str]],
                      started: float) -> None:
    """Every minute, SIGKILL the relay holding the next run, and start it again a few seconds later."""
    index = 0
    while time.monotonic() + KILL_EVERY_S < stop_at:
        await asyncio.sleep(KILL_EVERY_S)
        holder = await asyncio.to_thread(cluster.relay_holding, runs[index % len(runs)])
        holder.kill()
        kills.append((time.monotonic() - started, holder.name))
        index += 1
        await asyncio.sleep(3)
        await asyncio.to_thread(holder.start().wait_listening, 60)


async def sample(cluster: Cluster, totals: Totals, stop_at: float, started: float,
                 memory: dict[str, list[tuple[float, float]]]) -> None:
    while time.monotonic() < stop_at:
        await asyncio.sleep(SAMPLE_EVERY_S)
        t = time.monotonic() - started
        for name, kib in {**cluster.rss_kib(), "redis": rss_kib(cluster.redis.proc.pid)}.items():
            if kib is not None:
                memory.setdefault(name, []).append((t, kib / 1024))
        window, totals.window_latencies = totals.window_latencies, []
        if window:
            totals.windows.append((t, float(np.percentile(window, 99))))


async def soak(cluster: Cluster, runs: list[str]) -> tuple[Totals, dict, list]:
    totals, memory, kills = Totals(), {}, []
    started = time.monotonic()
    stop_at = started + DURATION_S
    apis = cluster.api_nodes
    watchers = [watch(apis[i % len(apis)].url, runs[i % len(runs)], totals, stop_at, controller=i < len(runs))
                for i in range(VIEWERS)]
    await asyncio.gather(*watchers, kill_relays(cluster, runs, stop_at, kills, started),
                         sample(cluster, totals, stop_at, started, memory))
    return totals, memory, kills


def flatness(series: list[tuple[float, float]]) -> tuple[float, float, float] | None:
    """(MiB at 50-60 % of the run, MiB in its last 10 %, growth %): after the streams' retention has filled."""
    early = [mib for t, mib in series if 0.5 * DURATION_S <= t < 0.6 * DURATION_S]
    late = [mib for t, mib in series if t >= 0.9 * DURATION_S]
    if not early or not late:
        return None
    a, b = float(np.median(early)), float(np.median(late))
    return a, b, (b - a) / a * 100


def plot(memory: dict, totals: Totals, kills: list) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    for name, series in sorted(memory.items()):
        top.plot([t / 60 for t, _ in series], [mib for _, mib in series], label=name, linewidth=1.2)
    top.set_yscale("log")  # processes from tens to hundreds of MiB: equal changes look equal
    top.set_ylabel("resident memory (MiB, log scale)")
    top.legend(ncol=4, fontsize=8)
    bottom.plot([t / 60 for t, _ in totals.windows], [p for _, p in totals.windows], color="black", linewidth=1)
    bottom.set_ylabel(f"p99 latency per {SAMPLE_EVERY_S:g} s (ms)")
    bottom.set_xlabel("minutes")
    for t, _name in kills:
        for axis in (top, bottom):
            axis.axvline(t / 60, color="red", alpha=0.3, linewidth=1)
    top.set_title(f"Soak: {VIEWERS} viewers of {RUNS} runs, 2 api nodes, {RELAYS} relays; red: a relay killed")
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)
    plt.close(fig)


def report(totals: Totals, memory: dict, kills: list, load: tuple[str, str]) -> str:
    gaps = sum(v.continuity.gaps for v in totals.viewers)
    duplicates = sum(v.continuity.duplicates for v in totals.viewers)
    resets: dict[str, int] = {}
    for viewer in totals.viewers:
        for cause in viewer.continuity.resets:
            resets[cause] = resets.get(cause, 0) + 1
    lat = np.frombuffer(totals.latencies_ms, dtype=np.float64)
    lines = [
        f"{machine_line()}. {DURATION_S / 60:g} minutes; load average before {load[0]}, after {load[1]}. "
        f"redis-server, the backend, 2 api nodes, {RELAYS} relays and the worker, each its own process from the "
        f"Procfile, and the viewers (one asyncio process, `websockets`) share the 2 cores. {VIEWERS} viewers of "
        f"{RUNS} runs (a year of BTCUSD minutes each, played at {SPEED} bars/s), alternating between the api "
        f"nodes; every {KILL_EVERY_S:g} s the relay holding one of the runs is killed (SIGKILL) and started again "
        "3 s later. Latency: a frame's arrival at the viewer minus its relay publish time.",
        "",
        "| messages delivered | gaps | duplicates | resets (cause: count) | viewer reconnects | relay kills "
        "| frame latency p50 ms | p99 ms | max ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| {totals.messages:,} | {gaps} | {duplicates} | "
        f"{', '.join(f'{k}: {v}' for k, v in sorted(resets.items())) or 'none'} | {totals.reconnects} | "
        f"{len(kills)} | {np.percentile(lat, 50):.1f} | {np.percentile(lat, 99):.1f} | {lat.max():.0f} |",
        "",
        "Resident memory (MiB) once the streams' retention (300 s) is full: the median at 50-60 % of the run "
        "against the median of its last 10 %. Relays are killed and started again, so each relay's figure is of "
        "whichever process runs it then.",
        "",
        "| process | MiB at 50-60 % | MiB at 90-100 % | change |",
        "| --- | --- | --- | --- |",
    ]
    for name, series in sorted(memory.items()):
        flat = flatness(series)
        if flat is not None:
            lines.append(f"| {name} | {flat[0]:.1f} | {flat[1]:.1f} | {flat[2]:+.1f} % |")
    problems = [p for v in totals.viewers for p in v.continuity.problems][:5]
    if problems:
        lines += ["", "First problems seen: " + "; ".join(problems)]
    lines += ["", f"![Soak: memory and latency over time]({PLOT.relative_to(DOC.parent).as_posix()})"]
    return "\n".join(lines)


def main() -> None:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="hewston-soak-") as workdir, \
            Cluster(Path(workdir), relays=RELAYS, settings=SETTINGS) as cluster:
        runs = [create_run(cluster.api_nodes[0].url, days=365, timeout_s=180) for _ in range(RUNS)]
        random.seed(7)
        totals, memory, kills = asyncio.run(soak(cluster, runs))
    load_after = os.getloadavg()
    plot(memory, totals, kills)
    load = (" / ".join(f"{x:.2f}" for x in load_before), " / ".join(f"{x:.2f}" for x in load_after))
    record_section("soak", report(totals, memory, kills, load))


if __name__ == "__main__":
    main()
