"""Direct playback capacity: N concurrent WebSocket playbacks of one demo-like run at 30 frames a second.

The backend runs as its own uvicorn process on 127.0.0.1 (per-message deflate off, as deployed); the clients
are ``websockets`` connections in this process, each playing the run at 300 bars/s so that every frame is due
at a known instant: bar ``c`` is due ``(c + 1) / 300`` s after the first snapshot. Lateness is a frame's
receive time minus that instant, so it includes the server's scheduling and the socket. The delivered frame
rate is compared with the 30 fps target and with a single playback measured in the same run.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
from websockets.asyncio.client import connect

from backend.auth import hash_token
from backend.catalog import Catalog
from backend.engine.backtest import run_backtest
from backend.engine.simulate import Costs
from backend.engine.spec import RunSpec
from backend.runs.artifacts import write_artifacts
from backend.runs.repository import RunRepository
from bench.bench_backtest import synthetic_minutes
from bench.harness import machine_line, record_section
from bench.services import running_service
from common.logging import configure_logging
from common.models.backtests import Mode
from common.models.bars import Timeframe
from tests.support.servers import free_port

FPS = 30
SPEED = 300.0  # ten bars per frame: every frame is due exactly on a frame deadline
BARS = 40_000
TOKEN = "hw_bench_playback_token_0123456789"
CASES = ((1, 3.0), (50, 5.0), (100, 5.0), (200, 5.0))


def prepare(data_dir: Path, bars: int = BARS) -> str:
    """A completed moving-average crossover run over ``bars`` synthetic minutes, made with the engine."""
    return prepare_runs(data_dir, bars, runs=1)[0]


def prepare_runs(data_dir: Path, bars: int, *, runs: int) -> list[str]:
    """``runs`` completed runs of one moving-average crossover backtest over ``bars`` synthetic minutes (made
    with the engine once; its artifacts written once and linked for the other runs)."""
    catalog = Catalog(data_dir / "catalog.sqlite3")
    user = catalog.add_user("bench", hash_token(TOKEN))
    repository = RunRepository(catalog, data_dir / "runs")
    minutes = synthetic_minutes(bars)
    costs = Costs(cash=100_000.0, commission_rate=0.0005, slippage_bps=1.0)
    artifacts, _ = run_backtest(minutes, "ma_crossover", {"fast": 20, "slow": 100}, Mode.long_short, costs)
    spec = RunSpec(symbol="DEMO", timeframe=Timeframe.minute, strategy="ma_crossover", mode="long_short",
                   params={"fast": 20, "slow": 100}, from_time=int(minutes.time[0]), to_time=int(minutes.time[-1]),
                   cash=costs.cash, commission_rate=costs.commission_rate, fixed_fee=0.0, slippage_bps=1.0,
                   fractional=False)
    ids: list[str] = []
    for _ in range(runs):
        record = repository.create(user.id, spec, semantics={})
        if ids:
            (repository.runs_dir / record.id).symlink_to(repository.runs_dir / ids[0], target_is_directory=True)
        else:
            write_artifacts(repository.runs_dir, record.id, artifacts)
        repository.mark_running(record.id)
        repository.mark_completed(record.id, bars, None)
        ids.append(record.id)
    return ids


@dataclass
class ClientResult:
    frames: int = 0
    lateness_s: list[float] = field(default_factory=list)
    in_order: bool = True


async def play(url: str, duration_s: float, result: ClientResult) -> None:
    async with connect(url, additional_headers={"Authorization": f"Bearer {TOKEN}"}, compression=None,
                       max_size=None) as ws:
        snapshot = orjson.loads(await ws.recv())
        origin = time.monotonic()
        expected_next = snapshot["cursor"] + 1
        while time.monotonic() - origin < duration_s:
            message = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
            received = time.monotonic()
            if message["type"] != "frame":
                continue
            result.frames += 1
            first = message["cursor"] - len(message["bars"]["time"]) + 1
            result.in_order &= first == expected_next
            expected_next = message["cursor"] + 1
            result.lateness_s.append(received - (origin + (message["cursor"] + 1) / SPEED))


async def run_case(url: str, clients: int, duration_s: float) -> list[ClientResult]:
    results = [ClientResult() for _ in range(clients)]
    await asyncio.gather(*(play(url, duration_s, r) for r in results))
    return results


def summarise(clients: int, duration_s: float, results: list[ClientResult]) -> dict[str, float]:
    rates = np.array([r.frames / duration_s for r in results])
    late = np.concatenate([np.array(r.lateness_s) for r in results]) * 1000.0
    return {"clients": clients, "fps_mean": float(rates.mean()), "fps_min": float(rates.min()),
            "late_p50": float(np.percentile(late, 50)), "late_p99": float(np.percentile(late, 99)),
            "late_max": float(late.max()), "in_order": all(r.in_order for r in results)}


def main() -> None:
    configure_logging(json_logs=True, level="WARNING")
    data_dir = Path(tempfile.mkdtemp(prefix="hewston-bench-playback-"))
    port = free_port()
    try:
        run_id = prepare(data_dir)
        with running_service("backend.main:create_app", port, {"HEWSTON_DATA_DIR": str(data_dir)}):
            url = f"ws://127.0.0.1:{port}/backtests/{run_id}/ws?state=playing&speed={SPEED:g}"
            rows = []
            for clients, duration_s in CASES:
                rows.append(summarise(clients, duration_s, asyncio.run(run_case(url, clients, duration_s))))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    single = rows[0]["fps_mean"]
    lines = [
        f"{machine_line()}. One backend process (uvicorn, per-message deflate off) and the clients (one asyncio "
        f"process, `websockets`) share the 2 cores. Each client plays a {BARS:,}-bar ma_crossover run at "
        f"{SPEED:g} bars/s ({SPEED / FPS:g} bars per frame); target {FPS} frames/s per client. Lateness: frame "
        "receive time minus the instant its last bar is due on the playback clock, taking the client's receipt "
        "of the first snapshot as the clock's origin (slightly after the server's, hence small negative values).",
        "",
        "| clients | frames/s per client (mean) | min | vs 1 client | vs target | lateness p50 ms | p99 ms | max ms "
        "| every bar once, in order |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(f"| {r['clients']} | {r['fps_mean']:.1f} | {r['fps_min']:.1f} | {r['fps_mean'] / single:.2f}x "
                     f"| {r['fps_mean'] / FPS:.2f}x | {r['late_p50']:.1f} | {r['late_p99']:.1f} | "
                     f"{r['late_max']:.1f} | {'yes' if r['in_order'] else 'no'} |")
    record_section("playback", "\n".join(lines))


if __name__ == "__main__":
    main()
