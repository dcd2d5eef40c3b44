"""Running one playback over one WebSocket: a sending task (the playback loop), a receiving task, and a task
that re-checks every few seconds that the caller may still see the run.

The sender is the only writer, so messages leave in the order the session produced them; the receiver only
parses controls and hands them over through a small bounded queue (a client that floods controls is slowed
down by its own socket, never by growing memory). Whichever task finishes first — the client went away, or
the playback failed — the other is cancelled and both are awaited before the connection returns, so nothing
outlives the socket. Access that ends (the run unshared, the token revoked) ends the playback with
:class:`AccessWithdrawn` within one re-check interval.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket

from backend.playback.messages import encode
from backend.playback.session import PlaybackSession
from common.controls import ControlError, parse_control
from common.logging import get_logger
from common.sockets import GONE
from common.tasks import until_first_ends

log = get_logger("hewston.playback")

CONTROL_QUEUE_SIZE = 16


class AccessWithdrawn(Exception):
    """The caller may no longer see the run it is playing."""


async def _always_allowed() -> bool:
    return True


@dataclass(eq=False)
class PlaybackConnection:
    run_id: str
    user: str
    session: PlaybackSession
    websocket: WebSocket
    # Asked every ``recheck_s`` seconds whether the caller may still see the run.
    still_allowed: Callable[[], Awaitable[bool]] = _always_allowed
    recheck_s: float = 5.0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    messages_sent: int = 0
    started_at: float = field(default_factory=time.monotonic)

    async def run(self) -> None:
        """Play until the client disconnects; raises whatever the playback itself failed with."""
        controls: asyncio.Queue[Any] = asyncio.Queue(CONTROL_QUEUE_SIZE)
        sender = asyncio.create_task(self._send_loop(controls), name=f"playback-send-{self.run_id}")
        receiver = asyncio.create_task(self._receive_loop(controls), name=f"playback-receive-{self.run_id}")
        access = asyncio.create_task(self._access_loop(), name=f"playback-access-{self.run_id}")
        self.tasks = [sender, receiver, access]
        await until_first_ends(self.tasks, quiet=GONE)

    async def _access_loop(self) -> None:
        while True:
            await asyncio.sleep(self.recheck_s)
            if not await self.still_allowed():
                raise AccessWithdrawn(f"{self.user} may no longer see run {self.run_id}")

    async def _send(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            await self.websocket.send_text(encode(message).decode())
            self.messages_sent += 1

    async def _send_loop(self, controls: asyncio.Queue[Any]) -> None:
        loop = asyncio.get_running_loop()
        session = self.session
        await self._send(session.start(loop.time()))
        while True:
            deadline = session.next_deadline
            if deadline is not None and loop.time() >= deadline:
                await self._send(session.tick(loop.time()))
                continue
            if controls.empty():
                try:
                    # The loop's own monotonic clock, the one the deadlines are measured on. Queue.get is
                    # cancellation-safe: a control that races the timeout stays queued for the next turn.
                    async with asyncio.timeout_at(deadline):
                        item = await controls.get()
                except TimeoutError:
                    continue
            else:
                item = controls.get_nowait()
            if isinstance(item, ControlError):
                await self._send([session.error("invalid_control", str(item), item.ref)])
            else:
                await self._send(session.handle(item, loop.time()))

    async def _receive_loop(self, controls: asyncio.Queue[Any]) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text")
            if raw is None:
                raw = message.get("bytes") or b""
            try:
                item: Any = parse_control(raw)
            except ControlError as exc:
                item = exc
            await controls.put(item)

