"""What the worker reads from the backend, as its service principal: symbols with their data versions, and runs.

The calls go through the api's upstream client, so an unreachable backend, a slow one and a refusal are the
same errors the api sees (``ServiceUnavailable``, ``UpstreamTimeout``, ``BackendFailure``, ``BackendRefused``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from api.views import Upstream, loads_object
from common.errors import UpstreamError

_RUNS_PAGE = 200  # the backend's largest page of runs


class BackendCatalog:
    def __init__(self, upstream: Upstream, service_token: str) -> None:
        self.upstream = upstream
        # Sent as a header on every call and never logged (the upstream client logs routes, not headers).
        self.authorization = f"Bearer {service_token}"

    async def _get(self, path: str, route: str, what: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.upstream.get_ok(path, route=route, authorization=self.authorization, params=params)
        return loads_object(response.content, what)

    async def symbols(self) -> list[dict[str, Any]]:
        """Every instrument with its datasets (timeframe, range, data version)."""
        body = await self._get("/symbols", "/symbols", "symbols")
        symbols = body.get("symbols")
        if not isinstance(symbols, list) or not all(isinstance(s, dict) and "symbol" in s for s in symbols):
            raise UpstreamError("the backend sent symbols in an unexpected shape")
        return symbols

    async def symbol(self, symbol: str) -> dict[str, Any]:
        return await self._get(f"/symbols/{symbol}", "/symbols/{symbol}", "symbol")

    async def run(self, run_id: str) -> dict[str, Any]:
        return await self._get(f"/backtests/{run_id}", "/backtests/{id}", "run")

    async def completed_runs(self, limit: int) -> AsyncIterator[dict[str, Any]]:
        """The newest ``limit`` runs (every status counts towards it), yielding those that completed."""
        offset = 0
        while offset < limit:
            page = await self._get("/backtests", "/backtests", "runs",
                                   params={"limit": min(_RUNS_PAGE, limit - offset), "offset": offset})
            items = page.get("items")
            if not isinstance(items, list):
                raise UpstreamError("the backend sent runs in an unexpected shape")
            for run in items:
                if isinstance(run, dict) and run.get("status") == "completed":
                    yield run
            offset += len(items)
            if not items or offset >= int(page.get("total") or 0):
                return
