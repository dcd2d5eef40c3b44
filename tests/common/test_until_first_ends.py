"""``until_first_ends``: the first task to end decides, and no other task's failure is left unread."""

from __future__ import annotations

import asyncio
import gc

import pytest

from common.tasks import until_first_ends


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
