"""Writing stream messages to a viewer's socket at the cost of a bare broadcast loop.

Fan-out is the api node's hot path: every message goes to every viewer, 30 times a second. Two costs that a
bare loop does not pay would otherwise dominate it, so this module removes them:

- **Middleware on every send.** A WebSocket's ASGI ``send`` passes through each middleware's wrapper (they
  only care about the handshake). :class:`RawSendMiddleware`, outermost, keeps the server's own ``send`` in
  the scope; stream messages go to it directly, while the handshake and the close still pass every layer.
- **A task switch per viewer per message.** When a viewer has nothing queued and its socket is writable, the
  reader writes to it *eagerly*: it runs the server's ``send`` coroutine one step, which with a writable
  transport finishes at once (it only buffers the frame). Should it ever need to wait — the transport filled up
  in between — the message is not sent and the viewer is resynchronised, exactly as if its queue had
  overflowed. Viewers with something queued are drained by their own sender task, which may wait.

Writability is the server protocol's ``writable`` event (uvicorn's WebSocket protocols set and clear it from
the transport's flow control). Where a server exposes no such event, every message takes the queued path:
correct, only slower.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

RAW_SEND = "hewston.raw_send"


class RawSendMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[RAW_SEND] = send
        await self.app(scope, receive, send)


def text_message(text: str) -> dict[str, Any]:
    """An ASGI message for ``text``; built once and shared by every viewer (servers only read it)."""
    return {"type": "websocket.send", "text": text}


class SocketWriter:
    def __init__(self, send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        self._send = send
        writable = getattr(getattr(send, "__self__", None), "writable", None)
        self._writable: asyncio.Event | None = writable if isinstance(writable, asyncio.Event) else None

    @classmethod
    def for_scope(cls, scope: Scope, fallback: Send) -> SocketWriter:
        return cls(scope.get(RAW_SEND) or fallback)

    @property
    def ready(self) -> bool:
        """True when a send completes without waiting for the network."""
        return self._writable is not None and self._writable.is_set()

    def send_now(self, message: dict[str, Any]) -> bool:
        """Send without yielding to the event loop; False when that was not possible (nothing was sent).
        Raises what the server raises for a socket that is gone."""
        step = self._send(message)
        try:
            step.send(None)  # type: ignore[attr-defined]
        except StopIteration:
            return True
        step.close()  # type: ignore[attr-defined]
        return False

    async def send(self, message: dict[str, Any]) -> None:
        await self._send(message)
