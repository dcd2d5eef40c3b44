"""Rate-limit counts of requests arriving together, sent to Redis in one round trip.

When thousands of viewers open their sockets at one instant, each handshake counts against its budgets with one
Redis call: a round trip, a timeout and a pipeline per handshake, all for a few bytes each. :class:`CountBatch`
sends the first call at once, and every call that arrives while that round trip is in flight waits for it to end
and then goes with the others in the next one: one pipeline, one timeout, one answer split back to each caller.
Nothing waits on a timer, so a lone request pays no delay, and a burst costs a round trip per batch, not per request.

Every call still runs exactly once and gets its own scripts' results (an ``INCR`` per budget, atomic in Redis), so
every limit holds exactly as it does unbatched. A batch that fails fails every call in it, as each of them would
have failed alone against the same Redis. A call waits for the round trips ahead of it (the one in flight, and more
only in a burst beyond ``max_calls``) and then its own, each bounded by the guard's timeout.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.commands.core import AsyncScript

Call = tuple[AsyncScript, list[str], list[Any]]
# Runs scripts and reads in one round trip: the scripts' results first, then the values read (``call_scripts``).
RoundTrip = Callable[[list[Call], list[str]], Awaitable[list[Any]]]


@dataclass
class _Waiting:
    calls: list[Call]
    reads: Sequence[str]
    answer: asyncio.Future[list[Any]]


class CountBatch:
    """Calls made while a round trip is in flight go together in the next one (at most ``max_calls`` a batch)."""

    def __init__(self, round_trip: RoundTrip, *, max_calls: int = 512) -> None:
        self._round_trip = round_trip
        self._max_calls = max_calls
        self._waiting: deque[_Waiting] = deque()
        self._sender: asyncio.Task[None] | None = None
        self.round_trips = 0  # how many batches were sent (for tests and benchmarks)

    async def run(self, calls: list[Call], reads: Sequence[str] = ()) -> list[Any]:
        """``calls``' results, then the values of ``reads``, as one ``call_scripts`` would answer them."""
        answer = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(calls, reads, answer))
        if self._sender is None:
            # The sender is a task of its own, so a caller that gives up (its client left, its timeout passed)
            # cancels only its own wait, never the round trip the others are waiting for.
            self._sender = asyncio.get_running_loop().create_task(self._send_all(), name="rate-limit-counts")
        return await answer

    async def _send_all(self) -> None:
        try:
            while self._waiting:
                batch = self._take()
                self.round_trips += 1
                await self._send(batch)
        finally:
            self._sender = None

    def _take(self) -> list[_Waiting]:
        batch, size = [], 0
        while self._waiting and (not batch or size + len(self._waiting[0].calls) <= self._max_calls):
            waiting = self._waiting.popleft()
            batch.append(waiting)
            size += len(waiting.calls)
        return batch

    async def _send(self, batch: list[_Waiting]) -> None:
        calls = [call for waiting in batch for call in waiting.calls]
        reads = [key for waiting in batch for key in waiting.reads]
        try:
            results = await self._round_trip(calls, reads)
        except Exception as exc:  # noqa: BLE001 - every caller gets what its own call would have raised
            for waiting in batch:
                if not waiting.answer.done():
                    waiting.answer.set_exception(exc)
            return
        except BaseException:  # cancelled (the node is stopping): nobody may be left waiting
            for waiting in (*batch, *self._waiting):
                waiting.answer.cancel()
            raise
        count_at, read_at = 0, len(calls)
        for waiting in batch:
            n, m = len(waiting.calls), len(waiting.reads)
            if not waiting.answer.done():
                waiting.answer.set_result([*results[count_at:count_at + n], *results[read_at:read_at + m]])
            count_at, read_at = count_at + n, read_at + m
