"""Where a cache hit's time goes inside the api: cProfile around a uvicorn api process serving hits.

``python -m bench.profile_hits [section]`` starts a backend, a Redis server and an api under ``cProfile`` (each its own
process, as ``bench/bench_api.py`` runs them), serves chart-data hits (10,000 candles, gzip) and complete-run
hits, stops the api gracefully (so that the profile is written) and records the functions with the largest
cumulative time, per request, in the ``api_profile`` section of docs/benchmarks.md. cProfile slows every call
it sees, so the times say where the work is, not how long a hit takes (that is ``bench_api``).
"""

from __future__ import annotations

import io
import os
import pstats
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from bench.bench_api import SYMBOL, TOKEN, YEAR_MINUTES, YEAR_START, _wait_completed, backend_on_redis, raw_get
from bench.harness import machine_line, record_section
from bench.services import start_process
from common.keys import KeySpace
from tests.support.redis_keys import delete_key_space
from tests.support.servers import free_port

HITS = 2000
TOP = 22
ROOT = Path(__file__).resolve().parent.parent
# Start-up, shutdown and the profiler's own frames say nothing about a hit; nor do the layers that only pass a
# request on (every one of them would head the list with the whole request's time).
_SKIP = ("lifespan", "startup", "shutdown", "serve", "run_until_complete", "run_forever", "_run_once", "main",
         "<module>", "_run", "run", "exec", "create_app", "_find_and_load", "import_module", "Popen", "__call__",
         "app", "handle", "_handle_selected", "wrapped_app", "run_asgi", "run_endpoint_function", "_serve")


def profile(profile_path: Path, redis_url: str, backend_url: str, prefix: str) -> tuple[int, int]:
    """Serve hits from an api under cProfile; returns the number of (chart, run) hits served."""
    port = free_port()
    env = {"HEWSTON_API_BACKEND_URL": backend_url, "HEWSTON_API_REDIS_KEY_PREFIX": prefix, "REDIS_URL": redis_url,
           "HEWSTON_API_RATE_LIMIT_REQUESTS": str(10**9), "HEWSTON_API_RATE_LIMIT_ADDRESS_REQUESTS": str(10**9)}
    proc = start_process([sys.executable, "-m", "cProfile", "-o", str(profile_path), "-m", "uvicorn", "--factory",
                          "api.main:create_app", "--host", "127.0.0.1", "--port", str(port),
                          "--ws-per-message-deflate", "false", "--no-proxy-headers", "--log-level", "warning"],
                         port, env)
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept-Encoding": "gzip"}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120) as a, \
                httpx.Client(base_url=backend_url, headers=headers, timeout=120) as b:
            run = b.post("/backtests", json={"symbol": SYMBOL, "strategy": "ma_crossover", "timeframe": "minute",
                                             "from": YEAR_START, "to": YEAR_START + 60 * (YEAR_MINUTES - 1)}).json()
            run = _wait_completed(b, run["id"])
            chart = {"symbol": SYMBOL, "timeframe": "1M_DECIMATED", "target_points": 10_000}
            complete = f"/api/v1/runs/{run['id']}/complete"
            for _ in range(2):  # the miss, then the first hit that learns what to read ahead
                raw_get(a, "/api/v1/chart-data", chart)
                raw_get(a, complete)
            for _ in range(HITS):
                raw_get(a, "/api/v1/chart-data", chart)
                raw_get(a, complete)
    finally:
        # SIGINT: uvicorn shuts down, then raises the signal again as KeyboardInterrupt, and cProfile writes
        # the profile on its way out (SIGTERM would end the process before that).
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    return HITS, HITS


def summary(profile_path: Path, requests: int, root: Path = ROOT) -> str:
    """The functions with the largest cumulative time, in microseconds per request (paths relative to
    ``root``, the source tree that was profiled)."""
    stats = pstats.Stats(str(profile_path), stream=io.StringIO())
    rows = []
    for (filename, line, name), (_cc, calls, _tt, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if name in _SKIP or filename.startswith(("<", "~")) or calls < requests * 0.2 \
                or "profile" in filename.rsplit("/", 1)[-1]:  # start-up work runs once, not per request
            continue
        if "site-packages/" in filename:
            where = filename.split("site-packages/")[-1]
        elif "/lib/python3" in filename:
            where = filename.split("/lib/")[-1]  # the standard library: python3.x/...
        else:
            where = os.path.relpath(filename, root)
        rows.append((cumulative, calls, f"{where}:{line}({name})"))
    rows.sort(reverse=True)
    lines = ["| µs per request (cumulative) | calls per request | function |", "| --- | --- | --- |"]
    for cumulative, calls, label in rows[:TOP]:
        lines.append(f"| {cumulative / requests * 1e6:.1f} | {calls / requests:.2f} | `{label}` |")
    return "\n".join(lines)


def main(section: str = "api_profile") -> None:
    prefix = f"hwprofile-{os.getpid()}"
    with backend_on_redis("profile_hits") as servers, tempfile.TemporaryDirectory() as tmp:
        if servers is None:
            return
        redis_url, backend_url = servers
        profile_path = Path(tmp) / "api.prof"
        chart_hits, run_hits = profile(profile_path, redis_url, backend_url, prefix)
        delete_key_space(redis_url, KeySpace(prefix))
        table = summary(profile_path, chart_hits + run_hits)
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parent).stdout.strip()
    record_section(section, "\n".join([
        f"{machine_line()}, at {revision or 'this revision'}; cProfile around one api process serving "
        f"{chart_hits:,} chart-data hits (10k candles, gzip) and {run_hits:,} complete-run hits, taking turns; "
        "times are cumulative per request, inflated by the profiler (they say where the work is).", "", table]))


if __name__ == "__main__":
    main(*sys.argv[1:2])
