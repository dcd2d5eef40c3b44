"""The web app in a browser: time to a drawn run page, and the frame rate of a playback with 10k candles.

A whole stack (``hewston up``: backend, api, relay, embedded broker) runs as its own process on loopback with
fresh demo data; Debian's chromium, headless, opens the built app (``frontend/bench/measure.mjs``). The
demo's year-long BTCUSD minute run is measured:

- run detail: navigation start to the page's ``hewston:run-detail-drawn`` mark (metrics, candles and equity
  on their charts), the first load (the api's with every cache cold), then repeated loads with them warm;
  through the api and, side by side, through the direct backend path;
- playback: the shared stream at 30, 1,000 and 5,000 bars/s with 50,000 candles of history held and the chart
  zoomed out as far as it goes; the frames per second the page paints, the stream frames per second it
  receives and applies, against the same page paused (nothing arriving) just before; and how long the
  controls take to answer: a mouse click on Play or Pause until the page shows the playback's new state
  (the server's answer drawn), several times at each speed.
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
CONTROL_TARGET_MS = 100.0


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


def _playback_row(label: str, sample: dict, controls: list[float | None] | None = None) -> str:
    received = "—" if sample.get("receivedFps") is None else f"{sample['receivedFps']:.1f}"
    answered = "—"
    if controls:
        if any(ms is None for ms in controls):
            answered = f"{sum(ms is None for ms in controls)} of {len(controls)} unanswered in 30 s"
        else:
            answered = f"{_pct(controls, 0.5):.0f} / {_pct(controls, 0.99):.0f} / {max(controls):.0f}"
    return (f"| {label} | {sample['paintedFps']:.1f} | {received} | {sample['appliedFps']:.1f} | "
            f"{sample['p99FrameGapMs']:.1f} | {sample['candles']:,} | {answered} |")


def _meets_replay(speeds: list[dict]) -> tuple[bool, list[float | None]]:
    controls = [ms for s in speeds for ms in s["controlsMs"]]
    every_frame = all(s["playing"]["receivedFps"] is not None
                      and s["playing"]["appliedFps"] >= 0.98 * s["playing"]["receivedFps"] for s in speeds)
    fps = all(s["playing"]["paintedFps"] >= FPS_TARGET for s in speeds)
    answered = [ms for ms in controls if ms is not None]
    in_time = len(answered) == len(controls) and _pct(answered, 0.99) <= CONTROL_TARGET_MS
    return every_frame and fps and in_time, controls


def _report(result: dict) -> str:
    api, direct, playback = result["detailApi"], result["detailDirect"], result["playback"]
    api_p50, direct_p50 = _pct(api["warm"], 0.5), _pct(direct["warm"], 0.5)
    met_detail = "meets" if api_p50 <= DETAIL_TARGET_MS else "misses"
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

{_replay_report(playback)}
"""


def _replay_report(playback: dict) -> str:
    idle, speeds = playback["idle"], playback["speeds"]
    met, controls = _meets_replay(speeds)
    rows = "\n".join(_playback_row(f"playing at {s['speed']:,} bars/s for {playback['seconds']} s", s["playing"],
                                    s["controlsMs"]) for s in speeds)
    answered = [ms for ms in controls if ms is not None]
    p99 = f"{_pct(answered, 0.99):.0f} ms" if answered else "none answered"
    title = f"playback, {playback['history']:,} candles of history, {idle['candlesOnScreen']:,} on screen"
    verdict = "meets" if met else "misses"
    return f"""| {title} | painted fps \
| stream frames received per s | applied per s | p99 gap between paints ms | candles held \
| Play/Pause answered p50 / p99 / max ms |
| --- | --- | --- | --- | --- | --- | --- |
{_playback_row("paused (nothing arriving)", idle)}
{rows}

A control is answered when the page shows the playback's new state: the click's input event until the server's
status is drawn, {len(controls)} clicks in all, p99 {p99}. Target: at every speed ≥ {FPS_TARGET:.0f} fps painted,
every frame received applied, and controls answered within {CONTROL_TARGET_MS:.0f} ms at p99: **{verdict}**.
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
