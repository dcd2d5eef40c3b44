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
