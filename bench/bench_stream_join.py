"""Viewers joining one run at once: how long until every one of N viewers receives frames through one api process,
against the time the bare loops take just to accept N, side by side in one run.

The deployment is the fan-out benchmark's (``bench/bench_stream.py``): every role its own process on 127.0.0.1,
one run playing at 30 frames a second. For N viewers, the lean clients of ``bench/ws_load.py`` (two processes)
open N sockets at one instant, as fast as they can one after another, and each sends its token in its first
message as a browser does. Through the api a viewer is *receiving* once its first ``frame`` arrived (after the
handshake, the token, the backend's access decision, ``hello`` and the snapshot). The floors are the two loops
of ``bench/bare_broadcast.py`` on the same uvicorn stack, each broadcasting to the sockets it accepted meanwhile:
the time until all N handshakes were answered. The naive loop is the one the target names; the prepared-frame
loop, whose broadcast costs less, is the stricter floor.

Each measurement is repeated and the median kept (the servers take turns, so a change in the machine's load
meets them alike). Target: every viewer receiving within 1.5× the naive loop's time to accept N, for 2,000 and
3,000 viewers.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

from bench.bench_playback import TOKEN, prepare
from bench.bench_stream import BARS, Controller
from bench.cluster import metric
from bench.deployment import Deployment, measured_on_deployment
from bench.harness import machine_line, record_section
from bench.processes import free_ports
from bench.services import start_service, stop_service
from bench.ws_load import run_clients

VIEWERS = (2000, 3000)
CLIENT_PROCESSES = 2
TIMEOUT_S = 30.0
TARGET = 1.5
REPEATS = 5
# Both servers listen with room for every connection of a step: with uvicorn's default (2,048) a burst of 3,000
# overflows the accept queue, and the kernel's retransmission timers (1 s, 3 s, 7 s) would be measured instead.
SERVER_ARGS = ["--backlog", "4096"]


@dataclass(frozen=True)
class Join:
    viewers: int
    upgraded: int       # handshakes answered
    receiving: int      # viewers that received a frame
    all_upgraded_s: float   # from the first connection attempt until the last handshake was answered
    all_receiving_s: float  # ... until the last viewer received its first frame
    p50_receiving_s: float


def join_step(url: str, viewers: int, work_dir: Path) -> Join:
    start = time.time() + 1.0
    results = run_clients(url, viewers, start=start, seconds=TIMEOUT_S, token=TOKEN, out_dir=work_dir,
                          processes=CLIENT_PROCESSES, join=True)
    upgraded = sorted(t - start for result in results for t in result["upgraded_at"] if t)
    receiving = sorted(t - start for result in results for t in result["first_frame_at"] if t)
    nan = float("nan")
    return Join(viewers, len(upgraded), len(receiving),
                upgraded[-1] if len(upgraded) == viewers else nan,
                receiving[-1] if len(receiving) == viewers else nan,
                receiving[len(receiving) // 2] if receiving else nan)


def wait_for_viewers(metrics_url: str, count: int, timeout_s: float = 60.0) -> None:
    """Until the api node counts ``count`` viewers again (the last step's have left)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and (metric(metrics_url, "hewston_stream_viewers") or 0) > count:
        time.sleep(0.5)


def median(values: list[float]) -> float:
    """The median, where a measurement that did not complete (NaN) counts as the slowest."""
    ordered = sorted(values, key=lambda v: (math.isnan(v), v))
    return ordered[len(ordered) // 2]


def measure(deployment: Deployment) -> dict[int, dict[str, list[Join]]]:
    run_id = prepare(deployment.data_dir, bars=BARS)
    roles = deployment.start_roles(api_args=SERVER_ARGS)
    controller = Controller(roles.api_port, run_id).start()
    floors: list = []
    results: dict[int, dict[str, list[Join]]] = {}
    try:
        frame_file = deployment.work_dir / "frame.json"
        frame_file.write_bytes(controller.template or b"")
        env = {"HEWSTON_BENCH_FRAME_FILE": str(frame_file)}
        naive_port, prepared_port = free_ports(2)
        floors.append(start_service("bench.bare_broadcast:create_app", naive_port, env, SERVER_ARGS))
        floors.append(start_service("bench.bare_broadcast:create_prepared_app", prepared_port, env, SERVER_ARGS))
        urls = {"naive loop": f"ws://127.0.0.1:{naive_port}/ws",
                "prepared-frame loop": f"ws://127.0.0.1:{prepared_port}/ws", "stream": roles.stream_url(run_id)}
        for viewers in VIEWERS:
            results[viewers] = {name: [] for name in urls}
            for _ in range(REPEATS):
                for name, url in urls.items():
                    step = join_step(url, viewers, deployment.work_dir)
                    print(f"{name}: {step}", flush=True)
                    results[viewers][name].append(step)
                    if name == "stream":
                        wait_for_viewers(roles.api_metrics, 1)
                    else:
                        time.sleep(3.0)  # the floors' sockets close with their clients
    finally:
        for proc in floors:
            stop_service(proc)
        controller.stop()
    return results


def report(results: dict[int, dict[str, list[Join]]], *, load_before: float) -> None:
    lines = [
        "## Viewers joining at once (`bench/bench_stream_join.py`)",
        "",
        f"{machine_line()}; load average {load_before:.2f} before the run, {os.getloadavg()[0]:.2f} after (other "
        "work shares this 2-core machine). The fan-out benchmark's deployment (every role its own process on "
        f"127.0.0.1, one run playing at 30 frames/s); N sockets opened at one instant by {CLIENT_PROCESSES} "
        "processes of `bench/ws_load.py`, each sending its token in its first message. Stream: until every "
        "viewer received its first frame (handshake, token, the backend's access decision, `hello`, the snapshot "
        "and what followed it). Floors (`bench/bare_broadcast.py`, same uvicorn stack, each broadcasting to the "
        "sockets it accepted meanwhile): until all N handshakes were answered. All listen with a backlog of 4,096 "
        f"(`--backlog`). Median of {REPEATS} runs each, the servers taking turns. Target: the stream within "
        f"{TARGET:g}× the naive loop (the prepared-frame loop is the stricter floor).",
        "",
        "| viewers | naive loop: all accepted (s) | prepared-frame loop: all accepted (s) | "
        "stream: half receiving (s) | stream: all receiving (s) | to the naive loop | to the prepared-frame loop | "
        "target |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for viewers, runs in results.items():
        naive = median([j.all_upgraded_s for j in runs["naive loop"]])
        prepared = median([j.all_upgraded_s for j in runs["prepared-frame loop"]])
        ours = median([j.all_receiving_s for j in runs["stream"]])
        half = median([j.p50_receiving_s for j in runs["stream"]])
        to_naive, to_prepared = ours / naive, ours / prepared
        verdict = "**met**" if to_naive <= TARGET else "**not met**"
        if math.isnan(ours):
            verdict = f"**not met** (not every viewer received a frame within {TIMEOUT_S:g} s)"
        elif math.isnan(naive):
            verdict = f"not measured (the naive loop did not accept every socket within {TIMEOUT_S:g} s)"
        lines.append(f"| {viewers:,} | {naive:.2f} | {prepared:.2f} | {half:.2f} | {ours:.2f} | {to_naive:.2f}× | "
                     f"{to_prepared:.2f}× | {verdict} |")
    every = "; ".join(f"{name} at {viewers:,}: " + ", ".join(
        f"{(j.all_receiving_s if name == 'stream' else j.all_upgraded_s):.2f}" for j in runs[name])
        for viewers, runs in results.items() for name in runs)
    lines += ["", f"Every run (s): {every}."]
    record_section("stream-join", "\n".join(lines))


def main() -> None:
    measured = measured_on_deployment("stream-join", measure)
    if measured is not None:
        results, load_before = measured
        report(results, load_before=load_before)
