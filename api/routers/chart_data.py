"""``GET /api/v1/chart-data``: candles for a chart, decimated by aggregation, cached as encoded bytes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.charts import chart_entry, chart_view
from api.deps import (
    AccessDep,
    AuthorizationDep,
    CacheDep,
    KeysDep,
    MetricsDep,
    PrewarmDep,
    SettingsDep,
    UpstreamDep,
)
from api.models import ChartDataQuery, ChartDataResponse
from api.responses import encoded_response

router = APIRouter(tags=["charts"])

_ERRORS = {401: {"description": "Missing or invalid token"}, 404: {"description": "Unknown symbol or dataset"},
           422: {"description": "A parameter is invalid; the error names it"},
           503: {"description": "The backend cannot be reached"}}


@router.get("/chart-data", response_model=ChartDataResponse, responses=_ERRORS,
            summary="Candles for a chart; `1M_DECIMATED` aggregates minutes to at most `target_points`")
async def chart_data(query: Annotated[ChartDataQuery, Query()], request: Request, authorization: AuthorizationDep,
                     access: AccessDep, cache: CacheDep, upstream: UpstreamDep, keys: KeysDep,
                     settings: SettingsDep, metrics: MetricsDep, prewarm: PrewarmDep) -> Response:
    # Asking the backend for the symbol with the caller's token is the access check, and it tells the data
    # version that makes the cache key change when the data does.
    decision = await access.symbol(authorization, query.symbol)
    view = chart_view(query, str(decision.body.get("symbol") or query.symbol))
    entry, outcome, _key = await chart_entry(cache, keys, settings.chart_cache_ttl_s, upstream, authorization, view,
                                             decision.body)
    metrics.count_cache("chart", outcome, len(entry.payload))
    if outcome == "miss":
        prewarm.chart_missed(view, decision.body)
    return encoded_response(request, entry, outcome=outcome)
