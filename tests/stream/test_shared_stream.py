"""The shared stream end to end over real sockets: backend, relays, api nodes and viewers, on both brokers."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from common.keys import KeySpace
from common.redis_client import create_redis
from common.stream.envelope import PlaybackPosition
from common.stream.store import Fenced, StreamStore
from tests.api.conftest import create_run
from tests.stream.conftest import ALICE, BOB, upstream_connections
from tests.support.stream_client import StreamViewer


async def test_two_viewers_receive_identical_sequences_from_one_upstream(stack, alice_run):
    stack.relay()
    api = stack.api()
    async with StreamViewer(api.http_url, alice_run, ALICE) as a, \
            StreamViewer(api.http_url, alice_run, ALICE, header_auth=True) as b:
        hello = await a.recv()
        assert hello["type"] == "hello" and hello["can_control"] and not hello["degraded"]
        await a.play()
        await asyncio.gather(a.until_cursor(600), b.until_cursor(600))
        await asyncio.gather(a.until_cursor(900), b.until_cursor(900))
        assert upstream_connections(stack.backend, alice_run) == 1
    common = min(len(a.published()), len(b.published()))
    assert common > 20 and a.published()[:common] == b.published()[:common]
    assert a.continuity.bar_times[:800] == b.continuity.bar_times[:800]


async def test_a_late_joiner_starts_at_a_snapshot_and_many_viewers_share_one_upstream(stack, alice_run):
    stack.relay()
    apis = [stack.api(), stack.api()]
    async with StreamViewer(apis[0].http_url, alice_run, ALICE) as first:
        await first.play()
        await first.until_cursor(900)  # past the backend's first periodic keyframe (every 2 s)
        late = [StreamViewer(apis[i % 2].http_url, alice_run, ALICE) for i in range(12)]
        for viewer in late:
            await viewer.__aenter__()
        try:
            for viewer in late:
                hello = await viewer.recv()
                assert hello["resume"] == "fresh" and hello["viewers"] >= 1
                start = await viewer.recv()
                assert start["type"] == "snapshot" and start["kind"] == "reset" and start["cause"] == "connect"
                assert start["cursor"] >= 0 and start["stats"]["bars_played"] == start["cursor"] + 1
            await asyncio.gather(*(viewer.until_cursor(first.continuity.cursor + 100) for viewer in late))
            # Thirteen viewers on two api nodes: the backend still plays the run once, and every node counts
            # the viewers of all of them (within a demand refresh).
            assert upstream_connections(stack.backend, alice_run) == 1
            assert await viewers_counted(apis[1].http_url, alice_run, expected=14)
        finally:
            for viewer in late:
                await viewer.close()


async def viewers_counted(api_url: str, run_id: str, *, expected: int, within_s: float = 15.0) -> bool:
    """Whether a viewer joining ``api_url`` is told, within a few demand refreshes, that ``expected`` watch."""
    deadline = asyncio.get_running_loop().time() + within_s
    while asyncio.get_running_loop().time() < deadline:
        async with StreamViewer(api_url, run_id, ALICE) as probe:
            if (await probe.recv())["viewers"] == expected:
                return True
        await asyncio.sleep(0.5)
    return False


async def test_resume_by_offset_recovers_everything_missed(stack, alice_run):
    stack.relay()
    api = stack.api()
    async with StreamViewer(api.http_url, alice_run, ALICE) as watcher:
        await watcher.play()
        viewer = StreamViewer(api.http_url, alice_run, ALICE)
        async with viewer:
            await viewer.until_cursor(200)
        await watcher.until_cursor(viewer.continuity.cursor + 400)  # about a second and a half away
        resumed = StreamViewer(api.http_url, alice_run, ALICE, continue_from=viewer)
        async with resumed:
            hello = await resumed.recv()
            assert hello["resume"] == "recovered" and hello["offset"] == viewer.continuity.offset
            await resumed.until_cursor(watcher.continuity.cursor + 100)
    # Every missed message came, in order (the checker saw no gap and no reset): the bars across the reconnect
    # are exactly those of a viewer that stayed.
    assert resumed.continuity.resets == []
    bars, stayed = resumed.continuity.bar_times, watcher.continuity.bar_times
    common = min(len(bars), len(stayed))
    assert common > len(viewer.continuity.bar_times) + 300 and bars[:common] == stayed[:common]


async def test_resume_on_another_node_reads_older_history_from_redis(stack, alice_run):
    stack.relay()
    near, far = stack.api(), stack.api(stream_recent_messages=0)
    async with StreamViewer(near.http_url, alice_run, ALICE) as viewer:
        await viewer.play()
        await viewer.until_cursor(500)
    await asyncio.sleep(0.5)
    # The far node remembers nothing: what was missed comes from the run's stream in Redis.
    async with StreamViewer(far.http_url, alice_run, ALICE, continue_from=viewer) as resumed:
        assert (await resumed.recv())["resume"] == "recovered"
        await resumed.until_cursor(viewer.continuity.cursor + 300)
    assert resumed.continuity.resets == []


async def test_a_resume_from_another_epoch_or_beyond_the_stream_is_reset(stack, alice_run):
    stack.relay()
    api = stack.api()
    async with StreamViewer(api.http_url, alice_run, ALICE) as viewer:
        await viewer.until(lambda m: m["type"] == "snapshot")
    for resume in [("otherepoch", 3), (viewer.continuity.epoch, 10_000_000)]:
        async with StreamViewer(api.http_url, alice_run, ALICE, resume=resume) as again:
            hello = await again.recv()
            assert hello["resume"] == "reset"
            snapshot = await again.recv()
            assert snapshot["type"] == "snapshot" and snapshot["cause"] == "history_lost"


async def test_a_resume_beyond_retention_is_reset(stack, alice_run):
    stack.relay()
    api = stack.api()
    async with StreamViewer(api.http_url, alice_run, ALICE) as watcher:
        await watcher.play()
        async with StreamViewer(api.http_url, alice_run, ALICE) as viewer:
            await viewer.until_cursor(100)
        keyframe = await watcher.until(lambda m: m["type"] == "snapshot" and m["kind"] == "keyframe")
    # Retention removed everything before the pinned keyframe (it never removes the keyframe or what follows).
    redis = create_redis(stack.broker_url)
    try:
        stream = KeySpace(stack.prefix).run_stream(alice_run).stream
        await redis.xtrim(stream, minid=f"{keyframe['offset']}-0")
    finally:
        await redis.aclose()
    elsewhere = stack.api(stream_recent_messages=0)
    async with StreamViewer(elsewhere.http_url, alice_run, ALICE, continue_from=viewer) as resumed:
        assert (await resumed.recv())["resume"] == "reset"
        snapshot = await resumed.recv()
        assert snapshot["kind"] == "reset" and snapshot["cause"] == "history_lost"
        assert snapshot["offset"] >= keyframe["offset"]


async def test_another_relay_takes_over_without_gap_or_duplicate(stack, alice_run):
    first = stack.relay()
    api = stack.api()
    async with StreamViewer(api.http_url, alice_run, ALICE) as viewer:
        await viewer.play()
        await viewer.until_cursor(400)
        await stack.kill(first)  # its lease is left to expire, as if the process died mid-playback
        stack.relay()
        resumed = await viewer.until(lambda m: m["type"] == "upstream" and m["state"] == "resumed")
        assert "took over" in resumed["reason"]
        await viewer.until_cursor(viewer.continuity.cursor + 600)
        assert upstream_connections(stack.backend, alice_run) == 1
    # The continuity checker saw every bar exactly once, in order, across the takeover.
    bars = viewer.continuity.bar_times
    assert viewer.continuity.resets == ["connect"] and bars == sorted(set(bars))
    assert all(later - earlier == 60 for earlier, later in zip(bars, bars[1:], strict=False))


async def test_a_stale_relay_cannot_append_after_losing_its_lease(broker_url):
    redis = create_redis(broker_url)
    store = StreamStore(redis, KeySpace(f"hwtest-fence-{id(redis)}"))
    try:
        claim = await store.claim("run-x", "relay-a", lease_ttl_ms=50)
        await asyncio.sleep(0.12)  # relay a is paused past its lease
        assert await store.claim("run-x", "relay-b", lease_ttl_ms=5_000) is not None
        with pytest.raises(Fenced):
            await store.append("run-x", "relay-a", offset=claim.offset + 1, message_type="frame", data=b"{}",
                               epoch=claim.epoch, position=PlaybackPosition())
        await store.append("run-x", "relay-b", offset=claim.offset + 1, message_type="frame", data=b"{}",
                           epoch=claim.epoch, position=PlaybackPosition())
        assert not await store.renew("run-x", "relay-a", lease_ttl_ms=5_000)
    finally:
        await redis.delete(*store.keys.run_stream("run-x").all())
        await redis.aclose()


async def test_a_viewer_that_never_reads_does_not_delay_the_others(stack, alice_run):
    stack.relay()
    # Small queues and socket buffers (a slow network), so that the stalled viewer overflows within the test.
    api = stack.api(send_buffer_bytes=16_384, stream_viewer_queue_messages=200, stream_viewer_queue_mb=1)
    async with StreamViewer(api.http_url, alice_run, ALICE, receive_buffer_bytes=4096) as stalled, \
            StreamViewer(api.http_url, alice_run, ALICE) as healthy:
        stalled.ws.transport.pause_reading()  # its socket buffers fill up; it reads nothing
        await healthy.play()
        await healthy.until_cursor(3_000, timeout_s=30)
        await stalled.resume_reading_and_resync(bars_after=20)
    assert healthy.continuity.resets == ["connect"] and healthy.continuity.skipped == 0


async def test_viewers_who_may_not_see_a_run_are_refused(stack, alice_run):
    stack.relay()
    api = stack.api()
    for token, code in [(BOB, 4404), ("hw_not_a_token", 4401)]:
        async with StreamViewer(api.http_url, alice_run, token) as viewer:
            with pytest.raises(ConnectionClosed) as closed:
                await viewer.recv()
            assert closed.value.rcvd.code == code


async def test_followers_cannot_control_and_a_control_error_reaches_only_its_sender(stack, shared_run):
    stack.relay()
    api = stack.api()
    async with StreamViewer(api.http_url, shared_run, ALICE) as owner, \
            StreamViewer(api.http_url, shared_run, BOB) as follower:
        assert (await follower.recv())["can_control"] is False
        await owner.until(lambda m: m["type"] == "snapshot")
        await follower.until(lambda m: m["type"] == "snapshot")
        await follower.send({"type": "play", "ref": "bob-1"})
        refused = await follower.until(lambda m: m["type"] == "error")
        assert (refused["code"], refused["ref"]) == ("forbidden", "bob-1")
        # The backend's own refusal goes back to the owner alone: stepping before the first bar.
        await owner.send({"type": "step", "bars": -1, "ref": "alice-1"})
        error = await owner.until(lambda m: m["type"] == "error")
        assert (error["code"], error["ref"]) == ("invalid_control", "alice-1")
        await owner.send({"type": "seek", "cursor": 250})
        seen = await follower.until(lambda m: m["type"] == "snapshot" and m["cursor"] == 250)
        assert seen["kind"] == "reset" and seen["cause"] == "seek"
        await asyncio.sleep(0.3)
    assert not [m for m in follower.messages if m["type"] == "error" and m["ref"] != "bob-1"]


async def test_a_follower_is_closed_with_4403_when_the_run_is_unshared(stack, stream_backend):
    run = create_run(stream_backend.http_url, ALICE)
    owner = {"Authorization": f"Bearer {ALICE}"}
    httpx.post(f"{stream_backend.http_url}/backtests/{run['id']}/shares", json={"user": "bob"}, headers=owner)
    stack.relay()
    api = stack.api(access_cache_ttl_s=0.5)
    async with StreamViewer(api.http_url, run["id"], BOB) as follower:
        await follower.until(lambda m: m["type"] == "snapshot")
        httpx.delete(f"{stream_backend.http_url}/backtests/{run['id']}/shares/bob", headers=owner)
        with pytest.raises(ConnectionClosed) as closed:
            await follower.until(lambda m: False, timeout_s=15)
    assert closed.value.rcvd.code == 4403
