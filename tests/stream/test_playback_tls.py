"""A playback socket to a backend over TLS (``wss://``), as the relay and the api's direct lane open it: the
backend's certificate is checked against ``backend_ca_file``, or the system's authorities when it is unset."""

from __future__ import annotations

import ssl

import pytest
from websockets.exceptions import ConnectionClosed

from common.stream.upstream import open_playback
from tests.api.conftest import tls_backend  # noqa: F401
from tests.conftest import SERVICE_TOKEN


async def test_a_playback_socket_opens_over_tls_with_the_ca_file(tls_backend, tls_certificates):  # noqa: F811
    socket = await open_playback(tls_backend.http_url, "no-such-run", f"Bearer {SERVICE_TOKEN}",
                                 ca_file=tls_certificates.ca_file)
    try:
        assert socket.request.path.startswith("/backtests/no-such-run/ws")
        with pytest.raises(ConnectionClosed) as closed:  # the backend accepted, then refused the unknown run
            await socket.recv()
        assert closed.value.rcvd.code == 4404
    finally:
        await socket.close()


async def test_a_playback_socket_refuses_a_certificate_it_cannot_verify(tls_backend):  # noqa: F811
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        await open_playback(tls_backend.http_url, "no-such-run", f"Bearer {SERVICE_TOKEN}")
