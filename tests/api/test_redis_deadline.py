"""The api's request path reaches Redis under one deadline per call (the guard's), not a socket timeout per
command: the deadline still bounds a silent Redis, and a command costs no task of its own."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from api.main import create_app
from common.keys import KeySpace
from tests.api.conftest import SYMBOL, api_settings
from tests.conftest import ALICE_TOKEN, auth


async def test_a_silent_redis_costs_a_request_one_deadline(shared_backend) -> None:
    """A Redis that accepts connections and never answers: the request is served uncached once the guard's
    deadline passes, and the breaker then spares the next request the wait."""
    held: list[asyncio.StreamWriter] = []

    async def never_answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    settings = api_settings(shared_backend.http_url, f"redis://127.0.0.1:{port}/0", redis_socket_timeout_s=0.3,
                            redis_retry_after_s=30)
    app = create_app(settings)
    params = {"symbol": SYMBOL, "timeframe": "1D"}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api",
                                     headers=auth(ALICE_TOKEN), timeout=10) as client:
            started = time.monotonic()
            first = await client.get("/api/v1/chart-data", params=params)
            waited_s = time.monotonic() - started
            assert first.status_code == 200 and first.headers["x-cache"] == "bypass"
            assert waited_s >= 0.3 and app.state.redis_guard.state == "down"
            assert waited_s < 5  # one deadline (and the backend's answers), never an unbounded wait
            second = await client.get("/api/v1/chart-data", params=params)
            assert second.status_code == 200 and second.headers["x-cache"] == "bypass"
    finally:
        await app.state.upstream.aclose()
        await app.state.redis.aclose()
        silent.close()
        for writer in held:
            writer.close()
        await silent.wait_closed()


@pytest.mark.redis
async def test_a_request_path_redis_command_makes_no_task(shared_backend, real_redis_url, clean_redis) -> None:
    settings = api_settings(shared_backend.http_url, real_redis_url)
    clean_redis.append(settings.redis_key_prefix)
    app = create_app(settings)
    guard, key = app.state.redis_guard, KeySpace(settings.redis_key_prefix).rate_limit("probe", 0)
    loop = asyncio.get_running_loop()
    made: list[object] = []

    def counting_factory(loop: asyncio.AbstractEventLoop, coro, **kwargs):  # noqa: ANN001
        made.append(coro)
        return asyncio.Task(coro, loop=loop, **kwargs)

    try:
        await guard.run(lambda r: r.set(key, b"1"))  # connects outside the count
        loop.set_task_factory(counting_factory)
        try:
            for _ in range(20):
                assert await guard.run(lambda r: r.get(key)) == b"1"
        finally:
            loop.set_task_factory(None)
        assert made == []
    finally:
        await app.state.upstream.aclose()
        await app.state.redis.aclose()
