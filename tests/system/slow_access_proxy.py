"""The backend as an api node sees it over a slow network, for the system test of access re-checks: a reverse
proxy (its own process: ``uvicorn --factory tests.system.slow_access_proxy:create_app``) that delays every
access question, ``GET /backtests/{id}``, by ``HEWSTON_TEST_ACCESS_DELAY_S``, and answers the caller whose
``Authorization`` is ``HEWSTON_TEST_HUNG_AUTHORIZATION`` once (its connection check) and never again. Everything
else is passed through to ``HEWSTON_TEST_BACKEND_URL`` as it is."""

from __future__ import annotations

import asyncio
import os
import re
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_RUN_DETAIL = re.compile(r"^/backtests/[^/]+$")
# Hop-by-hop headers, and what httpx has already undone (the body is passed on decoded).
_DROPPED = {"host", "content-length", "transfer-encoding", "connection", "content-encoding"}


def create_app() -> Starlette:
    backend_url = os.environ["HEWSTON_TEST_BACKEND_URL"]
    delay_s = float(os.environ.get("HEWSTON_TEST_ACCESS_DELAY_S", "0.02"))
    hung = os.environ.get("HEWSTON_TEST_HUNG_AUTHORIZATION", "")
    answered_hung = False
    client: httpx.AsyncClient | None = None

    @asynccontextmanager
    async def lifespan(_app):
        nonlocal client
        client = httpx.AsyncClient(base_url=backend_url, timeout=60,
                                   limits=httpx.Limits(max_connections=500, max_keepalive_connections=500))
        yield
        await client.aclose()

    async def forward(request: Request) -> Response:
        nonlocal answered_hung
        if request.method == "GET" and _RUN_DETAIL.match(request.url.path):
            if hung and request.headers.get("authorization") == hung:
                if answered_hung:
                    await asyncio.sleep(3600)  # never answered; the process ends with the test
                answered_hung = True
            await asyncio.sleep(delay_s)
        assert client is not None
        upstream = await client.request(
            request.method, request.url.path, params=request.query_params,
            headers=[(k, v) for k, v in request.headers.items() if k.lower() not in _DROPPED],
            content=await request.body())
        headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _DROPPED}
        return Response(upstream.content, status_code=upstream.status_code, headers=headers)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
    return Starlette(routes=[Route("/{path:path}", forward, methods=methods)], lifespan=lifespan)
