"""The passthrough's connection pool against a backend on loopback whose answers each test writes byte by byte:
framing both ways, streaming without holding a body whole, keep-alive and connections the backend closes, time
limits, and the errors the api turns them into."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field

import pytest
import uvloop

from api.metrics import ApiMetrics
from api.views import BackendFailure, Upstream, UpstreamTimeout
from api.views.backend_pool import _HIGH_WATER, BackendBroken, BackendPool, BackendTimeout, BackendUnreachable
from common.errors import ServiceUnavailable
from tests.api.conftest import api_settings
from tests.support.servers import free_port

LOOPS = {"asyncio": asyncio.run, "uvloop": uvloop.run}


def on_both_loops(test: Callable[[], Coroutine[None, None, None]]) -> Callable[[str], None]:
    """The test on both loops: the api runs on uvloop under uvicorn, on asyncio's own loop elsewhere."""
    def run(loop: str) -> None:
        LOOPS[loop](test())

    run.__name__, run.__doc__ = test.__name__, test.__doc__
    return pytest.mark.parametrize("loop", list(LOOPS))(run)


@dataclass
class Received:
    method: bytes
    target: bytes
    headers: dict[bytes, bytes]
    body: bytes
    connection: int


# The bytes to send back (parts of a tuple a moment apart); None closes the connection unanswered.
Answer = Callable[[Received], bytes | tuple[bytes, ...] | None]


@dataclass
class ScriptedBackend:
    """Reads each request (Content-Length or chunked body), answers what ``answer`` returns, keeps the connection
    open unless the answer is None or says ``connection: close``, or ``close_after_s`` passes idle."""

    answer: Answer
    close_after_s: float | None = None
    tls: ssl.SSLContext | None = None  # served over TLS with this server context
    requests: list[Received] = field(default_factory=list)
    connections: int = 0
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def __aenter__(self) -> ScriptedBackend:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        for writer in self.writers:  # the handlers see the end of their connection and return
            writer.close()
        await asyncio.sleep(0.05)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        self.writers.append(writer)
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.close_after_s)
                except (TimeoutError, asyncio.IncompleteReadError):
                    return
                request = await self._read(reader, head, number)
                self.requests.append(request)
                answer = self.answer(request)
                if answer is None:
                    return
                parts = answer if isinstance(answer, tuple) else (answer,)
                for i, part in enumerate(parts):
                    await asyncio.sleep(0.05 if i else 0)
                    writer.write(part)
                    await writer.drain()
                answer = parts[-1]
                if b"\r\nconnection: close\r\n" in answer.split(b"\r\n\r\n", 1)[0] + b"\r\n":
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    @staticmethod
    async def _read(reader: asyncio.StreamReader, head: bytes, number: int) -> Received:
        line, *lines = head[:-4].split(b"\r\n")
        method, target, _ = line.split(b" ")
        headers = dict(tuple(part.strip() for part in h.split(b":", 1)) for h in lines)
        if b"content-length" in headers:
            body = await reader.readexactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding") == b"chunked":
            body = b""
            while size := int((await reader.readuntil(b"\r\n"))[:-2], 16):
                body += (await reader.readexactly(size + 2))[:-2]
            await reader.readuntil(b"\r\n")
        else:
            body = b""
        return Received(method, target, headers, body, number)


def ok(body: bytes = b"ok", *extra: bytes) -> Answer:
    return lambda request: b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n%s" % (
        len(body), b"".join(h + b"\r\n" for h in extra), body)


def pool_for(port: int, ssl_context: ssl.SSLContext | None = None, **overrides: float) -> BackendPool:
    """A pool for the backend on ``port``: over TLS (``https``) with ``ssl_context``."""
    settings = {"max_connections": 4, "keepalive_s": 4.0, "connect_timeout_s": 1.0, "timeout_s": 2.0, **overrides}
    return BackendPool("https" if ssl_context else "http", "127.0.0.1", port, ssl_context=ssl_context,
                       **settings)  # type: ignore[arg-type]


async def get(pool: BackendPool, target: bytes = b"/x", **kwargs: object) -> tuple[int, bytes]:
    response = await pool.request(b"GET", target, [(b"host", b"backend")], **kwargs)  # type: ignore[arg-type]
    return response.status, await response.aread()


@on_both_loops
async def test_answers_reuse_one_connection_and_keep_status_headers_and_body():
    answer = ok(b'{"a":1}', b"X-Hewston-User: alice", b"Content-Type: application/json")
    async with ScriptedBackend(answer) as backend:
        pool = pool_for(backend.port)
        for _ in range(3):
            response = await pool.request(b"GET", b"/symbols/A?x=1", [(b"host", b"backend"), (b"authorization",
                                                                                            b"Bearer t\xe9")])
            assert (response.status, await response.aread()) == (200, b'{"a":1}')
            assert (b"x-hewston-user", b"alice") in response.headers  # names lower-cased, values as sent
        assert backend.connections == 1 and len(backend.requests) == 3
        assert backend.requests[0].target == b"/symbols/A?x=1"
        assert backend.requests[0].headers[b"authorization"] == b"Bearer t\xe9"
        await pool.aclose()


@on_both_loops
async def test_a_chunked_answer_and_one_ending_with_the_connection():
    chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    answers = iter([chunked, chunked, b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end"])
    async with ScriptedBackend(lambda request: next(answers)) as backend:
        pool = pool_for(backend.port)
        assert await get(pool) == (200, b"hello world")
        assert await get(pool) == (200, b"hello world")
        assert await get(pool) == (200, b"until the end")
        assert backend.connections == 1  # a chunked answer leaves the connection reusable
        await pool.aclose()


@on_both_loops
async def test_a_large_body_streams_without_being_held_whole():
    size, piece = 16 * 1024 * 1024, b"x" * 65536
    head = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % size

    async with ScriptedBackend(lambda request: head + piece * (size // len(piece))) as backend:
        pool = pool_for(backend.port)
        response = await pool.request(b"GET", b"/big", [(b"host", b"backend")])
        await asyncio.sleep(0.3)  # nobody reads: the pool stops reading from the socket instead of buffering on
        assert response._connection.paused
        received, most_waiting = 0, response._connection.buffered
        async for chunk in response.aiter_stream():
            received += len(chunk)
            most_waiting = max(most_waiting, response._connection.buffered)
        assert received == size
        assert most_waiting <= _HIGH_WATER + 256 * 1024, most_waiting
        await pool.aclose()


@on_both_loops
async def test_a_reader_that_stops_early_frees_its_connection():
    head = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % (4 * 1024 * 1024)
    async with ScriptedBackend(lambda request: head + b"x" * (4 * 1024 * 1024)) as backend:
        pool = pool_for(backend.port, max_connections=1)
        response = await pool.request(b"GET", b"/big", [(b"host", b"backend")])
        stream = response.aiter_stream()
        assert await anext(stream)
        del stream  # as when the caller's client goes away: the relay stops and drops the generator
        await asyncio.sleep(0.05)
        assert await get(pool) == (200, b"x" * (4 * 1024 * 1024))  # the only slot is free again
        assert backend.connections == 2  # the half-read connection was closed, not reused
        await pool.aclose()


@on_both_loops
async def test_a_post_body_streams_with_its_length_or_chunked():
    async with ScriptedBackend(ok(b"created")) as backend:
        pool = pool_for(backend.port)

        async def pieces() -> AsyncIterator[bytes]:
            for part in (b'{"symbol":', b"", b'"BTCUSD"}'):
                yield part

        for length in (b"19", None):
            response = await pool.request(b"POST", b"/backtests", [(b"host", b"backend")], pieces(), length)
            assert (response.status, await response.aread()) == (200, b"created")
        with_length, chunked = backend.requests
        assert with_length.body == chunked.body == b'{"symbol":"BTCUSD"}'
        assert with_length.headers[b"content-length"] == b"19" and b"transfer-encoding" not in with_length.headers
        assert chunked.headers[b"transfer-encoding"] == b"chunked" and b"content-length" not in chunked.headers
        await pool.aclose()


@on_both_loops
async def test_an_informational_answer_is_skipped():
    answer = b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok"
    async with ScriptedBackend(lambda request: answer) as backend:
        pool = pool_for(backend.port)
        assert await get(pool) == (201, b"ok")
        assert await get(pool) == (201, b"ok")
        await pool.aclose()


@on_both_loops
async def test_a_connection_the_backend_closed_while_idle_is_never_used():
    async with ScriptedBackend(ok(), close_after_s=0.05) as backend:
        pool = pool_for(backend.port)
        assert await get(pool) == (200, b"ok")
        await asyncio.sleep(0.2)  # the backend has closed the idle connection by now
        response = await pool.request(b"POST", b"/backtests", [(b"host", b"backend")], _body(b"{}"), b"2")
        assert (response.status, await response.aread()) == (200, b"ok")
        assert [(r.method, r.connection) for r in backend.requests] == [(b"GET", 1), (b"POST", 2)]
        await pool.aclose()


@on_both_loops
async def test_a_call_dropped_by_a_pooled_connection_is_retried_once_only_when_safe():
    # The backend reads every second request of a connection and closes without answering, as a server does
    # when its keep-alive time runs out just as the request arrives.
    def answer(request: Received) -> bytes | None:
        mine = [r for r in backend.requests if r.connection == request.connection]
        return None if len(mine) == 2 else ok()(request)

    async with ScriptedBackend(answer) as backend:
        pool = pool_for(backend.port)
        assert await get(pool) == (200, b"ok")
        assert await get(pool, retry_if_dropped=True) == (200, b"ok")  # again, on a new connection
        assert [r.connection for r in backend.requests] == [1, 1, 2]
        with pytest.raises(BackendBroken):  # a POST may have been acted on: never sent twice
            await pool.request(b"POST", b"/backtests", [(b"host", b"backend")], _body(b"{}"), b"2",
                               retry_if_dropped=True)
        assert [r.method for r in backend.requests].count(b"POST") == 1
        await pool.aclose()


@on_both_loops
async def test_limits_in_time_and_connections():
    async with ScriptedBackend(lambda request: b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\npart") as backend:
        pool = pool_for(backend.port, timeout_s=0.2, max_connections=1)
        response = await pool.request(b"GET", b"/slow", [(b"host", b"backend")])
        started = time.perf_counter()
        with pytest.raises(BackendTimeout):  # every connection busy
            await pool.request(b"GET", b"/waiting", [(b"host", b"backend")])
        with pytest.raises(BackendTimeout):  # the rest of the body never comes
            await response.aread()
        assert 0.3 < time.perf_counter() - started < 2
        response = await asyncio.wait_for(pool.request(b"GET", b"/x", [(b"host", b"backend")]), 1)  # a slot is free
        assert response.status == 200
        await pool.aclose()


@on_both_loops
async def test_concurrent_calls_share_at_most_max_connections():
    slow = b"", b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"  # each answer a moment after the request
    async with ScriptedBackend(lambda request: slow) as backend:
        pool = pool_for(backend.port, max_connections=3)
        answers = await asyncio.gather(*(get(pool, b"/x%d" % i) for i in range(12)))
        assert answers == [(200, b"ok")] * 12
        assert backend.connections == 3 and sorted(r.target for r in backend.requests) == sorted(
            b"/x%d" % i for i in range(12))
        await pool.aclose()


@on_both_loops
async def test_failures_become_the_errors_a_browser_can_act_on():
    settings = api_settings(f"http://127.0.0.1:{free_port()}", None, upstream_timeout_s=0.2, upstream_retries=1,
                            upstream_retry_backoff_s=0.01)
    upstream = Upstream(settings, ApiMetrics())
    with pytest.raises(ServiceUnavailable):  # nothing listens there: 503
        await upstream.forward("GET", b"/symbols", [], None, route="/symbols")
    for answer, error in ((lambda request: b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n", UpstreamTimeout),
                          (lambda request: b"not http at all\r\n\r\n", BackendFailure),
                          (lambda request: None, BackendFailure)):
        async with ScriptedBackend(answer) as backend:
            settings = settings.model_copy(update={"backend_url": f"http://127.0.0.1:{backend.port}"})
            upstream = Upstream(settings, ApiMetrics())
            with pytest.raises(error):
                response = await upstream.forward("GET", b"/symbols", [], None, route="/symbols")
                await upstream.read_body(response)
            await upstream.aclose()


@on_both_loops
async def test_nothing_listening_is_unreachable():
    with pytest.raises(BackendUnreachable):
        await get(pool_for(free_port()))


async def _body(data: bytes) -> AsyncIterator[bytes]:
    yield data
