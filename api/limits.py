"""Request size limits, checked before any work is done: 414 for long query strings, 413 for large bodies.

A declared ``Content-Length`` over the limit is refused at once; a body without one (chunked) is counted as
it arrives and refused when it crosses the limit. A request that announces no body is not counted at all.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.body_timeout import announces_body
from common.errors import PayloadTooLarge, error_response
from common.request_headers import header_index


class _BodyTooLarge(PayloadTooLarge):
    """Raised from ``receive`` when a body crosses the limit; answered by this middleware."""


class SizeLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_query_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_query_bytes = max_query_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > self.max_query_bytes:
            response = error_response(414, "uri_too_long",
                                      f"the query string is longer than {self.max_query_bytes} bytes")
            await response(scope, receive, send)
            return
        length = header_index(scope).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await self._too_large(scope, receive, send)
            return
        if not announces_body(scope):
            await self.app(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge(f"the request body is larger than {self.max_body_bytes} bytes")
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, "payload_too_large",
                                  f"the request body is larger than {self.max_body_bytes} bytes")
        await response(scope, receive, send)
