"""``AccessChecks.run_visible``: the re-check an open socket makes, bounded by the access cache's lifetime."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from api.main import create_app
from common.errors import ServiceUnavailable
from tests.api.conftest import api_settings, create_run
from tests.conftest import ALICE_TOKEN, BOB_TOKEN, auth
from tests.support.servers import free_port

TTL_S = 0.3


@pytest.fixture
def run_for_bob(market_backend):
    run = create_run(market_backend.http_url, wait=False)
    shared = httpx.post(f"{market_backend.http_url}/backtests/{run['id']}/shares", json={"user": "bob"},
                        headers=auth(ALICE_TOKEN))
    assert shared.status_code == 200, shared.text
    return market_backend, run["id"]


async def test_withdrawn_access_is_seen_within_the_cache_lifetime(run_for_bob):
    backend, run_id = run_for_bob
    app = create_app(api_settings(backend.http_url, None, access_cache_ttl_s=TTL_S))
    access = app.state.access
    bob = auth(BOB_TOKEN)["Authorization"]
    try:
        assert await access.run_visible(bob, run_id)
        async with httpx.AsyncClient() as client:
            gone = await client.delete(f"{backend.http_url}/backtests/{run_id}/shares/bob",
                                       headers=auth(ALICE_TOKEN))
        assert gone.status_code == 200
        # The cached decision stands for at most its lifetime ...
        assert await access.run_visible(bob, run_id)
        await asyncio.sleep(TTL_S + 0.1)
        # ... then the backend is asked again.
        assert not await access.run_visible(bob, run_id)
        assert await access.run_visible(auth(ALICE_TOKEN)["Authorization"], run_id)
        assert not await access.run_visible("Bearer hw_not_a_token", run_id)
        assert not await access.run_visible(None, run_id)
    finally:
        await app.state.upstream.aclose()


async def test_an_unreachable_backend_is_not_taken_for_withdrawn_access():
    app = create_app(api_settings(f"http://127.0.0.1:{free_port()}", None))
    try:
        with pytest.raises(ServiceUnavailable):
            await app.state.access.run_visible(auth(BOB_TOKEN)["Authorization"], "some-run")
    finally:
        await app.state.upstream.aclose()
