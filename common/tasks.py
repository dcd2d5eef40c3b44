"""Task helpers: the parts of one connection side by side until the first one ends, and a role's background
loops supervised so that none dies silently.

A socket's work is usually a few loops (send, receive, a periodic check): when one of them ends — the client
left, the upstream closed, access was withdrawn — the others have nothing left to do. They are cancelled and
awaited before returning, so nothing outlives the connection, and the first failure is raised.

A role's background loops (the api node's stream reader and housekeeping, a relay's scan and control loops)
handle the failures they expect (Redis away) themselves; anything else would end the task without a trace while
the process looks healthy. :func:`supervise` logs it, counts it and starts the loop again with backoff.

A cancellation can be lost. Python 3.11's ``asyncio.wait_for``, through which redis-py sends every command, returns
the command's result instead of raising when the cancel lands just as the command completes; the loop that sent it
then simply goes on. So whoever cancels a task and waits for it to end (:func:`cancel_and_wait`) cancels it again
until it has ended, and a stop that must end in time gives that wait a deadline. A task cancelled by someone who
does not cancel again (the server cancels a request once when its graceful period ends) still counts the request
(``Task.cancelling()``): a loop of such a task ends itself with :func:`raise_if_cancelled`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from common.logging import get_logger

_log = get_logger("hewston.tasks")
# How long a cancelled task is given to end before it is cancelled again (its first cancellation may be lost).
RECANCEL_S = 0.1


async def until_first_ends(tasks: list[asyncio.Task[None]], *, quiet: Iterable[type[BaseException]] = ()) -> None:
    """Wait for the first of ``tasks`` to end, cancel and await the rest; raise what an ended task raised,
    unless it is one of ``quiet`` (the expected ways for a connection to end)."""
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        try:
            await cancel_and_wait(tasks)
        finally:
            # Every task's outcome is read, not only the first's, and also when this task is cancelled during the
            # wait: one that failed while being cancelled (or in the same instant as the first) would otherwise be
            # reported later as "Task exception was never retrieved".
            outcomes = {task: None if not task.done() or task.cancelled() else task.exception() for task in tasks}
    quiet = tuple(quiet)
    for task in done:
        exc = outcomes[task]
        if exc is not None and not isinstance(exc, quiet):
            raise exc


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]], *,
                          timeout_s: float | None = None) -> set[asyncio.Task[Any]]:
    """Cancel ``tasks`` and wait until each has ended, cancelling again every ``RECANCEL_S`` those still running
    (a lost cancellation, see above), for at most ``timeout_s`` (None: until they end). Returns the tasks still
    running at the deadline. If the caller is cancelled meanwhile, its tasks are still seen to the end (or the
    deadline) first, and the caller's cancellation is raised after."""
    pending = {task for task in tasks if not task.done()}
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    cancelled: asyncio.CancelledError | None = None
    while pending:
        wait_s = RECANCEL_S if deadline is None else min(RECANCEL_S, deadline - time.monotonic())
        if wait_s <= 0:
            break
        for task in pending:
            task.cancel()
        try:
            # wait, not gather: a gather cancelled from outside while its children are already cancelling
            # reports a cancellation that no enclosing cancel scope recognises as its own.
            await asyncio.wait(pending, timeout=wait_s)
        except asyncio.CancelledError as exc:
            # Raised again as it came (an enclosing cancel scope, e.g. anyio's, recognises its own by its message).
            cancelled = exc
        pending = {task for task in pending if not task.done()}
    if cancelled is not None:
        raise cancelled
    return pending


def raise_if_cancelled() -> None:
    """Raise the current task's cancellation if a call swallowed it (see above): for a loop whose canceller cancels
    only once. Never in clean-up that runs after a cancellation on purpose (a ``finally``): it would end that too."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class RestartCounter(Protocol):
    """A counter labelled by task name (a Prometheus ``Counter`` with one label)."""

    def labels(self, *names: str) -> Any: ...


def supervise(loop: Callable[[], Awaitable[None]], *, name: str, restarts: RestartCounter,
              backoff_s: float = 0.1, backoff_max_s: float = 10.0) -> asyncio.Task[None]:
    """Run a background loop of a role as a task that never dies silently: when ``loop()`` raises (or returns,
    which a loop meant to run forever must not), the failure is logged with its traceback, counted in
    ``restarts`` under ``name`` and the loop started again after a backoff that doubles up to ``backoff_max_s``
    and starts over once the loop has run that long without failing. Only cancelling the task ends it."""
    return asyncio.create_task(_supervised(loop, name, restarts, backoff_s, backoff_max_s), name=name)


async def _supervised(loop: Callable[[], Awaitable[None]], name: str, restarts: RestartCounter,
                      backoff_s: float, backoff_max_s: float) -> None:
    delay_s = backoff_s
    while True:
        started = time.monotonic()
        try:
            await loop()
            error: BaseException | None = None
        except Exception as exc:  # noqa: BLE001 - whatever it was, the loop must go on
            error = exc
        if time.monotonic() - started >= backoff_max_s:
            delay_s = backoff_s  # it ran well for a while: this is a new failure, not a crash loop
        restarts.labels(name).inc()
        _log.error("background_task_failed", task=name, restart_in_s=round(delay_s, 3),
                   error=repr(error) if error is not None else "returned", exc_info=error)
        await asyncio.sleep(delay_s)
        delay_s = min(delay_s * 2, backoff_max_s)
