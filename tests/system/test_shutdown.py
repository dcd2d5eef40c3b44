"""Stopping an api node always ends, and quickly, whatever its viewers are doing: SIGTERM, cycle after cycle, with
viewers reading, a viewer that stopped reading, and a socket that never sent its token. Every role is its own
process on 127.0.0.1 (``bench.cluster``); each cycle starts the node again from its Procfile line."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bench.cluster import ALICE, Cluster, create_run
from common.close_codes import CloseCode
from tests.support.stream_client import StreamViewer

pytestmark = [pytest.mark.system, pytest.mark.timeout(420)]

CYCLES = 8
# Within a Procfile runner's patience (it kills what is still running 5 s after its SIGTERM) with room to spare.
STOPPED_WITHIN_S = 4.0


async def attach_viewers(api_url: str, run_id: str) -> tuple[list[StreamViewer], StreamViewer, object]:
    """Three viewers reading, one whose socket stopped being read, one socket that never authenticated."""
    readers = [StreamViewer(api_url, run_id, ALICE) for _ in range(3)]
    for viewer in readers:
        await viewer.__aenter__()
    await readers[0].play(speed=600)
    await asyncio.gather(*(viewer.until_cursor(viewer.continuity.cursor or 0) for viewer in readers))
    stalled = StreamViewer(api_url, run_id, ALICE, receive_buffer_bytes=4096)
    await stalled.__aenter__()
    await stalled.until(lambda m: m["type"] == "hello")
    stalled.ws.transport.pause_reading()
    silent = await connect(f"{api_url.replace('http', 'ws', 1)}/api/v1/runs/{run_id}/stream", close_timeout=1)
    start = max(viewer.continuity.cursor or 0 for viewer in readers)
    await asyncio.gather(*(viewer.until_cursor(start + 300) for viewer in readers))
    return readers, stalled, silent


async def one_cycle(cluster: Cluster, run_id: str) -> float:
    api = cluster.api_nodes[0]
    if not api.running():
        api.start().wait_listening(60)
    readers, stalled, silent = await attach_viewers(api.url, run_id)
    try:
        began = time.monotonic()
        api.proc.send_signal(signal.SIGTERM)
        for viewer in readers:
            with pytest.raises(ConnectionClosed):
                await viewer.until(lambda _m: False, timeout_s=10)
            assert viewer.close_code == CloseCode.going_away, viewer.close_code
        code = await asyncio.to_thread(api.proc.wait, 30)
        took = time.monotonic() - began
        assert code == 0, api.log()[-3000:]
        return took
    finally:
        for viewer in (*readers, stalled):
            viewer.ws.transport.abort()
        await silent.close()


def test_an_api_node_with_viewers_stops_cleanly_and_quickly_every_time(tmp_path):
    with Cluster(tmp_path, apis=1, relays=1, worker=False) as cluster:
        run_id = create_run(cluster.api_nodes[0].url, days=20)

        async def cycles() -> list[float]:
            return [await one_cycle(cluster, run_id) for _ in range(CYCLES)]

        durations = asyncio.run(cycles())
        log = cluster.api_nodes[0].log()
        # Then every other role, as a supervisor stops a deployment: each ends by itself, cleanly.
        began = time.monotonic()
        codes = cluster.stop()
        everything_s = time.monotonic() - began
    print("api shutdown durations (s):", [round(took, 2) for took in durations], "then every role:",
          round(everything_s, 2))
    assert set(codes.values()) == {0}, codes
    assert everything_s < 3 * STOPPED_WITHIN_S, everything_s
    assert max(durations) < STOPPED_WITHIN_S, (durations, log[-3000:])
    assert "Traceback" not in log, log[-3000:]
