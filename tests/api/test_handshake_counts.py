"""WebSocket handshakes arriving together share their rate-limit round trips to Redis, and every limit still holds
exactly: the N+1st handshake of a burst is refused, whatever batch it went in."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from api.count_batch import CountBatch
from api.metrics import ApiMetrics
from api.rate_limit import RateLimitMiddleware
from api.views import RedisGuard, RedisUnavailable
from common.keys import KeySpace
from common.redis_client import create_redis
from tests.support.rate_windows import seconds_to_fresh_window

WINDOW_S = 60


async def _handshakes(middleware: RateLimitMiddleware, count: int, address: str) -> tuple[list[dict], list[int]]:
    """``count`` handshakes from ``address`` at once: what each was answered, and which reached the app."""
    reached: list[int] = []

    async def one(index: int) -> dict:
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "websocket.connect"}

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {"type": "websocket", "path": "/api/v1/runs/r1/stream", "headers": [], "query_string": b"",
                 "client": (address, 1000 + index), "extensions": {}}
        await middleware(scope, receive, send)
        return sent[0] if sent else {}

    async def app(scope, receive, send) -> None:
        reached.append(scope["client"][1] - 1000)
        await send({"type": "websocket.accept"})

    middleware.app = app
    answers = await asyncio.gather(*(one(i) for i in range(count)))
    return list(answers), reached


@pytest.mark.redis
async def test_a_burst_of_handshakes_shares_round_trips_and_the_limit_still_refuses_the_one_over_it(real_redis_url):
    await asyncio.sleep(seconds_to_fresh_window(WINDOW_S, 5.0))
    redis = create_redis(real_redis_url, socket_timeout_s=2.0)
    metrics = ApiMetrics()
    guard = RedisGuard(redis, op_timeout_s=2.0, retry_after_s=1, retry_after_max_s=1, metrics=metrics)
    keys = KeySpace(prefix=f"t{uuid.uuid4().hex[:8]}")
    limit = 25
    middleware = RateLimitMiddleware(None, guard=guard, keys=keys, limit=1000, address_limit=limit,  # type: ignore[arg-type]
                                     window_s=WINDOW_S, metrics=metrics)
    try:
        answers, reached = await _handshakes(middleware, limit + 15, "10.0.0.7")
        # Exactly the budget got through; every other handshake was refused before the socket opened.
        assert len(reached) == limit
        refused = [a for a in answers if a["type"] == "websocket.close"]
        assert len(refused) == 15 and all(a["code"] == 1008 and a["reason"] == "rate limited" for a in refused)
        # Forty handshakes, but far fewer round trips: those that came while one was in flight went together.
        assert 1 <= middleware.handshakes.round_trips <= 2
        # Another address has its own budget, and a later single handshake of the first is still refused.
        answers, reached = await _handshakes(middleware, 1, "10.0.0.8")
        assert answers[0]["type"] == "websocket.accept"
        answers, reached = await _handshakes(middleware, 1, "10.0.0.7")
        assert answers[0]["type"] == "websocket.close" and not reached
    finally:
        await redis.aclose()


async def test_calls_made_while_a_round_trip_is_in_flight_go_together_in_the_next():
    sent: list[tuple[list, list]] = []
    release = asyncio.Event()

    async def round_trip(calls, reads):
        sent.append((calls, reads))
        await release.wait()
        return [f"result of {call}" for call in calls] + [f"value of {key}" for key in reads]

    batch = CountBatch(round_trip)
    first = asyncio.create_task(batch.run(["a"], ["k1"]))  # type: ignore[list-item]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    later = [asyncio.create_task(batch.run([f"b{i}", f"c{i}"], [f"k{i}"] if i % 2 else [])) for i in range(3)]  # type: ignore[list-item]
    await asyncio.sleep(0)
    assert len(sent) == 1  # the first went alone at once; the others wait for it
    release.set()
    assert await first == ["result of a", "value of k1"]
    assert [await task for task in later] == [
        ["result of b0", "result of c0"],
        ["result of b1", "result of c1", "value of k1"],
        ["result of b2", "result of c2"],
    ]
    assert sent[1] == (["b0", "c0", "b1", "c1", "b2", "c2"], ["k1"]) and batch.round_trips == 2


async def test_a_failed_round_trip_fails_every_call_in_it_and_a_caller_that_leaves_stops_nobody_else():
    release = asyncio.Event()
    outcomes = iter([None, RedisUnavailable("down")])

    async def round_trip(calls, reads):
        await release.wait()
        failure = next(outcomes)
        if failure is not None:
            raise failure
        return list(calls)

    batch = CountBatch(round_trip)
    leaving = asyncio.create_task(batch.run(["x"]))  # type: ignore[list-item]
    staying = asyncio.create_task(batch.run(["y"]))  # type: ignore[list-item]
    await asyncio.sleep(0)
    leaving.cancel()  # its client left while the round trip was in flight
    await asyncio.sleep(0)
    failing = [asyncio.create_task(batch.run([f"z{i}"])) for i in range(2)]  # type: ignore[list-item]
    release.set()
    assert await staying == ["y"]
    with pytest.raises(asyncio.CancelledError):
        await leaving
    for task in failing:
        with pytest.raises(RedisUnavailable):
            await task
