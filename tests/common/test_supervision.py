"""Background loops never die silently: a loop that raises is logged, counted and started again with backoff —
on its own, in the api node's stream hub, and in a relay."""

from __future__ import annotations

import asyncio
import uuid

from prometheus_client import CollectorRegistry, Counter

from api.stream.hub import StreamHub
from api.stream.metrics import StreamMetrics
from common.keys import KeySpace
from common.logging import configure_logging
from common.redis_client import create_redis
from common.stream.reader import StreamReader
from common.stream.store import StreamStore
from common.tasks import supervise
from relay.service import RelayService
from relay.settings import RelaySettings
from tests.api.conftest import api_settings
from tests.support.logs import captured_logs


def restarts(counter: Counter, task: str) -> float:
    return counter.labels(task)._value.get()


async def test_a_loop_that_raises_is_logged_counted_and_restarted_with_backoff():
    counter = Counter("restarts", "test", ("task",), registry=CollectorRegistry())
    runs: list[float] = []
    configure_logging(json_logs=True, level="INFO")

    async def flaky() -> None:
        runs.append(asyncio.get_running_loop().time())
        if len(runs) <= 3:
            raise ValueError(f"bug number {len(runs)}")
        await asyncio.sleep(3600)

    with captured_logs() as lines:
        task = supervise(flaky, name="flaky", restarts=counter, backoff_s=0.02, backoff_max_s=1.0)
        async with asyncio.timeout(5):
            while len(runs) < 4:
                await asyncio.sleep(0.01)
        assert not task.done()  # still running: the fourth start is the healthy one
        task.cancel()
        await asyncio.wait([task])
    assert restarts(counter, "flaky") == 3
    gaps = [later - earlier for earlier, later in zip(runs, runs[1:], strict=False)]
    assert gaps[0] >= 0.02 and gaps[1] >= 0.04 and gaps[2] >= 0.08  # the backoff doubles
    failures = [line for line in lines if "background_task_failed" in line]
    assert len(failures) == 3 and "bug number 1" in failures[0] and "Traceback" in "".join(lines)
    assert task.cancelled()  # cancelling is the one way it ends


class BrokenOnceReader(StreamReader):
    """A reader whose read fails once with something nobody expects (a bug, not Redis going away)."""

    failed = False

    async def read(self):
        if not self.failed:
            self.failed = True
            raise KeyError("unexpected")
        return await super().read()


async def test_the_hub_reader_that_raises_is_restarted_and_counted():
    keys = KeySpace(f"hwtest-{uuid.uuid4().hex[:8]}")
    redis = create_redis(None)
    reader = BrokenOnceReader(create_redis(None), redis, keys.reader_wake("test"), block_ms=50)
    metrics = StreamMetrics(CollectorRegistry())
    hub = StreamHub(store=StreamStore(redis, keys), reader=reader, keys=keys, settings=api_settings(
        "http://127.0.0.1:9", None), metrics=metrics, node_id="n", access=None)  # type: ignore[arg-type]
    await hub.start()
    try:
        async with asyncio.timeout(5):
            while restarts(metrics.task_restarts, "stream-reader") < 1:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # the restarted reader reads on without failing again
        assert restarts(metrics.task_restarts, "stream-reader") == 1
        assert all(not task.done() for task in hub._tasks)
    finally:
        await hub.stop()
        await reader.blocking.aclose()
        await redis.aclose()


class BrokenOnceRelay(RelayService):
    scans = 0

    async def scan(self) -> None:
        self.scans += 1
        if self.scans == 1:
            raise AttributeError("unexpected")
        await super().scan()


async def test_the_relay_scan_loop_that_raises_is_restarted_and_counted():
    settings = RelaySettings(redis_url=None, service_token="t", metrics_port=None, scan_interval_s=0.05,
                             control_block_ms=50, redis_key_prefix=f"hwtest-{uuid.uuid4().hex[:8]}", _env_file=None)
    relay = BrokenOnceRelay(settings, create_redis(None), create_redis(None))
    task = asyncio.create_task(relay.run())
    try:
        async with asyncio.timeout(5):
            while relay.scans < 3:
                await asyncio.sleep(0.01)
        assert restarts(relay.metrics.task_restarts, "relay-scan") == 1 and not task.done()
    finally:
        task.cancel()
        await asyncio.wait([task])
