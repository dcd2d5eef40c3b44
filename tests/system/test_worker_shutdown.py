"""Stopping a worker always ends, within its deadline and with exit code 0, while it is busy: SIGTERM, cycle after
cycle, with warming jobs running and queued, its poll loop and discovery (every second) talking to Redis; every other
cycle the running jobs are cancelled at once instead of waited for. The worker is its own process on 127.0.0.1
started from its Procfile line (``bench.cluster``), against a real backend and redis-server."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import httpx
import pytest
import redis.asyncio as aioredis

from api.views import chart_dataset
from bench.cluster import KEYS, Cluster
from bench.processes import wait_until
from common.default_views import symbol_views
from common.models.bars import ChartTimeframe
from common.prewarm_queue import PrewarmQueue, arq_client

pytestmark = [pytest.mark.system, pytest.mark.timeout(300)]

CYCLES = 6
JOBS_PER_CYCLE = 240
SHUTDOWN_WAIT_S, STOP_TIMEOUT_S = 1, 2.0
# Many jobs at once, so that some are still running when the signal comes (a chart is a few milliseconds of
# the backend's once its bars are loaded).
SETTINGS = {"HEWSTON_WORKER_DISCOVER_EVERY_S": "1", "HEWSTON_WORKER_SHUTDOWN_WAIT_S": str(SHUTDOWN_WAIT_S),
            "HEWSTON_WORKER_STOP_TIMEOUT_S": str(STOP_TIMEOUT_S), "HEWSTON_WORKER_MAX_JOBS": "30"}
# The wait for running jobs, then the bounded cancelling; the clean-up step's budget is left as slack.
STOPPED_WITHIN_S = SHUTDOWN_WAIT_S + STOP_TIMEOUT_S + 1.0


async def queue_warming(redis_url: str, cycle: int, service_token: str, backend_url: str) -> int:
    """Queue ``JOBS_PER_CYCLE`` distinct chart jobs (a year of minute bars each, to other targets); returns how many
    were new."""
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {service_token}"}) as client:
        symbols = (await client.get(f"{backend_url}/symbols")).json()["symbols"]
    info = next(symbol for symbol in symbols if any(view.timeframe is ChartTimeframe.minute_decimated
                                                    for view in symbol_views(symbol)))
    (minutes,) = [view for view in symbol_views(info) if view.timeframe is ChartTimeframe.minute_decimated]
    version = chart_dataset(info, ChartTimeframe.minute_decimated)["data_version"]
    redis = aioredis.Redis.from_url(redis_url)
    try:
        queue = PrewarmQueue(arq_client(redis, KEYS), KEYS)
        first = 1000 + cycle * JOBS_PER_CYCLE
        return sum([await queue.chart(dataclasses.replace(minutes, target_points=target), version)
                    for target in range(first, first + JOBS_PER_CYCLE)])
    finally:
        await redis.aclose()


def jobs_done(metrics_url: str) -> float:
    try:
        text = httpx.get(f"{metrics_url}/metrics", timeout=2).text
    except httpx.HTTPError:
        return 0.0
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("hewston_worker_jobs_total{") and 'outcome="done"' in line)


def test_a_busy_worker_stops_cleanly_within_its_deadline_every_time(tmp_path):
    with Cluster(tmp_path, apis=0, relays=0, settings=SETTINGS) as cluster:
        worker = cluster.worker_node
        took: list[float] = []
        for cycle in range(CYCLES):
            # Odd cycles: no wait, the running jobs are cancelled (and go back to the queue) at once.
            worker.env["HEWSTON_WORKER_SHUTDOWN_WAIT_S"] = str(SHUTDOWN_WAIT_S if cycle % 2 == 0 else 0)
            if not worker.running():
                worker.start()
            worker.wait_listening(60)
            assert asyncio.run(queue_warming(cluster.redis.url, cycle, cluster.service_token,
                                             cluster.backend.url)) == JOBS_PER_CYCLE
            wait_until(lambda: jobs_done(worker.url) >= 2, 60, "the worker warmed nothing")  # busy now
            began = time.monotonic()
            code = worker.terminate(timeout_s=30)
            took.append(time.monotonic() - began)
            assert code == 0, worker.log()[-3000:]
            assert took[-1] < STOPPED_WITHIN_S, (took, worker.log()[-3000:])
        stops = [line for line in worker.log().splitlines() if "worker_jobs_stopped" in line]
        assert len(stops) == CYCLES, stops
        # The cycles that cancel at once did cancel running jobs (in a cycle whose queue ran dry before the signal,
        # there were none to cancel).
        assert any("cancelled=0" not in stop for stop in stops[1::2]), stops
        print(f"stopped in {[round(t, 2) for t in took]} s")


def test_a_worker_that_lost_redis_while_busy_starts_again_and_still_stops_cleanly(tmp_path):
    with Cluster(tmp_path, apis=0, relays=0, settings=SETTINGS) as cluster:
        worker = cluster.worker_node.wait_listening(60)
        assert asyncio.run(queue_warming(cluster.redis.url, 0, cluster.service_token, cluster.backend.url))
        wait_until(lambda: jobs_done(worker.url) >= 2, 60, "the worker warmed nothing")
        cluster.redis.stop()  # with jobs running: the worker ends them and waits for Redis, it does not exit
        wait_until(lambda: "worker_lost_redis" in worker.log(), 30, "the worker did not notice Redis was gone")
        cluster.redis.start()
        wait_until(lambda: worker.log().count("worker_started") >= 2, 60, "the worker did not start again")
        assert worker.running()
        began = time.monotonic()
        code = worker.terminate(timeout_s=30)
        assert code == 0 and time.monotonic() - began < STOPPED_WITHIN_S, worker.log()[-3000:]
