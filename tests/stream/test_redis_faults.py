"""What viewers get when Redis itself misbehaves the way real deployments do: a stall longer than every socket
timeout, a restart that lost nothing (AOF), and a restart that lost the last seconds (the stream went
backwards, as after a failover with replication lag or an AOF ``everysec`` crash).

A stall or a lossless restart must cost nothing: no reset, nothing sent twice. A stream that went backwards
must start a new epoch: offsets are never reused for other content, so nobody "recovers" into them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
import redis

from bench.processes import RedisServer
from common.keys import KeySpace
from tests.stream.conftest import ALICE, Stack
from tests.support.stream_client import StreamViewer


@pytest.fixture
def own_redis(tmp_path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, which it may pause, kill and start again."""
    if not RedisServer.installed():
        if os.environ.get("HEWSTON_REQUIRE_REDIS") == "1":
            pytest.fail("HEWSTON_REQUIRE_REDIS=1 but redis-server is not installed")
        pytest.skip("needs redis-server (a Redis of the test's own to pause and restart)")
    server = RedisServer(tmp_path / "redis", args=("--appendonly", "yes", "--appendfsync", "always"))
    with server:
        yield server


@pytest.fixture
async def own_stack(stream_backend, own_redis) -> AsyncIterator[Stack]:
    stack = Stack(stream_backend, own_redis.url, f"hwtest-{uuid.uuid4().hex[:8]}")
    try:
        yield stack
    finally:
        await stack.stop()


def _client(server: RedisServer) -> redis.Redis:
    return redis.Redis.from_url(server.url, socket_timeout=5)


async def _watch(stack: Stack, run_id: str, count: int = 2) -> list[StreamViewer]:
    api = stack.api(stream_demand_refresh_s=0.5)
    viewers = [StreamViewer(api.http_url, run_id, ALICE) for _ in range(count)]
    for viewer in viewers:
        await viewer.__aenter__()
    return viewers


def _no_takeover_announced(viewer: StreamViewer) -> bool:
    return not any(m["type"] == "upstream" and "took over" in m["reason"] for m in viewer.messages)


async def _a_blip_costs_nothing(stack: Stack, run_id: str, blip: Callable[[], Awaitable[None]]) -> None:
    """Viewers playing through ``blip`` (Redis misbehaving without losing a write) see no reset, nothing twice
    and no takeover that never happened."""
    stack.relay()
    viewers = await _watch(stack, run_id)
    try:
        await viewers[0].play(speed=300)
        for viewer in viewers:
            await viewer.until_cursor(300)
        await blip()
        for viewer in viewers:
            await viewer.until_cursor(viewer.continuity.cursor + 600, timeout_s=30)
    finally:
        for viewer in viewers:
            await viewer.close()
    for viewer in viewers:
        # The strict checker raised on any duplicate or gap.
        assert viewer.continuity.resets == ["connect"]
        assert _no_takeover_announced(viewer)


async def test_a_redis_stall_longer_than_every_socket_timeout_costs_nothing(own_stack, own_redis, alice_run):
    async def stall() -> None:
        with _client(own_redis) as client:
            client.execute_command("CLIENT", "PAUSE", "8000", "ALL")  # the api's read times out after 6 s
        await asyncio.sleep(8.5)

    await _a_blip_costs_nothing(own_stack, alice_run, stall)


async def test_a_redis_restart_that_lost_nothing_costs_nothing(own_stack, own_redis, alice_run):
    async def restart() -> None:
        own_redis.stop()  # SIGKILL; with appendfsync always the AOF has every write
        await asyncio.sleep(1.0)
        own_redis.start()

    await _a_blip_costs_nothing(own_stack, alice_run, restart)


async def test_a_stream_that_went_backwards_starts_a_new_epoch_and_nobody_recovers_into_reused_offsets(
        own_stack, own_redis, alice_run, tmp_path):
    own_stack.relay()
    viewers = await _watch(own_stack, alice_run)
    try:
        await viewers[0].play(speed=300)
        for viewer in viewers:
            await viewer.until_cursor(300)
        # What a failover with replication lag, or a restore, does: Redis comes back as it was a while ago.
        with _client(own_redis) as client:
            client.save()
        saved = tmp_path / "older.rdb"
        shutil.copy(own_redis.workdir / "dump.rdb", saved)
        old_epoch = viewers[0].continuity.epoch
        for viewer in viewers:
            await viewer.until_cursor(viewer.continuity.cursor + 400)
        ahead = viewers[1].resume_point  # a point that the restored Redis no longer has
        own_redis.stop()
        for name in ("appendonlydir", "appendonly.aof"):
            shutil.rmtree(own_redis.workdir / name, ignore_errors=True)
        shutil.copy(saved, own_redis.workdir / "dump.rdb")
        own_redis.args = ("--appendonly", "no")
        own_redis.start()
        for viewer in viewers:
            reset = await viewer.until(lambda m: m["type"] == "snapshot" and m["kind"] == "reset", timeout_s=30)
            assert reset["cause"] == "history_lost" and reset["epoch"] != old_epoch
            await viewer.until_cursor(reset["cursor"] + 100)
    finally:
        for viewer in viewers:
            await viewer.close()
    for viewer in viewers:
        assert viewer.continuity.resets == ["connect", "history_lost"]
    # A viewer coming back with a point from before the rollback is reset, never "recovered" into offsets that
    # now hold other messages.
    api = own_stack.apis[0]
    async with StreamViewer(api.http_url, alice_run, ALICE, resume=ahead) as late:
        hello = await late.recv()
        assert hello["resume"] == "reset"
        first = await late.recv()
        assert first["type"] == "snapshot" and first["kind"] == "reset" and first["epoch"] != old_epoch
    with _client(own_redis) as client:
        state = client.hgetall(KeySpace(own_stack.prefix).run_stream(alice_run).state)
    assert state[b"epoch"].decode() != old_epoch
