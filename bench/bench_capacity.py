"""The capacity model's inputs (``bench/capacity.py``, docs/scaling.md), measured on a deployment of separate
processes on 127.0.0.1: Redis, the backend, one relay, one api node.

First the roles idle (nothing plays) for a window: their CPU then is the fixed cost every figure below is taken
net of. Phase one plays ``RUNS`` runs at 30 bars/s (one frame per bar), each watched by its owner only, and reads,
over a window, the CPU time of the relay, the api node and redis-server (from ``/proc`` and ``INFO``). Phase two
adds ``VIEWERS`` viewers of one run (``bench/ws_load.py`` clients in their own processes) and reads the api
node's CPU again: the difference, per message written to a viewer, is what one viewer-message costs. Redis's own
``commandstats`` give the CPU of one ``XREAD`` (what each further api node reading a run adds). CPU time, unlike
wall time, hardly depends on what else the machine runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import redis

from bench.bench_playback import TOKEN, prepare_runs
from bench.bench_stream import FPS, Controller
from bench.capacity import INPUTS, Inputs, table
from bench.deployment import Deployment, measured_on_deployment
from bench.harness import machine_line, record_section

RUNS = 6
VIEWERS = 600
CLIENT_PROCESSES = 2
WINDOW_S = 10.0
BARS = 200_000


def cpu_s(pid: int) -> float:
    """User plus system CPU seconds a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Sample:
    def __init__(self, pids: dict[str, int], client: redis.Redis) -> None:
        self.at = time.monotonic()
        self.cpu = {name: cpu_s(pid) for name, pid in pids.items()}
        xread = client.info("commandstats").get("cmdstat_xread", {})
        self.xread_calls, self.xread_usec = int(xread.get("calls", 0)), int(xread.get("usec", 0))
        cpu = client.info("cpu")
        self.cpu["redis"] = float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def main() -> None:
    measured = measured_on_deployment("capacity", measure)
    if measured is not None:
        report(*measured)


def measure(deployment: Deployment) -> Inputs:
    run_ids = prepare_runs(deployment.data_dir, BARS, runs=RUNS)
    roles = deployment.start_roles()
    relay = next(proc for proc in deployment.procs if "relay" in proc.args)
    pids = {"api": roles.api.pid, "relay": relay.pid}
    client = redis.Redis.from_url(deployment.redis_url)
    idle = _rates(pids, client, WINDOW_S / 2)
    controllers = [Controller(roles.api_port, run_id).start() for run_id in run_ids]
    try:
        time.sleep(3.0)  # every run playing, demand and leases settled
        before = Sample(pids, client)
        time.sleep(WINDOW_S)
        after = Sample(pids, client)
        window = after.at - before.at
        run_messages = sum(c.source_fps(time.time() - window, time.time()) for c in controllers) * window

        def net(role: str) -> float:
            """CPU seconds ``role`` spent on the playing runs in the window (its idle cost taken out)."""
            return after.cpu[role] - before.cpu[role] - idle[role] * window

        api_playing_rate = (after.cpu["api"] - before.cpu["api"]) / window
        xread_us = (after.xread_usec - before.xread_usec) / max(1, after.xread_calls - before.xread_calls)

        loaded_before, loaded_after, viewer_messages = _with_viewers(roles.stream_url(run_ids[0]), pids, client,
                                                                     controllers[0], deployment.work_dir)
        loaded_window = loaded_after.at - loaded_before.at
        fan_out_cpu = (loaded_after.cpu["api"] - loaded_before.cpu["api"]) - api_playing_rate * loaded_window
        frame_bytes = sum(len(c.template or b"") for c in controllers) / len(controllers)
    finally:
        for controller in controllers:
            controller.stop()
        client.close()
    return Inputs(
        api_cpu_us_per_viewer_message=fan_out_cpu / viewer_messages * 1e6,
        api_cpu_us_per_message_read=net("api") / run_messages * 1e6,
        relay_cpu_ms_per_run_second=net("relay") / (RUNS * window) * 1e3,
        redis_cpu_ms_per_run_second=net("redis") / (RUNS * window) * 1e3,
        redis_cpu_us_per_read=xread_us,
        frame_bytes=frame_bytes,
        messages_per_second=float(FPS),
    )


def _rates(pids: dict[str, int], client: redis.Redis, seconds: float) -> dict[str, float]:
    """CPU seconds per second each role (and Redis) uses over ``seconds``."""
    before = Sample(pids, client)
    time.sleep(seconds)
    after = Sample(pids, client)
    return {role: (after.cpu[role] - before.cpu[role]) / (after.at - before.at) for role in after.cpu}


def _with_viewers(url: str, pids: dict[str, int], client: redis.Redis, source: Controller,
                  work_dir: Path) -> tuple[Sample, Sample, float]:
    """``VIEWERS`` viewers of one run over a window: CPU samples at its edges and the viewer-messages written."""
    ramp_s = 3.0 + VIEWERS / 200
    start = time.time() + ramp_s
    procs, outs = [], []
    for i in range(CLIENT_PROCESSES):
        out = work_dir / f"capacity-load-{i}.json"
        procs.append(subprocess.Popen([sys.executable, "-m", "bench.ws_load", url, "--viewers",
                                       str(VIEWERS // CLIENT_PROCESSES), "--start", str(start), "--seconds",
                                       str(WINDOW_S), "--out", str(out), "--auth-token", TOKEN]))
        outs.append(out)
    time.sleep(max(0.0, start - time.time()))
    before = Sample(pids, client)
    time.sleep(WINDOW_S)
    after = Sample(pids, client)
    for proc in procs:
        proc.wait(timeout=60)
    received = sum(sum(json.loads(out.read_bytes())["frames"]) for out in outs)
    # Frames are most of what a viewer gets while playing; the rest (keyframes every 2 s) ride along.
    messages = max(received, 1) * (1 + 1 / (2 * FPS))
    _ = source  # the run's owner keeps it playing and demanded throughout
    return before, after, messages


def report(inputs: Inputs, load_before: float) -> None:
    INPUTS.write_text(json.dumps({"measured": machine_line(), "inputs": asdict(inputs)}, indent=2) + "\n")
    rows = "\n".join(f"| `{name}` | {value:,.3f} |" for name, value in asdict(inputs).items())
    record_section("capacity", "\n".join([
        "## Capacity model inputs (`bench/bench_capacity.py`)",
        "",
        f"{machine_line()}; load average {load_before:.2f} before the run, {os.getloadavg()[0]:.2f} after. "
        f"Redis, the backend, one relay and one api node, each its own process; {RUNS} runs at {FPS} bars/s, then "
        f"{VIEWERS:,} viewers of one of them. CPU seconds from `/proc` and Redis `INFO`, over {WINDOW_S:g} s "
        "windows; written to `docs/capacity-inputs.json`, from which `python -m bench.capacity` computes "
        "docs/scaling.md's table.",
        "",
        "| input | value |",
        "| --- | --- |",
        rows,
        "",
        table(inputs),
    ]))
