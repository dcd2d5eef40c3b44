"""Which sockets the api's stream takes: at most ``stream_max_sockets_per_address`` open from one address (beyond:
4429), and browser pages of its own origin or a configured one only (others: 4430). Both are answered with a close
code and a reason on an accepted socket, never with a handshake the server leaves unfinished."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from common.close_codes import CloseCode, should_reconnect
from tests.stream.conftest import ALICE
from tests.support.logs import captured_logs


async def watch(url: str, *, origin: str | None = None) -> ClientConnection:
    headers = {"Authorization": f"Bearer {ALICE}"}
    if origin is not None:
        headers["Origin"] = origin
    return await connect(url, additional_headers=headers, compression=None)


async def hello_of(ws: ClientConnection) -> dict:
    return orjson.loads(await asyncio.wait_for(ws.recv(), 10))


async def refusal_of(ws: ClientConnection) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


def no_unfinished_handshake(lines: list[str]) -> None:
    assert not [line for line in lines if "without completing handshake" in line or "[error" in line]


async def test_one_address_holds_at_most_the_configured_number_of_sockets(stack, alice_run):
    stack.relay()
    api = stack.api(stream_max_sockets_per_address=3)
    url = f"{api.ws_url}/api/v1/runs/{alice_run}/stream"
    held = [await watch(url) for _ in range(3)]
    try:
        for ws in held:
            assert (await hello_of(ws))["type"] == "hello"
        with captured_logs() as lines:
            code, reason = await refusal_of(await watch(url))
        assert code == CloseCode.too_many_sockets == 4429 and "at most 3" in reason
        assert should_reconnect(code)
        no_unfinished_handshake(lines)
        # A socket that closes frees its place.
        await held.pop().close()
        await asyncio.sleep(0.2)
        held.append(await watch(url))
        assert (await hello_of(held[-1]))["type"] == "hello"
        assert (await refusal_of(await watch(url)))[0] == 4429
    finally:
        await asyncio.gather(*(ws.close() for ws in held))


async def test_browser_pages_of_other_origins_are_refused(stack, alice_run):
    stack.relay()
    api = stack.api(cors_origins=["https://app.example"])
    url = f"{api.ws_url}/api/v1/runs/{alice_run}/stream"
    with captured_logs() as lines:
        code, reason = await refusal_of(await watch(url, origin="https://evil.example"))
    assert code == CloseCode.origin_not_allowed == 4430 and reason.startswith("Origin")
    assert not should_reconnect(code)
    no_unfinished_handshake(lines)
    # Its own origin (the Host the socket was opened on), a configured one, and no Origin at all (not a browser).
    for origin in (f"http://127.0.0.1:{api.port}", "https://app.example", None):
        ws = await watch(url, origin=origin)
        try:
            assert (await hello_of(ws))["type"] == "hello", origin
        finally:
            await ws.close()
