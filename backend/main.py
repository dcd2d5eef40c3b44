"""Backend app factory: ``uvicorn --factory backend.main:create_app`` or ``hewston backend``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from backend.access_log import PrincipalNotes
from backend.auth import Authenticator
from backend.catalog import Catalog
from backend.market.bar_cache import BarFileCache
from backend.market.store import BarStore
from backend.metrics import BackendMetrics
from backend.playback.service import PlaybackConfig, PlaybackService
from backend.playback.session import PlaybackOptions
from backend.routers import backtests, bars, health, indicators, me, playback, symbols, trades
from backend.runs.decimation_pool import LineDecimator
from backend.runs.executor import RunExecutor
from backend.runs.repository import RunRepository
from backend.settings import BackendSettings
from common.access_log import AccessLogMiddleware
from common.app_defaults import FASTAPI_TELEMETRY_OFF
from common.body_timeout import BodyTimeoutMiddleware
from common.correlation import CorrelationIdMiddleware
from common.errors import install_error_handlers
from common.head_requests import HeadAsGetMiddleware
from common.logging import configure_logging
from common.openapi import install_openapi
from common.socket_admission import SocketAdmission


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Runs a previous process left queued or running are queued again rather than left "running" forever.
    app.state.executor.start()
    app.state.metrics.loop_lag.start()
    app.state.decimator.start()
    try:
        yield
    finally:
        await app.state.decimator.aclose()
        await app.state.metrics.loop_lag.stop()
        await asyncio.to_thread(app.state.executor.shutdown)


def _statuses(_path: str, _method: str, operation: dict) -> tuple[int, ...]:
    """What the backend's own layers add to an operation's answers: a stalled body is a 408."""
    return (408,) if "requestBody" in operation else ()


def create_app(settings: BackendSettings | None = None) -> FastAPI:
    settings = settings or BackendSettings()
    configure_logging(json_logs=settings.logs_as_json, level=settings.log_level)
    app = FastAPI(title="Hewston backend", version="0.1.0", lifespan=lifespan, telemetry=FASTAPI_TELEMETRY_OFF)
    catalog = Catalog(settings.catalog_path)
    metrics = BackendMetrics()
    app.state.metrics = metrics
    app.state.settings = settings
    app.state.catalog = catalog
    cache = BarFileCache(settings.bar_cache_mb * 2**20) if settings.bar_cache_mb > 0 else None
    app.state.bar_store = BarStore(settings.bars_dir, catalog, cache)
    app.state.authenticator = Authenticator(catalog, settings.service_token, settings.operators)
    app.state.runs = RunRepository(catalog, settings.runs_dir)
    app.state.executor = RunExecutor(app.state.runs, app.state.bar_store, max_workers=settings.run_workers,
                                     on_finished=metrics.run_finished)
    app.state.decimator = LineDecimator(settings.decimation_workers, settings.decimation_min_points,
                                        settings.decimation_timeout_s, settings.decimation_runs_per_worker,
                                        on_decimated=metrics.decimated)
    app.state.playback = PlaybackService(PlaybackConfig(
        options=PlaybackOptions(fps=settings.playback_fps, snapshot_interval_s=settings.playback_snapshot_interval_s),
        auth_timeout_s=settings.playback_auth_timeout_s, cache_bytes=settings.playback_cache_mb * 2**20,
        access_recheck_s=settings.playback_access_recheck_s))
    app.state.playback_admission = SocketAdmission(max_per_address=settings.playback_max_sockets_per_address,
                                                   allowed_origins=settings.cors_origins)
    metrics.count_connections(lambda: len(app.state.playback.connections))
    install_error_handlers(app)
    app.add_middleware(HeadAsGetMiddleware)
    app.add_middleware(BodyTimeoutMiddleware, body_timeout_s=settings.body_timeout_s)
    if settings.cors_origins:
        # The browser app's direct path calls the backend from the api's origin with a bearer header.
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
                           expose_headers=["X-Request-ID"], max_age=600)
    app.add_middleware(AccessLogMiddleware, logger="hewston.backend.access", notes=PrincipalNotes,
                       observe=metrics.observe_request)
    app.add_middleware(CorrelationIdMiddleware)
    for module in (health, me, symbols, bars, backtests, indicators, trades, playback):
        app.include_router(module.router)
    install_openapi(app, statuses_for=_statuses)
    return app
