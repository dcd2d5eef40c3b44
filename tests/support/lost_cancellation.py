"""A Redis call that swallows one cancellation, deterministically.

Python 3.11's ``asyncio.wait_for``, through which redis-py sends every command, returns the command's result instead
of raising when a cancellation lands just as the command completes: the task that sent it goes on as if it had
never been cancelled. A test arms one call by name; the next such call is then still in flight when the stop comes
(``in_flight`` is set), catches the cancellation and lets the real command run, as if it had completed at that
instant.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from common.stream.store import StreamStore


class LosesOneCancellation:
    def __init__(self) -> None:
        self.armed: str | None = None
        self.in_flight = asyncio.Event()
        self.calls: Counter[str] = Counter()

    def arm(self, call: str) -> None:
        self.armed = call

    async def call(self, name: str) -> None:
        """Await before the real call named ``name``: counts it, and loses the cancellation if it is armed."""
        self.calls[name] += 1
        if name != self.armed:
            return
        self.armed = None
        self.in_flight.set()
        try:
            await asyncio.Event().wait()  # the command in flight when the stop comes
        except asyncio.CancelledError:
            pass  # completed as the cancellation landed: its result is returned, the cancellation is gone

    async def until_in_flight(self, timeout_s: float = 10.0) -> None:
        await asyncio.wait_for(self.in_flight.wait(), timeout=timeout_s)


class LosingStreamStore(StreamStore):
    """The stream store whose armed call (a relay's ``renew``, ``append`` or ``demanded_runs``; an api node's
    ``join``, which a run's reload reads) loses the cancellation."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lose = LosesOneCancellation()

    async def renew(self, *args, **kwargs):
        await self.lose.call("renew")
        return await super().renew(*args, **kwargs)

    async def append(self, *args, **kwargs):
        await self.lose.call("append")
        return await super().append(*args, **kwargs)

    async def demanded_runs(self, *args, **kwargs):
        await self.lose.call("demanded_runs")
        return await super().demanded_runs(*args, **kwargs)

    async def join(self, *args, **kwargs):
        await self.lose.call("join")
        return await super().join(*args, **kwargs)
