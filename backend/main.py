"""Backend app factory: ``uvicorn --factory backend.main:create_app`` or ``hewston backend``."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import ORJSONResponse

from backend.auth import Authenticator
from backend.catalog import Catalog
from backend.market.store import BarStore
from backend.routers import bars, health, symbols
from backend.runs.repository import RunRepository
from backend.settings import BackendSettings
from backend.user_header import UserHeaderMiddleware
from common.correlation import CorrelationIdMiddleware
from common.errors import install_error_handlers
from common.logging import configure_logging


def create_app(settings: BackendSettings | None = None) -> FastAPI:
    settings = settings or BackendSettings()
    configure_logging(json_logs=settings.logs_as_json, level=settings.log_level)
    app = FastAPI(title="Hewston backend", version="0.1.0", default_response_class=ORJSONResponse)
    catalog = Catalog(settings.catalog_path)
    app.state.settings = settings
    app.state.catalog = catalog
    app.state.bar_store = BarStore(settings.bars_dir, catalog)
    app.state.authenticator = Authenticator(catalog, settings.service_token)
    app.state.runs = RunRepository(catalog, settings.runs_dir)
    install_error_handlers(app)
    app.add_middleware(UserHeaderMiddleware)
    app.add_middleware(CorrelationIdMiddleware)
    for module in (health, symbols, bars):
        app.include_router(module.router)
    return app
