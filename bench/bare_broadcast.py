"""The ceiling the stream's fan-out is measured against: a bare uvicorn app that broadcasts one pre-encoded frame
30 times a second to every connected WebSocket, in a plain loop, with nothing else (no Redis, no queues, no
resync, no auth).

    uvicorn --factory bench.bare_broadcast:create_app   (HEWSTON_BENCH_FRAME_FILE names a frame to send)

The frame is a real stream frame; only its ``ts`` is replaced on every tick (encoded once per tick, as the relay
encodes each message once), so clients measure the same latency (receive time minus ``ts``) on both servers.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

FPS = 30


def create_app() -> Starlette:
    template = open(os.environ["HEWSTON_BENCH_FRAME_FILE"], "rb").read().decode()
    ts_at = template.index('"ts":') + len('"ts":')
    prefix, suffix = template[:ts_at], template[template.index(",", ts_at):]
    viewers: set[WebSocket] = set()

    async def broadcast() -> None:
        tick = 1.0 / FPS
        next_at = time.monotonic()
        while True:
            next_at += tick
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            frame = f"{prefix}{int(time.time() * 1000)}{suffix}"
            for ws in list(viewers):
                try:
                    await ws.send_text(frame)
                except Exception:  # noqa: BLE001 - a viewer that left; it is removed by its own handler
                    viewers.discard(ws)

    async def stream(websocket: WebSocket) -> None:
        await websocket.accept()
        viewers.add(websocket)
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            viewers.discard(websocket)

    async def health(_request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(broadcast())
        yield
        task.cancel()

    return Starlette(routes=[Route("/health", health), WebSocketRoute("/ws", stream)], lifespan=lifespan)
