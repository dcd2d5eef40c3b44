"""Every backend route under ``/api/v1/``: same method, path, query and body, the caller's token unchanged.

Status codes, error bodies and content encodings come back as the backend sent them; hop-by-hop headers are
dropped both ways. Header values travel as the bytes they arrived as (never decoded and re-encoded, so no
byte can break the forwarding). The path is checked, then sent exactly as received: no dot segments (an
HTTP client would resolve them and could leave the prefix), nothing but visible ASCII, and never the
backend's own docs. A redirect from the backend is rewritten into ``/api/v1/``, or refused when it points
anywhere else, so the backend's address never reaches a browser.

The backend's routes come from its OpenAPI document (``api.backend_schema``) and are documented with its
parameters, bodies and statuses. Anything else still passes through the catch-all route, so a new backend
route is reachable before the copy of that document learns about it; a method that a known path does not
accept is a 405 with the path's ``Allow``, never forwarded.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_to_bytes

import httpx
from fastapi import APIRouter, Request
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response, StreamingResponse

from api import backend_schema
from api.deps import UpstreamDep
from api.ops.audit import AUDITED_METHODS
from api.routers.direct_route import DirectRoute
from api.views import USER_HEADER, Upstream
from common.correlation import correlation_headers
from common.errors import ANY_PATH, InvalidInput, NotFound, UpstreamError, allowed_methods
from common.routes import route_template

PREFIX = "/api/v1"
# RFC 9110 7.6.1 plus the headers a proxy must not copy: framing and routing belong to each hop.
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te",
                        b"trailer", b"trailers", b"transfer-encoding", b"upgrade", b"host", b"content-length",
                        b"x-request-id"})
_DROP_FROM_BACKEND = HOP_BY_HOP | {b"server", b"date", b"location"}
# Below this size one read beats a streamed response.
_BUFFER_MAX_BYTES = 256 * 1024
_VISIBLE_ASCII = frozenset(range(0x21, 0x7F))
_USER_HEADER = USER_HEADER.encode()

router = APIRouter(tags=["passthrough"], route_class=DirectRoute)


def _strip(headers: list[tuple[bytes, bytes]], drop: frozenset[bytes]) -> list[tuple[bytes, bytes]]:
    """``headers`` without ``drop`` and those the ``Connection`` header names. Names must be lower-case, as ASGI
    gives a request's and the backend pool gives an answer's."""
    for name, value in headers:
        if name == b"connection":
            drop = drop | {v.strip().lower() for v in value.split(b",")}
    return [(name, value) for name, value in headers if name not in drop]


def backend_target(raw_path: bytes) -> bytes:
    """The backend path for an api path as received, after refusing what must not be forwarded."""
    path = raw_path[len(PREFIX):] if raw_path.startswith(PREFIX.encode()) else raw_path
    path = path or b"/"
    if not set(path) <= _VISIBLE_ASCII:
        raise InvalidInput("path", "only visible ASCII characters (percent-encode the rest)", location="path")
    segments = unquote_to_bytes(path).split(b"/")
    if any(segment in (b".", b"..") for segment in segments):
        raise InvalidInput("path", "dot segments ('.', '..') are not allowed", location="path")
    first = next((segment for segment in segments if segment), b"")
    if first.decode("latin-1") in backend_schema.HIDDEN_SEGMENTS:
        raise NotFound("no such route")
    return path


def api_location(location: bytes, request_url: httpx.URL, backend_url: httpx.URL) -> bytes | None:
    """A backend redirect's target in the api's URL space, or None when it points outside the backend."""
    base_path = backend_url.raw_path.split(b"?")[0].rstrip(b"/")
    try:
        target = request_url.join(location.decode("ascii"))
    except (httpx.InvalidURL, UnicodeDecodeError):
        return None
    same_origin = (target.scheme, target.host, target.port) == (backend_url.scheme, backend_url.host,
                                                                 backend_url.port)
    if not same_origin or not target.raw_path.startswith(base_path + b"/"):
        return None
    return PREFIX.encode() + target.raw_path[len(base_path):]


def _route_template(request: Request) -> str:
    return route_template(request.scope).removeprefix(PREFIX)


async def _forward(request: Request, upstream: Upstream) -> Response:
    scope = request.scope
    path = backend_target(scope.get("raw_path") or scope["path"].encode("latin-1"))
    base_path = upstream.base_url.raw_path.rstrip(b"/")
    query = scope.get("query_string", b"")
    if not set(query) <= _VISIBLE_ASCII:
        raise InvalidInput("query", "only visible ASCII characters (percent-encode the rest)", location="query")
    target = base_path + path + (b"?" + query if query else b"")
    raw = scope["headers"]
    headers = _strip(raw, HOP_BY_HOP)
    for name, value in correlation_headers().items():
        headers.append((name.encode(), value.encode()))
    length = next((value for name, value in raw if name == b"content-length"), None)
    has_body = request.method not in ("GET", "HEAD", "OPTIONS", "DELETE") or length is not None
    # The body streams through as it arrives: with its length when the client gave one, else chunked.
    route = _route_template(request)
    response = await upstream.forward(request.method, target, headers, request.stream() if has_body else None,
                                      length, route=route)
    out_headers = _strip(response.headers, _DROP_FROM_BACKEND)
    length = location_header = user = None
    for name, value in response.headers:  # names lower-case, as the pool gives them
        if name == b"content-length":
            length = value
        elif name == b"location":
            location_header = value
        elif name == _USER_HEADER:
            user = value
    if location_header is not None:
        base = upstream.base_url
        location = api_location(location_header, base.copy_with(raw_path=target), base)
        if location is None:
            await response.aclose()
            raise UpstreamError("the backend redirected outside the api")
        out_headers.append((b"location", location))
    body: bytes | None = None
    if length is not None and length.isdigit() and int(length) <= _BUFFER_MAX_BYTES:
        body = await upstream.read_body(response)
        result = Response(body, status_code=response.status)
    else:
        result = StreamingResponse(response.aiter_stream(), status_code=response.status,
                                   background=BackgroundTask(response.aclose))
        result.raw_headers = [(k, v) for k, v in result.raw_headers if k != b"content-type"]
    result.raw_headers.extend(out_headers)
    if request.method in AUDITED_METHODS:
        await request.app.state.audit.passthrough(request.method, route, request.path_params, response.status,
                                                  user.decode("latin-1") if user else None, body)
    return result


async def forward(request: Request, upstream: UpstreamDep) -> Response:
    """A backend route the api knows: forward it."""
    return await _forward(request, upstream)


async def forward_any(request: Request, upstream: UpstreamDep) -> Response:
    """Any other path: a method that a known path does not accept is refused here, the rest forwarded."""
    if allowed_methods(request.scope, include_any_path=False):
        raise StarletteHTTPException(405)
    return await _forward(request, upstream)


for _path, _methods in backend_schema.routes(backend_schema.load()).items():
    router.add_api_route(_path, forward, methods=_methods, include_in_schema=False, response_class=Response)

# Registered last: the api's own routes and the backend's known ones take precedence.
CATCH_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
router.add_api_route("/{path:path}", forward_any, methods=CATCH_ALL_METHODS, include_in_schema=False,
                     response_class=Response)
setattr(router.routes[-1], ANY_PATH, True)

_ANY_STATUSES = {"200": {"description": "What the backend route answers (one not yet in this document)",
                         "content": {"*/*": {}}},
                 "307": {"description": "The backend's redirect, rewritten into `/api/v1/`",
                         "headers": {"Location": {"schema": {"type": "string"}}}},
                 "404": {}, "405": {}, "422": {}}


def document(schema: dict[str, Any]) -> None:
    """Add the passthrough routes to the api's OpenAPI document (in place)."""
    backend_schema.merge(schema, backend_schema.load(), PREFIX)
    item = schema["paths"].setdefault(PREFIX + "/{path}", {})
    for method in CATCH_ALL_METHODS:
        item[method.lower()] = {
            "tags": ["passthrough"], "summary": "Any other backend route, passed through unchanged",
            "operationId": f"passthrough_any_{method.lower()}",
            "parameters": [{"name": "path", "in": "path", "required": True, "schema": {"type": "string"},
                            "description": "The backend path; no dot segments, visible ASCII only"}],
            "responses": {status: dict(doc) for status, doc in _ANY_STATUSES.items()},
        }
