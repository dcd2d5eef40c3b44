"""The prewarm worker against a real Redis and a real backend over loopback, with burst workers."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import redis.asyncio as aioredis
from structlog.testing import capture_logs

from common.default_views import (
    RUN_EQUITY_TARGET_POINTS,
    RUN_PAGE_INCLUDE_ORDERS,
    ChartView,
    run_chart_view,
    run_page_query,
    symbol_views,
)
from common.keys import KeySpace
from common.models.bars import ChartTimeframe
from common.prewarm_queue import PrewarmQueue, arq_client
from tests.api.conftest import INSTRUMENT, SYMBOL, create_run, make_minutes
from tests.conftest import ALICE_TOKEN, auth
from tests.support.servers import free_port, live_server
from tests.workers.conftest import prefixed_api_settings, run_burst, service_get, wait_for, worker_config
from workers.discovery import discover
from workers.metrics import WorkerMetrics
from workers.prewarm import Prewarmer

pytestmark = pytest.mark.redis


def _versioned_views(backend_url: str, runs: list[dict]) -> list[tuple[ChartView, int]]:
    info = service_get(backend_url, f"/symbols/{SYMBOL}")
    version = {d["timeframe"]: d["data_version"] for d in info["datasets"]}
    views = symbol_views(info) + [run_chart_view(run) for run in runs]
    return [(view, version[view.timeframe.source.value]) for view in views]


async def test_prewarmed_bytes_are_what_the_api_computes_on_a_miss(shared_backend, completed_run, real_redis_url,
                                                                  prefixes, make_api):
    backend_url = shared_backend.http_url
    api = prefixed_api_settings(backend_url, real_redis_url, prefixes)
    metrics = await run_burst(worker_config(backend_url, real_redis_url), api)
    assert metrics.totals["done"] == 6 and metrics.totals["failed"] == metrics.totals["retried"] == 0

    warm_keys = KeySpace(api.redis_key_prefix)
    cold = make_api(backend_url)  # a key space nobody warmed: every first request computes
    warm = make_api(backend_url, prefix=api.redis_key_prefix)
    cold_keys = KeySpace(cold.app_settings.redis_key_prefix)
    redis = aioredis.Redis.from_url(real_redis_url)
    try:
        views = _versioned_views(backend_url, [completed_run])
        assert {view.timeframe for view, _ in views} == set(ChartTimeframe) - {ChartTimeframe.minute}
        for view, version in views:
            prewarmed = await redis.get(view.cache_key(warm_keys, version))
            miss = httpx.get(f"{cold.http_url}/api/v1/chart-data", params=view.query(), headers=auth(ALICE_TOKEN))
            assert miss.status_code == 200 and miss.headers["x-cache"] == "miss"
            # The api answers a miss first and stores its entry just after.
            await wait_for(lambda view=view, version=version: redis.exists(view.cache_key(cold_keys, version)), 5)
            assert prewarmed is not None and prewarmed == await redis.get(view.cache_key(cold_keys, version))
            hit = httpx.get(f"{warm.http_url}/api/v1/chart-data", params=view.query(), headers=auth(ALICE_TOKEN))
            assert hit.headers["x-cache"] == "hit" and hit.content == miss.content
            assert hit.headers["etag"] == miss.headers["etag"]

        run_id = completed_run["id"]
        prewarmed = await redis.get(warm_keys.run_complete(run_id, RUN_EQUITY_TARGET_POINTS, RUN_PAGE_INCLUDE_ORDERS))
        miss = httpx.get(f"{cold.http_url}/api/v1/runs/{run_id}/complete", params=run_page_query(),
                         headers=auth(ALICE_TOKEN))
        assert miss.json()["metadata"]["cache"] == "miss"
        assert prewarmed is not None
        cold_key = cold_keys.run_complete(run_id, RUN_EQUITY_TARGET_POINTS, RUN_PAGE_INCLUDE_ORDERS)
        await wait_for(lambda: redis.exists(cold_key), 5)
        computed = await redis.get(cold_key)
        assert prewarmed == computed
        hit = httpx.get(f"{warm.http_url}/api/v1/runs/{run_id}/complete", params=run_page_query(),
                        headers=auth(ALICE_TOKEN))
        assert hit.json()["metadata"]["cache"] == "hit"
        assert {k: v for k, v in hit.json().items() if k != "metadata"} == \
            {k: v for k, v in miss.json().items() if k != "metadata"}

        # A second cycle finds every entry warm and extends its lifetime instead of computing again.
        ttl_key = symbol_views(service_get(backend_url, f"/symbols/{SYMBOL}"))[0].cache_key(warm_keys, 1)
        await redis.expire(ttl_key, 100)
        await redis.delete(*[k async for k in redis.scan_iter(f"arq:result:{api.redis_key_prefix}:*")])
        again = await run_burst(worker_config(backend_url, real_redis_url), api)
        assert again.totals["done"] == 6 and await redis.ttl(ttl_key) > 100
        assert "hewston_worker_cache_total{cache=\"chart\",outcome=\"hit\"} 4.0" in again.render().decode()
    finally:
        await redis.aclose()


async def test_new_data_version_removes_old_entries_and_warms_the_new_ones(backend_app, real_redis_url, prefixes,
                                                                          make_api):
    backend_app.state.bar_store.write_minutes(INSTRUMENT, make_minutes())
    with live_server(backend_app) as backend:
        run = create_run(backend.http_url)
        api = prefixed_api_settings(backend.http_url, real_redis_url, prefixes)
        keys = KeySpace(api.redis_key_prefix)
        await run_burst(worker_config(backend.http_url, real_redis_url), api)
        redis = aioredis.Redis.from_url(real_redis_url)
        try:
            async def chart_versions() -> list[int]:
                return sorted([keys.chart_data_version(k.decode())[2]
                               async for k in redis.scan_iter(keys.chart_data_pattern())])

            assert await chart_versions() == [1, 1, 1, 1]
            backend_app.state.bar_store.write_minutes(INSTRUMENT, make_minutes(seed=11))
            # Nothing stale is served meanwhile: the api asks for the new version and computes it.
            served = make_api(backend.http_url, prefix=api.redis_key_prefix)
            fresh = httpx.get(f"{served.http_url}/api/v1/chart-data", headers=auth(ALICE_TOKEN),
                              params=symbol_views(service_get(backend.http_url, f"/symbols/{SYMBOL}"))[0].query())
            assert fresh.headers["x-cache"] == "miss" and fresh.json()["data_version"] == 2

            metrics = await run_burst(worker_config(backend.http_url, real_redis_url), api)
            assert metrics.totals["failed"] == 0
            assert await chart_versions() == [2, 2, 2, 2]
            assert "hewston_worker_stale_entries_removed_total 4.0" in metrics.render().decode()
            for view, version in _versioned_views(backend.http_url, [run]):
                assert version == 2
                response = httpx.get(f"{served.http_url}/api/v1/chart-data", params=view.query(),
                                     headers=auth(ALICE_TOKEN))
                assert response.headers["x-cache"] == "hit" and response.json()["data_version"] == 2
        finally:
            await redis.aclose()


async def test_the_same_work_is_queued_once(shared_backend, completed_run, real_redis_url, prefixes):
    backend_url = shared_backend.http_url
    api = prefixed_api_settings(backend_url, real_redis_url, prefixes)
    keys = KeySpace(api.redis_key_prefix)
    redis = aioredis.Redis.from_url(real_redis_url)
    prewarmer = Prewarmer(worker_config(backend_url, real_redis_url), api, redis, WorkerMetrics())
    try:
        view, version = _versioned_views(backend_url, [])[0]
        queue = PrewarmQueue(arq_client(redis, keys), keys)
        assert await queue.chart(view, version) is True
        assert await queue.chart(view, version) is False
        assert await queue.run(completed_run["id"]) is True
        assert await queue.run(completed_run["id"]) is False

        first, second = await discover(prewarmer), await discover(prewarmer)
        # Queued: two default views, the run's chart and the removal of old versions; the daily view and the
        # run were asked for above.
        assert (first["queued"], first["duplicate"]) == (4, 2)
        assert (second["queued"], second["duplicate"]) == (0, 6)
        assert await redis.zcard(keys.prewarm_queue()) == 6

        # Concurrent requests for one job: exactly one is queued.
        other = ChartView(SYMBOL, ChartTimeframe.hour)
        outcomes = await asyncio.gather(*(queue.chart(other, version) for _ in range(10)))
        assert sorted(outcomes) == [False] * 9 + [True]
        assert await redis.zcard(keys.prewarm_queue()) == 7
    finally:
        await prewarmer.aclose()
        await redis.aclose()


async def test_an_unavailable_backend_is_retried_until_it_answers(backend_app, real_redis_url, prefixes):
    backend_app.state.bar_store.write_minutes(INSTRUMENT, make_minutes())
    port = free_port()
    backend_url = f"http://127.0.0.1:{port}"
    api = prefixed_api_settings(backend_url, real_redis_url, prefixes)
    keys = KeySpace(api.redis_key_prefix)
    redis = aioredis.Redis.from_url(real_redis_url)
    view = ChartView(SYMBOL, ChartTimeframe.day)
    try:
        await PrewarmQueue(arq_client(redis, keys), keys).chart(view, 1)
        config = worker_config(backend_url, real_redis_url, retry_delay_s=0.1, retry_delay_max_s=0.4, max_tries=50)
        with capture_logs() as logs:
            worker = asyncio.create_task(run_burst(config, api))
            await wait_for(lambda: any(e["event"] == "prewarm_job_retry" for e in logs))
            assert not worker.done()
            with live_server(backend_app, port=port):
                metrics = await asyncio.wait_for(worker, 30)
        retries = [e for e in logs if e["event"] == "prewarm_job_retry"]
        assert retries[0]["reason"].startswith("ServiceUnavailable") and retries[0]["retry_in_s"] == 0.1
        assert metrics.totals["done"] >= 1 and metrics.totals["retried"] == len(retries) >= 1
        assert metrics.totals["failed"] == 0
        assert await redis.get(view.cache_key(keys, 1)) is not None
    finally:
        await redis.aclose()


async def test_bad_data_fails_once_with_its_reason(shared_backend, real_redis_url, prefixes):
    backend_url = shared_backend.http_url
    api = prefixed_api_settings(backend_url, real_redis_url, prefixes)
    keys = KeySpace(api.redis_key_prefix)
    redis = aioredis.Redis.from_url(real_redis_url)
    try:
        queue = PrewarmQueue(arq_client(redis, keys), keys)
        await queue.chart(ChartView("NOPE", ChartTimeframe.day), 1)
        await queue.run("no-such-run")
        with capture_logs() as logs:
            metrics = await run_burst(worker_config(backend_url, real_redis_url, discover_max_runs=0), api)
        failures = {e["job"]: e["reason"] for e in logs if e["event"] == "prewarm_job_failed"}
        assert failures == {"warm_chart": "BackendRefused: unknown symbol NOPE",
                            "warm_run": "BackendRefused: run no-such-run not found"}
        assert metrics.totals["failed"] == 2 and metrics.totals["retried"] == 0
        # arq keeps the failure as the job's result, so the same request is refused until it expires.
        assert await queue.run("no-such-run") is False
    finally:
        await redis.aclose()


async def test_a_job_that_gets_no_answer_ends_at_its_deadline(real_redis_url, prefixes):
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the worker gives up and closes the connection

    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    backend_url = f"http://127.0.0.1:{silent.sockets[0].getsockname()[1]}"
    api = prefixed_api_settings(backend_url, real_redis_url, prefixes)
    keys = KeySpace(api.redis_key_prefix)
    redis = aioredis.Redis.from_url(real_redis_url)
    try:
        await PrewarmQueue(arq_client(redis, keys), keys).chart(ChartView(SYMBOL, ChartTimeframe.day), 1)
        config = worker_config(backend_url, real_redis_url, job_timeout_s=0.3, max_tries=2)
        with capture_logs() as logs:
            metrics = await run_burst(config, api)
        assert [e["event"] for e in logs if e.get("job") == "warm_chart"] == ["prewarm_job_retry",
                                                                               "prewarm_job_gave_up"]
        assert all(e["reason"] == "no answer before the job's deadline" for e in logs if e.get("job"))
        assert metrics.totals["retried"] == 1 and metrics.totals["failed"] == 1
        assert any(e["event"] == "discovery_postponed" for e in logs)
    finally:
        silent.close()
        await redis.aclose()


async def test_metrics_are_served_on_the_workers_own_port(shared_backend, completed_run, real_redis_url, prefixes):
    api = prefixed_api_settings(shared_backend.http_url, real_redis_url, prefixes)
    port = free_port()
    config = worker_config(shared_backend.http_url, real_redis_url, metrics_port=port)
    worker = asyncio.create_task(run_burst(config, api))
    scraped: list[str] = []

    async def scrape() -> bool:
        try:
            text = (await asyncio.to_thread(httpx.get, f"http://127.0.0.1:{port}/metrics", timeout=2)).text
        except httpx.HTTPError:
            return False
        scraped.append(text)
        return 'hewston_worker_jobs_total{job="warm_chart",outcome="done"}' in text

    await wait_for(scrape)
    await worker
    assert "hewston_worker_queue_depth" in scraped[-1] and 'hewston_worker_discoveries_total{outcome="done"}' \
        in scraped[-1]
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1)  # stopped with the worker
