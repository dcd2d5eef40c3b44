"""A real viewer of the shared stream (``WS /api/v1/runs/{id}/stream``) that checks the protocol's promises as
it reads: dense offsets within an epoch, keyframes that match the view, resets only where allowed, and bars
without a gap or a duplicate. Used by the stream tests, the system test and the soak benchmark.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import orjson
from websockets.asyncio.client import ClientConnection, connect

from common.models.stream import STREAM_MESSAGE

PUBLISHED = frozenset({"snapshot", "frame", "status", "end"})


class ContinuityError(AssertionError):
    pass


@dataclass
class Continuity:
    """What a viewer has seen, and the check that every message fits it."""

    epoch: str | None = None
    offset: int = 0
    cursor: int | None = None
    bar_times: list[int] = field(default_factory=list)
    resets: list[str] = field(default_factory=list)
    skipped: int = 0

    def check(self, m: dict[str, Any]) -> None:
        kind = m["type"]
        if kind == "hello":
            self.epoch, self.offset = m["epoch"], m["offset"]
            return
        if kind == "snapshot" and m["kind"] == "reset":
            self.epoch, self.offset, self.cursor = m["epoch"], m["offset"], m["cursor"]
            self.resets.append(m["cause"])
            # History before a reset comes from REST: the bars seen so far stop here.
            self.bar_times = [t for t in self.bar_times if m["time"] is not None and t <= m["time"]]
            return
        if kind in PUBLISHED or (kind == "upstream" and m["offset"] != self.offset):
            self._expect(m["epoch"] == self.epoch and m["offset"] == self.offset + 1,
                         f"{kind} at {m['epoch']}/{m['offset']} after {self.epoch}/{self.offset}")
            self.offset = m["offset"]
        else:
            self._expect(m["epoch"] == self.epoch and m["offset"] == self.offset,
                         f"own {kind} at {m['epoch']}/{m['offset']}, viewer at {self.epoch}/{self.offset}")
        if kind == "skipped":
            self.skipped += m["count"]
        elif kind == "snapshot":
            self._expect(m["cursor"] == self.cursor, f"keyframe at {m['cursor']} but the view is at {self.cursor}")
        elif kind == "frame":
            times = m["bars"]["time"]
            previous = -1 if self.cursor is None else self.cursor
            self._expect(len(times) == m["cursor"] - previous, f"frame to {m['cursor']} after {previous} carries "
                                                                f"{len(times)} bars")
            self._expect(not self.bar_times or times[0] > self.bar_times[-1], "a bar arrived twice or out of order")
            self.bar_times.extend(times)
            self.cursor = m["cursor"]
        elif kind in ("status", "end"):
            self._expect(m["cursor"] == self.cursor, f"{kind} at {m['cursor']} but the view is at {self.cursor}")

    @staticmethod
    def _expect(ok: bool, what: str) -> None:
        if not ok:
            raise ContinuityError(what)


class StreamViewer:
    def __init__(self, api_url: str, run_id: str, token: str, *, resume: tuple[str | None, int] | None = None,
                 continue_from: StreamViewer | None = None, header_auth: bool = False,
                 validate: bool = True, receive_buffer_bytes: int | None = None) -> None:
        """``continue_from``: a viewer whose connection ended; this one resumes from its last message and goes on
        checking continuity across the reconnect."""
        if continue_from is not None:
            resume = continue_from.resume_point
        params = {"epoch": resume[0], "offset": str(resume[1])} if resume and resume[0] else {}
        base = api_url.replace("http://", "ws://", 1)
        self.url = f"{base}/api/v1/runs/{run_id}/stream" + (f"?{urlencode(params)}" if params else "")
        self.token = token
        self.header_auth = header_auth
        self.validate = validate
        # A small kernel receive buffer makes a viewer that stops reading push back on the server quickly.
        self.receive_buffer_bytes = receive_buffer_bytes
        self.messages: list[dict[str, Any]] = []
        self.continuity = Continuity()
        if continue_from is not None:
            previous = continue_from.continuity
            self.continuity = Continuity(previous.epoch, previous.offset, previous.cursor, list(previous.bar_times))
        self.ws: ClientConnection | None = None

    async def __aenter__(self) -> StreamViewer:
        headers = {"Authorization": f"Bearer {self.token}"} if self.header_auth else None
        # An unbounded client queue: a viewer that is not reading right now still sees the server's close frame.
        sock = None
        if self.receive_buffer_bytes is not None:
            host, _, port = self.url.split("/")[2].partition(":")
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer_bytes)
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
        self.ws = await connect(self.url, additional_headers=headers, compression=None, max_size=None,
                                max_queue=None, close_timeout=2, sock=sock)
        if not self.header_auth:
            await self.ws.send(orjson.dumps({"type": "auth", "token": self.token}).decode())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def recv(self, timeout_s: float = 10.0) -> dict[str, Any]:
        assert self.ws is not None
        raw = await asyncio.wait_for(self.ws.recv(), timeout_s)
        message = orjson.loads(raw)
        if self.validate:
            STREAM_MESSAGE.validate_python(message)
        self.continuity.check(message)
        self.messages.append(message)
        return message

    async def until(self, predicate: Callable[[dict[str, Any]], bool], timeout_s: float = 20.0) -> dict[str, Any]:
        """Read until a message matches ``predicate``; returns it."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"no matching message within {timeout_s} s; last: {self.messages[-3:]}")
            message = await self.recv(left)
            if predicate(message):
                return message

    async def until_cursor(self, cursor: int, timeout_s: float = 20.0) -> dict[str, Any]:
        return await self.until(lambda m: m.get("cursor") is not None and m["type"] in PUBLISHED
                                and m["cursor"] >= cursor, timeout_s)

    async def send(self, control: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send(orjson.dumps(control).decode())

    @property
    def resume_point(self) -> tuple[str | None, int]:
        return self.continuity.epoch, self.continuity.offset

    def published(self) -> list[tuple[str, int, str]]:
        """(epoch, offset, type) of every published message seen, for comparing viewers."""
        return [(m["epoch"], m["offset"], m["type"]) for m in self.messages
                if m["type"] in PUBLISHED and not (m["type"] == "snapshot" and m["kind"] == "reset")]
