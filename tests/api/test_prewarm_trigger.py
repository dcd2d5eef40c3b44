"""A miss on a view the frontend opens first asks the prewarm worker to warm the rest of the page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import fakeredis
import httpx
import pytest
from structlog.testing import capture_logs

from api.main import create_app
from api.metrics import ApiMetrics
from api.views.prewarm import PrewarmTrigger
from api.views.redis_guard import RedisGuard
from common.default_views import ChartView, run_page_query, symbol_views
from common.keys import KeySpace
from common.models.bars import ChartTimeframe
from common.redis_client import create_redis
from tests.api.conftest import SYMBOL, api_settings
from tests.conftest import ALICE_TOKEN, SERVICE_TOKEN, auth


@asynccontextmanager
async def _api(backend_url: str, redis_url: str | None, clean_redis: list[str], **overrides) -> AsyncIterator:
    settings = api_settings(backend_url, redis_url, **overrides)
    clean_redis.append(settings.redis_key_prefix)
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api",
                                 headers=auth(ALICE_TOKEN)) as client:
        try:
            yield app, client, KeySpace(settings.redis_key_prefix)
        finally:
            await app.state.prewarm.aclose()
            await app.state.upstream.aclose()
            await app.state.redis.aclose()


async def _queued(redis_url: str | None, keys: KeySpace) -> set[str]:
    redis = create_redis(redis_url)
    try:
        return {job_id.decode() for job_id in await redis.zrange(keys.prewarm_queue(), 0, -1)}
    finally:
        await redis.aclose()


@pytest.mark.redis
async def test_a_missed_default_view_asks_for_every_default_view_of_its_symbol(shared_backend, redis_url,
                                                                             clean_redis):
    info = httpx.get(f"{shared_backend.http_url}/symbols/{SYMBOL}", headers=auth(SERVICE_TOKEN)).json()
    views = symbol_views(info)
    async with _api(shared_backend.http_url, redis_url, clean_redis) as (app, client, keys):
        other = await client.get("/api/v1/chart-data", params={"symbol": SYMBOL, "timeframe": "1M_DECIMATED",
                                                               "target_points": 500})
        assert other.headers["x-cache"] == "miss"
        await app.state.prewarm.wait_sent()
        assert await _queued(redis_url, keys) == set()  # not a view worth keeping warm

        first = await client.get("/api/v1/chart-data", params=views[1].query())
        assert first.headers["x-cache"] == "miss"
        await app.state.prewarm.wait_sent()
        expected = {keys.prewarm_job(view.cache_key(keys, 1)) for view in views}
        assert await _queued(redis_url, keys) == expected

        # The other views are now computed by the route too; asking again queues nothing new.
        for view in views:
            await client.get("/api/v1/chart-data", params=view.query())
        await app.state.prewarm.wait_sent()
        assert await _queued(redis_url, keys) == expected


@pytest.mark.redis
async def test_a_missed_run_page_asks_for_the_run(shared_backend, completed_run, redis_url, clean_redis):
    run_id = completed_run["id"]
    async with _api(shared_backend.http_url, redis_url, clean_redis) as (app, client, keys):
        # Not what the run page opens (it asks for the orders too): nothing to keep warm.
        assert (await client.get(f"/api/v1/runs/{run_id}/complete")).json()["metadata"]["cache"] == "miss"
        await app.state.prewarm.wait_sent()
        assert await _queued(redis_url, keys) == set()

        page = await client.get(f"/api/v1/runs/{run_id}/complete", params=run_page_query())
        assert page.json()["metadata"]["cache"] == "miss"
        await app.state.prewarm.wait_sent()
        assert await _queued(redis_url, keys) == {keys.prewarm_job(keys.run_complete(run_id, 2000, True))}


@pytest.mark.redis
async def test_without_redis_the_request_to_warm_is_dropped_quietly(shared_backend, redis_url, clean_redis):
    info = httpx.get(f"{shared_backend.http_url}/symbols/{SYMBOL}", headers=auth(SERVICE_TOKEN)).json()
    async with _api(shared_backend.http_url, "redis://127.0.0.1:1/0", clean_redis,
                    redis_socket_timeout_s=0.2) as (app, client, _keys):
        response = await client.get("/api/v1/chart-data", params=symbol_views(info)[0].query())
        assert response.status_code == 200 and response.headers["x-cache"] == "bypass"
        # Asked directly (a bypass is not a miss): the guard refuses, and the request is dropped without error.
        app.state.prewarm.chart_missed(symbol_views(info)[0], info)
        await app.state.prewarm.wait_sent()
        assert app.state.redis_guard.state == "down"


async def test_a_request_that_cannot_be_made_is_logged_and_never_reaches_the_response():
    guard = RedisGuard(fakeredis.FakeAsyncRedis(), op_timeout_s=1, retry_after_s=1, retry_after_max_s=1,
                       metrics=ApiMetrics())
    trigger = PrewarmTrigger(guard, KeySpace("hwtest-trigger"), guard.redis)
    with capture_logs() as logs:
        trigger.chart_missed(ChartView("X", ChartTimeframe.day), {"datasets": "not a list of datasets"})
        await trigger.wait_sent()
    assert [(e["event"], e["error"]) for e in logs] == [("prewarm_request_failed", "KeyError")]
