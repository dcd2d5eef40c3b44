"""The prewarm worker against a real backend served over TLS on loopback: its own ``backend_ca_file`` (not the
api's settings it reads beside its own) is what its catalog and the views it warms trust."""

from __future__ import annotations

import httpx
import pytest
import redis.asyncio as aioredis

from common.backend_tls import backend_ssl_context
from common.default_views import symbol_views
from common.keys import KeySpace
from tests.api.conftest import SYMBOL
from tests.conftest import SERVICE_TOKEN, auth
from tests.support.tls import Certificates
from tests.workers.conftest import prefixed_api_settings, run_burst, worker_config

pytestmark = pytest.mark.redis


async def test_the_worker_warms_charts_from_a_backend_over_tls(tls_backend, tls_certificates: Certificates,
                                                               real_redis_url, prefixes):
    api = prefixed_api_settings(tls_backend.http_url, real_redis_url, prefixes)
    assert api.backend_ca_file is None
    config = worker_config(tls_backend.http_url, real_redis_url, backend_ca_file=tls_certificates.ca_file,
                           max_tries=1)
    metrics = await run_burst(config, api)
    assert metrics.totals["done"] >= 2 and metrics.totals["failed"] == metrics.totals["retried"] == 0
    redis = aioredis.Redis.from_url(real_redis_url)
    try:
        keys = KeySpace(api.redis_key_prefix)
        info = httpx.get(f"{tls_backend.http_url}/symbols/{SYMBOL}", headers=auth(SERVICE_TOKEN),
                         verify=backend_ssl_context(tls_certificates.ca_file)).json()
        version = {dataset["timeframe"]: dataset["data_version"] for dataset in info["datasets"]}
        views = symbol_views(info)
        assert views
        for view in views:  # each default view's chart is in the cache, as an api node would have stored it
            assert await redis.exists(view.cache_key(keys, version[view.timeframe.source.value])), view
    finally:
        await redis.aclose()
