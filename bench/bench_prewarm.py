"""First load of every demo page, with and without the prewarm worker, as ``make run`` starts Hewston.

Each round starts ``hewston up`` twice over the same demo data, each time a fresh process with a fresh
embedded broker (an empty cache): once with ``--no-worker``, once with its worker, waiting for the worker's
first discovery cycle to finish (its metrics say so). Then the frontend's first-load requests are replayed
(:mod:`common.default_views`): for every demo symbol its three default charts, for every demo run (as its
owner) its complete response and its chart, each page's requests at once as a browser sends them. A request
is a hit when ``X-Cache`` (charts) or ``metadata.cache`` (runs) says ``hit``. Rounds alternate the two modes,
so both see the same machine.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import httpx

from backend.demo.data import DEMO_USERS, create_demo_data
from backend.settings import BackendSettings
from bench.cluster import metric_in
from bench.harness import STATS_HEADER, Stats, machine_line, record_section, stats_ms
from bench.services import start_process, stop_service
from common.default_views import run_chart_view, run_page_query, symbol_views
from tests.support.servers import free_port

ROUNDS = 3
_CYCLE_TIMEOUT_S = 120.0


def _metric(text: str, name: str, label: str = "") -> float:
    """Sum of the samples of ``name`` in Prometheus text (those with ``label``), 0 when there is none."""
    return metric_in(text, name, label) or 0.0


def _wait_for_first_cycle(metrics_url: str) -> float:
    """Seconds until the worker's first discovery is done and its queue is empty."""
    started = time.monotonic()
    while time.monotonic() - started < _CYCLE_TIMEOUT_S:
        try:
            text = httpx.get(metrics_url, timeout=2).text
        except httpx.HTTPError:
            text = ""
        discovered = _metric(text, "hewston_worker_discoveries_total", 'outcome="done"') >= 1
        if discovered and _metric(text, "hewston_worker_queue_depth") == 0 \
                and _metric(text, "hewston_worker_jobs_total") > 0:
            return time.monotonic() - started
        time.sleep(0.1)
    raise RuntimeError("the worker did not finish a discovery cycle in time")


Sample = tuple[float, float, bool]  # client seconds, server seconds (the api's Server-Timing), cache hit


async def _page(client: httpx.AsyncClient, requests: list[tuple[str, dict]]) -> tuple[float, list[Sample]]:
    """Load one page (its requests at once): its wall time and a sample per request."""
    async def one(path: str, params: dict) -> Sample:
        t0 = time.perf_counter()
        response = await client.get(path, params=params)
        elapsed = time.perf_counter() - t0
        response.raise_for_status()
        outcome = response.headers.get("x-cache") if "chart-data" in path else response.json()["metadata"]["cache"]
        server_ms = float(response.headers["server-timing"].split("dur=")[1].split(",")[0])
        return elapsed, server_ms / 1000.0, outcome == "hit"

    t0 = time.perf_counter()
    results = await asyncio.gather(*(one(path, params) for path, params in requests))
    return time.perf_counter() - t0, list(results)


async def _replay(api_url: str) -> dict[str, list]:
    """Every demo symbol's page and every demo run's page, as a first visit."""
    pages: dict[str, list] = {"symbol": [], "run": [], "requests": []}
    headers = {"Accept-Encoding": "gzip"}
    async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=60) as client:
        for user, token in DEMO_USERS.items():
            auth = {"Authorization": f"Bearer {token}"}
            client.headers.update(auth)
            if user == next(iter(DEMO_USERS)):
                for info in (await client.get("/api/v1/symbols")).json()["symbols"]:
                    wall, results = await _page(client, [("/api/v1/chart-data", v.query())
                                                         for v in symbol_views(info)])
                    pages["symbol"].append(wall)
                    pages["requests"] += results
            for run in (await client.get("/api/v1/backtests")).json()["items"]:
                if run["owner"] != user or run["status"] != "completed":
                    continue
                wall, results = await _page(client, [(f"/api/v1/runs/{run['id']}/complete", run_page_query()),
                                                     ("/api/v1/chart-data", run_chart_view(run).query())])
                pages["run"].append(wall)
                pages["requests"] += results
    return pages


def _round(data_dir: Path, with_worker: bool) -> tuple[dict[str, list], float | None]:
    backend_port, api_port, metrics_port = free_port(), free_port(), free_port()
    env = {"HEWSTON_DATA_DIR": str(data_dir), "HEWSTON_PORT": str(backend_port), "HEWSTON_API_PORT": str(api_port),
           "HEWSTON_WORKER_METRICS_PORT": str(metrics_port), "HEWSTON_API_RATE_LIMIT_REQUESTS": str(10**9),
           "REDIS_URL": "", "HEWSTON_SERVICE_TOKEN": ""}
    command = [sys.executable, "-m", "hewston.cli", "up"] + ([] if with_worker else ["--no-worker"])
    proc = start_process(command, api_port, env)
    try:
        cycle_s = _wait_for_first_cycle(f"http://127.0.0.1:{metrics_port}/metrics") if with_worker else None
        return asyncio.run(_replay(f"http://127.0.0.1:{api_port}")), cycle_s
    finally:
        stop_service(proc)


def _summary(label: str, rounds: list[dict[str, list]]) -> tuple[list[tuple[str, Stats]], float]:
    requests = [r for pages in rounds for r in pages["requests"]]
    hit_ratio = sum(hit for _, _, hit in requests) / len(requests)
    table = [(f"{label}: symbol page (3 charts at once)", stats_ms([w for p in rounds for w in p["symbol"]])),
             (f"{label}: run page (complete + chart at once)", stats_ms([w for p in rounds for w in p["run"]])),
             (f"{label}: one request, client", stats_ms([c for c, _, _ in requests])),
             (f"{label}: one request, server", stats_ms([s for _, s, _ in requests]))]
    return table, hit_ratio


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        create_demo_data(BackendSettings(data_dir=data_dir, _env_file=None))
        cold, warm, cycles = [], [], []
        for _ in range(ROUNDS):
            cold.append(_round(data_dir, with_worker=False)[0])
            pages, cycle_s = _round(data_dir, with_worker=True)
            warm.append(pages)
            cycles.append(cycle_s)
    cold_table, cold_ratio = _summary("without prewarming", cold)
    warm_table, warm_ratio = _summary("after one prewarm cycle", warm)
    symbols, runs = len(cold[0]["symbol"]), len(cold[0]["run"])
    requests = len(cold[0]["requests"])
    lines = [
        f"{machine_line()}. `hewston up` as `make run` starts it (embedded broker), {ROUNDS} rounds; each round "
        "starts it twice over the same demo data with an empty cache: with `--no-worker`, and with its worker "
        "after the worker's first discovery cycle. Replayed: the first-load requests of every demo page "
        f"({symbols} symbols x 3 default charts, {runs} runs x complete response + chart = {requests} requests), "
        "each page's requests at once. Client = around each request over loopback; server = the api's "
        "`Server-Timing`.", "", STATS_HEADER]
    lines += [f"| {name} | {s.row()} |" for name, s in cold_table + warm_table]
    client, server = (cold_table[2][1], warm_table[2][1]), (cold_table[3][1], warm_table[3][1])
    lines += ["",
              f"- Cache hits on first load: **{warm_ratio:.0%}** after one prewarm cycle (target 100 %), "
              f"{cold_ratio:.0%} without prewarming (two demo runs share one chart).",
              f"- First load per request p50: {client[0].p50_ms:.1f} ms without prewarming, {client[1].p50_ms:.1f} "
              f"ms prewarmed ({client[0].p50_ms / client[1].p50_ms:.1f}x faster); server time p50 "
              f"{server[0].p50_ms:.1f} -> {server[1].p50_ms:.1f} ms ({server[0].p50_ms / server[1].p50_ms:.1f}x). "
              "A prewarmed first load still asks the backend whether the caller may see the symbol or run (the "
              "access check), most of what remains. Symbol page p50 "
              f"{cold_table[0][1].p50_ms:.1f} -> {warm_table[0][1].p50_ms:.1f} ms, run page p50 "
              f"{cold_table[1][1].p50_ms:.1f} -> {warm_table[1][1].p50_ms:.1f} ms.",
              f"- The first discovery cycle (start-up to an empty queue) took "
              f"{min(cycles):.1f}-{max(cycles):.1f} s after the api answered."]
    record_section("prewarm", "## Prewarming (`bench/bench_prewarm.py`)\n\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
