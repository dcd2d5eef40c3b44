"""``GET /api/v1/runs/{id}/complete``: a run with its metrics, decimated equity and orders in one response.

All backend calls go out at once: the run detail (the caller's own answer, which is also the access check)
and the three result parts. The backend enforces access on every one of them with the caller's token, so
parts it returned may be cached; cached parts are served only after the run detail said the caller may see
the run. The detail holds caller-specific fields (``can_control``), so it is never shared through the cache.

The response is assembled without decoding the large parts: equity (decimated by the backend with
MinMaxLTTB to ``target_points``) and orders are spliced in as the backend encoded them. The cached entry is
the immutable prefix of the body, kept with a ready deflate stream, so a cache hit appends only the small
per-request suffix (run detail and metadata) and never compresses the whole body again.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from api import request_info
from api.access import Decision
from api.cache import Computed, accepts_gzip, digest, etag_matches
from api.deps import (
    AccessDep,
    AuthorizationDep,
    CacheDep,
    KeysDep,
    MetricsDep,
    SettingsDep,
    UpstreamDep,
)
from api.gzip_splice import CompressedPrefix, compress_prefix, gzip_with_suffix
from api.models import RUN_ID_PATTERN, RunCompleteQuery, RunCompleteResponse
from api.responses import CACHE_CONTROL, CACHE_HEADER, JSON
from api.transform import loads_object
from api.upstream import Upstream
from common.errors import HewstonError, UpstreamError

router = APIRouter(tags=["runs"])

_ERRORS = {401: {"description": "Missing or invalid token"},
           404: {"description": "No such run, or the caller may not see it"},
           502: {"description": "The backend failed to deliver a required part"},
           503: {"description": "The backend cannot be reached"}}
_NOT_COMPLETED = 409
# The parts of a run that is not completed: nothing about them is known yet.
_EMPTY_PREFIX = b'{"metrics":null,"periods_per_year":null,"equity":null,"orders":null'


@dataclass(frozen=True)
class RunParts:
    """The cached prefix of a completed run's body, its digest (for the ETag) and any failed optional part."""

    prefix: CompressedPrefix
    digest: str
    failures: tuple[dict[str, Any], ...] = ()

    def pack(self) -> bytes:
        return self.digest.encode("ascii") + self.prefix.pack()

    @classmethod
    def unpack(cls, data: bytes) -> RunParts | None:
        prefix = CompressedPrefix.unpack(data[32:])
        return cls(prefix, data[:32].decode("ascii")) if prefix is not None and len(data) > 32 else None


class RunNotCompleted(Exception):
    """The backend has no results for this run yet (409): answer with the run detail alone, uncached."""


def _json_document(content: bytes, part: str) -> bytes:
    # The backend is ours and its parts are JSON objects; a cheap shape check keeps a broken answer from
    # producing a broken response without paying to decode megabytes of orders.
    stripped = content.strip()
    if not (stripped.startswith(b"{") and stripped.endswith(b"}")):
        raise UpstreamError(f"the backend sent {part} that is not a JSON object")
    return stripped


def _failure(part: str, exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, HewstonError):
        return {"part": part, "status": exc.status_code, "code": exc.code, "message": exc.message}
    return {"part": part, "status": None, "code": "internal_error", "message": f"{part} could not be loaded"}


async def _parts(upstream: Upstream, authorization: str | None, run_id: str,
                 query: RunCompleteQuery) -> Computed:
    """Metrics and equity are required; orders are optional and a failure there is reported, not hidden."""
    calls = {
        "metrics": upstream.get_ok(f"/backtests/{run_id}/metrics", route="/backtests/{id}/metrics",
                                   authorization=authorization),
        "equity": upstream.get_ok(f"/backtests/{run_id}/equity", route="/backtests/{id}/equity",
                                  authorization=authorization, params={"max_points": query.target_points}),
    }
    if query.include_orders:
        calls["orders"] = upstream.get_ok(f"/backtests/{run_id}/orders", route="/backtests/{id}/orders",
                                          authorization=authorization)
    results = dict(zip(calls, await asyncio.gather(*calls.values(), return_exceptions=True), strict=True))
    for part in ("metrics", "equity"):
        outcome = results[part]
        if isinstance(outcome, HewstonError) and outcome.status_code == _NOT_COMPLETED:
            raise RunNotCompleted()
        if isinstance(outcome, BaseException):
            raise outcome
    metrics = loads_object(results["metrics"].content, "metrics")
    equity = _json_document(results["equity"].content, "equity")
    failures: list[dict[str, Any]] = []
    orders = b"null"
    if query.include_orders:
        if isinstance(results["orders"], BaseException):
            failures.append(_failure("orders", results["orders"]))
        else:
            orders = _json_document(results["orders"].content, "orders")
    prefix = (b'{"metrics":' + orjson.dumps(metrics.get("metrics")) + b',"periods_per_year":'
              + orjson.dumps(metrics.get("periods_per_year")) + b',"equity":' + equity + b',"orders":' + orders)
    return Computed(prefix, failures=tuple(failures))


def _encode(level: int):
    def encode(computed: Computed) -> RunParts:
        return RunParts(compress_prefix(computed.raw, level), digest(computed.raw), computed.failures)
    return encode


def _sources(outcome: str, decision: Decision, failures: tuple[dict[str, Any], ...],
             include_orders: bool) -> dict[str, str]:
    if outcome == "not_cached":
        return {"run": decision.source, "metrics": "unavailable", "equity": "unavailable",
                "orders": "unavailable" if include_orders else "not_requested"}
    origin = "cache" if outcome in ("hit", "wait_hit") else "backend"
    failed = {f["part"] for f in failures}
    return {"run": decision.source, "metrics": origin, "equity": origin,
            "orders": "not_requested" if not include_orders else "unavailable" if "orders" in failed else origin}


@router.get("/runs/{run_id}/complete", response_model=RunCompleteResponse, responses=_ERRORS,
            summary="A run with metrics, decimated equity, orders and load metadata in one response")
async def run_complete(run_id: Annotated[str, Path(pattern=RUN_ID_PATTERN)],
                       query: Annotated[RunCompleteQuery, Query()], request: Request,
                       authorization: AuthorizationDep, access: AccessDep, cache: CacheDep, keys: KeysDep,
                       upstream: UpstreamDep, settings: SettingsDep, metrics: MetricsDep) -> Response:
    started = time.perf_counter()
    key = keys.run_complete(run_id, query.target_points, query.include_orders)
    level = settings.gzip_level
    decision_result, parts_result = await asyncio.gather(
        access.run(authorization, run_id),
        cache.get_or_compute(key, settings.run_cache_ttl_s,
                             lambda: _parts(upstream, authorization, run_id, query),
                             encode=_encode(level), decode=RunParts.unpack),
        return_exceptions=True)
    # The access answer comes first: a caller who may not see the run learns nothing else about it.
    if isinstance(decision_result, BaseException):
        raise decision_result
    decision: Decision = decision_result
    if isinstance(parts_result, RunNotCompleted):
        entry, outcome = RunParts(compress_prefix(_EMPTY_PREFIX, level), digest(_EMPTY_PREFIX)), "not_cached"
        if decision.source != "backend" or decision.body.get("status") == "completed":
            decision = await access.run(authorization, run_id, reuse=False)
    elif isinstance(parts_result, BaseException):
        raise parts_result
    else:
        entry, outcome = parts_result
        if decision.body.get("status") != "completed":
            # A recently cached detail from before the run completed: status and progress must be fresh.
            decision = await access.run(authorization, run_id, reuse=False)
    metrics.count_cache("run", outcome)
    request_info.note_cache(outcome)

    etag = f'W/"{digest(entry.digest.encode("ascii") + decision.raw)}"'
    headers = {"ETag": etag, "Vary": "Accept-Encoding", "Cache-Control": CACHE_CONTROL, CACHE_HEADER: outcome}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    metadata = {"load_time_ms": round((time.perf_counter() - started) * 1000.0, 3), "cache": outcome,
                "sources": _sources(outcome, decision, entry.failures, query.include_orders),
                "partial_failures": list(entry.failures)}
    suffix = b',"run":' + decision.raw.strip() + b',"metadata":' + orjson.dumps(metadata) + b"}"
    if accepts_gzip(request.headers.get("accept-encoding")):
        headers["Content-Encoding"] = "gzip"
        return Response(gzip_with_suffix(entry.prefix, suffix, level), media_type=JSON, headers=headers)
    return Response(entry.prefix.raw() + suffix, media_type=JSON, headers=headers)
