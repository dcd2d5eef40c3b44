"""The floors the stream's fan-out is measured against: bare uvicorn apps that broadcast one frame 30 times a
second to every connected WebSocket, with nothing else (no Redis, no queues, no resync, no auth).

    uvicorn --factory bench.bare_broadcast:create_app            the naive loop: ``await send_text`` per viewer
    uvicorn --factory bench.bare_broadcast:create_prepared_app   the ceiling: one prepared frame, written to
                                                                 every transport as the stream writes it
    uvicorn --factory bench.bare_broadcast:create_accept_app     no broadcast: what a join costs the stack itself

(``HEWSTON_BENCH_FRAME_FILE`` names a frame to send.) The naive loop frames the message again for every socket
and awaits every send; the stream does neither, so the naive loop is not its ceiling. The prepared loop is the
same trick as the stream's without the stream's bookkeeping: the frame is built once per tick and written with
the stream's own :class:`~api.stream.socket_writer.SocketWriter` (skipping, like the stream's eager path, a
socket that is not writable right now) — what one uvicorn process can fan out at all.

The frame is a real stream frame; only its ``ts`` is replaced on every tick (encoded once per tick, as the relay
encodes each message once), so clients measure the same latency (receive time minus ``ts``) on every server.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from api.stream.socket_writer import Item, RawSendMiddleware, SocketWriter

FPS = 30


def _stamper() -> Callable[[], str]:
    """The template frame with the current time as its ``ts``."""
    template = open(os.environ["HEWSTON_BENCH_FRAME_FILE"], "rb").read().decode()
    ts_at = template.index('"ts":') + len('"ts":')
    prefix, suffix = template[:ts_at], template[template.index(",", ts_at):]
    return lambda: f"{prefix}{int(time.time() * 1000)}{suffix}"


async def _health(_request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def _socket_app(joined: Callable[[WebSocket], None], left: Callable[[WebSocket], None], *,
                lifespan: Callable[[Starlette], Any] | None = None,
                middleware: list[Middleware] | None = None) -> Starlette:
    """An app whose ``/ws`` accepts every socket and reads it until it closes, telling ``joined`` and ``left``."""

    async def stream(websocket: WebSocket) -> None:
        await websocket.accept()
        joined(websocket)
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            left(websocket)

    return Starlette(routes=[Route("/health", _health), WebSocketRoute("/ws", stream)], lifespan=lifespan,
                     middleware=middleware)


def _broadcast_app(broadcast: Callable[[str], Awaitable[None]], joined: Callable[[WebSocket], None],
                   left: Callable[[WebSocket], None], middleware: list[Middleware] | None = None) -> Starlette:
    """A socket app that calls ``broadcast`` with a freshly stamped frame 30 times a second."""
    stamp = _stamper()

    async def ticks() -> None:
        tick = 1.0 / FPS
        next_at = time.monotonic()
        while True:
            next_at += tick
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            await broadcast(stamp())

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(ticks())
        yield
        task.cancel()

    return _socket_app(joined, left, lifespan=lifespan, middleware=middleware)


def create_accept_app() -> Starlette:
    """No broadcast at all: each socket is accepted and read until it closes (what a join costs the stack itself)."""
    return _socket_app(lambda _websocket: None, lambda _websocket: None)


def create_app() -> Starlette:
    """The naive loop: ``await send_text`` to every socket in turn."""
    viewers: set[WebSocket] = set()

    async def broadcast(frame: str) -> None:
        for ws in list(viewers):
            try:
                await ws.send_text(frame)
            except Exception:  # noqa: BLE001 - a viewer that left; it is removed by its own handler
                viewers.discard(ws)

    return _broadcast_app(broadcast, viewers.add, viewers.discard)


def create_prepared_app() -> Starlette:
    """The ceiling: the frame built once per tick and written, without an await, to every writable transport."""
    writers: dict[WebSocket, SocketWriter] = {}

    async def broadcast(text: str) -> None:
        frame = Item(0, text).frame
        for writer in writers.values():
            writer.try_write(frame)

    def joined(websocket: WebSocket) -> None:
        writers[websocket] = SocketWriter.for_scope(websocket.scope, websocket.send, deadline_s=15.0)

    return _broadcast_app(broadcast, joined, lambda websocket: writers.pop(websocket, None),
                          middleware=[Middleware(RawSendMiddleware)])
