"""A worker asked to stop (SIGTERM) ends within its stop budget even when a Redis call in flight swallows the
cancellation: Python 3.11's ``asyncio.wait_for``, through which redis-py sends commands, returns the command's
result instead of raising when the cancel lands just as the command completes, and the loop that sent it goes on.
arq cancels its poll loop once, so such a worker polled on and never exited."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest
import redis.asyncio as aioredis
from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool
from structlog.testing import capture_logs

from common.keys import KeySpace
from common.prewarm_queue import deserialize_job, serialize_job
from tests.support.lost_cancellation import LosesOneCancellation
from tests.workers.conftest import prefixed_api_settings, worker_config
from workers import jobs
from workers.bounded_stop import BoundedStopWorker
from workers.worker import worker_options

pytestmark = pytest.mark.redis

# Nobody listens there: discovery is postponed at once, and the worker only polls its queue.
NO_BACKEND = "http://127.0.0.1:9"


class LosingArqRedis(ArqRedis):
    """arq's client on a real Redis whose armed command loses the cancellation that comes while it is in flight."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lose = LosesOneCancellation()

    async def execute_command(self, *args, **options):
        await self.lose.call(str(args[0]).upper())
        return await super().execute_command(*args, **options)


def _losing_pool(redis_url: str, keys: KeySpace) -> LosingArqRedis:
    return LosingArqRedis(pool_or_conn=ConnectionPool.from_url(redis_url), job_serializer=serialize_job,
                                job_deserializer=deserialize_job, default_queue_name=keys.prewarm_queue())


@pytest.mark.parametrize("shutdown_wait_s", [0, 1])
async def test_a_worker_whose_poll_loses_the_cancellation_still_stops_in_time(real_redis_url, prefixes,
                                                                              shutdown_wait_s):
    api = prefixed_api_settings(NO_BACKEND, real_redis_url, prefixes)
    keys = KeySpace(api.redis_key_prefix)
    config = worker_config(NO_BACKEND, real_redis_url, shutdown_wait_s=shutdown_wait_s, stop_timeout_s=1.0)
    pool = _losing_pool(real_redis_url, keys)
    worker = BoundedStopWorker(stop_timeout_s=config.stop_timeout_s,
                               **worker_options(config, api, redis_pool=pool, handle_signals=False))
    running = asyncio.create_task(worker.async_run())
    try:
        await asyncio.sleep(0.3)  # started: it polls its queue every half second
        pool.lose.arm("ZRANGEBYSCORE")  # the poll's read of the queue
        await pool.lose.until_in_flight()
        stopping = time.monotonic()
        # What arq's handler of SIGTERM does (with a wait for running jobs, and without).
        if shutdown_wait_s:
            worker.handle_sig_wait_for_completion(signal.SIGTERM)
        else:
            worker.handle_sig(signal.SIGTERM)
        done, _ = await asyncio.wait([running], timeout=shutdown_wait_s + 3 * config.stop_timeout_s)
        took_s = time.monotonic() - stopping
        assert done, f"the worker was still polling {took_s:.1f} s after it was asked to stop"
        assert took_s < shutdown_wait_s + config.stop_timeout_s
        polls = pool.lose.calls["ZRANGEBYSCORE"]
        await asyncio.sleep(1.0)  # two poll intervals
        assert pool.lose.calls["ZRANGEBYSCORE"] == polls  # nothing of this worker polls any more
    finally:
        if not running.done():
            running.cancel()  # only a failed test gets here: let the next test run
        with capture_logs():
            await worker.close()
    assert worker.main_task.done()
    redis = aioredis.Redis.from_url(real_redis_url)
    try:
        assert await redis.exists(worker.health_check_key) == 0  # cleaned up
    finally:
        await redis.aclose()


async def test_the_health_report_is_ended_even_when_its_queue_read_loses_the_cancellation(real_redis_url,
                                                                                           prefixes):
    api = prefixed_api_settings(NO_BACKEND, real_redis_url, prefixes)
    keys = KeySpace(api.redis_key_prefix)
    config = worker_config(NO_BACKEND, real_redis_url, health_log_interval_s=0.05, stop_timeout_s=1.0)
    pool = _losing_pool(real_redis_url, keys)
    ctx = worker_options(config, api, redis_pool=pool)["ctx"]
    ctx["redis"] = pool
    await jobs.startup(ctx)
    health = ctx["health"]
    pool.lose.arm("ZCARD")  # the queue depth the health report reads
    await pool.lose.until_in_flight()
    try:
        async with asyncio.timeout(3 * config.stop_timeout_s):
            await jobs.shutdown(ctx)
        assert health.done()
        reads = pool.lose.calls["ZCARD"]
        await asyncio.sleep(0.3)  # six report intervals
        assert pool.lose.calls["ZCARD"] == reads
    finally:
        health.cancel()
        await pool.aclose()
