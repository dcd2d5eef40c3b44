"""Build and run the prewarm worker: as its own process against Redis, or inside ``hewston up``.

As its own process (``hewston worker``, ``arq workers.settings.WorkerSettings``) it needs ``REDIS_URL``:
without it the worker would fill a private in-process broker that no api node ever reads. Inside
``hewston up`` it shares the process, the event loop and the broker (embedded or ``REDIS_URL``) with the
api, so there it runs without one.

Results of the warming jobs are kept for half the cache lifetime: until then the same job cannot be queued
again; after that, discovery queues it anew and it extends the entry's lifetime, so a default view stays warm
for as long as the worker runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

from arq import cron
from arq.connections import ArqRedis
from arq.worker import func
from redis.exceptions import RedisError

from api.settings import ApiSettings
from common.keys import KeySpace
from common.logging import configure_logging, get_logger
from common.prewarm_queue import DROP_STALE_CHARTS, WARM_CHART, WARM_RUN, deserialize_job, serialize_job
from common.serving import ExitDeadline, PortInUse
from common.tasks import cancel_and_wait
from workers import jobs
from workers.bounded_stop import BoundedStopWorker
from workers.broker import embedded_pool, redis_settings, server_pool
from workers.config import WorkerConfig, discovery_schedule
from workers.metrics import WorkerMetrics

log = get_logger("hewston.worker")
# Waiting for Redis to come back: first retry after this long, doubling up to the maximum.
_REDIS_BACKOFF_S = 0.5
_REDIS_BACKOFF_MAX_S = 15.0
# arq's own deadline comes after the job's, so a slow job is always ended (and counted) by the job itself.
_ARQ_TIMEOUT_MARGIN_S = 5.0

NO_REDIS = ("error: the worker needs REDIS_URL. Without it the worker would warm a private in-process broker "
            "that no api node reads; point REDIS_URL at the Redis the api uses, or run every role in one process "
            "with `hewston up`.")
NO_QUEUE = ("error: REDIS_URL names a Redis Cluster and arq's job queue cannot live on one (it has no cluster "
            "client): set HEWSTON_QUEUE_REDIS_URL to a single Redis (or Sentinel) for the queue.")
NO_TOKEN = ("error: the worker needs the backend's service token in HEWSTON_SERVICE_TOKEN (the same value the "
            "backend is started with) to read every symbol and run.")


def worker_options(config: WorkerConfig, api: ApiSettings, *, redis_pool: ArqRedis | None = None,
                   burst: bool = False, handle_signals: bool = True) -> dict[str, Any]:
    """Keyword arguments of arq's ``Worker``: the jobs, the discovery cron and the connection.

    ``redis_pool`` is a ready connection (the embedded broker); without it arq connects to ``REDIS_URL``, and
    without that the worker refuses to start (``SystemExit`` with the reason), as it does without a token.
    """
    if not config.service_token:
        raise SystemExit(NO_TOKEN)
    keys = KeySpace(api.redis_key_prefix)
    keep_warm_s = min(api.chart_cache_ttl_s, api.run_cache_ttl_s) // 2
    timeout_s = config.job_timeout_s + _ARQ_TIMEOUT_MARGIN_S
    functions = [func(coroutine, name=name, timeout=timeout_s, max_tries=config.max_tries, keep_result=keep_warm_s)
                 for name, coroutine in ((WARM_CHART, jobs.warm_chart), (WARM_RUN, jobs.warm_run),
                                         (DROP_STALE_CHARTS, jobs.drop_stale_charts))]
    discovery = cron(jobs.discovery, name=keys.discovery_cron(), run_at_startup=True, timeout=timeout_s,
                     max_tries=1, **discovery_schedule(config.discover_every_s))
    options: dict[str, Any] = dict(
        functions=functions, cron_jobs=[discovery], queue_name=keys.prewarm_queue(),
        job_serializer=serialize_job, job_deserializer=deserialize_job,
        on_startup=jobs.startup, on_shutdown=jobs.shutdown, after_job_end=jobs.after_job_end,
        max_jobs=config.max_jobs, job_timeout=timeout_s, keep_result=keep_warm_s, max_tries=config.max_tries,
        health_check_interval=config.health_log_interval_s, burst=burst, handle_signals=handle_signals,
        # On SIGTERM or SIGINT: take no new job, let running ones finish this long, then cancel the rest, which
        # arq puts back in the queue for the next worker.
        job_completion_wait=config.shutdown_wait_s,
        ctx={"config": config, "api_settings": api, "metrics": WorkerMetrics()})
    if redis_pool is not None:
        options["redis_pool"] = redis_pool
    else:
        if not config.redis_url:
            raise SystemExit(NO_REDIS)
        if not config.queue_url:
            raise SystemExit(NO_QUEUE)
        options["redis_settings"] = redis_settings(config.queue_url)
    return options


def standalone_options(config: WorkerConfig, api: ApiSettings, **overrides: Any) -> dict[str, Any]:
    """Options of a worker that is its own process: refuses to start without REDIS_URL or a service token."""
    options = worker_options(config, api, **overrides)
    configure_logging(json_logs=config.logs_as_json, level=config.log_level)
    return options


def run_standalone(config: WorkerConfig, api: ApiSettings, *, burst: bool = False) -> int:
    """``hewston worker``: run until stopped (or, with ``burst``, until the queue is empty).

    arq's worker ends when its Redis goes away (a restart, a failover). This one starts again, with backoff, once
    Redis answers: a worker that waits for its broker is what an operator expects, not one that exits.
    """
    backoff_s = _REDIS_BACKOFF_S
    deadline = ExitDeadline(config.exit_deadline_s)
    while True:
        worker = BoundedStopWorker(stop_timeout_s=config.stop_timeout_s, exit_deadline=deadline,
                                   **standalone_options(config, api, burst=burst))
        try:
            worker.run()
        except PortInUse as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except (RedisError, OSError) as exc:
            if burst:
                raise
            if worker.stop_requested:
                return 0  # Redis went away while the worker was stopping: nothing is left to do
            # What arq's own shutdown could not do with Redis gone: stop the metrics server and the clients.
            worker.loop.run_until_complete(jobs.shutdown(worker.ctx))
            log.warning("worker_lost_redis", error=type(exc).__name__, restart_in_s=backoff_s)
            if _stopped_while_waiting(backoff_s):
                return 0
            backoff_s = min(backoff_s * 2, _REDIS_BACKOFF_MAX_S)
            continue
        return 1 if burst and worker.jobs_failed else 0


def _stopped_while_waiting(seconds: float) -> bool:
    """Wait ``seconds`` between two workers; True when SIGTERM or SIGINT came meanwhile (nothing runs to stop)."""
    stop: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _frame: stop.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        deadline = time.monotonic() + seconds
        while not stop and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return bool(stop)


@contextlib.asynccontextmanager
async def in_process_worker(config: WorkerConfig, api: ApiSettings) -> AsyncIterator[BoundedStopWorker]:
    """The worker running in this event loop until the block ends (``hewston up``).

    With ``REDIS_URL`` it uses that server; without, the embedded broker the api in this process uses.
    """
    keys = KeySpace(api.redis_key_prefix)
    if config.redis_url and not config.queue_url:
        raise SystemExit(NO_QUEUE)
    pool = await server_pool(config.queue_url, keys) if config.queue_url else embedded_pool(keys)
    worker = BoundedStopWorker(stop_timeout_s=config.stop_timeout_s,
                               **worker_options(config, api, redis_pool=pool, handle_signals=False))
    task = asyncio.get_running_loop().create_task(worker.async_run(), name="worker")
    try:
        yield worker
    finally:
        # close() stops what still runs (bounded), runs the shutdown hook and closes the connection.
        await worker.close()
        await cancel_and_wait([task], timeout_s=config.stop_timeout_s)
