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
from collections.abc import AsyncIterator
from typing import Any

from arq import cron
from arq.connections import ArqRedis
from arq.worker import Worker, func

from api.settings import ApiSettings
from common.keys import KeySpace
from common.logging import configure_logging
from common.prewarm_queue import DROP_STALE_CHARTS, WARM_CHART, WARM_RUN, deserialize_job, serialize_job
from workers import jobs
from workers.broker import embedded_pool, redis_settings, server_pool
from workers.metrics import WorkerMetrics
from workers.settings import WorkerConfig, discovery_schedule

# arq's own deadline comes after the job's, so a slow job is always ended (and counted) by the job itself.
_ARQ_TIMEOUT_MARGIN_S = 5.0

NO_REDIS = ("error: the worker needs REDIS_URL. Without it the worker would warm a private in-process broker "
            "that no api node reads; point REDIS_URL at the Redis the api uses, or run every role in one process "
            "with `hewston up`.")
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
        ctx={"config": config, "api_settings": api, "metrics": WorkerMetrics()})
    if redis_pool is not None:
        options["redis_pool"] = redis_pool
    else:
        if not config.redis_url:
            raise SystemExit(NO_REDIS)
        options["redis_settings"] = redis_settings(config.redis_url)
    return options


def standalone_options(config: WorkerConfig, api: ApiSettings, **overrides: Any) -> dict[str, Any]:
    """Options of a worker that is its own process: refuses to start without REDIS_URL or a service token."""
    options = worker_options(config, api, **overrides)
    configure_logging(json_logs=config.logs_as_json, level=config.log_level)
    return options


def run_standalone(config: WorkerConfig, api: ApiSettings, *, burst: bool = False) -> int:
    """``hewston worker``: run until stopped (or, with ``burst``, until the queue is empty)."""
    worker = Worker(**standalone_options(config, api, burst=burst))
    worker.run()
    return 1 if burst and worker.jobs_failed else 0


@contextlib.asynccontextmanager
async def in_process_worker(config: WorkerConfig, api: ApiSettings) -> AsyncIterator[Worker]:
    """The worker running in this event loop until the block ends (``hewston up``).

    With ``REDIS_URL`` it uses that server; without, the embedded broker the api in this process uses.
    """
    keys = KeySpace(api.redis_key_prefix)
    pool = await server_pool(config.redis_url, keys) if config.redis_url else embedded_pool(keys)
    worker = Worker(**worker_options(config, api, redis_pool=pool, handle_signals=False))
    task = asyncio.get_running_loop().create_task(worker.async_run())
    try:
        yield worker
    finally:
        # close() cancels what still runs, runs the shutdown hook and closes the connection.
        with contextlib.suppress(asyncio.CancelledError):
            await worker.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
