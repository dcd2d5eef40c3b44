"""The web app in a browser: time to a drawn run page, and the frame rate of a playback with 10k candles.

A whole stack (``hewston up``: backend, api, relay, embedded broker) runs as its own process on loopback with
fresh demo data; Debian's chromium, headless, opens the built app (``frontend/bench/measure.mjs``). The
demo's year-long BTCUSD minute run is measured:

- run detail: navigation start to the page's ``hewston:run-detail-drawn`` mark (metrics, candles and equity
  on their charts), the first load (the api's with every cache cold), then repeated loads with them warm;
  through the api and, side by side, through the direct backend path;
- playback: the shared stream at 600 bars/s with 10,000 candles of history zoomed out onto the screen; the
  frames per second the page paints and the stream frames per second it applies, against the same page
  paused (nothing arriving) just before.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from bench.harness import machine_line, record_section
from bench.services import wait_until_answers
from tests.support.servers import free_port

REPO = Path(__file__).resolve().parent.parent
FRONTEND = REPO / "frontend"
TOKEN = "hw_demo_alice"
DETAIL_TARGET_MS = 1000.0
FPS_TARGET = 30.0


def _hewston() -> str:
    return str(Path(sys.executable).with_name("hewston"))


def _start_stack(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    env = {**os.environ, "HEWSTON_DATA_DIR": str(data_dir), "HEWSTON_LOG_LEVEL": "WARNING",
           "HEWSTON_API_LOG_LEVEL": "WARNING"}
    env.pop("REDIS_URL", None)
    subprocess.run([_hewston(), "demo-data"], env=env, check=True, capture_output=True, timeout=300)
    backend_port, api_port = free_port(), free_port()
    env.update(HEWSTON_PORT=str(backend_port), HEWSTON_API_PORT=str(api_port))
    proc = subprocess.Popen([_hewston(), "up", "--host", "127.0.0.1"], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    api = f"http://127.0.0.1:{api_port}"
    wait_until_answers(proc, f"{api}/ready", "hewston up", timeout_s=60)
    return proc, api


def _stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _demo_run(api: str) -> str:
    runs = httpx.get(f"{api}/api/v1/backtests", headers={"Authorization": f"Bearer {TOKEN}"}).json()["items"]
    return next(r["id"] for r in runs if r["symbol"] == "BTCUSD" and r["timeframe"] == "minute")


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def _detail_row(label: str, times: dict) -> str:
    warm = times["warm"]
    return (f"| {label} | {times['first']:.0f} | {_pct(warm, 0.5):.0f} | {_pct(warm, 0.9):.0f} | "
            f"{statistics.fmean(warm):.0f} | {len(warm)} |")


def _playback_row(label: str, sample: dict) -> str:
    return f"| {label} | {sample['paintedFps']:.1f} | {sample['appliedFps']:.1f} | {sample['p99FrameGapMs']:.1f} |"


def _report(result: dict) -> str:
    api, direct, playback = result["detailApi"], result["detailDirect"], result["playback"]
    api_p50, direct_p50 = _pct(api["warm"], 0.5), _pct(direct["warm"], 0.5)
    idle, playing = playback["idle"], playback["playing"]
    met_detail = "meets" if api_p50 <= DETAIL_TARGET_MS else "misses"
    met_fps = "meets" if playing["paintedFps"] >= FPS_TARGET and playing["appliedFps"] >= FPS_TARGET * 0.95 \
        else "misses"
    return f"""
## Web app in a browser (`bench/bench_frontend.py`)

{machine_line()}; Chromium {result['chromium']} headless (software rendering), one `hewston up` process with the
embedded broker, the demo's BTCUSD minute run (525,600 bars, 7,449 fills). Times are milliseconds from
navigation start to the run page's charts drawn (metric cards, 9,918 aggregated candles, equity and drawdown).
The api is measured first, with every cache cold; the direct path's first load then finds the backend's own
in-memory caches (bar files, loaded runs) warm, but nothing of the api's.

| run detail | first load on the path | warm p50 | warm p90 | warm mean | warm loads |
| --- | --- | --- | --- | --- | --- |
{_detail_row("through the api (`/runs/{id}/complete`, `/chart-data`)", api)}
{_detail_row("direct backend path (four backend calls, `/bars`)", direct)}

Warm p50 through the api {api_p50:.0f} ms: **{met_detail}** the ≤ {DETAIL_TARGET_MS:.0f} ms target;
{direct_p50 / api_p50:.2f}× faster than the direct path, {api['first'] / api_p50:.1f}× faster than the first load.

| playback, {playing['candlesOnScreen']:,} candles on screen | painted fps | stream frames applied per s \
| p99 gap between paints ms |
| --- | --- | --- | --- |
{_playback_row("paused (nothing arriving)", idle)}
{_playback_row(f"playing at {playback['speed']} bars/s for {playback['seconds']} s", playing)}

Playing, the page paints {playing['paintedFps']:.1f} fps ({playing['paintedFps'] / idle['paintedFps']:.2f}× the
paused page) and applies {playing['appliedFps']:.1f} of the stream's 30 frames a second, with
{playing['candles']:,} candles held: **{met_fps}** the 30 fps target with 10k candles on screen.
"""


def main() -> None:
    if not (FRONTEND / "dist" / "index.html").is_file() or shutil.which("node") is None:
        record_section("frontend", "## Web app in a browser (`bench/bench_frontend.py`)\n\nNot measured: the web "
                                   "app is not built (`make frontend` needs Node.js 20+ and npm).")
        return
    data_dir = Path(tempfile.mkdtemp(prefix="hewston-bench-web-"))
    proc, api = _start_stack(data_dir / "data")
    try:
        run_id = _demo_run(api)
        out = subprocess.run(["node", "bench/measure.mjs", api, run_id, TOKEN], cwd=FRONTEND,
                             capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise RuntimeError(f"the browser measurement failed:\n{out.stderr[-3000:]}")
        record_section("frontend", _report(json.loads(out.stdout.strip().splitlines()[-1])))
    finally:
        _stop(proc)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
