"""``GET /api/v1/chart-data``: candles for a chart, decimated by aggregation, cached as encoded bytes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.cache import Computed
from api.decimation import bucket_width_minutes
from api.deps import (
    AccessDep,
    AuthorizationDep,
    CacheDep,
    KeysDep,
    MetricsDep,
    SettingsDep,
    UpstreamDep,
)
from api.models import ChartDataQuery, ChartDataResponse, ChartTimeframe
from api.responses import encoded_response
from api.transform import encode_chart, split_bars
from common.errors import NotFound

router = APIRouter(tags=["charts"])

_ERRORS = {401: {"description": "Missing or invalid token"}, 404: {"description": "Unknown symbol or dataset"},
           422: {"description": "A parameter is invalid; the error names it"},
           503: {"description": "The backend cannot be reached"}}


def _dataset(symbol_info: dict, chart: ChartTimeframe) -> dict:
    """The backend's description of the bars ``chart`` is built from; 404 naming the chart timeframes there are.

    A symbol loaded from hourly or daily bars has no minute bars (and a daily one no hourly bars either).
    """
    datasets = [d for d in symbol_info.get("datasets") or () if isinstance(d, dict)]
    for dataset in datasets:
        if dataset.get("timeframe") == chart.source.value and isinstance(dataset.get("data_version"), int):
            return dataset
    have = {d.get("timeframe") for d in datasets if d.get("rows")}
    available = [c.value for c in ChartTimeframe if c.source.value in have]
    symbol = symbol_info.get("symbol", "this symbol")
    raise NotFound(f"{chart.value} is not available for {symbol}: it has no {chart.source.value} bars "
                   f"(available: {', '.join(available) or 'none'})")


def _bucket_minutes(minutes: dict, from_s: int | None, to_s: int | None, target_points: int) -> int:
    """Bucket width for ``target_points``, over the requested range clipped to the minute data there is."""
    first, last = minutes.get("first_time"), minutes.get("last_time")
    if not isinstance(first, int) or not isinstance(last, int):
        return 1
    lo = first if from_s is None else max(from_s, first)
    hi = last if to_s is None else min(to_s, last)
    return bucket_width_minutes(lo, hi, target_points) if lo <= hi else 1


@router.get("/chart-data", response_model=ChartDataResponse, responses=_ERRORS,
            summary="Candles for a chart; `1M_DECIMATED` aggregates minutes to at most `target_points`")
async def chart_data(query: Annotated[ChartDataQuery, Query()], request: Request, authorization: AuthorizationDep,
                     access: AccessDep, cache: CacheDep, upstream: UpstreamDep, keys: KeysDep,
                     settings: SettingsDep, metrics: MetricsDep) -> Response:
    # Asking the backend for the symbol with the caller's token is the access check, and it tells the data
    # version that makes the cache key change when the data does.
    decision = await access.symbol(authorization, query.symbol)
    dataset = _dataset(decision.body, query.timeframe)
    version = dataset["data_version"]
    decimated = query.timeframe is ChartTimeframe.minute_decimated
    target = query.target_points if decimated else None
    from_s, to_s = query.from_s, query.to_s
    # The backend's spelling of the symbol, so that `aapl` and `AAPL` share one cache entry.
    symbol = str(decision.body.get("symbol") or query.symbol)
    key = keys.chart_data(symbol, query.timeframe.value, version, from_s, to_s, target)

    async def compute() -> Computed:
        params = {"symbol": symbol}
        if from_s is not None:
            params["from"] = str(from_s)
        if to_s is not None:
            params["to"] = str(to_s)
        if decimated:
            width = _bucket_minutes(dataset, from_s, to_s, query.target_points)
            if width > 1:
                params["bucket_minutes"] = str(width)
        path = f"/bars/{query.timeframe.backend_path}"
        response = await upstream.get_ok(path, route=path, authorization=authorization, params=params)
        bars = split_bars(response.content)
        served_version = bars.meta["data_version"]
        raw = encode_chart(symbol=symbol, timeframe=query.timeframe.value, data_version=served_version,
                           from_date=from_s, to_date=to_s, target_points=target, bars=bars)
        # An ingest between the two backend calls: answer with what we got, but never under the old version.
        return Computed(raw, cacheable=served_version == version)

    entry, outcome = await cache.get_or_compute(key, settings.chart_cache_ttl_s, compute)
    metrics.count_cache("chart", outcome)
    return encoded_response(request, entry, outcome=outcome)
