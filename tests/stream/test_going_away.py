"""Shutting an api node down: its viewers are closed with 1001 (going away) before the server stops, and resume
on another node by offset without missing anything."""

from __future__ import annotations

import asyncio

import pytest
from websockets.exceptions import ConnectionClosed

from common.close_codes import CloseCode, should_reconnect
from tests.stream.conftest import ALICE
from tests.support.stream_client import StreamViewer


async def test_a_stopping_node_sends_its_viewers_to_another_with_1001_and_nothing_is_missed(stack, alice_run):
    stack.relay()
    leaving, staying = stack.api(), stack.api()
    async with StreamViewer(staying.http_url, alice_run, ALICE) as witness:
        viewers = [StreamViewer(leaving.http_url, alice_run, ALICE) for _ in range(3)]
        for viewer in viewers:
            await viewer.__aenter__()
        await viewers[0].play()
        await asyncio.gather(*(viewer.until_cursor(300) for viewer in viewers))
        stopping = asyncio.create_task(asyncio.to_thread(leaving.stop))
        for viewer in viewers:
            with pytest.raises(ConnectionClosed):
                await viewer.until(lambda _m: False, timeout_s=10)
            assert viewer.close_code == CloseCode.going_away and should_reconnect(viewer.close_code)
            assert "reconnect" in viewer.close_reason
        await stopping
        resumed = [StreamViewer(staying.http_url, alice_run, ALICE, continue_from=viewer) for viewer in viewers]
        for viewer in resumed:
            await viewer.__aenter__()
        try:
            for viewer in resumed:
                assert (await viewer.recv())["resume"] == "recovered"
            target = max(viewer.continuity.cursor for viewer in viewers) + 300
            await asyncio.gather(*(viewer.until_cursor(target) for viewer in resumed), witness.until_cursor(target))
        finally:
            for viewer in resumed:
                await viewer.close()
    for viewer in resumed:
        assert viewer.continuity.resets == []
        common = min(len(viewer.continuity.bar_times), len(witness.continuity.bar_times))
        assert viewer.continuity.bar_times[:common] == witness.continuity.bar_times[:common]
