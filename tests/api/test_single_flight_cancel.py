"""A request waiting for another node's computation of the same entry (single flight) that is cancelled ends then,
even when the Redis call it was in swallowed the cancellation. The server cancels a request once, when its graceful
shutdown period is over; Python 3.11's ``asyncio.wait_for``, through which redis-py sends commands, returns the
command's result instead of raising when the cancel lands just as the command completes. The request then polled on
for the whole wait and computed the entry itself, holding the stopping node past its exit deadline."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from api.metrics import ApiMetrics
from api.views.pending_stores import PendingStores
from api.views.redis_guard import RedisGuard
from api.views.single_flight import Computation, SingleFlight
from common.keys import KeySpace
from common.redis_client import create_redis
from tests.support.lost_cancellation import LosesOneCancellation

pytestmark = pytest.mark.redis


async def test_a_cancelled_request_stops_waiting_even_when_its_poll_lost_the_cancellation(redis_url, clean_redis):
    keys = KeySpace(f"hwtest-{uuid.uuid4().hex[:8]}")
    clean_redis.append(keys.prefix)
    redis = create_redis(redis_url)
    lose = LosesOneCancellation()
    send = redis.execute_command

    async def execute_command(*args, **options):
        await lose.call(str(args[0]).upper())
        return await send(*args, **options)

    redis.execute_command = execute_command  # every command of this client, the single flight's script included
    guard = RedisGuard(redis, op_timeout_s=2.0, retry_after_s=1, retry_after_max_s=1, metrics=ApiMetrics())
    flight: SingleFlight[bytes] = SingleFlight(guard, keys, PendingStores(max_pending=8, drain_s=1.0),
                                               lock_ms=30_000, wait_s=5.0)
    key = keys.chart_data("ACME", "1D", 1, None, None, None)
    computed: list[str] = []

    async def compute() -> Computation[bytes]:
        computed.append(key)
        return Computation(b"computed here")

    try:
        await send("SET", keys.single_flight_lock(key), "another node", "PX", 30_000)  # it computes the entry
        request = asyncio.create_task(flight.run(key, lambda data: data, compute))
        await asyncio.sleep(0.2)  # polling: the entry is not there yet
        lose.arm("EVALSHA")  # the next look at the entry (and its lock)
        await lose.until_in_flight()
        request.cancel()  # what the server does to a request still running when its graceful period ends
        done, _ = await asyncio.wait([request], timeout=1.0)
        assert done, "the cancelled request was still waiting for the entry"
        assert request.cancelled() and computed == []
    finally:
        await redis.aclose()
