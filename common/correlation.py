"""Correlation ids: taken from ``X-Request-ID`` or generated, added to logs, echoed in the response.

A pure ASGI middleware so that it costs little per request and also covers WebSocket handshakes. The id lives in
one context variable, which :func:`add_correlation_id` (a processor of every role's logging) reads when a line is
written: a request that writes no line (nearly every cache hit, at the usual levels) pays for no binding.
"""

from __future__ import annotations

import os
import random
import re
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.request_headers import header_index

REQUEST_ID_HEADER = "x-request-id"
_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
# Accept only ids that are safe to log and to forward: no spaces, no control characters, bounded length.
_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# Ids only need to be unique, not unguessable (they are echoed to the caller and written to logs): drawn from a
# generator seeded once per process from the system's randomness, not from a system call per request.
_ids = random.Random()
os.register_at_fork(after_in_child=_ids.seed)  # a forked worker must not repeat its parent's ids


def current_correlation_id() -> str | None:
    return _correlation_id.get()


def new_correlation_id() -> str:
    """32 random hex characters, as a UUID4's hex form, without building a UUID (made on every request)."""
    return f"{_ids.getrandbits(128):032x}"


def add_correlation_id(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """A logging processor: the current correlation id as ``correlation_id``, unless the line names one itself."""
    cid = _correlation_id.get()
    if cid is not None:
        event_dict.setdefault("correlation_id", cid)
    return event_dict


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
        header = (b"x-request-id", cid.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _correlation_id.reset(token)
