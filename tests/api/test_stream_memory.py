"""What an api node keeps of its runs' streams is bounded in bytes, per run and for the whole node, and never
loses what a newcomer needs: the pinned snapshot and every message after it."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import pytest
from prometheus_client import CollectorRegistry

from api.stream.feed import RunFeed
from api.stream.hub import StreamHub
from api.stream.memory import bound_node_memory
from api.stream.metrics import StreamMetrics
from api.stream.viewer import QueueLimits, Viewer
from common.keys import KeySpace
from common.redis_client import create_redis
from common.stream.envelope import PlaybackPosition
from common.stream.reader import StreamReader
from common.stream.store import Entry, JoinState, StreamStore
from tests.api.conftest import api_settings
from tests.api.test_stream_units import FakeWriter

PAD = "x" * 5_000  # a frame of a playback at top speed is tens of kilobytes; this one is five


def big_entry(offset: int, kind: str = "frame", epoch: str = "e1") -> Entry:
    return Entry(offset, kind, epoch, orjson.dumps({"type": kind, "epoch": epoch, "offset": offset, "pad": PAD}))


def played(feed: RunFeed, upto: int, *, keyframe_every: int = 10) -> None:
    """Feed messages up to ``upto`` as a relay publishes them: a keyframe every ``keyframe_every`` messages."""
    for offset in range(feed.last_offset + 1, upto + 1):
        kind = "snapshot" if offset % keyframe_every == 0 else "frame"
        assert feed.on_entries([big_entry(offset, kind)]).overflowed == []


def new_feed(run_id: str = "r", *, recent_bytes: int, recent_messages: int = 2048) -> RunFeed:
    feed = RunFeed(run_id, recent_messages=recent_messages, recent_bytes=recent_bytes)
    feed.load(JoinState("e1", 1, big_entry(1, "snapshot"), [], "0-0"))
    return feed


def test_a_feed_over_its_byte_bound_stays_within_it_and_keeps_the_snapshot_and_what_follows():
    bound = 200_000
    feed = new_feed(recent_bytes=bound)
    played(feed, 500)
    assert 0 < feed.memory_bytes <= bound
    # Far fewer than the 2,048 messages the count alone would keep.
    assert len(feed.recent) < 2048 / 10
    offsets = [item.offset for item in feed.recent]
    assert offsets == list(range(offsets[0], 501))  # a contiguous window ending with the newest message
    assert offsets[0] <= feed.snapshot.offset == 500
    # A snapshot followed by more than the bound is never cut: a newcomer needs all of it.
    played(feed, 600, keyframe_every=10**9)
    assert feed.recent[0].offset <= 500 and feed.recent[-1].offset == 600
    assert feed.memory_bytes > bound


def test_a_node_over_its_bound_trims_the_largest_runs_first_and_stays_within_it():
    small = new_feed("small", recent_bytes=10**9)
    played(small, 30)
    large = [new_feed(f"large-{i}", recent_bytes=10**9) for i in range(3)]
    for feed in large:
        played(feed, 400)
    small_bytes = small.memory_bytes
    total = small_bytes + sum(feed.memory_bytes for feed in large)
    bound = total // 3
    kept = bound_node_memory([small, *large], bound)
    assert kept == small.memory_bytes + sum(feed.memory_bytes for feed in large) <= bound
    assert small.memory_bytes == small_bytes  # the smallest run lost nothing
    sizes = [feed.memory_bytes for feed in large]
    assert max(sizes) - min(sizes) <= 2 * max(item_bytes(feed) for feed in large)  # trimmed to about the same
    for feed in [small, *large]:
        assert feed.recent[-1].offset == feed.last_offset and feed.recent[0].offset <= feed.snapshot.offset


def test_a_node_whose_snapshots_alone_exceed_the_bound_keeps_them():
    feeds = [new_feed(f"r{i}", recent_bytes=10**9) for i in range(2)]
    for feed in feeds:
        played(feed, 25, keyframe_every=10)
    bound_node_memory(feeds, 1)
    for feed in feeds:
        assert [item.offset for item in feed.recent] == list(range(20, 26))


def item_bytes(feed: RunFeed) -> int:
    return feed.memory_bytes // len(feed.recent)


@pytest.fixture(params=["embedded", "redis"])
def broker(request) -> str | None:
    return None if request.param == "embedded" else request.getfixturevalue("real_redis_url")


async def test_a_hub_reading_many_busy_runs_stays_within_its_node_bound(broker):
    keys = KeySpace(f"hwtest-{uuid.uuid4().hex[:8]}")
    redis = create_redis(broker)
    store = StreamStore(redis, keys)
    node_mb = 1
    settings = api_settings("http://127.0.0.1:9", broker, stream_node_memory_mb=node_mb, stream_recent_mb=1)
    reader = StreamReader(create_redis(broker), redis, keys.reader_wake("test"), block_ms=100)
    hub = StreamHub(store=store, reader=reader, keys=keys, settings=settings,
                    metrics=StreamMetrics(CollectorRegistry()), node_id="n", access=None)  # type: ignore[arg-type]
    runs = [f"run-{i}" for i in range(4)]
    claims = {run: await store.claim(run, "relay", lease_ttl_ms=60_000) for run in runs}
    await hub.start()
    try:
        for run in runs:
            viewer = Viewer(FakeWriter(), run_id=run, client_id=hub.new_client_id(),  # type: ignore[arg-type]
                            can_control=False, limits=QueueLimits(512, 1 << 30))
            await hub.attach(viewer, None, None)
        for offset in range(1, 121):
            for run in runs:
                kind = "snapshot" if offset % 10 == 1 else "frame"
                await store.append(run, "relay", offset=offset, message_type=kind,
                                   data=big_entry(offset, kind, claims[run].epoch).data, epoch=claims[run].epoch,
                                   position=PlaybackPosition())
        async with asyncio.timeout(10):
            while any(feed.last_offset < 120 for feed in hub.feeds.values()):
                await asyncio.sleep(0.02)
        total = sum(feed.memory_bytes for feed in hub.feeds.values())
        assert total <= node_mb * 1024 * 1024 < 4 * 120 * 2 * len(PAD)  # unbounded, it would hold ~4.8 MB
        assert hub.metrics.memory_bytes._value.get() == total
    finally:
        await hub.stop()
        await redis.delete(*(k for run in runs for k in keys.run_stream(run).all()), keys.stream_demand(),
                           keys.reader_wake("test"))
        await reader.blocking.aclose()
        await redis.aclose()
