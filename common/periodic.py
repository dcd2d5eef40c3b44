"""A piece of work done every few seconds in a task of its own, until stopped.

One failing tick is logged and the next one runs anyway: a sampler that met a bad moment must not stop
sampling for the rest of the process's life.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from common.logging import get_logger

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
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _forever(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("periodic_tick_failed", task=self.name)
            await asyncio.sleep(self.interval_s)
