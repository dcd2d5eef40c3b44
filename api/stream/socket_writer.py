"""Writing stream messages to a viewer's socket at less than the cost of a bare broadcast loop.

Fan-out is the api node's hot path: every message goes to every viewer, 30 times a second. Three costs a naive
loop pays per viewer per message are paid here once per message, or not at all:

- **Framing.** A server's WebSocket frames are not masked, so one message is the same bytes on every socket.
  Each message is framed once (:attr:`Item.frame`, by the ``websockets`` library) and those bytes are written
  to every viewer's transport — what other servers call a prepared message.
- **Middleware on every send.** A WebSocket's ASGI ``send`` passes through each middleware's wrapper (they only
  care about the handshake). :class:`RawSendMiddleware`, outermost, keeps the server's own ``send`` in the
  scope, and through it the server's connection; the handshake and the close still pass every layer.
- **A task switch per viewer per message.** A viewer with nothing queued and a writable transport is written
  *eagerly* by the reader itself; only a viewer that fell behind is drained by its own task, which may wait.
- **A write per message.** Messages that arrive together (one read of the stream, a newcomer's catch-up, a
  queue that built up while the network was slow) go out as one write of their frames, one after another.

Writing frames to the transport directly needs the server's connection: uvicorn's WebSocket protocol
(``websockets``-based) exposes its transport, its ``writable`` flow-control event and its protocol state, and
only an open connection without extensions (no permessage-deflate) takes this path. Any other server, or
connection, gets every message through the plain ASGI ``send``: correct, only slower.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from websockets.frames import Frame, Opcode
from websockets.protocol import State

RAW_SEND = "hewston.raw_send"
_OPEN = State.OPEN


class RawSendMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[RAW_SEND] = send
        await self.app(scope, receive, send)


class Item:
    """A message ready to send to any number of viewers. ``published`` messages have their own offset in the
    run's stream; the others (hello, heartbeat, skipped, error) carry the offset the viewer has reached."""

    __slots__ = ("offset", "text", "published", "size", "_frame")

    def __init__(self, offset: int, text: str, published: bool = True) -> None:
        self.offset = offset
        self.text = text
        self.published = published
        self.size = len(text)
        self._frame: bytes | None = None

    @property
    def message(self) -> dict[str, Any]:
        return {"type": "websocket.send", "text": self.text}

    @property
    def frame(self) -> bytes:
        """The whole WebSocket text frame, built on first use and shared by every viewer."""
        if self._frame is None:
            self._frame = Frame(Opcode.TEXT, self.text.encode()).serialize(mask=False, extensions=[])
        return self._frame


class WriteDeadlineExceeded(ConnectionError):
    """The viewer's socket took nothing for the whole write deadline: its client stopped reading."""


class SocketWriter:
    def __init__(self, send: Callable[[dict[str, Any]], Awaitable[None]], *, deadline_s: float) -> None:
        """``deadline_s``: how long a write may wait for the socket to take data before the connection is
        aborted (a client that stopped reading, or a network that went away without a word)."""
        self._send = send
        self._deadline_s = deadline_s
        connection = getattr(send, "__self__", None)
        usable = all(hasattr(connection, name) for name in ("transport", "writable", "conn", "close_sent")) \
            and isinstance(connection.writable, asyncio.Event) and not connection.conn.extensions
        self._connection = connection if usable else None
        # Bound once: the fan-out asks every viewer's socket whether it is writable 30 times a second.
        self._transport = connection.transport if usable else None
        self._writable = connection.writable.is_set if usable else None

    @classmethod
    def for_scope(cls, scope: Scope, fallback: Send, *, deadline_s: float) -> SocketWriter:
        return cls(scope.get(RAW_SEND) or fallback, deadline_s=deadline_s)

    def _open(self) -> bool:
        c = self._connection
        return c is not None and not c.close_sent and c.conn.state is _OPEN and not c.transport.is_closing()

    @property
    def ready(self) -> bool:
        """True when a frame can be written now without waiting for the network."""
        return self._connection is not None and self._writable() and self._open()

    def try_write(self, frame: bytes) -> bool:
        """Write ``frame`` (one or more whole WebSocket frames) if the socket takes it now without waiting for the
        network; False (nothing written) otherwise. The fan-out's hot path: one call per viewer per read."""
        c = self._connection
        if c is None or not self._writable() or c.close_sent or c.conn.state is not _OPEN \
                or self._transport.is_closing():
            return False
        self._transport.write(frame)
        return True

    def send_now(self, item: Item) -> None:
        """Write ``item`` at once; only when :attr:`ready` said so (which also found the connection open)."""
        self._transport.write(item.frame)

    async def send(self, items: list[Item]) -> None:
        """Write ``items``, in order, once the transport accepts more: in one write of their prepared frames
        (or one ASGI ``send`` each if there is no connection to write to). Raises ConnectionError once the socket
        is closing, and :class:`WriteDeadlineExceeded` (after aborting the connection) when it took nothing for
        the deadline."""
        if self._connection is None:
            for item in items:
                await self._within_deadline(self._send(item.message))
            return
        if not self._writable():  # a deadline costs a timer and a task lookup: only for a socket that must wait
            await self._within_deadline(self._connection.writable.wait())
        if not self._open():
            raise ConnectionError("the viewer's connection is closing")
        self._transport.write(items[0].frame if len(items) == 1 else b"".join(item.frame for item in items))

    async def _within_deadline(self, work: Awaitable[Any]) -> None:
        try:
            async with asyncio.timeout(self._deadline_s):
                await work
        except TimeoutError:
            if self._transport is not None:
                self._transport.abort()  # a close handshake would wait on the same full window
            raise WriteDeadlineExceeded(f"the socket took nothing for {self._deadline_s:g} s") from None
