"""``/health`` (the process is up), ``/ready`` (dependencies, with state and latency) and ``/metrics``.

``/ready`` answers 200 with ``ok`` when Redis and the backend both answer, 200 with ``degraded`` when one of
them does not (the node still serves: uncached without Redis, clear 503 errors without the backend), and 503
with ``unavailable`` when neither does.
"""

from __future__ import annotations

import asyncio
import time

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from api.deps import GuardDep, MetricsDep, SettingsDep, UpstreamDep
from api.models import ReadyResponse
from api.views import Upstream
from common.errors import HewstonError

router = APIRouter(tags=["operations"])


@router.get("/health", summary="Liveness: the process is up")
async def health() -> dict[str, str]:
    return {"status": "ok"}


async def _backend_state(upstream: Upstream, timeout_s: float) -> tuple[str, float]:
    started = time.perf_counter()
    try:
        response = await upstream.get("/health", route="/health", authorization=None, timeout_s=timeout_s)
        state = "ok" if response.status == 200 else "down"
    except HewstonError:
        state = "down"
    return state, (time.perf_counter() - started) * 1000.0


@router.get("/ready", response_model=ReadyResponse, summary="Readiness of Redis and the backend",
            responses={503: {"description": "Neither Redis nor the backend answers", "model": ReadyResponse}})
async def ready(guard: GuardDep, upstream: UpstreamDep, settings: SettingsDep) -> Response:
    (redis_state, redis_ms), (backend_state, backend_ms) = await asyncio.gather(
        guard.probe(), _backend_state(upstream, settings.ready_timeout_s))
    down = [redis_state, backend_state].count("down")
    status = "ok" if down == 0 else "degraded" if down == 1 else "unavailable"
    body = {"status": status,
            "redis": {"state": redis_state, "latency_ms": round(redis_ms, 3)},
            "backend": {"state": backend_state, "latency_ms": round(backend_ms, 3)}}
    return Response(orjson.dumps(body), status_code=503 if down == 2 else 200, media_type="application/json")


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}})
async def prometheus_metrics(metrics: MetricsDep) -> Response:
    return Response(metrics.render(), media_type=metrics.content_type)
