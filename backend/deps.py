"""FastAPI dependencies of the backend, as ``Annotated`` aliases for the routers.

All are ``async``: FastAPI runs a plain ``def`` dependency on a worker thread, a hop that costs more than
these lookups (the token lookup is one indexed SQLite read) themselves. Each dependency is also a level that
FastAPI solves on every request (about as costly as the SQLite read), so the principal is its own security
scheme rather than a dependency of one, and a run's results routes take their stores as one :class:`RunResults`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from backend.auth import Authenticator, Principal
from backend.catalog import Catalog
from backend.market.store import BarStore
from backend.playback.cache import RunCache
from backend.runs.decimation_pool import LineDecimator
from backend.runs.executor import RunExecutor
from backend.runs.repository import RunRepository
from backend.settings import BackendSettings
from common.credentials import bearer_token


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


@dataclass(frozen=True)
class RunResults:
    """What the routes that answer from a completed run use: the runs, the loaded runs, the decimation pool."""

    runs: RunRepository
    loaded: RunCache
    decimator: LineDecimator


async def get_run_results(request: Request) -> RunResults:
    state = request.app.state
    return RunResults(state.runs, state.playback.cache, state.decimator)


class _BearerPrincipal(HTTPBearer):
    """The caller, from the ``Authorization`` header, as the ``HTTPBearer`` security scheme of the OpenAPI
    document: one dependency where a scheme plus a dependency on it would be two for FastAPI to solve."""

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        authenticator: Authenticator = request.app.state.authenticator
        # The header itself, parsed like everywhere else (HTTPBearer's own parse would accept tokens that the
        # api's rate limit and access cache read differently).
        principal = authenticator.authenticate(bearer_token(request.headers.get("authorization")))
        request.state.principal = principal
        return principal


# The scheme keeps the name and description the OpenAPI document has always had.
get_principal = _BearerPrincipal(auto_error=False, scheme_name="HTTPBearer",
                                 description="API token: `Authorization: Bearer <token>`")


SettingsDep = Annotated[BackendSettings, Depends(get_settings)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
BarStoreDep = Annotated[BarStore, Depends(get_bar_store)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
RunsDep = Annotated[RunRepository, Depends(get_runs)]
ExecutorDep = Annotated[RunExecutor, Depends(get_executor)]
RunResultsDep = Annotated[RunResults, Depends(get_run_results)]
