"""``GET /api/v1/runs/{id}/complete``: a run with its metrics, decimated equity and orders in one response.

The run detail is always the caller's own answer from the backend (it holds caller-specific fields such as
``can_control``), so it is never shared through the cache. The immutable parts of a completed run (metrics,
equity, orders) are cached once for everybody who may see the run, and only served after the backend has
said that this caller may.
"""

from __future__ import annotations

import asyncio
import gzip
import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from api import request_info
from api.cache import Computed, accepts_gzip, digest, etag_matches
from api.decimation import line_indices
from api.deps import AccessDep, AuthorizationDep, CacheDep, KeysDep, MetricsDep, SettingsDep, UpstreamDep
from api.models import RUN_ID_PATTERN, RunCompleteQuery, RunCompleteResponse
from api.responses import CACHE_CONTROL, CACHE_HEADER, JSON
from api.transform import dumps, equity_json, loads_object, parse_equity
from api.upstream import Upstream
from common.errors import HewstonError

router = APIRouter(tags=["runs"])

_ERRORS = {401: {"description": "Missing or invalid token"},
           404: {"description": "No such run, or the caller may not see it"},
           502: {"description": "The backend failed to deliver a required part"},
           503: {"description": "The backend cannot be reached"}}


async def _fetch(upstream: Upstream, authorization: str | None, run_id: str, part: str) -> dict[str, Any]:
    response = await upstream.get_ok(f"/backtests/{run_id}/{part}", route=f"/backtests/{{id}}/{part}",
                                     authorization=authorization)
    return loads_object(response.content, part)


def _failure(part: str, exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, HewstonError):
        return {"part": part, "status": exc.status_code, "code": exc.code, "message": exc.message}
    return {"part": part, "status": None, "code": "internal_error", "message": f"{part} could not be loaded"}


async def _parts(upstream: Upstream, authorization: str | None, run_id: str,
                 query: RunCompleteQuery) -> Computed:
    """Metrics and equity are required; orders are optional and a failure there is reported, not hidden."""
    wanted = ["metrics", "equity"] + (["orders"] if query.include_orders else [])
    results = await asyncio.gather(*(_fetch(upstream, authorization, run_id, p) for p in wanted),
                                   return_exceptions=True)
    by_part = dict(zip(wanted, results, strict=True))
    for part in ("metrics", "equity"):
        if isinstance(by_part[part], BaseException):
            raise by_part[part]
    metrics, equity_body = by_part["metrics"], by_part["equity"]
    series = parse_equity(equity_body)
    indices = line_indices(series.time, series.equity, query.target_points)
    failures: list[dict[str, Any]] = []
    orders = None
    if query.include_orders:
        if isinstance(by_part["orders"], BaseException):
            failures.append(_failure("orders", by_part["orders"]))
        else:
            orders = by_part["orders"].get("orders")
    header = {"failures": failures}
    body = dumps({"metrics": metrics.get("metrics"), "periods_per_year": metrics.get("periods_per_year"),
                  "equity": equity_json(series.take(indices), len(series)), "orders": orders})
    # Header line, then the body object; an answer with a failed part is not worth keeping.
    return Computed(orjson.dumps(header) + b"\n" + body, cacheable=not failures)


@router.get("/runs/{run_id}/complete", response_model=RunCompleteResponse, responses=_ERRORS,
            summary="A run with metrics, decimated equity, orders and load metadata in one response")
async def run_complete(run_id: Annotated[str, Path(pattern=RUN_ID_PATTERN)],
                       query: Annotated[RunCompleteQuery, Query()], request: Request,
                       authorization: AuthorizationDep, access: AccessDep, cache: CacheDep, keys: KeysDep,
                       upstream: UpstreamDep, settings: SettingsDep, metrics: MetricsDep) -> Response:
    started = time.perf_counter()
    decision = await access.run(authorization, run_id)
    if decision.body.get("status") != "completed" and decision.source != "backend":
        # Status and progress of a run that is still changing must be fresh.
        decision = await access.run(authorization, run_id, reuse=False)
    completed = decision.body.get("status") == "completed"
    sources = {"run": decision.source}
    if completed:
        key = keys.run_complete(run_id, query.target_points, query.include_orders)
        entry, outcome = await cache.get_or_compute(
            key, settings.run_cache_ttl_s, lambda: _parts(upstream, authorization, run_id, query))
        header_line, _, parts = entry.raw().partition(b"\n")
        failures = orjson.loads(header_line).get("failures", [])
        from_cache = outcome in ("hit", "wait_hit")
        for part in ("metrics", "equity"):
            sources[part] = "cache" if from_cache else "backend"
        failed = {f["part"] for f in failures}
        sources["orders"] = ("not_requested" if not query.include_orders else
                             "unavailable" if "orders" in failed else "cache" if from_cache else "backend")
        etag_digest = digest(entry.digest.encode("ascii") + decision.raw)
    else:
        outcome, failures, etag_digest = "not_cached", [], digest(decision.raw)
        parts = dumps({"metrics": None, "periods_per_year": None, "equity": None, "orders": None})
        for part in ("metrics", "equity", "orders"):
            sources[part] = "unavailable" if part != "orders" or query.include_orders else "not_requested"
    metrics.count_cache("run", outcome)
    request_info.note_cache(outcome)

    etag = f'W/"{etag_digest}"'
    headers = {"ETag": etag, "Vary": "Accept-Encoding", "Cache-Control": CACHE_CONTROL, CACHE_HEADER: outcome}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    metadata = {"load_time_ms": round((time.perf_counter() - started) * 1000.0, 3), "cache": outcome,
                "sources": sources, "partial_failures": failures}
    # Splice the (possibly cached) parts object into the response without decoding it again.
    raw = b'{"run":' + decision.raw + b',"metadata":' + orjson.dumps(metadata) + b"," + parts[1:]
    if accepts_gzip(request.headers.get("accept-encoding")) and len(raw) >= settings.gzip_min_bytes:
        # Level 1: this body is built per request, so speed matters more than the last few percent.
        headers["Content-Encoding"] = "gzip"
        raw = gzip.compress(raw, compresslevel=1, mtime=0)
    return Response(raw, media_type=JSON, headers=headers)

