"""408 for request bodies that stall: every service's guard against clients that open a request and trickle.

Each wait for the next piece of a request body may last ``body_timeout_s`` at most. When one lasts longer the
route is told the client left (an ``http.disconnect``, which every ASGI app already handles by stopping its
work), whatever it answers is dropped, and the client gets ``408 request_timeout`` with ``Connection: close``
so the server closes the connection. Waits after the body is complete (a streaming response listening for a
disconnect) are not limited. Header timeouts are not this layer's: the reverse proxy in front guards them.
A request that announces no body (neither ``Content-Length`` nor ``Transfer-Encoding``: nearly every GET) has
nothing to stall, and passes through without a wrapper.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.errors import error_response
from common.request_headers import header_index

_GONE: Message = {"type": "http.disconnect"}


def announces_body(scope: Scope) -> bool:
    """Whether an HTTP request says a body follows (RFC 9112 6.3: without either header there is none)."""
    index = header_index(scope)
    return b"content-length" in index or b"transfer-encoding" in index


class BodyTimeoutMiddleware:
    def __init__(self, app: ASGIApp, *, body_timeout_s: float) -> None:
        self.app = app
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not announces_body(scope):
            await self.app(scope, receive, send)
            return
        body_done = False
        timed_out = False
        started = False

        async def guarded_receive() -> Message:
            nonlocal body_done, timed_out
            if timed_out:
                return _GONE
            if body_done:
                return await receive()
            try:
                async with asyncio.timeout(self.body_timeout_s):
                    message = await receive()
            except TimeoutError:
                timed_out = True
                return _GONE
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if timed_out and not started:
                return  # the route's answer to a "disconnect" that was really a stall; the 408 replaces it
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except Exception:
            if not (timed_out and not started):
                raise
            # What the route raised on losing its body is the stall's consequence, answered below.
        if timed_out and not started:
            response = error_response(408, "request_timeout",
                                      f"the request body stalled for more than {self.body_timeout_s:g} s",
                                      headers={"Connection": "close"})
            await response(scope, receive, send)
