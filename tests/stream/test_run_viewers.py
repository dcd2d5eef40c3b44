"""``GET /api/v1/runs/{id}/viewers``: the count a page without a stream shows, from every api node's records."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import auth
from tests.stream.conftest import ALICE, BOB
from tests.support.stream_client import StreamViewer


async def count(api_url: str, run_id: str, token: str = ALICE) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"{api_url}/api/v1/runs/{run_id}/viewers", headers=auth(token))


async def counted(api_url: str, run_id: str, expected: int, within_s: float = 10.0) -> int:
    """The count once it equals ``expected`` (the nodes record theirs every demand refresh), else the last one."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        viewers = (await count(api_url, run_id)).json()["viewers"]
        if viewers == expected or asyncio.get_running_loop().time() > deadline:
            return viewers
        await asyncio.sleep(0.1)


async def test_the_count_sums_every_node_and_falls_when_viewers_leave(stack, alice_run):
    stack.relay()
    node_a, node_b = stack.api(stream_demand_refresh_s=0.2), stack.api(stream_demand_refresh_s=0.2)
    # A third node with no viewers of its own answers for the others.
    reader = stack.api(stream_demand_refresh_s=0.2)
    first = await count(reader.http_url, alice_run)
    assert first.status_code == 200 and first.json() == {"run_id": alice_run, "viewers": 0}
    viewers = [StreamViewer(node.http_url, alice_run, ALICE) for node in (node_a, node_a, node_b)]
    for viewer in viewers:
        await viewer.__aenter__()
        assert (await viewer.recv())["type"] == "hello"
    try:
        assert await counted(reader.http_url, alice_run, 3) == 3
        await viewers[0].close()
        assert await counted(reader.http_url, alice_run, 2) == 2
    finally:
        for viewer in viewers[1:]:
            await viewer.close()
    assert await counted(reader.http_url, alice_run, 0) == 0


async def test_only_a_caller_who_may_see_the_run_gets_a_count(stack, alice_run):
    api = stack.api()
    refused = await count(api.http_url, alice_run, BOB)
    assert refused.status_code == 404
    assert "viewers" not in refused.text
    anonymous = await count(api.http_url, alice_run, "hw_not_a_real_token_0123456789abcd")
    assert anonymous.status_code == 401
    malformed = await count(api.http_url, "bad run id!")
    assert malformed.status_code == 422 and "run_id" in malformed.text
