"""The stream under the conditions real networks produce: readers that stall and read in bursts, sockets that
fill, notices and errors interleaved with frames. Every message a viewer gets must be in order and be what the
run's stream holds under that offset."""

from __future__ import annotations

import asyncio
import random

import httpx
import orjson

from common.keys import KeySpace
from common.redis_client import create_redis
from tests.stream.conftest import ALICE, BOB
from tests.support.stream_client import PUBLISHED, StreamViewer

BURST_READERS = 4


async def _read_in_bursts(viewer: StreamViewer, rng: random.Random, until: asyncio.Event) -> None:
    """Read for a moment, then stop reading (the kernel buffers fill and push back on the server) for 0.5-3 s,
    sending a control this viewer may not give while it is stalled (its error is queued behind frames)."""
    assert viewer.ws is not None
    n = 0
    while not until.is_set():
        loop = asyncio.get_running_loop()
        burst_end = loop.time() + rng.uniform(0.2, 0.6)
        while loop.time() < burst_end:
            try:
                await viewer.recv(timeout_s=max(0.05, burst_end - loop.time()))
            except TimeoutError:
                break
        viewer.ws.transport.pause_reading()
        n += 1
        await viewer.send({"type": "seek", "cursor": 10, "ref": f"refused-{n}"})
        await asyncio.sleep(rng.uniform(0.5, 3.0))
        viewer.ws.transport.resume_reading()


async def _stream_entries(broker_url: str | None, prefix: str, run_id: str) -> dict[int, bytes]:
    redis = create_redis(broker_url)
    try:
        rows = await redis.xrange(KeySpace(prefix).run_stream(run_id).stream)
    finally:
        await redis.aclose()
    return {int(entry_id.decode().partition("-")[0]): fields[b"d"] for entry_id, fields in rows}


async def test_bursty_readers_get_every_message_in_order_through_play_pause_and_refused_controls(stack, shared_run):
    stack.relay()
    # Small server send buffers and a heartbeat every 0.2 s while paused: notices interleave with frames often.
    api = stack.api(send_buffer_bytes=8192, stream_heartbeat_s=0.2)
    rng = random.Random(16)
    done = asyncio.Event()
    async with StreamViewer(api.http_url, shared_run, ALICE) as owner:
        followers = [StreamViewer(api.http_url, shared_run, BOB, receive_buffer_bytes=4096)
                     for _ in range(BURST_READERS)]
        for follower in followers:
            await follower.__aenter__()
        try:
            readers = [asyncio.create_task(_read_in_bursts(f, rng, done)) for f in followers]
            await owner.play(speed=600)
            await owner.until_cursor(900, timeout_s=30)
            await owner.send({"type": "pause"})
            await asyncio.sleep(1.5)  # paused: only heartbeats flow
            await owner.send({"type": "play"})
            await owner.until_cursor(owner.continuity.cursor + 600, timeout_s=30)
            await owner.send({"type": "pause"})
            done.set()
            await asyncio.gather(*readers)
            # Drain: everything queued for each follower arrives, then a heartbeat at the same point.
            for follower in followers:
                follower.ws.transport.resume_reading()
                await follower.until(lambda m: m["type"] == "heartbeat", timeout_s=30)
        finally:
            for follower in followers:
                await follower.close()
    entries = await _stream_entries(stack.broker_url, stack.prefix, shared_run)
    for viewer in [owner, *followers]:
        # The strict continuity checker raised on any message out of order; what was received under each offset
        # is byte for byte what the stream holds there (a reset snapshot is relabelled, so it is compared apart).
        seen = [m for m in viewer.messages if m["type"] in PUBLISHED]
        assert seen, "no message arrived"
        for message in seen:
            stored = entries.get(message["offset"])
            if stored is None:
                continue  # trimmed since (only ever the oldest)
            expected = orjson.loads(stored)
            if message["type"] == "snapshot" and message["kind"] == "reset":
                expected.update(kind="reset", cause=message["cause"])
            assert message == expected
        assert viewer.continuity.resets[0] == "connect"
        assert all(cause in ("connect", "resync") for cause in viewer.continuity.resets)
    errors = [m for f in followers for m in f.messages if m["type"] == "error"]
    assert errors and all(e["code"] == "forbidden" for e in errors)


async def _node_demand(broker_url: str | None, prefix: str, run_id: str) -> dict[bytes, bytes]:
    redis = create_redis(broker_url)
    try:
        return await redis.hgetall(KeySpace(prefix).run_stream(run_id).viewers)
    finally:
        await redis.aclose()


async def test_a_viewer_that_stopped_reading_is_let_go_at_the_write_deadline(stack, alice_run):
    stack.relay()
    api = stack.api(send_buffer_bytes=8192, stream_write_deadline_s=1.0, stream_demand_refresh_s=0.2,
                    stream_viewer_queue_messages=200, stream_viewer_queue_mb=1)
    async with StreamViewer(api.http_url, alice_run, ALICE, receive_buffer_bytes=4096) as stalled:
        await stalled.play(speed=3000)
        await stalled.until_cursor(300)
        assert await _node_demand(stack.broker_url, stack.prefix, alice_run)
        stalled.ws.transport.pause_reading()  # the window fills; the server can write nothing more
        loop = asyncio.get_running_loop()
        stopped_at = loop.time()
        gone_at = None
        while loop.time() - stopped_at < 15:
            metrics = httpx.get(f"{api.http_url}/metrics").text
            if "hewston_stream_viewers 0.0" in metrics:
                gone_at = loop.time()
                break
            await asyncio.sleep(0.1)
        assert gone_at is not None, "the stalled viewer was never let go"
        # The deadline counts from when the socket stopped taking data, which is after the buffers filled.
        assert gone_at - stopped_at < 6
        assert 'hewston_stream_viewers_dropped_total{reason="write_deadline"} 1.0' in metrics
        # It was the run's last viewer here: the node withdraws its demand.
        for _ in range(50):
            if not await _node_demand(stack.broker_url, stack.prefix, alice_run):
                break
            await asyncio.sleep(0.1)
        assert not await _node_demand(stack.broker_url, stack.prefix, alice_run)


async def test_every_viewer_learns_the_viewer_count_while_playing_across_nodes(stack, shared_run):
    stack.relay()
    node_a = stack.api(stream_demand_refresh_s=0.2)
    node_b = stack.api(stream_demand_refresh_s=0.2)
    async with StreamViewer(node_a.http_url, shared_run, ALICE) as owner:
        await owner.play(speed=300)
        await owner.until_cursor(100)
        async with StreamViewer(node_b.http_url, shared_run, BOB) as follower:
            hello = await follower.until(lambda m: m["type"] == "hello")
            assert hello["viewers"] == 2
            joined = await owner.until(lambda m: m["type"] == "presence", timeout_s=5)
            assert joined["viewers"] == 2
        left = await owner.until(lambda m: m["type"] == "presence", timeout_s=5)
        assert left["viewers"] == 1
    # Frames kept flowing meanwhile: presence is not a heartbeat that waits for silence.
    frames = [m for m in owner.messages if m["type"] == "frame"]
    assert frames[-1]["cursor"] > 100
