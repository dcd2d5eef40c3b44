"""One structured log line per backend request: method, route template, status, duration and user.

The user is the principal the auth dependency stored on the request; tokens are never read here. The line
carries the correlation id the api forwarded, so one request can be followed across both services.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.logging import get_logger
from common.routes import route_template

log = get_logger("hewston.backend.access")


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            principal = state.get("principal")
            log.info("request", method=scope["method"], route=route_template(scope), status=status,
                     duration_ms=round((time.perf_counter() - started) * 1000.0, 3),
                     user=principal.name if principal is not None else None)
