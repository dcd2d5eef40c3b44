"""FastAPI dependencies of the api, as ``Annotated`` aliases for the routers.

All are ``async``: FastAPI runs a plain ``def`` dependency on a worker thread, a hop that costs more than
these lookups themselves. FastAPI also resolves each dependency of each request anew (a cache key, a call, its
result), which on a cache hit costs more than the hit's own work: the cached-view routes get what they use as
one dependency (:class:`CachedViewServices`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.metrics import ApiMetrics
from api.settings import ApiSettings
from api.stream.hub import StreamHub
from api.views import AccessChecks, CachedViews, PrewarmTrigger, RedisGuard, Upstream
from common.request_headers import header

# Declared so that OpenAPI shows the bearer scheme; the api forwards the header as it came and never
# decides access itself, so a missing token is the backend's to refuse.
_bearer = HTTPBearer(auto_error=False, description="API token: `Authorization: Bearer <token>`")


async def get_settings(request: Request) -> ApiSettings:
    return request.app.state.settings


def upstream_client(request: Request) -> Upstream:
    return request.app.state.upstream


async def get_upstream(request: Request) -> Upstream:
    return upstream_client(request)


async def get_views(request: Request) -> CachedViews:
    return request.app.state.views


async def get_access(request: Request) -> AccessChecks:
    return request.app.state.access


async def get_guard(request: Request) -> RedisGuard:
    return request.app.state.redis_guard


async def get_metrics(request: Request) -> ApiMetrics:
    return request.app.state.metrics


async def get_prewarm(request: Request) -> PrewarmTrigger:
    return request.app.state.prewarm


async def get_stream_hub(request: Request) -> StreamHub:
    return request.app.state.stream_hub


@dataclass(frozen=True)
class CachedViewServices:
    """What the cached-view routes (chart data, complete runs) use, built once per app."""

    settings: ApiSettings
    access: AccessChecks
    views: CachedViews
    metrics: ApiMetrics
    prewarm: PrewarmTrigger


async def get_cached_view_services(request: Request) -> CachedViewServices:
    return cached_view_services(request)


def authorization_header(request: Request) -> str | None:
    return header(request.scope, b"authorization")


def cached_view_services(request: Request) -> CachedViewServices:
    return request.app.state.cached_view_services


async def get_authorization(request: Request,
                      _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str | None:
    return authorization_header(request)


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
UpstreamDep = Annotated[Upstream, Depends(get_upstream)]
ViewsDep = Annotated[CachedViews, Depends(get_views)]
AccessDep = Annotated[AccessChecks, Depends(get_access)]
GuardDep = Annotated[RedisGuard, Depends(get_guard)]
MetricsDep = Annotated[ApiMetrics, Depends(get_metrics)]
PrewarmDep = Annotated[PrewarmTrigger, Depends(get_prewarm)]
StreamHubDep = Annotated[StreamHub, Depends(get_stream_hub)]
AuthorizationDep = Annotated[str | None, Depends(get_authorization)]
CachedViewServicesDep = Annotated[CachedViewServices, Depends(get_cached_view_services)]

# What ``api.routers.direct_route.DirectRoute`` reads without FastAPI's solver: each dependency's plain reader of
# the request (the bearer scheme under ``get_authorization`` only documents the header, it decides nothing).
DIRECT_DEPENDENCIES = {get_authorization: authorization_header, get_cached_view_services: cached_view_services,
                       get_upstream: upstream_client}
