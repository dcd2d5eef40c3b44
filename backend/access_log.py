"""What the backend tells about each request it served.

- ``X-Hewston-User`` on every authenticated response: the BFF logs this name, so auth decisions stay the
  backend's and the BFF never has to decode a token to know whose request it was.
- The request's duration in the backend's metrics, by route template, the measure the api records too.
- One structured log line: method, route template, status, duration and user, carrying the correlation id
  the api forwarded, so one request can be followed across both services. Tokens are never read here.

The user is the principal the auth dependency stored on the request state.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.metrics import BackendMetrics
from common.logging import get_logger
from common.routes import answered_status, route_template

USER_HEADER = b"x-hewston-user"
log = get_logger("hewston.backend.access")


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp, metrics: BackendMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        status: int | None = None

        async def send_with_user(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                principal = state.get("principal")
                if principal is not None:
                    message["headers"] = [*message.get("headers", []),
                                          (USER_HEADER, principal.name.encode("utf-8", "replace"))]
            await send(message)

        failed = True
        try:
            await self.app(scope, receive, send_with_user)
            failed = False
        finally:
            status = answered_status(status, failed)
            duration_s = time.perf_counter() - started
            route = route_template(scope)
            self.metrics.observe_request(scope["method"], route, status, duration_s)
            principal = state.get("principal")
            log.info("request", method=scope["method"], route=route, status=status,
                     duration_ms=round(duration_s * 1000.0, 3),
                     user=principal.name if principal is not None else None)
