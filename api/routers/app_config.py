"""``GET /api/v1/config``: what the browser app needs before it signs in.

The feature-flag defaults live here, on the server, so that switching every browser back to the direct
backend path (or forward to the api) is a settings change and a restart of the api, not a rebuild of the app.
A person can still override each area in the app's settings panel; the override stays in that browser.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import SettingsDep
from api.models import AppConfig, DataPaths

router = APIRouter(tags=["config"])


@router.get("/config", response_model=AppConfig, summary="Browser app configuration: default data paths per area")
async def app_config(settings: SettingsDep, request: Request) -> AppConfig:
    backend_url = settings.public_backend_url or settings.backend_url
    if backend_url.startswith("/"):
        # A path on the origin this browser called (the proxy's Host and, from a trusted proxy, its scheme).
        backend_url = f"{str(request.base_url).rstrip('/')}{backend_url}"
    return AppConfig(
        data_paths=DataPaths(charts=settings.default_charts_path, runs=settings.default_runs_path,
                             playback=settings.default_playback_path),
        backend_url=backend_url.rstrip("/"))
