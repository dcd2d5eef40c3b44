"""A piece of work done every few seconds in a task of its own, until stopped.

One failing tick is logged and the next one runs anyway: a sampler that met a bad moment must not stop
sampling for the rest of the process's life.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from common.logging import get_logger
from common.tasks import cancel_and_wait

log = get_logger("hewston.periodic")


class Periodic:
    def __init__(self, name: str, interval_s: float, tick: Callable[[], Awaitable[None]]) -> None:
        self.name = name
        self.interval_s = interval_s
        self.tick = tick
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._forever(), name=self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            # Cancelled again if a tick lost its cancellation (in a Redis call); and the caller's own
            # cancellation, should it come meanwhile, is not swallowed as awaiting the cancelled task would.
            await cancel_and_wait([task])

    async def _forever(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("periodic_tick_failed", task=self.name)
            await asyncio.sleep(self.interval_s)
