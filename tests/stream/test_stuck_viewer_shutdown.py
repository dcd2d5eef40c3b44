"""An api node stops promptly even when a viewer's connection is stuck: the client stopped reading and the
socket buffers are full, so neither the 1001 close nor anything else can reach it. Such a connection once held a
stopping node for the whole graceful period (and past a Procfile runner's patience); it is now cut off."""

from __future__ import annotations

import asyncio
import time

import pytest
from websockets.exceptions import ConnectionClosed

from common.close_codes import CloseCode
from tests.stream.conftest import ALICE
from tests.support.stream_client import StreamViewer


async def test_a_node_with_a_stuck_viewer_stops_within_seconds(stack, alice_run):
    stack.relay()
    # Small socket buffers (a slow network), so that the viewer that reads nothing fills them within the test.
    api = stack.api(send_buffer_bytes=16_384, stream_viewer_queue_messages=200, stream_viewer_queue_mb=1)
    async with StreamViewer(api.http_url, alice_run, ALICE, receive_buffer_bytes=4096) as stuck, \
            StreamViewer(api.http_url, alice_run, ALICE) as healthy:
        stuck.ws.transport.pause_reading()
        await healthy.play()
        await healthy.until_cursor(3_000, timeout_s=30)
        began = time.monotonic()
        await asyncio.to_thread(api.stop)
        took = time.monotonic() - began
        assert not api.thread.is_alive() and took < 4.0, took
        # The viewer that reads still got its goodbye, and reconnects elsewhere.
        with pytest.raises(ConnectionClosed):
            await healthy.until(lambda _m: False, timeout_s=10)
        assert healthy.close_code == CloseCode.going_away
