"""A real stack for the shared-stream tests: a backend on loopback with a completed run, api nodes, and relays
running in the test's own event loop (so a test can cancel one mid-playback).

Every test body runs twice: over the embedded broker (fakeredis, as ``hewston up`` uses it) and over a real
Redis server. Each test gets its own key prefix, so tests never see each other's streams.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest

from api.main import create_app as create_api
from common.keys import KeySpace
from relay.main import build_relay
from relay.service import RelayService
from relay.settings import RelaySettings
from tests.api.conftest import api_settings, build_backend, create_run
from tests.conftest import ALICE_TOKEN, BOB_TOKEN, SERVICE_TOKEN
from tests.support.redis_keys import delete_key_space
from tests.support.servers import LiveServer, live_server


@pytest.fixture(scope="module")
def stream_backend(tmp_path_factory) -> Iterator[LiveServer]:
    """A backend with three days of minute bars (4,320) and the service token the relays use."""
    with live_server(build_backend(tmp_path_factory.mktemp("stream") / "data")) as server:
        yield server


@pytest.fixture(scope="module")
def alice_run(stream_backend) -> str:
    run = create_run(stream_backend.http_url, ALICE_TOKEN)
    assert run["status"] == "completed", run
    return run["id"]


@pytest.fixture(scope="module")
def shared_run(stream_backend) -> str:
    """A run of alice's that bob may watch (but not control)."""
    run = create_run(stream_backend.http_url, ALICE_TOKEN)
    response = httpx.post(f"{stream_backend.http_url}/backtests/{run['id']}/shares", json={"user": "bob"},
                          headers={"Authorization": f"Bearer {ALICE_TOKEN}"})
    assert response.status_code < 300, response.text
    return run["id"]


def upstream_connections(backend: LiveServer, run_id: str) -> int:
    """Playback connections the backend serves for ``run_id`` right now."""
    return sum(1 for c in backend.server.config.app.state.playback.connections if c.run_id == run_id)


@pytest.fixture(params=["embedded", "redis"])
def broker_url(request) -> str | None:
    if request.param == "embedded":
        return None
    # Without a real server the embedded run above already covers the body (skipped, or failed under CI).
    return request.getfixturevalue("real_redis_url")


@dataclass
class Stack:
    backend: LiveServer
    broker_url: str | None
    prefix: str
    apis: list[LiveServer] = field(default_factory=list)
    relays: dict[RelayService, asyncio.Task[None]] = field(default_factory=dict)

    def api(self, send_buffer_bytes: int | None = None, **overrides) -> LiveServer:
        settings = api_settings(self.backend.http_url, self.broker_url, **overrides).model_copy(
            update={"redis_key_prefix": self.prefix})
        app = create_api(settings)
        server = LiveServer(app, send_buffer_bytes=send_buffer_bytes,
                            before_shutdown=app.state.stream_hub.going_away).start()
        self.apis.append(server)
        return server

    def relay_settings(self, **overrides) -> RelaySettings:
        values = dict(backend_url=self.backend.http_url, service_token=SERVICE_TOKEN, redis_url=self.broker_url,
                      redis_key_prefix=self.prefix, metrics_port=None, lease_ttl_s=2.0, scan_interval_s=0.1,
                      upstream_backoff_s=0.05, upstream_backoff_max_s=0.5, control_block_ms=200, _env_file=None)
        values.update(overrides)
        return RelaySettings(**values)

    def relay(self, **overrides) -> RelayService:
        service = build_relay(self.relay_settings(**overrides))
        self.relays[service] = asyncio.create_task(service.run())
        return service

    async def kill(self, service: RelayService) -> None:
        """Stop a relay the hard way: its tasks die and its lease is left to expire, as if the process died."""
        task = self.relays.pop(service)
        for held in list(service.held.values()):
            held.task.cancel()
        service.held.clear()  # nothing left for run()'s clean-up to release
        task.cancel()
        await asyncio.wait([task])

    async def stop(self) -> None:
        for task in self.relays.values():
            task.cancel()
        if self.relays:
            # Bounded: a relay still closing an upstream connection must not hold the test's teardown forever.
            await asyncio.wait(list(self.relays.values()), timeout=15)
        for service in self.relays:
            await service.redis.aclose()
        for server in self.apis:
            server.stop()


@asynccontextmanager
async def stack_on(backend: LiveServer, broker_url: str | None) -> AsyncIterator[Stack]:
    """A stack in front of ``backend`` with a key prefix of its own, stopped and its keys deleted after."""
    prefix = f"hwtest-{uuid.uuid4().hex[:8]}"
    stack = Stack(backend, broker_url, prefix)
    try:
        yield stack
    finally:
        await stack.stop()
        if broker_url:
            delete_key_space(broker_url, KeySpace(prefix))


@pytest.fixture
async def stack(stream_backend, broker_url) -> AsyncIterator[Stack]:
    async with stack_on(stream_backend, broker_url) as stack:
        yield stack


ALICE, BOB = ALICE_TOKEN, BOB_TOKEN
