"""Discovery, the worker's cron job: ask the backend what there is, and queue the warming of what is cold.

Every cycle lists the symbols (with their data versions) and the newest completed runs, and asks for:

- each symbol's default views at its current data version;
- the removal of chart entries older than the current versions;
- each completed run's page (its complete response) and its chart at the current data version.

Job ids name the entry and version, so a view that is already warm, queued or being warmed is not queued
again: a cycle costs one listing and a few Redis round trips per view. A new data version makes new ids, and
so new jobs; a new completed run too.
"""

from __future__ import annotations

from typing import Any

from api.views import chart_dataset
from common.default_views import ChartView, run_chart_view, symbol_views
from common.errors import NotFound
from common.prewarm_queue import DROP_STALE_CHARTS, WARM_CHART, WARM_RUN
from workers.prewarm import Prewarmer


def _version(symbol_info: dict[str, Any], view: ChartView) -> int | None:
    try:
        return chart_dataset(symbol_info, view.timeframe)["data_version"]
    except NotFound:
        return None


async def discover(prewarmer: Prewarmer) -> dict[str, int]:
    """One discovery cycle; returns how many jobs were queued and how many were already there."""
    symbols = await prewarmer.backend.symbols()
    requested: list[bool] = []

    async def chart(symbol_info: dict[str, Any], view: ChartView) -> None:
        version = _version(symbol_info, view)
        if version is not None:
            requested.append(await prewarmer.request(WARM_CHART, prewarmer.queue.chart(view, version)))

    versions: dict[str, int] = {}
    for symbol_info in symbols:
        for view in symbol_views(symbol_info):
            await chart(symbol_info, view)
        for dataset in symbol_info.get("datasets") or ():
            versions[f"{symbol_info['symbol']}/{dataset.get('timeframe')}"] = dataset.get("data_version")
    requested.append(await prewarmer.request(DROP_STALE_CHARTS, prewarmer.queue.drop_stale_charts(versions)))

    by_symbol = {symbol_info["symbol"]: symbol_info for symbol_info in symbols}
    async for run in prewarmer.backend.completed_runs(prewarmer.config.discover_max_runs):
        requested.append(await prewarmer.request(WARM_RUN, prewarmer.queue.run(str(run["id"]))))
        symbol_info = by_symbol.get(run.get("symbol"))
        if symbol_info is not None:
            await chart(symbol_info, run_chart_view(run))
    return {"symbols": len(symbols), "queued": sum(requested), "duplicate": len(requested) - sum(requested)}
