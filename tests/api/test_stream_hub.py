"""The api node's hub over the embedded broker, without sockets: viewers resuming together share their reads."""

from __future__ import annotations

import asyncio
import uuid

import orjson
from prometheus_client import CollectorRegistry

from api.stream.hub import StreamHub
from api.stream.metrics import StreamMetrics
from api.stream.viewer import QueueLimits, Viewer
from common.keys import KeySpace
from common.redis_client import create_redis
from common.stream.envelope import PlaybackPosition
from common.stream.reader import StreamReader
from common.stream.store import StreamStore
from tests.api.conftest import api_settings
from tests.api.test_stream_units import FakeWriter


class CountingStore(StreamStore):
    history_reads = 0

    async def history(self, run_id, after, upto):
        self.history_reads += 1
        await asyncio.sleep(0.05)  # a read in flight while the other viewers arrive
        return await super().history(run_id, after, upto)


async def test_viewers_resuming_from_one_point_share_one_history_read():
    keys = KeySpace(f"hwtest-{uuid.uuid4().hex[:8]}")
    redis = create_redis(None)
    store = CountingStore(redis, keys)
    claim = await store.claim("run", "relay", lease_ttl_ms=60_000)
    for offset in range(1, 51):
        kind = "snapshot" if offset in (1, 40) else "frame"
        data = orjson.dumps({"type": kind, "epoch": claim.epoch, "offset": offset})
        await store.append("run", "relay", offset=offset, message_type=kind, data=data, epoch=claim.epoch,
                           position=PlaybackPosition())
    settings = api_settings("http://127.0.0.1:9", None, stream_recent_messages=0)
    reader = StreamReader(create_redis(None), redis, keys.reader_wake("test"), block_ms=100)
    hub = StreamHub(store=store, reader=reader, keys=keys, settings=settings,
                    metrics=StreamMetrics(CollectorRegistry()), node_id="n", access=None)  # type: ignore[arg-type]
    viewers = [Viewer(FakeWriter(), run_id="run", client_id=f"n-{i}", can_control=False,  # type: ignore[arg-type]
                      limits=QueueLimits(512, 1 << 20)) for i in range(20)]
    try:
        outcomes = await asyncio.gather(*(hub.attach(v, claim.epoch, 5) for v in viewers))
        assert {o.value for o in outcomes} == {"recovered"}
        assert store.history_reads == 1  # twenty viewers, one read of offsets 6..39 from Redis
        for viewer in viewers:
            offsets = [orjson.loads(item.text)["offset"] for item in viewer._queue]
            assert offsets == [5, *range(6, 51)]  # hello at the resume point, then everything after it
    finally:
        await redis.delete(*keys.run_stream("run").all(), keys.stream_demand())
        await reader.blocking.aclose()
        await redis.aclose()


async def test_a_node_behind_the_stream_answers_a_valid_resume_as_recovered_not_history_lost():
    keys = KeySpace(f"hwtest-{uuid.uuid4().hex[:8]}")
    redis = create_redis(None)
    store = StreamStore(redis, keys)
    claim = await store.claim("run", "relay", lease_ttl_ms=60_000)

    async def append(offsets: range) -> None:
        for offset in offsets:
            kind = "snapshot" if offset == 1 else "frame"
            data = orjson.dumps({"type": kind, "epoch": claim.epoch, "offset": offset})
            await store.append("run", "relay", offset=offset, message_type=kind, data=data, epoch=claim.epoch,
                               position=PlaybackPosition())

    await append(range(1, 51))
    settings = api_settings("http://127.0.0.1:9", None)
    reader = StreamReader(create_redis(None), redis, keys.reader_wake("test"), block_ms=100)
    hub = StreamHub(store=store, reader=reader, keys=keys, settings=settings,
                    metrics=StreamMetrics(CollectorRegistry()), node_id="n", access=None)  # type: ignore[arg-type]

    def viewer(n: int) -> Viewer:
        return Viewer(FakeWriter(), run_id="run", client_id=f"n-{n}", can_control=False,  # type: ignore[arg-type]
                      limits=QueueLimits(512, 1 << 20))

    try:
        await hub.attach(viewer(1), None, None)  # the node follows the run from offset 50
        await append(range(51, 61))              # published; this node's reader has not read them yet
        behind = viewer(2)
        # A viewer that got up to 55 from another node resumes here: valid, so recovered, not history_lost.
        assert (await hub.attach(behind, claim.epoch, 55)).value == "recovered"
        feed = hub.feeds["run"]
        for entry in await store.history("run", 50, 60):
            assert feed.on_entries([entry]).overflowed == []   # the reader catches up
        offsets = [orjson.loads(item.text)["offset"] for item in behind._queue]
        assert offsets == [55, *range(56, 61)]  # hello at its point, then nothing twice and nothing missing
        # A point beyond what the stream holds is still no resume.
        assert (await hub.attach(viewer(3), claim.epoch, 99)).value == "reset"
    finally:
        await redis.delete(*keys.run_stream("run").all(), keys.stream_demand())
        await reader.blocking.aclose()
        await redis.aclose()
