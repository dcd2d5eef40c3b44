"""Fixtures of the worker tests: the api tests' real backend, and burst workers on their own key prefixes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx
import pytest
from arq.worker import Worker

from api.settings import ApiSettings
from tests.api.conftest import (  # noqa: F401
    api_settings,
    clean_redis,
    completed_run,
    make_api,
    shared_backend,
    tls_backend,
)
from tests.conftest import SERVICE_TOKEN
from workers.config import WorkerConfig
from workers.metrics import WorkerMetrics
from workers.worker import worker_options


def worker_config(backend_url: str, redis_url: str | None, **overrides) -> WorkerConfig:
    values = dict(backend_url=backend_url, redis_url=redis_url, service_token=SERVICE_TOKEN, metrics_port=0,
                  retry_delay_s=0.05, _env_file=None)
    values.update(overrides)
    return WorkerConfig(**values)


def prefixed_api_settings(backend_url: str, redis_url: str | None, prefixes: list[str], **overrides) -> ApiSettings:
    """The api's settings on a fresh key prefix, registered for removal after the test."""
    settings = api_settings(backend_url, redis_url, redis_key_prefix=f"hwtest-{uuid.uuid4().hex[:8]}", **overrides)
    prefixes.append(settings.redis_key_prefix)
    return settings


async def run_burst(config: WorkerConfig, api: ApiSettings, **options) -> WorkerMetrics:
    """Run a worker until its queue is empty (discovery runs once at start-up); returns its metrics."""
    built = worker_options(config, api, burst=True, handle_signals=False, **options)
    worker = Worker(**built)
    try:
        await asyncio.wait_for(worker.async_run(), 60)
    finally:
        await worker.close()
    return built["ctx"]["metrics"]


async def wait_for(condition: Callable[[], bool | Awaitable[bool]], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.05)


def service_get(backend_url: str, path: str) -> dict:
    response = httpx.get(f"{backend_url}{path}", headers={"Authorization": f"Bearer {SERVICE_TOKEN}"})
    response.raise_for_status()
    return response.json()


@pytest.fixture
def prefixes(clean_redis) -> list[str]:  # noqa: F811
    """Key prefixes of this test on the real Redis, removed afterwards."""
    return clean_redis
