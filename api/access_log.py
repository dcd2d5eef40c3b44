"""Structured access log, request metrics and ``Server-Timing``, as one pure ASGI middleware.

One line per request: method, route template (not the raw path, so ids do not explode the cardinality),
status, duration, the user the backend reported (``X-Hewston-User``), the cache outcome and the correlation
id (bound by the correlation middleware). Never a token: the Authorization header is not read here.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import request_info
from api.metrics import ApiMetrics
from common.logging import get_logger
from common.routes import answered_status, route_template

log = get_logger("hewston.api.access")


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        info, token = request_info.begin()
        status: int | None = None

        async def send_with_timing(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # Time until the response starts: what the server spent, without the client's transfer.
                server_ms = (time.perf_counter() - started) * 1000.0
                message["headers"] = [*message.get("headers", []),
                                      (b"server-timing", f"app;dur={server_ms:.3f}".encode("ascii"))]
            await send(message)

        failed = True
        try:
            await self.app(scope, receive, send_with_timing)
            failed = False
        finally:
            status = answered_status(status, failed)
            duration_s = time.perf_counter() - started
            route = route_template(scope)
            self.metrics.observe_request(scope["method"], route, status, duration_s)
            self.metrics.upstream_calls.labels(route).observe(info.upstream_calls)
            log.info("request", method=scope["method"], route=route, status=status,
                     duration_ms=round(duration_s * 1000.0, 3), user=info.user, cache=info.cache,
                     upstream_calls=info.upstream_calls)
            request_info.end(token)
