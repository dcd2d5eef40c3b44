"""Api app factory: ``uvicorn --factory api.main:create_app`` or ``hewston api``.

Routes: operations (``/health``, ``/ready``, ``/metrics``), the api's own routes and every backend route under
``/api/v1/``, then the browser app at ``/`` when it is built.

Middleware, outermost first: correlation id (so every answer, even a refusal, carries one), access log and
metrics, CORS, size limits, rate limit, then the routes. All of them are pure ASGI except CORS.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi

from api.access import AccessChecks
from api.access_log import AccessLogMiddleware
from api.cache import ResponseCache
from api.limits import SizeLimitMiddleware
from api.metrics import ApiMetrics
from api.rate_limit import RateLimitMiddleware
from api.redis_guard import RedisGuard
from api.routers import app_config, chart_data, operations, passthrough, runs_complete
from api.settings import ApiSettings
from api.single_flight import SingleFlight
from api.upstream import Upstream
from api.web_app import mount_web_app
from common.app_defaults import FASTAPI_TELEMETRY_OFF
from common.correlation import CorrelationIdMiddleware
from common.errors import install_error_handlers
from common.keys import KeySpace
from common.logging import configure_logging
from common.redis_client import create_redis

API_PREFIX = "/api/v1"


def _openapi_with_passthrough_bodies(app: FastAPI) -> dict[str, Any]:
    """OpenAPI plus the request models that passthrough routes document but do not validate themselves."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description,
                             routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in passthrough.REQUEST_BODIES:
            extra = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
            components.update(extra.pop("$defs", {}))
            components[model.__name__] = extra
        app.openapi_schema = schema
    return app.openapi_schema


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings()
    configure_logging(json_logs=settings.logs_as_json, level=settings.log_level)
    metrics = ApiMetrics()
    keys = KeySpace(settings.redis_key_prefix)
    redis = create_redis(settings.redis_url, socket_timeout_s=settings.redis_socket_timeout_s)
    guard = RedisGuard(redis, op_timeout_s=settings.redis_socket_timeout_s,
                       retry_after_s=settings.redis_retry_after_s,
                       retry_after_max_s=settings.redis_retry_after_max_s, metrics=metrics)
    upstream = Upstream(settings, metrics)
    flight: SingleFlight = SingleFlight(guard, keys, lock_ms=settings.single_flight_lock_ms,
                                        wait_s=settings.single_flight_wait_s)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await upstream.aclose()
            await redis.aclose()

    app = FastAPI(title="Hewston api", version="0.1.0", lifespan=lifespan, telemetry=FASTAPI_TELEMETRY_OFF,
                  description="The browser's API: chart data, complete runs, and every backend route under "
                              "`/api/v1/` with the caller's token forwarded.")
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.keys = keys
    app.state.redis = redis
    app.state.redis_guard = guard
    app.state.upstream = upstream
    app.state.cache = ResponseCache(guard, flight, gzip_level=settings.gzip_level,
                                    gzip_min_bytes=settings.gzip_min_bytes)
    app.state.access = AccessChecks(upstream, guard, keys, ttl_s=settings.access_cache_ttl_s, metrics=metrics)
    install_error_handlers(app)

    app.include_router(operations.router)
    app.include_router(chart_data.router, prefix=API_PREFIX)
    app.include_router(runs_complete.router, prefix=API_PREFIX)
    app.include_router(app_config.router, prefix=API_PREFIX)
    app.include_router(passthrough.router, prefix=API_PREFIX)
    # After every api route: the browser app's fallback must never shadow one.
    mount_web_app(app, settings.web_app_dir)
    app.openapi = lambda: _openapi_with_passthrough_bodies(app)  # type: ignore[method-assign]

    # add_middleware wraps what is there, so the last one added is the outermost.
    app.add_middleware(RateLimitMiddleware, guard=guard, keys=keys, limit=settings.rate_limit_requests,
                       window_s=settings.rate_limit_window_s, metrics=metrics)
    app.add_middleware(SizeLimitMiddleware, max_body_bytes=settings.max_body_bytes,
                       max_query_bytes=settings.max_query_bytes)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=["*"], allow_headers=["Authorization", "Content-Type", "X-Request-ID",
                                                                "If-None-Match"],
                           expose_headers=["ETag", "X-Request-ID", "X-Cache", "Server-Timing", "Retry-After"])
    app.add_middleware(AccessLogMiddleware, metrics=metrics)
    app.add_middleware(CorrelationIdMiddleware)
    return app
