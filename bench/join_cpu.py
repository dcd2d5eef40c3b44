"""What joining costs the api node's CPU, per viewer, against a bare app on the same uvicorn stack.

    python -m bench.join_cpu [--viewers 2000] [--repeats 3]

The fan-out benchmark's deployment (every role its own process on 127.0.0.1), with its run *not* playing, so that
nothing but joining is measured: N viewers of ``bench/ws_load.py`` connect at once and send their token, and each
gets the handshake, the backend's access decision, ``hello`` and the snapshot. The floor is
``bench/bare_broadcast.py``'s accept app (a handshake and a read loop, nothing else). Each server's CPU time (user
and system, from /proc) over the join, divided by N; the two take turns, and each is measured ``--repeats`` times.
The join benchmark (``bench/bench_stream_join.py``) measures time with a run playing; this says where that time goes
before any frame is written.
"""

from __future__ import annotations

import argparse
import os
import time

from bench.bench_playback import TOKEN, prepare
from bench.bench_stream import BARS
from bench.bench_stream_join import CLIENT_PROCESSES, SERVER_ARGS, wait_for_viewers
from bench.cpu import process_cpu_s
from bench.deployment import Deployment, measured_on_deployment
from bench.harness import machine_line, record_section
from bench.processes import free_ports
from bench.services import start_service, stop_service
from bench.ws_load import run_clients

JOIN_WINDOW_S = 6.0


def measure(deployment: Deployment, viewers: int, repeats: int) -> dict[str, list[float]]:
    """Microseconds of CPU per joining viewer, per server and run."""
    run_id = prepare(deployment.data_dir, bars=BARS)
    roles = deployment.start_roles(api_args=SERVER_ARGS)
    (bare_port,) = free_ports(1)
    bare = start_service("bench.bare_broadcast:create_accept_app", bare_port, {}, SERVER_ARGS)
    servers = {"bare accept app": (f"ws://127.0.0.1:{bare_port}/ws", bare.pid),
               "stream": (roles.stream_url(run_id), roles.api.pid)}
    per_viewer: dict[str, list[float]] = {name: [] for name in servers}
    try:
        for _ in range(repeats):
            for name, (url, pid) in servers.items():
                before = process_cpu_s(pid)
                results = run_clients(url, viewers, start=time.time() + 1.0, seconds=JOIN_WINDOW_S, token=TOKEN,
                                      out_dir=deployment.work_dir, processes=CLIENT_PROCESSES, join=True)
                spent = process_cpu_s(pid) - before
                upgraded = sum(1 for result in results for at in result["upgraded_at"] if at)
                if upgraded != viewers:
                    raise RuntimeError(f"{name}: only {upgraded} of {viewers} handshakes were answered")
                per_viewer[name].append(1e6 * spent / viewers)
                print(f"{name}: {per_viewer[name][-1]:.0f} µs per viewer", flush=True)
                if name == "stream":
                    wait_for_viewers(roles.api_metrics, 0)
                time.sleep(2.0)
    finally:
        stop_service(bare)
    return per_viewer


def report(per_viewer: dict[str, list[float]], viewers: int, *, load_before: float) -> None:
    bare, ours = sorted(per_viewer["bare accept app"]), sorted(per_viewer["stream"])
    median_bare, median_ours = bare[len(bare) // 2], ours[len(ours) // 2]
    runs = "; ".join(f"{name}: " + ", ".join(f"{value:.0f}" for value in values)
                     for name, values in per_viewer.items())
    record_section("join_cpu", "\n".join([
        "## What a join costs the api's CPU (`bench/join_cpu.py`)",
        "",
        f"{machine_line()}; load average {load_before:.2f} before the run, {os.getloadavg()[0]:.2f} after. "
        f"{viewers:,} viewers join one run at once, the run not playing (nothing but joining is measured); the "
        "server's CPU time over the join per viewer, the servers taking turns.",
        "",
        "| server | CPU per joining viewer (median, µs) |",
        "| --- | --- |",
        f"| bare accept app (handshake and read loop) | {median_bare:.0f} |",
        f"| stream (handshake, token, access, `hello`, snapshot) | {median_ours:.0f} "
        f"({median_ours / median_bare:.2f}×) |",
        "",
        f"Every run (µs): {runs}.",
    ]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    measured = measured_on_deployment("join_cpu", lambda deployment: measure(deployment, args.viewers,
                                                                              args.repeats))
    if measured is not None:
        per_viewer, load_before = measured
        report(per_viewer, args.viewers, load_before=load_before)


if __name__ == "__main__":
    main()
