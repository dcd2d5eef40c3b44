"""The api node's hub on a real Redis, without sockets, with the races of a run's first moments forced in order:
what each viewer is queued must pass the same continuity check a real client makes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import orjson
import pytest
from prometheus_client import CollectorRegistry

from api.stream.hub import StreamHub
from api.stream.metrics import StreamMetrics
from api.stream.viewer import QueueLimits, Viewer
from common.keys import KeySpace
from common.redis_client import create_redis
from common.stream.envelope import PlaybackPosition
from common.stream.reader import StreamReader
from common.stream.store import StreamStore, stream_id
from tests.api.conftest import api_settings
from tests.api.test_stream_units import FakeWriter
from tests.support.redis_keys import delete_key_space
from tests.support.stream_client import Continuity

RUN = "run"


@dataclass
class Node:
    hub: StreamHub
    store: StreamStore
    reader: StreamReader

    def viewer(self, n: int) -> Viewer:
        return Viewer(FakeWriter(), run_id=RUN, client_id=f"n-{n}", can_control=False,  # type: ignore[arg-type]
                      limits=QueueLimits(512, 1 << 20))

    async def repairs_done(self) -> None:
        """Wait for the reload (or check) the hub started for the run, if it started one."""
        task = self.hub._reloading.get(RUN)
        if task is not None:
            await task

    async def read_once(self) -> None:
        """One read of the node's reader, handed to the hub as its read loop does."""
        for key, entries in await self.reader.read():
            self.hub._dispatch(key, entries)


@pytest.fixture
async def node(redis_url) -> AsyncIterator[Node]:
    keys = KeySpace(f"hwtest-{uuid.uuid4().hex[:8]}")
    redis = create_redis(redis_url)
    store = StreamStore(redis, keys)
    reader = StreamReader(create_redis(redis_url), redis, keys.reader_wake("test"), block_ms=100)
    hub = StreamHub(store=store, reader=reader, keys=keys, settings=api_settings("http://127.0.0.1:9", redis_url),
                    metrics=StreamMetrics(CollectorRegistry()), node_id="n", access=None)  # type: ignore[arg-type]
    try:
        yield Node(hub, store, reader)
    finally:
        await reader.blocking.aclose()
        await redis.aclose()
        delete_key_space(redis_url, keys)


async def publish_first_snapshot(store: StreamStore, epoch: str) -> None:
    """What a relay publishes first on a new stream: a snapshot that is a reset for everybody (cause connect)."""
    data = orjson.dumps({"type": "snapshot", "epoch": epoch, "offset": 1, "cursor": -1, "time": None,
                         "kind": "reset", "cause": "connect"})
    await store.append(RUN, "relay", offset=1, message_type="snapshot", data=data, epoch=epoch,
                       position=PlaybackPosition())


def check_queue(viewer: Viewer) -> Continuity:
    """Every message queued for ``viewer``, in order, through the client's strict continuity check."""
    continuity = Continuity()
    for item in viewer._queue:
        continuity.check(orjson.loads(item.text))
    return continuity


async def test_a_viewer_waiting_for_a_runs_first_snapshot_gets_no_position_from_before_it(node):
    """A relay records the run's epoch when it claims the run and publishes the first snapshot a moment later.
    A demand refresh in between sees the epoch already: the node must not move its viewers into that epoch
    before they have its snapshot, or a presence or heartbeat sent meanwhile carries an epoch their ``hello``
    never gave them (a reset snapshot is the only message that may change a viewer's epoch)."""
    viewer = node.viewer(1)
    assert (await node.hub.attach(viewer, None, None)).value == "fresh"  # nobody relays the run yet
    claim = await node.store.claim(RUN, "relay", lease_ttl_ms=60_000)   # the epoch exists; no snapshot yet
    await node.hub._refresh_demand()                                    # learns the epoch
    await node.repairs_done()
    node.hub.feeds[RUN].remote_viewers = 1                             # someone joined on another node
    feed = node.hub.feeds[RUN]
    feed.broadcast_own({"type": "presence", "ts": 0, "viewers": feed.viewer_count})
    assert [orjson.loads(item.text)["type"] for item in viewer._queue] == ["hello", "presence"]
    assert check_queue(viewer).epoch is None  # still where its hello put it
    await publish_first_snapshot(node.store, claim.epoch)
    await node.read_once()
    await node.repairs_done()
    continuity = check_queue(viewer)  # the reset takes the place of what was still queued
    assert (continuity.epoch, continuity.offset, continuity.resets) == (claim.epoch, 1, ["connect"])


async def test_the_first_snapshot_read_while_the_node_looks_at_an_empty_epoch_still_reaches_its_viewers(node):
    """The reader takes the first snapshot while a reload started by the demand refresh (which found the epoch
    but no snapshot) is still on its way; that reload must not leave the snapshot read and dropped."""
    viewer = node.viewer(1)
    await node.hub.attach(viewer, None, None)
    claim = await node.store.claim(RUN, "relay", lease_ttl_ms=60_000)
    joined = node.store.join
    snapshot_published = False

    async def join_then_publish(run_id: str):
        nonlocal snapshot_published
        state = await joined(run_id)  # the epoch without a snapshot
        if not snapshot_published:
            snapshot_published = True
            await publish_first_snapshot(node.store, claim.epoch)
            await node.read_once()    # read (and refused by the feed) while this reload is under way
        return state

    node.store.join = join_then_publish  # type: ignore[method-assign]
    await node.hub._refresh_demand()
    await node.repairs_done()
    await node.read_once()                # the reader reads the snapshot again
    await node.repairs_done()
    continuity = check_queue(viewer)
    assert (continuity.epoch, continuity.offset, continuity.resets) == (claim.epoch, 1, ["connect"])


async def test_a_viewer_joining_while_the_runs_last_viewer_leaves_is_registered_where_the_node_reads(node):
    """A viewer resuming from a point the node's reader has not reached yet waits for Redis to say the point is
    valid; if the run's last viewer leaves meanwhile, the node drops the run's feed. The newcomer must join the
    feed the node reads from then on — not the dropped one, where it would get nothing and stay counted after it
    leaves."""
    claim = await node.store.claim(RUN, "relay", lease_ttl_ms=60_000)
    await publish_first_snapshot(node.store, claim.epoch)
    first = node.viewer(1)
    await node.hub.attach(first, None, None)  # the node follows the run from offset 1
    for offset in range(2, 6):                # published; this node's reader has not read them yet
        data = orjson.dumps({"type": "frame", "epoch": claim.epoch, "offset": offset})
        await node.store.append(RUN, "relay", offset=offset, message_type="frame", data=data, epoch=claim.epoch,
                                position=PlaybackPosition())
    position = node.store.position

    async def first_leaves_meanwhile(run_id: str):
        node.hub.detach(first)
        return await position(run_id)

    node.store.position = first_leaves_meanwhile  # type: ignore[method-assign]
    newcomer = node.viewer(2)
    assert (await node.hub.attach(newcomer, claim.epoch, 4)).value == "recovered"
    assert node.hub.feeds[RUN].viewers == {newcomer.client_id: newcomer}
    node.hub.detach(newcomer)
    assert node.hub.metrics.viewers._value.get() == 0
    assert RUN not in node.hub.feeds


async def test_a_read_on_its_way_while_the_feed_reloads_hands_on_nothing_from_before_the_reload(node):
    """The reader took a message the feed refused (it was reloading) and reads on from there; the reload then sets
    the reader back to where the reloaded feed is, while that read is on its way. What the read brings must not
    reach the feed: it comes after a message the feed never got, and the gap would reload the feed once more and
    reset its viewers for nothing."""
    claim = await node.store.claim(RUN, "relay", lease_ttl_ms=60_000)
    await publish_first_snapshot(node.store, claim.epoch)
    viewer = node.viewer(1)
    await node.hub.attach(viewer, None, None)  # the feed is at offset 1
    key = node.hub.keys.run_stream(RUN).stream

    async def append(offset: int) -> None:
        data = orjson.dumps({"type": "frame", "epoch": claim.epoch, "offset": offset})
        await node.store.append(RUN, "relay", offset=offset, message_type="frame", data=data, epoch=claim.epoch,
                                position=PlaybackPosition())

    await append(2)
    node.reader.seek(key, stream_id(2))              # the reader took 2, which the feed refused
    reading = asyncio.create_task(node.reader.read())  # on its way: waits for what follows 2
    await asyncio.sleep(0.02)
    node.reader.seek(key, stream_id(1))              # the reload: read on from where the feed is
    await append(3)
    for stream, entries in await reading:
        node.hub._dispatch(stream, entries)
    await node.read_once()
    await node.repairs_done()
    assert node.hub.metrics.reloads._value.get() == 0
    texts = [orjson.loads(item.text) for item in viewer._queue]
    assert [(m["type"], m["offset"]) for m in texts] == [("hello", 0), ("snapshot", 1), ("frame", 2), ("frame", 3)]
