"""One error hierarchy for every service, rendered as ``{"error": {"code", "message", "correlation_id"}}``.

Validation failures add ``details``: one entry per bad field with its location and the reason, so a client
always learns which parameter was wrong and why. Unexpected exceptions become a 500 without internals.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.correlation import current_correlation_id
from common.head_requests import with_head
from common.logging import get_logger

log = get_logger("hewston.errors")


class HewstonError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers


class BadRequest(HewstonError):
    status_code = 400
    code = "bad_request"


class Unauthorized(HewstonError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, message: str = "a valid bearer token is required") -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class NotFound(HewstonError):
    status_code = 404
    code = "not_found"


class Conflict(HewstonError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(HewstonError):
    status_code = 413
    code = "payload_too_large"


class InvalidInput(HewstonError):
    """A request value that is well-formed but not acceptable; ``field`` names the parameter."""

    status_code = 422
    code = "invalid_input"

    def __init__(self, field: str, reason: str, *, location: str = "query") -> None:
        super().__init__(f"{field}: {reason}", details=[{"field": field, "location": location, "reason": reason}])


class RateLimited(HewstonError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many requests; retry after {retry_after_s} s",
                         headers={"Retry-After": str(retry_after_s)})


class UpstreamError(HewstonError):
    """The upstream service answered, but not with something we can use."""

    status_code = 502
    code = "upstream_error"


class ServiceUnavailable(HewstonError):
    """A service we depend on cannot be reached right now."""

    status_code = 503
    code = "service_unavailable"


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "correlation_id": current_correlation_id()}
    if details:
        error["details"] = details
    return {"error": error}


def error_response(status_code: int, code: str, message: str, *, details: list[dict[str, Any]] | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(error_body(code, message, details)), status_code=status_code,
                    media_type="application/json", headers=headers)


def validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        location = loc[0] if loc else "request"
        field = ".".join(loc[1:]) or location
        details.append({"field": field, "location": location, "reason": err.get("msg", "invalid value")})
    return details


async def _hewston_error(_request: Request, exc: HewstonError) -> Response:
    return error_response(exc.status_code, exc.code, exc.message, details=exc.details, headers=exc.headers)


async def _validation_error(_request: Request, exc: RequestValidationError) -> Response:
    details = validation_details(exc)
    message = "; ".join(f"{d['field']}: {d['reason']}" for d in details) or "invalid request"
    return error_response(422, "invalid_input", message, details=details)


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 408: "request_timeout", 413: "payload_too_large", 429: "rate_limited"}


# Set (to True) on a route that matches any path, such as a proxy's catch-all: it names the methods of a
# path only when no route made for that path matches it.
ANY_PATH = "hewston_any_path"


def allowed_methods(scope: Scope, *, include_any_path: bool = True) -> list[str]:
    """Every method the app's routes accept at this path (Starlette's own 405 names one route's only)."""
    probe = {key: value for key, value in scope.items() if key not in ("fastapi", "route", "endpoint")}
    probe["type"] = "http"
    specific: set[str] = set()
    any_path: set[str] = set()
    # Route contexts see through included routers, with their prefixes, as the router itself matches them.
    for context in iter_route_contexts(getattr(scope.get("app"), "routes", ())):
        if context.methods and context.matches(probe)[0] is not Match.NONE:
            (any_path if getattr(context.original_route, ANY_PATH, False) else specific).update(context.methods)
    return sorted(with_head(specific or (any_path if include_any_path else set())))


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request.scope))
    return error_response(exc.status_code, code, str(exc.detail), headers=headers or None)


_INTERNAL = "internal error; quote the correlation id when reporting it"


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled_error", path=request.url.path)
    return error_response(500, "internal_error", _INTERNAL)


class UnhandledErrorMiddleware:
    """Render an unexpected exception as the standard 500 body while the correlation id is still bound.

    FastAPI's own last-resort handler runs outside every middleware, after the correlation id is gone and
    without the ``X-Request-ID`` header; this one sits just outside the routes, so the 500 carries the id,
    passes through the access log and is counted like any other response.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            # The client left mid-request: nobody to answer, nothing went wrong here.
            log.info("client_disconnected", path=scope.get("path"))
        except HewstonError:
            raise  # an expected refusal raised by an outer layer's hook (e.g. a body too large): theirs to answer
        except Exception:
            if started:
                raise  # too late for a clean answer; the server closes the connection
            log.exception("unhandled_error", path=scope.get("path"))
            await error_response(500, "internal_error", _INTERNAL)(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Call before adding other middleware, so that the 500 renderer sits innermost, next to the routes."""
    app.add_exception_handler(HewstonError, _hewston_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
    app.add_middleware(UnhandledErrorMiddleware)
