"""A relay stopped (SIGTERM, or ``hewston up`` ending) while it relays a playing run ends within its stop timeout and
gives the run's lease back, even when a Redis call in flight swallows the cancellation: Python 3.11's
``asyncio.wait_for``, through which redis-py sends every command, returns the command's result instead of raising
when the cancel lands just as the command completes, and the loop that made the call goes on."""

from __future__ import annotations

import asyncio
import time

import pytest

from relay.main import build_relay
from tests.stream.conftest import ALICE
from tests.support.lost_cancellation import LosingStreamStore
from tests.support.stream_client import StreamViewer


@pytest.mark.parametrize("call", ["renew", "append", "demanded_runs"])
async def test_a_relay_stopped_while_a_redis_call_loses_its_cancellation_stops_in_time_and_gives_the_run_back(
        stack, alice_run, call):
    # A lease long enough that it cannot run out during the test: the stop itself must give it back.
    settings = stack.relay_settings(lease_ttl_s=9.0, stop_timeout_s=1.5)
    service = build_relay(settings)
    store = service.store = LosingStreamStore(service.redis, service.keys, settings.retention)
    task = stack.relays[service] = asyncio.create_task(service.run())
    api = stack.api()
    async with StreamViewer(api.http_url, alice_run, ALICE) as viewer:
        await viewer.play(speed=300)
        await viewer.until_cursor(300)
        store.lose.arm(call)
        await store.lose.until_in_flight()  # the relay is inside that call now
        stopping = time.monotonic()
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=3 * settings.stop_timeout_s)
        took_s = time.monotonic() - stopping
        assert done, f"the relay was still stopping {took_s:.1f} s after it was asked to ({call} lost its cancel)"
        assert took_s < settings.stop_timeout_s
        assert await service.redis.get(service.keys.run_stream(alice_run).lease) is None  # given back
        _epoch, offset = await store.position(alice_run)
        await asyncio.sleep(0.5)
        assert (await store.position(alice_run))[1] == offset  # nothing of this relay publishes any more
        assert not service.held
