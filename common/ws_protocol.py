"""uvicorn's WebSocket protocol (websockets, sans-I/O), with a refused handshake counted as answered.

A handshake that the app refuses with an HTTP response (the ASGI ``websocket.http.response`` extension: the
api's 429 with ``Retry-After``) is a complete answer, but uvicorn's protocol never marks it so, and logs
``ERROR ... ASGI callable returned without completing handshake`` for every refusal, which reads as a server
fault to anyone alerting on errors. The wsproto protocol already marks it; this one does the same once the
response is sent. Everything else is uvicorn's own.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class RefusalAnsweringProtocol(WebSocketsSansIOProtocol):
    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and not message.get("more_body", False):
            self.handshake_complete = True
