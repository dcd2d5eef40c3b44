"""Api app factory: ``uvicorn --factory api.main:create_app`` or ``hewston api``.

Routes: operations (``/health``, ``/ready``, ``/metrics``; for operators ``/api/v1/ops/``), the api's own
routes and every backend route under ``/api/v1/``, then the browser app at ``/`` when it is built.

Middleware, outermost first: proxy headers (the client address, from trusted proxies only; none without them),
correlation id (so every answer, even a refusal, carries one), access log and metrics, body timeout, CORS, size
limits, rate limit, then the routes. All of them are pure ASGI except CORS.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.routing import WebSocketRoute
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api import request_info
from api.deps import CachedViewServices
from api.limits import SizeLimitMiddleware
from api.metrics import ApiMetrics
from api.ops import router as ops_router
from api.ops.audit import AuditTrail
from api.ops.sampler import OpsSampler
from api.ops.summary import OpsSummary
from api.rate_limit import EXEMPT_PATHS, RateLimitMiddleware
from api.request_info import ApiRequestNotes
from api.routers import app_config, chart_data, operations, passthrough, run_viewers, runs_complete
from api.routers.direct_lane import install_direct_lane
from api.settings import ApiSettings
from api.stream import router as stream_router
from api.stream.hub import StreamHub
from api.stream.lane import StreamLane
from api.stream.metrics import StreamMetrics
from api.stream.socket_writer import RawSendMiddleware
from api.views import AccessChecks, CachedViews, PrewarmTrigger, ReadAhead
from api.web_app import mount_web_app
from common.access_log import AccessLogMiddleware, Observe
from common.app_defaults import FASTAPI_TELEMETRY_OFF
from common.body_timeout import BodyTimeoutMiddleware
from common.correlation import CorrelationIdMiddleware
from common.errors import install_error_handlers
from common.head_requests import HeadAsGetMiddleware
from common.heap import settle_heap, steady_large_buffers
from common.keys import KeySpace
from common.logging import configure_logging
from common.openapi import install_openapi
from common.redis_client import create_redis
from common.socket_admission import SocketAdmission
from common.stream.cluster_reader import make_stream_reader
from common.stream.store import StreamStore

API_PREFIX = "/api/v1"


def _statuses(path: str, _method: str, operation: dict[str, Any]) -> tuple[int, ...]:
    """What the api's own layers add to an operation's answers (beyond 401 and 422, see common.openapi)."""
    statuses = [414]  # the size limits see every request
    if path not in EXEMPT_PATHS:
        statuses.append(429)
    if path.startswith(API_PREFIX):
        statuses += [502, 503, 504]  # every /api/v1 route asks the backend
    if "requestBody" in operation:
        statuses += [408, 413]
    return tuple(statuses)


def _stream_hub(settings: ApiSettings, keys: KeySpace, metrics: ApiMetrics, access: AccessChecks) -> StreamHub:
    """The node's share of the playback stream, on Redis connections of its own: the blocking read's socket
    timeout outlasts its block, and the other calls get the stream's generous timeout (the request path keeps
    its short timeouts and breaker)."""
    node_id = uuid.uuid4().hex[:10]
    commands = create_redis(settings.redis_url, socket_timeout_s=settings.stream_redis_timeout_s)
    read_timeout_s = settings.stream_read_block_ms / 1000 + 5.0
    blocking = create_redis(settings.redis_url, socket_timeout_s=read_timeout_s)
    reader = make_stream_reader(blocking, commands, keys, f"api-{node_id}", block_ms=settings.stream_read_block_ms,
                                socket_timeout_s=read_timeout_s)
    return StreamHub(store=StreamStore(commands, keys), reader=reader, keys=keys, settings=settings,
                     metrics=StreamMetrics(metrics.registry), node_id=node_id, access=access)


def _observe(metrics: ApiMetrics) -> Observe:
    """The access log's metrics: the request's duration, and how many backend calls it made (the request's
    notes are still current when the middleware observes)."""

    def observe(method: str, route: str, status: int, duration_s: float) -> None:
        metrics.observe_request(method, route, status, duration_s)
        info = request_info.current()
        if info is not None:
            metrics.upstream_calls_by_route(route)(info.upstream_calls)

    return observe


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings()
    configure_logging(json_logs=settings.logs_as_json, level=settings.log_level)
    metrics = ApiMetrics()
    # Every call on the request path's client runs under the guard's deadline (api.views.redis_guard), which
    # bounds the whole call; a socket timeout of its own would only add a task and two timers to each command.
    redis = create_redis(settings.redis_url, socket_timeout_s=None)
    views = CachedViews(settings, redis, metrics)
    keys, guard, upstream = views.keys, views.guard, views.upstream
    # The job queue shares the cache's Redis unless it has its own (a Redis Cluster's queue must: arq has no
    # cluster client); with a cluster and no queue, nothing is queued. Its calls run under the guard too.
    queue_url = settings.queue_url
    queue_redis = redis if queue_url == settings.redis_url else (
        create_redis(queue_url, socket_timeout_s=None) if queue_url else None)
    metrics.redis_up.set_function(lambda: guard.state == "ok")
    prewarm = PrewarmTrigger(guard, keys, queue_redis)

    access = AccessChecks(upstream, guard, keys, ttl_s=settings.access_cache_ttl_s, metrics=metrics)
    hub = _stream_hub(settings, keys, metrics, access)
    sampler = OpsSampler(metrics.registry, guard, keys, node_id=hub.node_id,
                         interval_s=settings.ops_sample_interval_s, history_points=settings.ops_history_points,
                         table_window_s=settings.ops_table_window_s,
                         runs=lambda: {run_id: len(feed.viewers) for run_id, feed in hub.feeds.items()})

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await hub.start()
        metrics.loop_lag.start()
        sampler.start()
        settle_heap(settings.gc_young_threshold)
        steady_large_buffers(settings.malloc_mmap_threshold_bytes)
        try:
            yield
        finally:
            await sampler.stop()
            await metrics.loop_lag.stop()
            await hub.stop()
            await prewarm.aclose()
            await views.aclose()
            await hub.reader.aclose()
            await hub.store.redis.aclose()
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
    app.state.views = views
    app.state.prewarm = prewarm
    app.state.access = access
    app.state.cached_view_services = CachedViewServices(settings, access, views, metrics, prewarm)
    app.state.stream_hub = hub
    app.state.stream_admission = SocketAdmission(max_per_address=settings.stream_max_sockets_per_address,
                                                 allowed_origins=settings.cors_origins)
    app.state.ops_sampler = sampler
    app.state.ops_summary = OpsSummary(guard, keys, interval_s=settings.ops_sample_interval_s)
    app.state.audit = AuditTrail(guard, keys, access, max_events=settings.audit_max_events)
    install_error_handlers(app)

    app.include_router(operations.router)
    app.include_router(chart_data.router, prefix=API_PREFIX)
    app.include_router(runs_complete.router, prefix=API_PREFIX)
    app.include_router(run_viewers.router, prefix=API_PREFIX)
    app.include_router(app_config.router, prefix=API_PREFIX)
    stream_route = WebSocketRoute(API_PREFIX + stream_router.PATH, stream_router.stream, name="stream")
    app.router.routes.append(stream_route)
    app.include_router(ops_router.router, prefix=API_PREFIX)
    app.include_router(passthrough.router, prefix=API_PREFIX)
    # After every api route: the browser app's fallback must never shadow one.
    mount_web_app(app, settings.web_app_dir)
    install_openapi(app, statuses_for=_statuses, extend=passthrough.document)
    install_direct_lane(app)

    # add_middleware wraps what is there, so the last one added is the outermost.
    app.add_middleware(HeadAsGetMiddleware)
    # Inside the layers a viewer's handshake needs (address, correlation id, rate limit), outside the rest.
    app.add_middleware(StreamLane, route=stream_route)
    app.add_middleware(RateLimitMiddleware, guard=guard, keys=keys, limit=settings.rate_limit_requests,
                       address_limit=settings.rate_limit_address_requests, window_s=settings.rate_limit_window_s,
                       metrics=metrics, read_ahead=ReadAhead(), count_ahead=settings.rate_limit_count_ahead)
    app.add_middleware(SizeLimitMiddleware, max_body_bytes=settings.max_body_bytes,
                       max_query_bytes=settings.max_query_bytes)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=["*"], allow_headers=["Authorization", "Content-Type", "X-Request-ID",
                                                                "If-None-Match"],
                           expose_headers=["ETag", "X-Request-ID", "X-Cache", "Server-Timing", "Retry-After"])
    app.add_middleware(BodyTimeoutMiddleware, body_timeout_s=settings.body_timeout_s)
    app.add_middleware(AccessLogMiddleware, logger="hewston.api.access", notes=ApiRequestNotes,
                       observe=_observe(metrics), server_timing=True)
    app.add_middleware(CorrelationIdMiddleware)
    # The client address every layer sees is the peer's, or what a trusted proxy says it is (with no proxy
    # trusted, the peer's as the server gives it: no layer to pass through).
    if settings.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    # Outermost: keeps the server's own send for the stream's fan-out (api/stream/socket_writer.py).
    app.add_middleware(RawSendMiddleware)
    return app
