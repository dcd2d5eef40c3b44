"""Stopping an api node's stream hub ends every task the hub started, a run's repair under way included, even one
whose Redis call swallowed the cancellation (Python 3.11's ``asyncio.wait_for``, through which redis-py sends
commands, returns the command's result instead of raising when the cancel lands just as the command completes). A
task left running would go on using the Redis clients the node closes right after."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from prometheus_client import CollectorRegistry

from api.stream.hub import StreamHub
from api.stream.metrics import StreamMetrics
from api.stream.viewer import QueueLimits, Viewer
from common.keys import KeySpace
from common.redis_client import create_redis
from common.stream.reader import StreamReader
from tests.api.conftest import api_settings
from tests.api.test_stream_hub_races import RUN, publish_first_snapshot
from tests.api.test_stream_units import FakeWriter
from tests.support.lost_cancellation import LosingStreamStore
from tests.support.redis_keys import delete_key_space

pytestmark = pytest.mark.redis


async def test_stopping_the_stream_hub_ends_a_runs_reload_that_lost_its_cancellation(redis_url):
    keys = KeySpace(f"hwtest-{uuid.uuid4().hex[:8]}")
    redis = create_redis(redis_url)
    store = LosingStreamStore(redis, keys)
    reader = StreamReader(create_redis(redis_url), redis, keys.reader_wake("test"), block_ms=100)
    settings = api_settings("http://127.0.0.1:9", redis_url, stream_redis_timeout_s=1.0)
    hub = StreamHub(store=store, reader=reader, keys=keys, settings=settings,
                    metrics=StreamMetrics(CollectorRegistry()), node_id="n", access=None)  # type: ignore[arg-type]
    try:
        claim = await store.claim(RUN, "relay", lease_ttl_ms=60_000)
        await publish_first_snapshot(store, claim.epoch)
        await hub.start()
        viewer = Viewer(FakeWriter(), run_id=RUN, client_id="n-1", can_control=False,  # type: ignore[arg-type]
                        limits=QueueLimits(512, 1 << 20))
        await hub.attach(viewer, None, None)
        store.lose.arm("join")
        hub._reload_soon(hub.feeds[RUN])  # what a new epoch (or a stream gone backwards) starts
        await store.lose.until_in_flight()
        reload = hub._reloading[RUN]
        stopping = time.monotonic()
        await asyncio.wait_for(hub.stop(), timeout=3 * settings.stream_redis_timeout_s)
        assert time.monotonic() - stopping < settings.stream_redis_timeout_s
        assert reload.done(), "the run's reload was still running after the hub stopped"
        joins = store.lose.calls["join"]
        await asyncio.sleep(0.3)
        assert store.lose.calls["join"] == joins
    finally:
        await reader.blocking.aclose()
        await redis.aclose()
        delete_key_space(redis_url, keys)
