"""FastAPI dependencies of the backend, as ``Annotated`` aliases for the routers.

All are ``async``: FastAPI runs a plain ``def`` dependency on a worker thread, a hop that costs more than
these lookups (the token lookup is one indexed SQLite read) themselves.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.auth import Authenticator, Principal
from backend.catalog import Catalog
from backend.market.store import BarStore
from backend.playback.cache import RunCache
from backend.runs.decimation_pool import LineDecimator
from backend.runs.executor import RunExecutor
from backend.runs.repository import RunRepository
from backend.settings import BackendSettings
from common.credentials import bearer_token

_bearer = HTTPBearer(auto_error=False, description="API token: `Authorization: Bearer <token>`")


async def get_settings(request: Request) -> BackendSettings:
    return request.app.state.settings


async def get_catalog(request: Request) -> Catalog:
    return request.app.state.catalog


async def get_bar_store(request: Request) -> BarStore:
    return request.app.state.bar_store


async def get_runs(request: Request) -> RunRepository:
    return request.app.state.runs


async def get_executor(request: Request) -> RunExecutor:
    return request.app.state.executor


async def get_loaded_runs(request: Request) -> RunCache:
    """Completed runs loaded in memory, shared by playback and the equity route (artifacts are immutable)."""
    return request.app.state.playback.cache


async def get_decimator(request: Request) -> LineDecimator:
    return request.app.state.decimator


async def get_principal(request: Request,
                  _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    authenticator: Authenticator = request.app.state.authenticator
    # The header itself, parsed like everywhere else (HTTPBearer is declared for OpenAPI only): its own parse
    # would accept tokens that the api's rate limit and access cache read differently.
    principal = authenticator.authenticate(bearer_token(request.headers.get("authorization")))
    request.state.principal = principal
    return principal


SettingsDep = Annotated[BackendSettings, Depends(get_settings)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
BarStoreDep = Annotated[BarStore, Depends(get_bar_store)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
RunsDep = Annotated[RunRepository, Depends(get_runs)]
ExecutorDep = Annotated[RunExecutor, Depends(get_executor)]
LoadedRunsDep = Annotated[RunCache, Depends(get_loaded_runs)]
DecimatorDep = Annotated[LineDecimator, Depends(get_decimator)]
