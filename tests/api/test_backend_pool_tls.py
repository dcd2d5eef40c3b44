"""The pool to an ``https://`` backend, over real TLS on loopback: a throwaway certificate authority signs the
scripted backend's certificate (``tls_certificates``), and the pool trusts that authority's bundle as an operator's
``HEWSTON_BACKEND_CA_FILE`` makes it do. Certificates and host names are verified, on asyncio and uvloop."""

from __future__ import annotations

import ssl

import pytest

from api.views.backend_pool import BackendUnreachable
from common.backend_tls import backend_ssl_context
from tests.api.test_backend_pool import LOOPS, ScriptedBackend, get, ok, pool_for
from tests.support.tls import Certificates

pytestmark = pytest.mark.parametrize("loop", list(LOOPS))


def trusting(certificates: Certificates) -> ssl.SSLContext:
    return backend_ssl_context(certificates.ca_file)


def test_answers_over_tls_reuse_one_connection(loop, tls_certificates):
    async def body() -> None:
        async with ScriptedBackend(ok(b'{"a":1}'), tls=tls_certificates.server_context()) as backend:
            pool = pool_for(backend.port, trusting(tls_certificates))
            for _ in range(5):
                assert await get(pool, b"/symbols/A") == (200, b'{"a":1}')
            assert backend.connections == 1 and len(backend.requests) == 5  # one handshake, five calls
            assert all(request.target == b"/symbols/A" for request in backend.requests)
            await pool.aclose()

    LOOPS[loop](body())


def test_a_chunked_answer_streams_over_tls(loop, tls_certificates):
    async def body() -> None:
        # Three pieces a moment apart, then a second call on the same connection.
        answer = (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n",
                  b"6\r\n world\r\n", b"1\r\n!\r\n0\r\n\r\n")
        async with ScriptedBackend(lambda request: answer, tls=tls_certificates.server_context()) as backend:
            pool = pool_for(backend.port, trusting(tls_certificates))
            response = await pool.request(b"GET", b"/stream", [(b"host", b"backend")])
            assert response.status == 200
            pieces = [piece async for piece in response.aiter_stream()]
            assert b"".join(pieces) == b"hello world!"
            assert len(pieces) >= 3  # handed on as each piece arrived, not held until the end
            assert await get(pool, b"/stream") == (200, b"hello world!")
            assert backend.connections == 1
            await pool.aclose()

    LOOPS[loop](body())


def test_a_post_body_goes_out_over_tls(loop, tls_certificates):
    async def body() -> None:
        async with ScriptedBackend(ok(b"created"), tls=tls_certificates.server_context()) as backend:
            pool = pool_for(backend.port, trusting(tls_certificates))
            response = await pool.request(b"POST", b"/backtests", [(b"host", b"backend")],
                                          content=_pieces(b'{"symbol":', b'"BTCUSD"}'), content_length=b"19")
            assert (response.status, await response.aread()) == (200, b"created")
            assert backend.requests[0].body == b'{"symbol":"BTCUSD"}'
            await pool.aclose()

    LOOPS[loop](body())


async def _pieces(*pieces: bytes):
    for piece in pieces:
        yield piece


@pytest.mark.parametrize(("trusted", "other_host", "cause"), [
    (False, False, "certificate verify failed: unable to get local issuer certificate"),
    (True, True, "certificate verify failed: IP address mismatch"),
], ids=["authority-not-trusted", "certificate-for-another-host"])
def test_a_certificate_the_pool_cannot_verify_is_refused(loop, tls_certificates, trusted, other_host, cause):
    async def body() -> None:
        server = tls_certificates.server_context(other_host=other_host)
        async with ScriptedBackend(ok(), tls=server) as backend:
            # Untrusted: the system's authorities only, which never signed this test's certificates.
            pool = pool_for(backend.port, trusting(tls_certificates) if trusted else backend_ssl_context(None))
            with pytest.raises(BackendUnreachable, match=cause):
                await get(pool)
            assert backend.requests == []  # nothing was sent over the refused connection
            await pool.aclose()

    LOOPS[loop](body())
