"""A worker asked to stop (SIGTERM) ends within its stop budget even when a Redis call in flight swallows the
cancellation: Python 3.11's ``asyncio.wait_for``, through which redis-py sends commands, returns the command's
result instead of raising when the cancel lands just as the command completes, and the loop that sent it goes on.
arq cancels its poll loop once, so such a worker polled on and never exited."""

from __future__ import annotations

import asyncio
import signal
import time

import orjson
import pytest
import redis.asyncio as aioredis
from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool
from structlog.testing import capture_logs

from api.views import chart_dataset
from common.default_views import symbol_views
from common.keys import KeySpace
from common.prewarm_queue import PrewarmQueue, deserialize_job, serialize_job
from tests.api.conftest import SYMBOL
from tests.support.lost_cancellation import LosesOneCancellation
from tests.workers.conftest import prefixed_api_settings, service_get, worker_config
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


async def _stalling_backend(symbol_info: dict) -> asyncio.Server:
    """A backend that describes the symbol and then never answers anything else (its bars, say)."""
    body = orjson.dumps(symbol_info)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while request_line := await reader.readline():
            while (await reader.readline()) not in (b"\r\n", b""):
                pass  # the headers
            if not request_line.startswith(b"GET /symbols/"):
                await reader.read()  # never answered: until the client gives up and closes
                return
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                         % (len(body), body))
            await writer.drain()

    return await asyncio.start_server(serve, "127.0.0.1", 0)


async def test_a_job_whose_redis_call_loses_the_cancellation_is_still_ended_and_returned_to_the_queue(
        shared_backend, real_redis_url, prefixes):
    """The job goes on to ask the backend for its bars, which never answer: arq's wrapper would wait for the job
    until its own deadline (a minute by default), well past the worker's exit deadline."""
    info = service_get(shared_backend.http_url, f"/symbols/{SYMBOL}")
    backend = await _stalling_backend(info)
    backend_url = f"http://127.0.0.1:{backend.sockets[0].getsockname()[1]}"
    api = prefixed_api_settings(backend_url, real_redis_url, prefixes)
    keys = KeySpace(api.redis_key_prefix)
    config = worker_config(backend_url, real_redis_url, shutdown_wait_s=0, stop_timeout_s=1.0, job_timeout_s=30.0,
                           discover_every_s=30)
    pool = _losing_pool(real_redis_url, keys)
    view = symbol_views(info)[0]
    job_id = keys.prewarm_job(view.cache_key(keys, chart_dataset(info, view.timeframe)["data_version"]))
    assert await PrewarmQueue(pool, keys).chart(view, chart_dataset(info, view.timeframe)["data_version"])
    worker = BoundedStopWorker(stop_timeout_s=config.stop_timeout_s,
                               **worker_options(config, api, redis_pool=pool, handle_signals=False))
    pool.lose.arm("EVALSHA")  # the job's first cache step: look the entry up, or take the lock to compute it
    running = asyncio.create_task(worker.async_run())
    try:
        await pool.lose.until_in_flight()
        (job,) = [task for name, task in worker.job_tasks.items() if name == job_id]
        stopping = time.monotonic()
        worker.handle_sig(signal.SIGTERM)
        done, _ = await asyncio.wait([job, running, *worker.tasks.values()],
                                     timeout=3 * config.stop_timeout_s)
        took_s = time.monotonic() - stopping
        assert job in done, f"the job was still running {took_s:.1f} s after the worker was asked to stop"
        assert running in done and all(task.done() for task in worker.tasks.values())
        assert took_s < config.stop_timeout_s
        await asyncio.sleep(0.2)  # arq puts a cancelled job back in its queue as it ends
        assert await pool.zscore(keys.prewarm_queue(), job_id) is not None  # for the next worker
    finally:
        for task in (running, *worker.job_tasks.values()):
            task.cancel()  # only a failed test gets here with tasks running: let the next test run
        with capture_logs():
            await worker.close()
        backend.close()
