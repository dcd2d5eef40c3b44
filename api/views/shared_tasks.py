"""One task per question on this node: callers asking the same thing while it is being answered share the answer.

A thousand viewers opening one run's stream at once ask the same access question, join the same run and may
miss the same history: each of those is asked once. The task runs on its own, so a caller that leaves (its
client disconnected) neither cancels it for the others nor leaves its failure unretrieved when nobody is left
to see it. Unlike ``api.views.single_flight`` nothing is shared across nodes, and nothing is kept once the task ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


def _settled(task: asyncio.Task) -> None:
    """A task several callers wait for may outlive them all; its failure is theirs to see, not the loop's."""
    if not task.cancelled():
        task.exception()


class SharedTasks(Generic[K, T]):
    def __init__(self) -> None:
        self._running: dict[K, asyncio.Task[T]] = {}

    async def run(self, key: K, start: Callable[[], Coroutine[Any, Any, T]], *, name: str | None = None) -> T:
        """The answer of the task running for ``key``, started with ``start()`` when none is."""
        task = self._running.get(key)
        if task is None:
            task = asyncio.create_task(start(), name=name)
            self._running[key] = task
            task.add_done_callback(lambda _done: self._running.pop(key, None))
            task.add_done_callback(_settled)
        return await asyncio.shield(task)
