"""``GET /api/v1/chart-data``: candles for a chart, decimated by aggregation, cached as encoded bytes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.deps import AuthorizationDep, CachedViewServicesDep
from api.models import ChartDataResponse
from api.routers.answer_first import AnswerFirstRoute
from api.routers.responses import encoded_response
from api.views import ChartDataQuery, Outcome, chart_view

router = APIRouter(tags=["charts"], route_class=AnswerFirstRoute)

_ERRORS = {401: {"description": "Missing or invalid token"}, 404: {"description": "Unknown symbol or dataset"},
           422: {"description": "A parameter is invalid; the error names it"},
           503: {"description": "The backend cannot be reached"}}


@router.get("/chart-data", response_model=ChartDataResponse, responses=_ERRORS,
            summary="Candles for a chart; `1M_DECIMATED` aggregates minutes to at most `target_points`")
async def chart_data(query: Annotated[ChartDataQuery, Query()], request: Request, authorization: AuthorizationDep,
                     api: CachedViewServicesDep) -> Response:
    # Asking the backend for the symbol with the caller's token is the access check, and it tells the data
    # version that makes the cache key change when the data does.
    decision = await api.access.symbol(authorization, query.symbol)
    view = chart_view(query, str(decision.body.get("symbol") or query.symbol))
    chart = await api.views.chart(authorization, view, decision.body)
    api.metrics.count_cache("chart", chart.outcome, len(chart.entry.payload))
    if chart.outcome is Outcome.MISS:
        api.prewarm.chart_missed(view, decision.body)
    return encoded_response(request, chart.entry, outcome=chart.outcome)
