"""The floor of a cached answer: a bare Starlette app that GETs stored bytes from Redis and returns them.

The api's cache hits are measured against this, side by side in one run (``bench/bench_api.py``): it runs as its
own uvicorn process with the api's server options (uvloop, httptools, no permessage-deflate), reads the same
Redis over the same client library, set up as the api's (pooled connections checked as in
``common.redis_ready``), answers with the same bytes and the same ``Content-Encoding``, and gets the same
allocator setting for large buffers as the api (``common.heap.steady_large_buffers``). It does nothing
else: no middleware, no validation, no access check, no rate limit, no headers beyond those. Whatever the api
spends beyond it on a hit is the price of being the api.

``REDIS_URL`` names the Redis; ``GET /cached?key=<key>`` answers the bytes stored under ``key`` (404 when there
are none).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.settings import ApiSettings
from common.heap import steady_large_buffers
from common.redis_ready import pool_parser_options


def create_app() -> Starlette:
    redis = aioredis.Redis.from_url(os.environ["REDIS_URL"], **pool_parser_options())

    async def cached(request: Request) -> Response:
        body = await redis.get(request.query_params["key"])
        if body is None:
            return Response(status_code=404)
        return Response(body, media_type="application/json", headers={"Content-Encoding": "gzip"})

    async def health(_request: Request) -> Response:
        return Response(b"ok")

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # The api's default: a hit with orders moves ~600 KB buffers, whose cost otherwise depends on the process's
        # allocation history, not on the app.
        steady_large_buffers(ApiSettings.model_fields["malloc_mmap_threshold_bytes"].default)
        yield
        await redis.aclose()

    return Starlette(routes=[Route("/cached", cached), Route("/health", health)], lifespan=lifespan)
