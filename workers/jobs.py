"""The worker's arq functions and start-up; each job's outcome decides what happens to it next.

- **done**: the entry is warm (computed now, or found and its lifetime extended).
- **retried**: the backend or Redis is unavailable (unreachable, a 5xx, too slow, or the job's deadline of
  ``job_timeout_s`` passed). The job runs again after ``retry_delay_s``, doubling each time up to
  ``retry_delay_max_s``, for at most ``max_tries`` tries; after the last it is failed.
- **failed**: anything else is bad data (the backend refused: unknown symbol or run, a run without results;
  or it answered in a shape we cannot use). Trying again would fail again, so the reason is logged and the
  job is not run again until discovery asks for it anew.

Outcomes are counted in the worker's metrics and each is logged once, with the job's id and try.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from arq.worker import Retry
from redis.exceptions import RedisError

from api.views import BackendFailure, RedisUnavailable, RunNotCompleted, UpstreamTimeout
from common.default_views import ChartView
from common.errors import HewstonError, ServiceUnavailable
from common.logging import get_logger
from common.models.bars import ChartTimeframe
from common.prewarm_queue import DROP_STALE_CHARTS, WARM_CHART, WARM_RUN
from common.serving import PortInUse
from common.tasks import cancel_and_wait
from workers.discovery import discover
from workers.metrics import WorkerMetrics
from workers.prewarm import Prewarmer

log = get_logger("hewston.worker")

# Failures that may pass: worth trying again later.
UNAVAILABLE = (ServiceUnavailable, UpstreamTimeout, BackendFailure, RedisUnavailable, RedisError, OSError,
               TimeoutError)


class JobFailed(Exception):
    """A job that cannot succeed; arq records it as failed and does not run it again."""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError) and not str(exc):
        return "no answer before the job's deadline"
    if isinstance(exc, RunNotCompleted):
        return "the backend has no results for this run"
    return f"{type(exc).__name__}: {exc}"


async def _run(ctx: dict[str, Any], job: str, work: Callable[[Prewarmer], Awaitable[str]]) -> str:
    prewarmer: Prewarmer = ctx["prewarmer"]
    config, metrics = prewarmer.config, prewarmer.metrics
    job_try = int(ctx.get("job_try") or 1)
    bound = log.bind(job=job, job_id=ctx.get("job_id"), job_try=job_try)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(config.job_timeout_s):
            result = await work(prewarmer)
    except UNAVAILABLE as exc:
        elapsed, reason = time.perf_counter() - started, _reason(exc)
        if job_try >= config.max_tries:
            metrics.job_finished(job, "failed", elapsed)
            bound.error("prewarm_job_gave_up", reason=reason)
            raise JobFailed(f"gave up after {job_try} tries: {reason}") from None
        delay = config.retry_delay(job_try)
        metrics.job_finished(job, "retried", elapsed)
        bound.warning("prewarm_job_retry", reason=reason, retry_in_s=delay)
        raise Retry(defer=delay) from None
    except (HewstonError, RunNotCompleted) as exc:
        metrics.job_finished(job, "failed", time.perf_counter() - started)
        bound.error("prewarm_job_failed", reason=_reason(exc))
        raise JobFailed(_reason(exc)) from None
    except Exception as exc:
        # Not an answer we know: bad data or a bug. Either way trying again would not help; keep the trace.
        metrics.job_finished(job, "failed", time.perf_counter() - started)
        bound.exception("prewarm_job_failed", reason=_reason(exc))
        raise JobFailed(_reason(exc)) from exc
    elapsed = time.perf_counter() - started
    metrics.job_finished(job, "done", elapsed)
    bound.info("prewarm_job_done", result=result, duration_ms=round(elapsed * 1000.0, 1))
    return result


async def warm_chart(ctx: dict[str, Any], symbol: str, timeframe: str, from_s: int | None, to_s: int | None,
                     target_points: int | None) -> str:
    return await _run(ctx, WARM_CHART, lambda p: p.warm_chart(
        ChartView(symbol, ChartTimeframe(timeframe), from_s, to_s, target_points)))


async def warm_run(ctx: dict[str, Any], run_id: str) -> str:
    return await _run(ctx, WARM_RUN, lambda p: p.warm_run(run_id))


async def drop_stale_charts(ctx: dict[str, Any]) -> str:
    return await _run(ctx, DROP_STALE_CHARTS, lambda p: p.drop_stale_charts())


async def discovery(ctx: dict[str, Any]) -> str:
    """The cron job. An unavailable backend is not retried here: the next cycle is the retry."""
    prewarmer: Prewarmer = ctx["prewarmer"]
    metrics = prewarmer.metrics
    try:
        async with asyncio.timeout(prewarmer.config.job_timeout_s):
            summary = await discover(prewarmer)
    except UNAVAILABLE as exc:
        metrics.discoveries.labels("unavailable").inc()
        log.warning("discovery_postponed", reason=_reason(exc), next_in_s=prewarmer.config.discover_every_s)
        return "postponed: " + _reason(exc)
    except Exception as exc:
        metrics.discoveries.labels("failed").inc()
        log.error("discovery_failed", reason=_reason(exc))
        return "failed: " + _reason(exc)
    metrics.discoveries.labels("done").inc()
    log.info("discovery_done", **summary)
    await _measure_queue(ctx)
    return f"{summary['queued']} jobs queued, {summary['duplicate']} already queued or done"


async def _measure_queue(ctx: dict[str, Any]) -> int | None:
    prewarmer: Prewarmer = ctx["prewarmer"]
    try:
        depth = await prewarmer.guard.run(lambda r: r.zcard(prewarmer.keys.prewarm_queue()))
    except RedisUnavailable:
        return None
    prewarmer.metrics.queue_depth.set(depth)
    return depth


async def _report_health(ctx: dict[str, Any]) -> None:
    prewarmer: Prewarmer = ctx["prewarmer"]
    while True:
        await asyncio.sleep(prewarmer.config.health_log_interval_s)
        totals = prewarmer.metrics.totals
        log.info("worker_health", done=totals["done"], failed=totals["failed"], retried=totals["retried"],
                 queue_depth=await _measure_queue(ctx))


async def startup(ctx: dict[str, Any]) -> None:
    config = ctx["config"]
    metrics: WorkerMetrics = ctx["metrics"]
    prewarmer = ctx["prewarmer"] = Prewarmer(config, ctx["api_settings"], ctx["redis"], metrics)
    ctx["stop_metrics"] = None
    if config.metrics_port:
        try:
            ctx["stop_metrics"] = metrics.serve(config.metrics_host, config.metrics_port)
        except OSError as exc:
            await prewarmer.aclose()
            raise PortInUse(f"the worker cannot serve its metrics on {config.metrics_host}:{config.metrics_port} "
                            f"({exc.strerror}); choose another port with HEWSTON_WORKER_METRICS_PORT or "
                            f"--metrics-port (0: no metrics server)") from None
    ctx["health"] = asyncio.get_running_loop().create_task(_report_health(ctx), name="worker-health")
    log.info("worker_started", backend=config.backend_url, queue=prewarmer.keys.prewarm_queue(),
             metrics=f"http://{config.metrics_host}:{config.metrics_port}/metrics" if config.metrics_port else None,
             discover_every_s=config.discover_every_s)


async def after_job_end(ctx: dict[str, Any]) -> None:
    await _measure_queue(ctx)


async def shutdown(ctx: dict[str, Any]) -> None:
    health = ctx.pop("health", None)
    if health is not None:
        # Cancelled again if its queue-depth read lost the cancellation; otherwise it would log on after the stop.
        await cancel_and_wait([health], timeout_s=ctx["config"].stop_timeout_s)
    stop_metrics = ctx.pop("stop_metrics", None)
    if stop_metrics is not None:
        await asyncio.to_thread(stop_metrics)
    prewarmer = ctx.pop("prewarmer", None)
    if prewarmer is not None:
        await prewarmer.aclose()
        log.info("worker_stopped", **dict(prewarmer.metrics.totals))
