"""Bars API: server time of ``GET /bars/hour`` (a year) and ``GET /bars/minute`` (a month) next to the raw
store reads (straight from Parquet, and through the app's store with its in-memory cache) and the read plus
JSON encoding, so the cost of auth, routing and encoding shows as ratios. Target: hourly year <= 10 ms.

The app runs in process behind ``httpx.ASGITransport``; server time is measured by a wrapper around the ASGI
app, from the request entering it to the last body byte leaving it.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from backend.auth import hash_token
from backend.demo.data import create_demo_data
from backend.main import create_app
from backend.market.store import BarStore
from backend.settings import BackendSettings
from bench.harness import (
    STATS_HEADER,
    Stats,
    machine_line,
    record_section,
    stats_ms,
    time_calls,
)
from common.logging import configure_logging
from common.models.bars import Timeframe
from common.times import parse_time

TOKEN = "hw_bench_token_0123456789abcdef0123456789"
SYMBOL = "BTCUSD"
YEAR = ("2025-01-01", "2025-12-31")
MONTH = ("2025-03-01", "2025-03-31")
TARGET_HOUR_YEAR_MS = 10.0


class ServerTimer:
    """ASGI wrapper recording how long the app takes per HTTP request, body included."""

    def __init__(self, app) -> None:
        self.app = app
        self.samples: list[float] = []

    async def __call__(self, scope, receive, send) -> None:
        start = time.perf_counter()
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            self.samples.append(time.perf_counter() - start)


async def _serve(timer: ServerTimer, path: str, params: dict[str, str], n: int) -> tuple[Stats, Stats, int]:
    transport = httpx.ASGITransport(app=timer)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for _ in range(5):
            (await client.get(path, params=params, headers=headers)).raise_for_status()
        timer.samples.clear()
        client_samples = []
        size = 0
        for _ in range(n):
            start = time.perf_counter()
            response = await client.get(path, params=params, headers=headers)
            client_samples.append(time.perf_counter() - start)
            response.raise_for_status()
            size = len(response.content)
    return stats_ms(timer.samples), stats_ms(client_samples), size


def _case(app, timer: ServerTimer, timeframe: Timeframe, route: str, span: tuple[str, str], n: int,
          label: str) -> tuple[list[str], Stats]:
    store = app.state.bar_store
    start, end = parse_time(span[0]), parse_time(span[1], is_end=True)
    # The same files read straight from Parquet (row-group pruning, nothing kept in memory) ...
    parquet = BarStore(store.root, store.catalog)
    uncached = time_calls(lambda: parquet.read(SYMBOL, timeframe, start, end), n)
    # ... and through the app's store, which keeps decoded files in memory when it has a cache.
    raw = time_calls(lambda: store.read(SYMBOL, timeframe, start, end), n)

    def read_and_encode() -> bytes:
        bars = store.read(SYMBOL, timeframe, start, end)
        return orjson.dumps({"time": bars.time, "open": bars.open, "high": bars.high, "low": bars.low,
                             "close": bars.close, "volume": bars.volume}, option=orjson.OPT_SERIALIZE_NUMPY)

    encoded = time_calls(read_and_encode, n)
    rows = len(store.read(SYMBOL, timeframe, start, end))
    server, client, size = asyncio.run(_serve(timer, route, {"symbol": SYMBOL, "from": span[0], "to": span[1]}, n))
    cached = "cached" if store.cache is not None else "no cache"
    lines = [
        f"| {label}: Parquet read, row groups pruned ({rows:,} bars) | {uncached.row()} |",
        f"| {label}: app store read ({cached}) | {raw.row()} |",
        f"| {label}: app store read + orjson encode | {encoded.row()} |",
        f"| {label}: `GET {route}` server time ({size / 1e6:.2f} MB) | {server.row()} |",
        f"| {label}: `GET {route}` client round trip (ASGI transport) | {client.row()} |",
    ]
    # Server time over read + encode is what auth, routing and middleware add; over the Parquet read it is the
    # cost of serving against reading the data from disk.
    ratios = (f"| {label}: server p50 / (app store read + encode) p50 = {server.p50_ms / encoded.p50_ms:.2f}x; "
              f"server p50 / Parquet read p50 = {server.p50_ms / uncached.p50_ms:.2f}x | | | | | |")
    return [*lines, ratios], server


def main() -> None:
    configure_logging(json_logs=False, level="WARNING")
    with tempfile.TemporaryDirectory(prefix="hewston-bench-bars-") as tmp:
        settings = BackendSettings(data_dir=Path(tmp), _env_file=None)
        started = time.perf_counter()
        summary = create_demo_data(settings)
        demo_s = time.perf_counter() - started
        app = create_app(settings)
        app.state.catalog.add_user("bench", hash_token(TOKEN))
        timer = ServerTimer(app)
        hour_lines, hour = _case(app, timer, Timeframe.hour, "/bars/hour", YEAR, 300, "hour, 1 year")
        minute_lines, _ = _case(app, timer, Timeframe.minute, "/bars/minute", MONTH, 100, "minute, 1 month")
    rows = sum(d.rows for d in summary.datasets)
    verdict = "met" if hour.p50_ms <= TARGET_HOUR_YEAR_MS else "NOT met"
    record_section("bars", "\n".join([
        "## Bars API (`bench/bench_bars.py`)",
        "",
        f"{machine_line()}. `create_demo_data` took {demo_s:.2f} s ({rows:,} minute bars of four symbols, "
        f"with hourly and daily aggregates). Requests for {SYMBOL} in process (httpx ASGI transport), bearer "
        "auth included; server time is measured inside the ASGI app.",
        "",
        STATS_HEADER,
        *hour_lines,
        *minute_lines,
        "",
        f"Target: hourly bars of a year in <= {TARGET_HOUR_YEAR_MS:.0f} ms server time (p50): **{verdict}** "
        f"({hour.p50_ms:.2f} ms).",
    ]))


if __name__ == "__main__":
    main()
