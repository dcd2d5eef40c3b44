"""Correlation ids: taken from ``X-Request-ID`` or generated, bound to logs, echoed in the response.

A pure ASGI middleware so that it costs little per request and also covers WebSocket handshakes.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.request_headers import header_index

REQUEST_ID_HEADER = "x-request-id"
_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
# Accept only ids that are safe to log and to forward: no spaces, no control characters, bounded length.
_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def current_correlation_id() -> str | None:
    return _correlation_id.get()


def new_correlation_id() -> str:
    """32 random hex characters, as a UUID4's hex form, without building a UUID (made on every request)."""
    return secrets.token_hex(16)


def correlation_headers() -> dict[str, str]:
    """Headers that carry the current correlation id on a call to another service."""
    cid = _correlation_id.get()
    return {"X-Request-ID": cid} if cid else {}


def _incoming_id(scope: Scope) -> str | None:
    value = header_index(scope).get(b"x-request-id")
    if value is None:
        return None
    text = value.decode("latin-1")
    return text if _VALID_ID.match(text) else None


class CorrelationIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        cid = _incoming_id(scope) or new_correlation_id()
        token = _correlation_id.set(cid)
        structlog.contextvars.bind_contextvars(correlation_id=cid)
        header = (b"x-request-id", cid.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("correlation_id")
            _correlation_id.reset(token)
