"""Structured access log, as one pure ASGI middleware that every HTTP role configures.

One line per request: method, route template (not the raw path, so ids do not explode the cardinality),
status, duration and the correlation id (bound by the correlation middleware), plus what the role noted about
the request (:class:`RequestNotes`: the api's user, cache outcome and backend calls; the backend's principal).
Never a token: the Authorization header is not read here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.logging import SteadyLogger
from common.routes import answered_status, route_template

# method, route template, status, seconds: a role's request metrics.
Observe = Callable[[str, str, int, float], None]


class RequestNotes:
    """What a role learns about one request while serving it. These base notes learn nothing."""

    def response_headers(self) -> list[tuple[bytes, bytes]]:
        """Headers added to the response as it starts."""
        return []

    def fields(self) -> dict[str, Any]:
        """Fields of the request's log line."""
        return {}

    def close(self) -> None:
        """The request is over (after its log line)."""


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp, *, logger: str, notes: Callable[[Scope], RequestNotes] = lambda _s: RequestNotes(),
                 observe: Observe | None = None, server_timing: bool = False) -> None:
        self.app = app
        self.log = SteadyLogger(logger)
        self.notes = notes
        self.observe = observe
        self.server_timing = server_timing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        notes = self.notes(scope)
        status: int | None = None

        async def send_noted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                added = notes.response_headers()
                if self.server_timing:
                    # Time until the response starts: what the server spent, without the client's transfer.
                    server_ms = (time.perf_counter() - started) * 1000.0
                    added.append((b"server-timing", f"app;dur={server_ms:.3f}".encode("ascii")))
                if added:
                    message["headers"] = [*message.get("headers", []), *added]
            await send(message)

        failed = True
        try:
            await self.app(scope, receive, send_noted)
            failed = False
        finally:
            status = answered_status(status, failed)
            duration_s = time.perf_counter() - started
            route = route_template(scope)
            if self.observe is not None:
                self.observe(scope["method"], route, status, duration_s)
            log = self.log.current()
            # A level that filters the line out (a benchmark's WARNING) skips building it too.
            if log.is_enabled_for(logging.INFO):
                log.info("request", method=scope["method"], route=route, status=status,
                         duration_ms=round(duration_s * 1000.0, 3), **notes.fields())
            notes.close()
