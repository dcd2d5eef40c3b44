"""Viewers joining one run at once: how long until every one of N viewers receives frames through one api process,
against the time the bare loop takes just to accept N, side by side in one run.

The deployment is the fan-out benchmark's (``bench/bench_stream.py``): every role its own process on 127.0.0.1,
one run playing at 30 frames a second. For N viewers, the lean clients of ``bench/ws_load.py`` (two processes)
open N sockets at one instant, as fast as they can one after another, and each sends its token in its first
message as a browser does. Through the api a viewer is *receiving* once its first live ``frame`` arrived (after
the handshake, the token, the backend's access decision, ``hello`` and the snapshot). The floor is the naive
bare loop of ``bench/bare_broadcast.py`` on the same uvicorn stack: the time until all N handshakes were answered.

Target: every viewer receiving within 1.5× the floor's time to accept N, for 2,000 and 3,000 viewers.
"""

from __future__ import annotations

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
TIMEOUT_S = 60.0
TARGET = 1.5
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


def measure(deployment: Deployment) -> list[tuple[Join, Join]]:
    run_id = prepare(deployment.data_dir, bars=BARS)
    roles = deployment.start_roles(api_args=SERVER_ARGS)
    controller = Controller(roles.api_port, run_id).start()
    [bare_port] = free_ports(1)
    steps = []
    try:
        frame_file = deployment.work_dir / "frame.json"
        frame_file.write_bytes(controller.template or b"")
        bare = start_service("bench.bare_broadcast:create_app", bare_port,
                             {"HEWSTON_BENCH_FRAME_FILE": str(frame_file)}, SERVER_ARGS)
        try:
            for viewers in VIEWERS:
                # The floor first, then the stream, at each size: a change in the machine's load meets both.
                floor = join_step(f"ws://127.0.0.1:{bare_port}/ws", viewers, deployment.work_dir)
                print(f"bare loop: {floor}", flush=True)
                time.sleep(3.0)
                ours = join_step(roles.stream_url(run_id), viewers, deployment.work_dir)
                print(f"stream: {ours}", flush=True)
                wait_for_viewers(roles.api_metrics, 1)
                steps.append((floor, ours))
        finally:
            stop_service(bare)
    finally:
        controller.stop()
    return steps


def report(steps: list[tuple[Join, Join]], *, load_before: float) -> None:
    lines = [
        "## Viewers joining at once (`bench/bench_stream_join.py`)",
        "",
        f"{machine_line()}; load average {load_before:.2f} before the run, {os.getloadavg()[0]:.2f} after (other "
        "work shares this 2-core machine). The fan-out benchmark's deployment (every role its own process on "
        f"127.0.0.1, one run playing at 30 frames/s); N sockets opened at one instant by {CLIENT_PROCESSES} "
        "processes of `bench/ws_load.py`, each sending its token in its first message. Stream: until every "
        "viewer received its first live frame (handshake, token, the backend's access decision, `hello`, the "
        "snapshot and what followed it). Floor: the naive bare loop (`bench/bare_broadcast.py`, same uvicorn "
        f"stack) answering all N handshakes. Both listen with a backlog of 4,096 (`--backlog`). Target: the stream "
        f"within {TARGET:g}× the floor.",
        "",
        "| viewers | bare loop: all accepted (s) | stream: all accepted (s) | stream: half receiving (s) | "
        "stream: all receiving (s) | ratio to the floor | target |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for floor, ours in steps:
        ratio = ours.all_receiving_s / floor.all_upgraded_s
        verdict = "**met**" if ratio <= TARGET else "**not met**"
        if ours.receiving < ours.viewers:
            verdict = f"**not met** ({ours.receiving:,} of {ours.viewers:,} received a frame within {TIMEOUT_S:g} s)"
        lines.append(f"| {ours.viewers:,} | {floor.all_upgraded_s:.2f} | {ours.all_upgraded_s:.2f} | "
                     f"{ours.p50_receiving_s:.2f} | {ours.all_receiving_s:.2f} | {ratio:.2f}× | {verdict} |")
    record_section("stream-join", "\n".join(lines))


def main() -> None:
    measured = measured_on_deployment("stream-join", measure)
    if measured is not None:
        steps, load_before = measured
        report(steps, load_before=load_before)
