"""``GET /api/v1/runs/{id}/complete``: a run with its metrics, decimated equity and orders in one response.

All backend calls go out at once: the run detail (the caller's own answer, which is also the access check)
and the three result parts. The backend enforces access on every one of them with the caller's token, so
parts it returned may be cached; cached parts are served only after the run detail said the caller may see
the run. The detail holds caller-specific fields (``can_control``), so it is never shared through the cache.

The immutable parts (metrics, decimated equity, orders) come from :meth:`api.views.CachedViews.run_parts`, the
computation the prewarm worker shares; this route adds the per-request suffix (run detail and metadata).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from api import request_info
from api.deps import AuthorizationDep, CachedViewServicesDep
from api.models import RunCompleteResponse
from api.routers.answer_first import AnswerFirstRoute
from api.routers.responses import cached_view_response
from api.views import (
    RUN_ID_PATTERN,
    Computed,
    Decision,
    Outcome,
    RunCompleteQuery,
    RunNotCompleted,
    accepts_gzip,
    all_found_ahead,
    digest,
    encode_run_parts,
    etag_matches,
    gzip_with_suffix,
)
from common.request_headers import conditional_headers

router = APIRouter(tags=["runs"], route_class=AnswerFirstRoute)

_ERRORS = {401: {"description": "Missing or invalid token"},
           404: {"description": "No such run, or the caller may not see it"},
           502: {"description": "The backend failed to deliver a required part"},
           503: {"description": "The backend cannot be reached"}}
# The parts of a run that is not completed: nothing about them is known yet.
_EMPTY_PREFIX = b'{"metrics":null,"periods_per_year":null,"equity":null,"orders":null'


def _sources(outcome: Outcome, decision: Decision, failures: tuple[dict[str, Any], ...],
             include_orders: bool) -> dict[str, str]:
    if outcome is Outcome.NOT_CACHED:
        return {"run": decision.source, "metrics": "unavailable", "equity": "unavailable",
                "orders": "unavailable" if include_orders else "not_requested"}
    origin = "cache" if outcome.from_cache else "backend"
    failed = {f["part"] for f in failures}
    return {"run": decision.source, "metrics": origin, "equity": origin,
            "orders": "not_requested" if not include_orders else "unavailable" if "orders" in failed else origin}


async def _settled(awaitable: Awaitable[Any]) -> Any:
    """The result of ``awaitable``, or the exception it raised (as ``asyncio.gather(return_exceptions=True)``)."""
    try:
        return await awaitable
    except Exception as exc:  # noqa: BLE001 - handed back to the caller, which raises or handles it
        return exc


@router.get("/runs/{run_id}/complete", response_model=RunCompleteResponse, responses=_ERRORS,
            summary="A run with metrics, decimated equity, orders and load metadata in one response")
async def run_complete(run_id: Annotated[str, Path(pattern=RUN_ID_PATTERN)],
                       query: Annotated[RunCompleteQuery, Query()], request: Request,
                       authorization: AuthorizationDep, api: CachedViewServicesDep) -> Response:
    started = time.perf_counter()
    access, views, metrics, prewarm = api.access, api.views, api.metrics, api.prewarm
    level = api.settings.gzip_level
    if all_found_ahead():
        # A repeated hit: both answers were read ahead and neither waits on anything, so they run one after the
        # other in this task instead of in two new ones (which would cost more than the answers themselves).
        # A refusal raises here, before the parts are looked at.
        decision_result = await access.run(authorization, run_id)
        parts_result = await _settled(views.run_parts(authorization, run_id, query))
    else:
        decision_result, parts_result = await asyncio.gather(
            access.run(authorization, run_id),
            views.run_parts(authorization, run_id, query),
            return_exceptions=True)
    # The access answer comes first: a caller who may not see the run learns nothing else about it.
    if isinstance(decision_result, BaseException):
        raise decision_result
    decision: Decision = decision_result
    if isinstance(parts_result, RunNotCompleted):
        entry, outcome = encode_run_parts(Computed(_EMPTY_PREFIX), level), Outcome.NOT_CACHED
        if decision.source != "backend" or decision.body.get("status") == "completed":
            decision = await access.run(authorization, run_id, reuse=False)
    elif isinstance(parts_result, BaseException):
        raise parts_result
    else:
        entry, outcome = parts_result.parts, parts_result.outcome
        if decision.body.get("status") != "completed":
            # A recently cached detail from before the run completed: status and progress must be fresh.
            decision = await access.run(authorization, run_id, reuse=False)
    metrics.count_cache("run", outcome, len(entry.prefix.deflated))
    request_info.note_cache(outcome)
    if outcome is Outcome.MISS:
        prewarm.run_missed(run_id, query)

    etag = f'W/"{digest(entry.digest.encode("ascii") + decision.raw)}"'
    if_none_match, accept_encoding = conditional_headers(request.scope)
    if etag_matches(if_none_match, etag):
        return cached_view_response(None, etag, outcome)
    metadata = {"load_time_ms": round((time.perf_counter() - started) * 1000.0, 3), "cache": outcome,
                "sources": _sources(outcome, decision, entry.failures, query.include_orders),
                "partial_failures": list(entry.failures)}
    suffix = b',"run":' + decision.raw.strip() + b',"metadata":' + orjson.dumps(metadata) + b"}"
    if accepts_gzip(accept_encoding):
        return cached_view_response(gzip_with_suffix(entry.prefix, suffix), etag, outcome, gzipped=True)
    return cached_view_response(entry.prefix.raw() + suffix, etag, outcome)
