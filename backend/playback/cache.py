"""Loaded runs shared by every playback connection of the process, least recently used out first.

A run's artifacts never change once written, so a loaded run stays valid for as long as memory allows. The
budget is in bytes because runs range from a hundred daily bars to a year of minutes. Concurrent first
requests for one run load it once: the load runs as its own task that every caller awaits, so a caller that
disconnects mid-load cancels neither the load nor the others waiting for it.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable

from backend.playback.data import PlaybackData


class RunCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._runs: OrderedDict[str, PlaybackData] = OrderedDict()
        self._loading: dict[str, asyncio.Task[PlaybackData]] = {}
        self.hits = 0
        self.loads = 0

    def __contains__(self, run_id: str) -> bool:
        return run_id in self._runs

    def loaded(self, run_id: str) -> PlaybackData | None:
        """The run if it is loaded now; never loads it, nor counts as a use."""
        return self._runs.get(run_id)

    @property
    def nbytes(self) -> int:
        return sum(data.nbytes for data in self._runs.values())

    async def get(self, run_id: str, load: Callable[[], PlaybackData]) -> PlaybackData:
        data = self._runs.get(run_id)
        if data is not None:
            self._runs.move_to_end(run_id)
            self.hits += 1
            return data
        task = self._loading.get(run_id)
        if task is None:
            self.loads += 1
            task = asyncio.get_running_loop().create_task(asyncio.to_thread(load), name=f"load-run-{run_id}")
            self._loading[run_id] = task
            task.add_done_callback(lambda done: self._loaded(run_id, done))
        return await asyncio.shield(task)

    def _loaded(self, run_id: str, task: asyncio.Task[PlaybackData]) -> None:
        self._loading.pop(run_id, None)
        if task.cancelled() or task.exception() is not None:
            return
        self._runs[run_id] = task.result()
        self._evict()

    def _evict(self) -> None:
        total = self.nbytes
        # Keep the newest run even when it alone is over budget: it is being played right now.
        while total > self.max_bytes and len(self._runs) > 1:
            _, data = self._runs.popitem(last=False)
            total -= data.nbytes
