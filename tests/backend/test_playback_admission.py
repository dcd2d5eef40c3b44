"""Which playback sockets the backend takes: at most ``playback_max_sockets_per_address`` open from one address
(beyond: 4429; the service token's sockets, which relays hold one per run, do not count), and browser pages of
its own origin or of ``cors_origins`` only (others: 4430). Refusals are close codes on accepted sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from backend.auth import hash_token
from backend.main import create_app
from common.close_codes import CloseCode
from tests.backend.playback_fixtures import completed_run
from tests.conftest import ALICE_TOKEN, SERVICE_TOKEN
from tests.support.logs import captured_logs
from tests.support.servers import LiveServer, live_server

CAP = 2


@pytest.fixture
def backend(backend_settings) -> Iterator[tuple[LiveServer, str]]:
    settings = backend_settings.model_copy(update={"playback_max_sockets_per_address": CAP,
                                                   "cors_origins": ["https://app.example"]})
    app = create_app(settings)
    alice = app.state.catalog.add_user("alice", hash_token(ALICE_TOKEN))
    run_id = completed_run(app.state.runs, alice.id, n=120)
    with live_server(app) as server:
        yield server, run_id


async def play(server: LiveServer, run_id: str, token: str = ALICE_TOKEN, origin: str | None = None):
    headers = {"Authorization": f"Bearer {token}"}
    if origin is not None:
        headers["Origin"] = origin
    return await connect(f"{server.ws_url}/backtests/{run_id}/ws", additional_headers=headers, compression=None)


async def first_type(ws: ClientConnection) -> str:
    return orjson.loads(await asyncio.wait_for(ws.recv(), 10))["type"]


async def close_code(ws: ClientConnection) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_one_address_holds_at_most_the_cap_but_service_sockets_do_not_count(backend):
    server, run_id = backend
    # A relay relaying many runs: more service sockets than the cap, none of them counted.
    relay = [await play(server, run_id, SERVICE_TOKEN) for _ in range(CAP + 2)]
    users = [await play(server, run_id) for _ in range(CAP)]
    try:
        for ws in [*relay, *users]:
            assert await first_type(ws) == "snapshot"
        with captured_logs() as lines:
            code, reason = await close_code(await play(server, run_id))
        assert code == CloseCode.too_many_sockets and f"at most {CAP}" in reason
        assert not [line for line in lines if "without completing handshake" in line or "[error" in line]
        await users.pop().close()
        await asyncio.sleep(0.2)
        users.append(await play(server, run_id))
        assert await first_type(users[-1]) == "snapshot"
    finally:
        await asyncio.gather(*(ws.close() for ws in [*relay, *users]))


async def test_browser_pages_of_other_origins_are_refused(backend):
    server, run_id = backend
    code, reason = await close_code(await play(server, run_id, origin="https://evil.example"))
    assert code == CloseCode.origin_not_allowed and reason.startswith("Origin")
    for origin in (f"http://127.0.0.1:{server.port}", "https://app.example", None):
        ws = await play(server, run_id, origin=origin)
        try:
            assert await first_type(ws) == "snapshot", origin
        finally:
            await ws.close()
