"""Running the parts of one connection side by side until the first one ends.

A socket's work is usually a few loops (send, receive, a periodic check): when one of them ends — the client
left, the upstream closed, access was withdrawn — the others have nothing left to do. They are cancelled and
awaited before returning, so nothing outlives the connection, and the first failure is raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable


async def until_first_ends(tasks: list[asyncio.Task[None]], *, quiet: Iterable[type[BaseException]] = ()) -> None:
    """Wait for the first of ``tasks`` to end, cancel and await the rest; raise what an ended task raised,
    unless it is one of ``quiet`` (the expected ways for a connection to end)."""
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        # wait, not gather: a gather cancelled from outside while its children are already cancelling
        # reports a cancellation that no enclosing cancel scope recognises as its own.
        await asyncio.wait(tasks)
    quiet = tuple(quiet)
    for task in done:
        exc = task.exception()
        if exc is not None and not isinstance(exc, quiet):
            raise exc
