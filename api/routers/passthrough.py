"""Every backend route under ``/api/v1/``: same method, path, query and body, the caller's token unchanged.

Status codes, error bodies and content encodings come back as the backend sent them; hop-by-hop headers are
dropped both ways. Small bodies are read in one go (cheaper than streaming them); large ones are streamed.
The known routes are listed for OpenAPI with their models; anything else still passes through the
catch-all route, so a new backend route is reachable before this table learns about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import APIRouter, Request
from starlette.background import BackgroundTask
from starlette.responses import JSONResponse, Response, StreamingResponse

from api.deps import AuthorizationDep, UpstreamDep
from common.correlation import correlation_headers
from common.errors import InvalidInput
from common.models.backtests import (
    BacktestRequest,
    EquityResponse,
    MetricsResponse,
    OrdersResponse,
    RunDetail,
    RunList,
    ShareRequest,
    StrategiesResponse,
)
from common.models.bars import BarsResponse, SymbolInfo, SymbolsResponse
from common.routes import route_template

PREFIX = "/api/v1"
# RFC 9110 7.6.1 plus the headers a proxy must not copy: framing and routing belong to each hop.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                        "trailer", "trailers", "transfer-encoding", "upgrade", "host", "content-length",
                        "x-request-id"})
_DROP_FROM_BACKEND = HOP_BY_HOP | {"server", "date"}
# Below this size one read beats a streamed response.
_BUFFER_MAX_BYTES = 256 * 1024

router = APIRouter(tags=["passthrough"])


class DocumentedJson(JSONResponse):
    """Only documents the route's model as its JSON body (OpenAPI gives JSON responses a schema); ``forward``
    returns the backend's own response, whatever its type, and never makes one of these."""


def _strip(headers: list[tuple[bytes, bytes]], drop: frozenset[str]) -> list[tuple[str, str]]:
    named_in_connection = set()
    for name, value in headers:
        if name.lower() == b"connection":
            named_in_connection |= {v.strip().lower() for v in value.decode("latin-1").split(",")}
    out = []
    for name, value in headers:
        text = name.decode("latin-1").lower()
        if text not in drop and text not in named_in_connection:
            out.append((text, value.decode("latin-1")))
    return out


def _route_template(request: Request) -> str:
    return route_template(request.scope).removeprefix(PREFIX)


async def forward(request: Request, upstream: UpstreamDep, _authorization: AuthorizationDep) -> Response:
    # The raw (still percent-encoded) path: decoding and re-encoding it could change what the backend sees.
    raw_path = request.scope.get("raw_path") or request.url.path.encode("utf-8")
    path = raw_path.decode("latin-1").removeprefix(PREFIX) or "/"
    headers = _strip(request.headers.raw, HOP_BY_HOP)
    headers.extend(correlation_headers().items())
    has_body = request.method not in ("GET", "HEAD", "OPTIONS", "DELETE") or "content-length" in request.headers
    content = request.stream() if has_body else None
    if content is not None and "content-length" in request.headers:
        headers.append(("content-length", request.headers["content-length"]))
    try:
        outgoing = upstream.client.build_request(request.method, path, params=request.url.query or None,
                                                 headers=headers, content=content)
    except httpx.InvalidURL as exc:
        raise InvalidInput("path", "not a valid URL path", location="path") from exc
    response = await upstream.send(outgoing, route=_route_template(request), stream=True)
    out_headers = _strip(response.headers.raw, _DROP_FROM_BACKEND)
    length = response.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) <= _BUFFER_MAX_BYTES:
        try:
            body = b"".join([chunk async for chunk in response.aiter_raw()])
        finally:
            await response.aclose()
        result = Response(body, status_code=response.status_code)
    else:
        result = StreamingResponse(response.aiter_raw(), status_code=response.status_code,
                                   background=BackgroundTask(response.aclose))
        result.raw_headers = [(k, v) for k, v in result.raw_headers if k != b"content-type"]
    result.raw_headers.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in out_headers)
    return result


@dataclass(frozen=True)
class Documented:
    method: str
    path: str
    summary: str
    model: type | None = None
    query: tuple[tuple[str, bool, str], ...] = ()
    body: type | None = None
    status_code: int = 200
    extra: dict[str, Any] = field(default_factory=dict)


_TIME = "epoch seconds or ISO-8601 date/datetime (UTC)"
_BARS_QUERY = (("symbol", True, "Instrument symbol"), ("from", False, f"Inclusive start: {_TIME}"),
               ("to", False, f"Inclusive end: {_TIME}"))
_PAGE_QUERY = (("limit", False, "Page size"), ("offset", False, "Items to skip"))

DOCUMENTED: tuple[Documented, ...] = (
    Documented("GET", "/health", "Backend liveness"),
    Documented("GET", "/symbols", "Every instrument with its datasets", SymbolsResponse),
    Documented("GET", "/symbols/{symbol}", "One instrument with its datasets", SymbolInfo),
    Documented("GET", "/bars/daily", "Daily bars (UTC days)", BarsResponse, _BARS_QUERY),
    Documented("GET", "/bars/hour", "Hourly bars (UTC hours)", BarsResponse, _BARS_QUERY),
    Documented("GET", "/bars/minute", "Minute bars (range capped by the backend)", BarsResponse,
               (*_BARS_QUERY, ("bucket_minutes", False, "Aggregate into buckets of this many minutes"))),
    Documented("GET", "/backtests/strategies", "Built-in strategies with their parameters and defaults",
               StrategiesResponse),
    Documented("GET", "/backtests", "Runs the caller owns or that are shared with them", RunList, _PAGE_QUERY),
    Documented("POST", "/backtests", "Queue a backtest run", RunDetail, body=BacktestRequest, status_code=202),
    Documented("GET", "/backtests/{run_id}", "One run (404 unless the caller may see it)", RunDetail),
    Documented("GET", "/backtests/{run_id}/metrics", "Metrics of a completed run", MetricsResponse),
    Documented("GET", "/backtests/{run_id}/equity", "Equity per bar of a completed run", EquityResponse,
               (("max_points", False, "At most this many points (MinMaxLTTB); omit for every bar"),)),
    Documented("GET", "/backtests/{run_id}/orders", "Orders (fills) of a completed run", OrdersResponse),
    Documented("POST", "/backtests/{run_id}/shares", "Share a run read-only with a user (owner only)", RunDetail,
               body=ShareRequest),
    Documented("DELETE", "/backtests/{run_id}/shares/{user}", "Stop sharing a run with a user (owner only)",
               RunDetail),
)

# Bodies the passthrough routes document (the backend validates them); api.main adds them to the components.
REQUEST_BODIES = tuple(dict.fromkeys(doc.body for doc in DOCUMENTED if doc.body is not None))


def _openapi_extra(doc: Documented) -> dict[str, Any]:
    names = [part[1:-1] for part in doc.path.split("/") if part.startswith("{")]
    parameters = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names]
    parameters += [{"name": n, "in": "query", "required": req, "description": text, "schema": {"type": "string"}}
                   for n, req, text in doc.query]
    extra: dict[str, Any] = {"parameters": parameters}
    if doc.body is not None:
        extra["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{doc.body.__name__}"}}}}
    return extra


def _operation_id(doc: Documented) -> str:
    words = [w.strip("{}") for w in doc.path.split("/") if w]
    return "passthrough_" + doc.method.lower() + "_" + "_".join(words or ["root"])


for _doc in DOCUMENTED:
    router.add_api_route(
        _doc.path, forward, methods=[_doc.method], summary=_doc.summary, response_model=_doc.model,
        status_code=_doc.status_code, openapi_extra=_openapi_extra(_doc), operation_id=_operation_id(_doc),
        response_class=DocumentedJson,
        responses={401: {"description": "Missing or invalid token"}, 503: {"description": "Backend unreachable"}},
    )

# Registered last: the api's own routes and the documented ones above take precedence.
for _method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
    router.add_api_route("/{path:path}", forward, methods=[_method], include_in_schema=_method == "GET",
                         summary="Any other backend route, passed through unchanged",
                         operation_id=f"passthrough_any_{_method.lower()}", response_class=Response)
