"""Keep-alive HTTP/1.1 connections to the backend for every call the api makes, answers parsed by httptools
(llhttp, in C).

The passthrough's request is already bytes (a checked target, headers as they arrived) and its answer goes back
as bytes; the api's own calls are GETs whose answer it reads whole. So all a client has to do is frame the
request and parse the answer. Measured in one process, taking turns on the same backend call, that cost about
480-620 µs of CPU per call through httpcore (h11, pure Python), 170-200 µs through aiohttp's client and 85-110 µs
here: the difference is most of a passthrough's overhead, and of the api's own work around a run's parts.

- Idle connections are reused last in, first out, so a worker whose calls do not overlap keeps one warm
  connection; at most ``max_connections`` are in use at once (more wait, up to the timeout), and an idle one
  is closed after ``keepalive_s`` (below the backend server's own keep-alive, so it rarely closes one first).
- A request body streams out with its Content-Length, or chunked; the answer's body (Content-Length, chunked, or
  until close) streams back chunk by chunk, and reading from the socket pauses while more than ``_HIGH_WATER``
  bytes wait for the caller, so a large body is never held whole.
- A pooled connection the backend has closed is never used. A call whose reused connection closes before any byte
  of the answer may or may not have reached the backend: it is retried once on a new connection only when the
  caller says that is safe (idempotent, no body), otherwise it fails.
- An ``https`` backend is reached over TLS with the caller's context (``common.backend_tls``: the system's CAs or
  the operator's bundle), its certificate and host name verified; one that does not verify is unreachable.
- Failures: :class:`BackendUnreachable` (no connection: the request never left), :class:`BackendTimeout`,
  :class:`BackendBroken` (the connection broke, or the answer was not HTTP/1.1).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from typing import NamedTuple

import httptools

_HIGH_WATER = 256 * 1024
_LOW_WATER = 64 * 1024


class BackendUnreachable(Exception):
    """The connection could not be made: the request was never sent."""


class BackendConnectTimeout(BackendUnreachable):
    pass


class BackendUntrusted(BackendUnreachable):
    """The backend's certificate failed verification: trying again cannot help until an operator mends it."""


class BackendTimeout(Exception):
    pass


class BackendBroken(Exception):
    """The connection broke mid-call, or the backend's answer was not HTTP/1.1."""


class _Connection(asyncio.Protocol):
    """One connection: feeds what arrives to the parser and keeps the current answer's state."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.in_use = False
        self.idle_since = 0.0
        self._writable: asyncio.Future[None] | None = None
        self.start(head_only=False)

    def start(self, *, head_only: bool) -> None:
        """Ready for a new call; ``head_only`` for HEAD, whose answer has no body whatever its headers say."""
        self.head_only = head_only
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.received = False
        self.head_done = self.complete = self.keep_alive = self.until_close = self.paused = False
        self.error: Exception | None = None
        self.waiter: asyncio.Future[None] | None = None

    async def wait(self, timeout_s: float) -> None:
        """Until the parser or the connection has news for the caller."""
        self.waiter = waiter = self.loop.create_future()
        timer = self.loop.call_later(timeout_s, self._time_out, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self.waiter = None

    async def drain(self, timeout_s: float) -> None:
        """Until the socket takes more of the request body (asyncio's flow control)."""
        writable = self._writable
        if writable is not None and not self.closed:
            try:
                await asyncio.wait_for(asyncio.shield(writable), timeout_s)
            except TimeoutError as exc:
                raise BackendTimeout("the backend did not take the request body in time") from exc

    def take(self) -> bytes:
        chunk = self.chunks.popleft()
        self.buffered -= len(chunk)
        if self.paused and self.buffered < _LOW_WATER and not self.closed:
            self.paused = False
            self.transport.resume_reading()
        return chunk

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self.in_use:  # nothing was asked: the connection cannot be trusted any more
            self.transport.close()
            return
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(BackendBroken(f"the backend's answer is not HTTP/1.1 ({exc})"))
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.head_done and self.until_close and not self.complete:
            self.complete = True  # a body without Content-Length or chunks ends when the connection does
            self._wake()
        elif not self.complete:
            self._fail(BackendBroken("the backend closed the connection before the answer was complete"))
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def pause_writing(self) -> None:
        self._writable = self.loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    # httptools' callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:  # 100 Continue, 103 Early Hints: not the answer, which follows
            self.headers = []
            return
        self.status, self.head_done = status, True
        framed = any(name in (b"content-length", b"transfer-encoding") for name, _ in self.headers)
        self.until_close = not framed and status not in (204, 304) and not self.head_only
        if self.head_only:
            self.complete = True  # the parser would wait for the body a Content-Length announces
        self._wake()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > _HIGH_WATER and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if not self.head_done:  # the end of an informational answer
            return
        self.complete, self.keep_alive = True, self.parser.should_keep_alive() and not self.head_only
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def _fail(self, error: Exception) -> None:
        self.error = error
        self._wake()

    @staticmethod
    def _time_out(waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            waiter.set_exception(BackendTimeout("the backend did not answer in time"))


class _Timeouts(NamedTuple):
    connect_s: float
    answer_s: float


class BackendResponse:
    """The backend's answer: status and headers (names lower-cased) now, the body as it arrives. Read the body
    (:meth:`aiter_stream` or :meth:`aread`) or :meth:`aclose`; either gives the connection back."""

    def __init__(self, pool: BackendPool, connection: _Connection, timeout_s: float) -> None:
        self._pool: BackendPool | None = pool
        self._connection = connection
        self.status, self.headers, self._timeout_s = connection.status, connection.headers, timeout_s

    async def aiter_stream(self) -> AsyncIterator[bytes]:
        connection = self._connection
        try:
            while True:
                while connection.chunks:
                    yield connection.take()
                if connection.complete:
                    return
                if connection.error is not None:
                    raise connection.error
                await connection.wait(self._timeout_s)
        finally:
            # Also when the caller stops early (its client went away): the generator is closed, at the latest
            # when it is collected, and the connection is closed rather than kept busy for ever.
            self._release()

    async def aread(self) -> bytes:
        return b"".join([chunk async for chunk in self.aiter_stream()])

    async def aclose(self) -> None:
        self._release()

    def _release(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            self._connection.in_use = False
            pool.give_back(self._connection)


class BackendPool:
    def __init__(self, scheme: str, host: str, port: int, *, max_connections: int, keepalive_s: float,
                 connect_timeout_s: float, timeout_s: float, ssl_context: ssl.SSLContext | None = None) -> None:
        """``ssl_context`` for an ``https`` backend (unset: the system's CAs); host names are always checked."""
        self.host, self.port = host, port
        self.ssl = (ssl_context or ssl.create_default_context()) if scheme == "https" else None
        self.keepalive_s, self.connect_timeout_s, self.timeout_s = keepalive_s, connect_timeout_s, timeout_s
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(max_connections)

    async def request(self, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]],
                      content: AsyncIterable[bytes] | None = None, content_length: bytes | None = None, *,
                      retry_if_dropped: bool = False, timeout_s: float | None = None) -> BackendResponse:
        """Send ``method target`` with ``headers`` as given (names and values the caller checked; ``host`` and
        the body's framing are added here) and ``content`` streamed; the answer once its head has arrived.
        ``timeout_s`` replaces the pool's timeouts (connect, wait for a slot, each wait for the answer) for
        this call only."""
        timeout = _Timeouts(self.connect_timeout_s, self.timeout_s) if timeout_s is None \
            else _Timeouts(timeout_s, timeout_s)
        framing = b"" if content is None else (b"content-length: " + content_length + b"\r\n"
                                               if content_length is not None else b"transfer-encoding: chunked\r\n")
        head = b"".join([method, b" ", target, b" HTTP/1.1\r\n",
                         *[name + b": " + value + b"\r\n" for name, value in headers], framing, b"\r\n"])
        if self._slots.locked():
            try:
                await asyncio.wait_for(self._slots.acquire(), timeout.answer_s)
            except TimeoutError as exc:
                raise BackendTimeout("every connection to the backend stayed busy") from exc
        else:
            await self._slots.acquire()
        try:
            return await self._send(method == b"HEAD", head, content, content_length is None,
                                    retry_if_dropped and content is None, timeout)
        except BaseException:
            self._slots.release()
            raise

    async def _send(self, head_only: bool, head: bytes, content: AsyncIterable[bytes] | None, chunked: bool,
                    retry_if_dropped: bool, timeout: _Timeouts) -> BackendResponse:
        for attempt in range(2):
            connection, reused = await self._connection(timeout.connect_s)
            connection.start(head_only=head_only)
            connection.in_use = True
            try:
                connection.transport.write(head)
                if content is not None:
                    await self._send_body(connection, content, chunked)
                while not connection.head_done:
                    if connection.error is not None:
                        raise connection.error
                    await connection.wait(timeout.answer_s)
            except BackendBroken:
                connection.transport.close()
                if attempt == 0 and reused and retry_if_dropped and not connection.received:
                    continue  # a pooled connection closed as the request went out: once more on a new one
                raise
            except BaseException:
                connection.transport.close()
                raise
            return BackendResponse(self, connection, timeout.answer_s)
        raise AssertionError("unreachable")

    async def _send_body(self, connection: _Connection, content: AsyncIterable[bytes], chunked: bool) -> None:
        async for chunk in content:
            if connection.closed:
                return  # the backend answered (or failed) without reading the rest
            if chunk:
                connection.transport.writelines([b"%x\r\n" % len(chunk), chunk, b"\r\n"] if chunked else [chunk])
                await connection.drain(self.timeout_s)
        if chunked and not connection.closed:
            connection.transport.write(b"0\r\n\r\n")

    async def _connection(self, connect_timeout_s: float) -> tuple[_Connection, bool]:
        """An idle connection still open and fresh (and whether it was one), else a new one."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self._idle:
            connection = self._idle.pop()
            if connection.loop is not loop:
                continue  # left by an event loop that has ended, and its transport with it
            if not connection.closed and now - connection.idle_since < self.keepalive_s:
                return connection, True
            connection.transport.close()
        try:
            _, connection = await asyncio.wait_for(loop.create_connection(
                _Connection, self.host, self.port, ssl=self.ssl), connect_timeout_s)
        except TimeoutError as exc:
            raise BackendConnectTimeout(f"no connection to the backend within {connect_timeout_s} s") from exc
        except ssl.SSLCertVerificationError as exc:
            raise BackendUntrusted(f"cannot connect to the backend ({exc.strerror or exc})") from exc
        except OSError as exc:
            raise BackendUnreachable(f"cannot connect to the backend ({exc.strerror or exc})") from exc
        return connection, False

    def give_back(self, connection: _Connection) -> None:
        """Pool the connection when its answer was read to the end on a connection the backend keeps open."""
        self._slots.release()
        if connection.complete and connection.keep_alive and not connection.closed and not connection.chunks:
            connection.idle_since = connection.loop.time()
            self._idle.append(connection)
        else:
            connection.transport.close()

    async def aclose(self) -> None:
        while self._idle:
            self._idle.pop().transport.close()
