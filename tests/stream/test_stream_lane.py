"""A viewer's handshake is served by the stream lane (api/stream/lane.py), not by the app's router, and keeps
what the layers around the lane give it: the correlation id on the accept, the path's run id and resume point."""

from __future__ import annotations

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.stream.conftest import ALICE
from tests.support.stream_client import StreamViewer


def record_routed_scopes(api) -> list[str]:
    """The type of every scope that reaches ``api``'s router from now on."""
    router = api.server.config.app.router
    routed, seen = router.middleware_stack, []

    async def recording(scope, receive, send):
        seen.append(scope["type"])
        await routed(scope, receive, send)

    router.middleware_stack = recording
    return seen


async def test_a_viewer_joins_without_passing_through_the_router(stack, alice_run):
    stack.relay()
    api = stack.api()
    seen = record_routed_scopes(api)
    async with StreamViewer(api.http_url, alice_run, ALICE) as first:
        hello = await first.recv()
        assert hello["type"] == "hello" and hello["can_control"]
        await first.play()
        await first.until_cursor(50)
    # A second viewer resumes from the first one's last message: the lane passes the URL on as it is.
    async with StreamViewer(api.http_url, alice_run, ALICE, continue_from=first) as second:
        assert (await second.recv())["type"] == "hello"
        await second.until_cursor(80)
    assert "websocket" not in seen


async def test_the_handshake_still_carries_the_correlation_id(stack, alice_run):
    api = stack.api()
    url = f"{api.http_url.replace('http', 'ws', 1)}/api/v1/runs/{alice_run}/stream"
    async with connect(url, additional_headers={"X-Request-ID": "join-1"}) as ws:
        assert ws.response.headers["X-Request-ID"] == "join-1"


async def test_any_other_websocket_path_is_still_the_routers_to_refuse(stack):
    api = stack.api()
    seen = record_routed_scopes(api)
    base = api.http_url.replace("http", "ws", 1)
    for path in ("/api/v1/runs/r1/stream/extra", "/api/v1/runs/stream", "/api/v1/symbols"):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(base + path):
                pass
        assert refused.value.response.status_code == 403
    assert seen == ["websocket"] * 3
