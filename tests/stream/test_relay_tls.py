"""The shared stream with the backend served over TLS: the relay opens its playback socket as ``wss://`` and the
api checks access over ``https://``, both trusting the backend's certificate through the CA file setting; a relay
without it cannot verify the certificate, publishes no playback and logs why."""

from __future__ import annotations

import asyncio

import pytest

from common.backend_tls import backend_ssl_context
from tests.api.conftest import create_run, tls_backend  # noqa: F401
from tests.stream.conftest import ALICE, stack_on
from tests.support.logs import captured_logs
from tests.support.stream_client import StreamViewer


@pytest.fixture
async def tls_stack(tls_backend, broker_url):  # noqa: F811
    async with stack_on(tls_backend, broker_url) as stack:
        yield stack


def completed_run(backend_url: str, ca_file) -> str:
    run = create_run(backend_url, ALICE, verify=backend_ssl_context(ca_file))
    assert run["status"] == "completed", run
    return run["id"]


async def test_a_relay_trusting_the_backends_authority_publishes_its_playback(tls_stack, tls_certificates):
    ca_file = tls_certificates.ca_file
    run_id = completed_run(tls_stack.backend.http_url, ca_file)
    tls_stack.relay(backend_ca_file=ca_file)
    api = tls_stack.api(backend_ca_file=ca_file)
    async with StreamViewer(api.http_url, run_id, ALICE) as viewer:
        hello = await viewer.recv()
        assert hello["type"] == "hello" and not hello["degraded"]
        await viewer.play()
        await viewer.until_cursor(200)
    assert len(viewer.published()) > 5


async def test_a_relay_that_cannot_verify_the_certificate_publishes_no_playback_and_logs_why(tls_stack,
                                                                                              tls_certificates):
    ca_file = tls_certificates.ca_file
    run_id = completed_run(tls_stack.backend.http_url, ca_file)
    with captured_logs() as lines:
        tls_stack.relay()  # the system's authorities only: the throwaway CA is not among them
        api = tls_stack.api(backend_ca_file=ca_file)
        async with StreamViewer(api.http_url, run_id, ALICE) as viewer:
            assert (await viewer.recv())["type"] == "hello"
            await asyncio.sleep(1.5)  # several attempts of the relay, at its test backoff (0.05-0.5 s)
    assert not [m for m in viewer.messages if m["type"] in ("frame", "snapshot", "status")]
    relay_lines = [line for line in lines if "upstream_lost" in line]
    # Logged once per outage, with what failed; the attempts go on with backoff.
    assert len(relay_lines) == 1 and "SSLCertVerificationError" in relay_lines[0]
    assert not any(ALICE in line for line in lines)
