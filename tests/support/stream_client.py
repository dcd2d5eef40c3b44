"""A real viewer of the shared stream (``WS /api/v1/runs/{id}/stream``) that checks the protocol's promises as
it reads: dense offsets within an epoch, keyframes that match the view, resets only where allowed, and bars
without a gap or a duplicate. Used by the stream tests, the system test and the soak benchmark.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
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
    """What a viewer has seen, and the check that every message fits it.

    ``strict`` (tests): the first message that does not fit raises :class:`ContinuityError`. Otherwise (the soak
    benchmark) each message that does not fit is counted, by the first thing wrong with it, as a gap (something
    missing: an offset skipped, a frame short of bars) or a duplicate (an offset or a bar seen again), and
    checking goes on from that message. ``keep_bars=False`` remembers only the last bar, so a viewer watching for
    hours holds constant memory.
    """

    epoch: str | None = None
    offset: int = 0
    cursor: int | None = None
    bar_times: list[int] = field(default_factory=list)
    resets: list[str] = field(default_factory=list)
    skipped: int = 0
    strict: bool = True
    keep_bars: bool = True
    last_bar: int | None = None
    gaps: int = 0
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)
    _counted: bool = field(default=False, repr=False)

    def check(self, m: dict[str, Any]) -> None:
        self._counted = False  # one problem per message, by the first thing wrong with it
        kind = m["type"]
        if kind == "hello":
            self.epoch, self.offset = m["epoch"], m["offset"]
            return
        if kind == "snapshot" and m["kind"] == "reset":
            self.epoch, self.offset, self.cursor = m["epoch"], m["offset"], m["cursor"]
            self.resets.append(m["cause"])
            # History before a reset comes from REST: the bars seen so far stop here.
            self.bar_times = [t for t in self.bar_times if m["time"] is not None and t <= m["time"]]
            if self.last_bar is not None and (m["time"] is None or self.last_bar > m["time"]):
                self.last_bar = m["time"]
            return
        if kind in PUBLISHED or (kind == "upstream" and m["offset"] != self.offset):
            duplicate = m["epoch"] == self.epoch and m["offset"] <= self.offset
            self._expect(m["epoch"] == self.epoch and m["offset"] == self.offset + 1,
                         f"{kind} at {m['epoch']}/{m['offset']} after {self.epoch}/{self.offset}", duplicate)
            self.epoch, self.offset = m["epoch"], m["offset"]
        else:
            self._expect(m["epoch"] == self.epoch and m["offset"] == self.offset,
                         f"own {kind} at {m['epoch']}/{m['offset']}, viewer at {self.epoch}/{self.offset}",
                         m["epoch"] == self.epoch and m["offset"] < self.offset)
        if kind == "skipped":
            self.skipped += m["count"]
        elif kind == "snapshot":
            self._expect(m["cursor"] == self.cursor, f"keyframe at {m['cursor']} but the view is at {self.cursor}",
                         False)
        elif kind == "frame":
            times = m["bars"]["time"]
            previous = -1 if self.cursor is None else self.cursor
            expected = m["cursor"] - previous
            self._expect(len(times) == expected, f"frame to {m['cursor']} after {previous} carries {len(times)} bars",
                         len(times) > expected)
            self._expect(self.last_bar is None or not times or times[0] > self.last_bar,
                         "a bar arrived twice or out of order", True)
            if self.keep_bars:
                self.bar_times.extend(times)
            self.last_bar = times[-1] if times else self.last_bar
            self.cursor = m["cursor"]
        elif kind in ("status", "end"):
            self._expect(m["cursor"] == self.cursor, f"{kind} at {m['cursor']} but the view is at {self.cursor}",
                         False)

    def _expect(self, ok: bool, what: str, duplicate: bool) -> None:
        if ok:
            return
        if self.strict:
            raise ContinuityError(what)
        if self._counted:
            return
        self._counted = True
        if duplicate:
            self.duplicates += 1
        else:
            self.gaps += 1
        if len(self.problems) < 20:
            self.problems.append(what)


class StreamViewer:
    def __init__(self, api_url: str, run_id: str, token: str, *, resume: tuple[str | None, int] | None = None,
                 continue_from: StreamViewer | None = None, header_auth: bool = False,
                 validate: bool = True, receive_buffer_bytes: int | None = None,
                 continuity: Continuity | None = None, keep_messages: bool = True) -> None:
        """``continue_from``: a viewer whose connection ended; this one resumes from its last message and goes on
        checking continuity across the reconnect. ``continuity``: the checker to use (a lenient one counts
        problems instead of raising); ``keep_messages=False`` keeps no message, for viewers that run for long."""
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
        self.keep_messages = keep_messages
        self.messages: list[dict[str, Any]] = []
        # When each message arrived (epoch seconds), for latency: arrival - the message's ``ts``.
        self.received_at: list[float] = []
        self.continuity = continuity or Continuity()
        if continue_from is not None:
            previous = continue_from.continuity
            self.continuity = replace(previous, bar_times=list(previous.bar_times), resets=[],
                                      problems=list(previous.problems))
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
        if self.keep_messages:
            self.messages.append(message)
            self.received_at.append(time.time())
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

    async def resume_reading_and_resync(self, bars_after: int) -> None:
        """For a viewer whose socket stopped being read (``ws.transport.pause_reading()``) until the server
        dropped its backlog: read again, and check that what it missed is announced (``skipped``) and followed by
        a keyframe of the present (a ``resync`` snapshot), from which ``bars_after`` more bars then arrive."""
        assert self.ws is not None
        self.ws.transport.resume_reading()
        skipped = await self.until(lambda m: m["type"] == "skipped", timeout_s=30)
        assert skipped["count"] > 0
        snapshot = await self.recv()
        assert snapshot["type"] == "snapshot" and snapshot["cause"] == "resync"
        await self.until_cursor(snapshot["cursor"] + bars_after)

    async def send(self, control: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send(orjson.dumps(control).decode())

    async def play(self, speed: int = 300) -> None:
        """Set the playback speed (bars a second: 300 is ten bars a frame) and start playing."""
        await self.send({"type": "speed", "value": speed})
        await self.send({"type": "play"})

    @property
    def close_code(self) -> int | None:
        """The close code the server sent (None while open, or when it sent none)."""
        return self.ws.close_code if self.ws is not None else None

    @property
    def close_reason(self) -> str | None:
        return self.ws.close_reason if self.ws is not None else None

    @property
    def resume_point(self) -> tuple[str | None, int]:
        return self.continuity.epoch, self.continuity.offset

    def latencies_ms(self, since: float = 0.0) -> list[float]:
        """Publish-to-arrival delay of every frame received after ``since`` (epoch seconds)."""
        return [at * 1000 - m["ts"] for m, at in zip(self.messages, self.received_at, strict=True)
                if m["type"] == "frame" and at >= since]

    def longest_silence_s(self, since: float = 0.0) -> float:
        """The longest wait between two frames received after ``since``: how long playback stalled."""
        times = [at for m, at in zip(self.messages, self.received_at, strict=True) if m["type"] == "frame"]
        before = [at for at in times if at < since][-1:]  # the stall began with the last frame before
        times = before + [at for at in times if at >= since]
        return max((b - a for a, b in zip(times, times[1:], strict=False)), default=0.0)

    def published(self) -> list[tuple[str, int, str]]:
        """(epoch, offset, type) of every published message seen, for comparing viewers."""
        return [(m["epoch"], m["offset"], m["type"]) for m in self.messages
                if m["type"] in PUBLISHED and not (m["type"] == "snapshot" and m["kind"] == "reset")]
