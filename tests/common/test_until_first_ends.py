"""``until_first_ends``: the first task to end decides, and no other task's failure is left unread.
``cancel_and_wait``: a task whose cancellation was lost is cancelled again, and a stop with a deadline ends in it."""

from __future__ import annotations

import asyncio
import gc
import time

import pytest

from common.tasks import cancel_and_wait, raise_if_cancelled, until_first_ends


async def _fails_at_once() -> None:
    raise ValueError("first")


async def _fails_when_cancelled() -> None:
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        # As a relay's upstream loop does when its lease is fenced while it is being stopped.
        raise RuntimeError("second") from None


async def test_the_first_failure_is_raised_and_a_failure_while_cancelling_is_not_left_unread() -> None:
    unread: list[dict] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, context: unread.append(context))
    tasks = [asyncio.create_task(_fails_when_cancelled()), asyncio.create_task(_fails_at_once())]
    with pytest.raises(ValueError, match="first"):
        await until_first_ends(tasks)
    del tasks
    gc.collect()
    await asyncio.sleep(0)
    assert unread == []


async def test_a_quiet_ending_is_not_raised() -> None:
    async def ends() -> None:
        raise ConnectionError("closed")

    await until_first_ends([asyncio.create_task(ends()), asyncio.create_task(asyncio.sleep(60))],
                           quiet=[ConnectionError])


async def _loses_its_first_cancellation(ended: list[str]) -> None:
    """A loop whose Redis call swallowed the cancellation (Python 3.11's wait_for, when the command completed as the
    cancel landed): it goes on looping until it is cancelled again."""
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        pass
    while True:
        await asyncio.sleep(0.01)
        ended.append("still looping")


async def test_a_sibling_that_lost_its_cancellation_is_cancelled_again_until_it_ends() -> None:
    ended: list[str] = []
    looping = asyncio.create_task(_loses_its_first_cancellation(ended))
    await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await until_first_ends([looping, asyncio.create_task(asyncio.sleep(0))])
    assert looping.cancelled()


async def test_a_stop_with_a_deadline_ends_in_it_and_names_what_still_runs() -> None:
    stubborn_until = asyncio.Event()

    async def ignores_every_cancellation() -> None:
        while not stubborn_until.is_set():
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                pass

    stubborn = asyncio.create_task(ignores_every_cancellation())
    lost_once = asyncio.create_task(_loses_its_first_cancellation([]))
    await asyncio.sleep(0)
    started = time.monotonic()
    assert await cancel_and_wait([stubborn, lost_once], timeout_s=0.5) == {stubborn}
    assert time.monotonic() - started < 1.0 and lost_once.cancelled()
    stubborn_until.set()
    stubborn.cancel()
    await asyncio.wait([stubborn])


async def test_a_failure_while_cancelling_is_read_even_when_the_waiting_task_is_cancelled_again() -> None:
    """A relay's run is cancelled, and cancelled again while it waits for its loops (a stop cancels again what has
    not ended); the renew loop, stuck in a stalled Redis call, then fails: its failure is still read."""
    unread: list[dict] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, context: unread.append(context))
    stalled = asyncio.Event()

    async def fails_once_its_call_returns() -> None:
        while not stalled.is_set():  # a call in flight whose cancellations are lost, until it returns
            try:
                await stalled.wait()
            except asyncio.CancelledError:
                pass
        raise RuntimeError("the lease is held by another relay")

    children = [asyncio.create_task(fails_once_its_call_returns()), asyncio.create_task(asyncio.sleep(60))]
    run = asyncio.create_task(until_first_ends(children))
    await asyncio.sleep(0.05)
    run.cancel()
    await asyncio.sleep(0.05)
    run.cancel()  # again, while it waits for its children
    stalled.set()
    await asyncio.wait([run])
    assert run.cancelled()
    del children, run
    gc.collect()
    await asyncio.sleep(0)
    assert unread == []


async def test_a_cancellation_swallowed_by_wait_for_is_raised_by_the_loop_itself() -> None:
    """A real ``asyncio.wait_for`` (Python 3.11) that returns its result because the awaited call completed as the
    cancellation landed: the task goes on, but still counts the cancellation, and the loop's check raises it."""
    iterations: list[int] = []

    async def call() -> int:
        await asyncio.sleep(0)
        return 1

    async def loop() -> None:
        while True:
            iterations.append(await asyncio.wait_for(call(), timeout=5))
            raise_if_cancelled()

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)  # the loop is in wait_for, which has started the call
    await asyncio.sleep(0)  # the call completed; wait_for is about to return its result
    task.cancel()
    await asyncio.wait([task], timeout=1)
    assert task.cancelled() and iterations == [1]  # the cancellation was swallowed, then raised by the check
