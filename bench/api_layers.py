"""Where a cache hit's and a passthrough call's time goes, layer by layer, measured without a profiler.

``python -m bench.api_layers [section]`` starts a Redis server and a backend (as ``bench/bench_api.py`` does),
builds the api and the floor app (``bench/floor_app.py``) in this process, and calls them as ASGI apps, taking
turns request by request (the order reversed every round), with a chart-data hit (10,000 candles, gzip):

- the floor, and the api as it runs;
- the api without one of its middleware layers at a time, and with none but the rate limit (whose round trip
  also reads the hit's entries ahead, so it cannot be taken away without adding round trips);
- the api writing its access line (INFO, JSON): ``bench_api`` runs the services at WARNING, which skips it;
- the Redis part alone, on one connection: a hit's round trip when it is counted (the rate limit's pipeline: two
  counting scripts, two reads ahead), and when it is served on requests counted ahead (``api.counted_ahead``:
  the two reads in one ``MGET``), against the floor's single ``GET`` of the same bytes;
- a passthrough call (``GET /api/v1/symbols/{symbol}``) through the api, without the rate limit, and the same
  backend call made by the api's own upstream client alone (``Upstream.forward``: the floor of a passthrough
  inside the api, since the backend's own time is in every case), and by httpcore's pool for comparison.

No HTTP server is involved, so the numbers are the app's own time: what separates a hit from the floor in
``bench_api`` beyond this is the server and the client handling the api's larger header block. It is not named
``bench_*``, so ``make bench`` does not run it; it records the ``api_layers`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpcore
import httpx
import redis.asyncio as aioredis

from bench.bench_api import SYMBOL, TOKEN, backend_on_redis
from bench.harness import STATS_HEADER, Stats, machine_line, record_section, stats_ms
from common.keys import KeySpace
from common.logging import configure_logging
from common.redis_client import call_scripts, get_many
from tests.support.redis_keys import delete_key_space

ROUNDS = 1500
PREFIX = f"hwlayers-{os.getpid()}"
CHART_QUERY = f"symbol={SYMBOL}&timeframe=1M_DECIMATED&target_points=10000".encode()


def _scope(app: Any, path: str, query: bytes, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query,
            "root_path": "", "headers": headers, "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000),
            "extensions": {}, "app": app}


def _caller(app: Any, scope: dict[str, Any]) -> Callable[[], Awaitable[bytes]]:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def call() -> bytes:
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app({**scope, "state": {}}, receive, send)
        assert sent[0]["status"] == 200, sent
        return sent[1]["body"]

    return call


def _logging_at(level: str) -> Callable[[], None]:
    return lambda: configure_logging(json_logs=True, level=level)


async def _interleaved(calls: dict[str, Callable[[], Awaitable[Any]]], rounds: int,
                       prepare: dict[str, Callable[[], None]] | None = None) -> dict[str, Stats]:
    """Each call timed ``rounds`` times, taking turns; ``prepare[name]`` runs (untimed) before that case's call,
    and the services' logging (JSON, warnings only, as ``bench_api`` runs them) is restored after it."""
    prepare = prepare or {}
    quiet = _logging_at("WARNING")
    samples: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for i in range(-50, rounds):  # the first 50 rounds warm up
        for name in names if i % 2 == 0 else reversed(names):
            if name in prepare:
                prepare[name]()
            t0 = time.perf_counter()
            await calls[name]()
            elapsed = time.perf_counter() - t0
            if name in prepare:
                quiet()
            if i >= 0:
                samples[name].append(elapsed)
    return {name: stats_ms(values) for name, values in samples.items()}


def configure_in_process_api(redis_url: str, backend_url: str) -> None:
    """The environment an api built in this process reads, as bench_api's services have it: logging in JSON,
    warnings only (except where a case says otherwise), and rate limits no benchmark reaches."""
    os.environ.update({"HEWSTON_LOG_LEVEL": "WARNING", "HEWSTON_LOG_JSON": "true",
                       "HEWSTON_API_BACKEND_URL": backend_url, "HEWSTON_API_REDIS_KEY_PREFIX": PREFIX,
                       "REDIS_URL": redis_url, "HEWSTON_API_RATE_LIMIT_REQUESTS": str(10**9),
                       "HEWSTON_API_RATE_LIMIT_ADDRESS_REQUESTS": str(10**9)})


async def _layers(redis_url: str, backend_url: str, rounds: int) -> tuple[dict[str, Stats], list[str]]:
    configure_in_process_api(redis_url, backend_url)
    from api.main import create_app
    from bench.floor_app import create_app as create_floor

    app, floor = create_app(), create_floor()
    headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {TOKEN}".encode()), (b"accept-encoding", b"gzip")]
    chart = _scope(app, "/api/v1/chart-data", CHART_QUERY, headers)
    redis = aioredis.Redis.from_url(redis_url)
    async with app.router.lifespan_context(app), floor.router.lifespan_context(floor):
        body = await _caller(app, chart)()  # the miss
        body = await _caller(app, chart)()  # the first hit, which learns what to read ahead
        floor_key = f"{PREFIX}:floor"
        await redis.set(floor_key, body)
        layers = list(app.user_middleware)
        names = [layer.cls.__name__ for layer in layers]

        def without(*left_out: str) -> Any:
            """The api's middleware stack without the layers named."""
            app.user_middleware = [layer for layer in layers if layer.cls.__name__ not in left_out]
            return app.build_middleware_stack()

        calls = {"floor": _caller(floor, _scope(floor, "/cached", b"key=" + floor_key.encode(), [(b"host", b"x")])),
                 "api": _caller(without(), chart)}
        for name in names:
            calls[f"api without {name}"] = _caller(without(name), chart)
        calls["api with only RateLimitMiddleware"] = _caller(
            without(*(n for n in names if n != "RateLimitMiddleware")), chart)
        calls["api logging its access line (INFO, JSON)"] = _caller(without(), chart)
        calls["api (again, last in each round)"] = _caller(without(), chart)
        measured = await _interleaved(calls, rounds, {"api logging its access line (INFO, JSON)": _logging_at("INFO")})
        measured.update(await _redis_part(app, redis, floor_key, rounds))
        measured.update(await _passthrough(app, headers, without, rounds))
        app.user_middleware = layers
    await redis.aclose()
    return measured, names


async def _redis_part(app: Any, redis: aioredis.Redis, floor_key: str, rounds: int) -> dict[str, Stats]:
    """A hit's round trip to Redis, with and without requests counted ahead, against the floor's GET."""
    limiter = _rate_limiter(app)
    keys = KeySpace(PREFIX)
    window = int(time.time() // limiter.window_s)
    reads = (keys.symbol_access("h" * 64, SYMBOL), floor_key)

    calls = limiter._calls([("a:127.0.0.1", limiter.address_budget), ("t:" + "h" * 64, limiter.credential_budget)],
                           window, 0.0)

    async def pipeline() -> Any:
        return await call_scripts(redis, calls, reads)

    async def leased() -> Any:
        return await get_many(redis, reads)

    async def get() -> Any:
        return await redis.get(floor_key)

    return await _interleaved({"Redis: the floor's GET": get,
                               "Redis: a hit's reads on requests counted ahead (one MGET)": leased,
                               "Redis: a hit's count and reads (the rate limit's pipeline)": pipeline}, rounds)


async def _passthrough(app: Any, headers: list[tuple[bytes, bytes]], without: Callable[..., Any],
                       rounds: int) -> dict[str, Stats]:
    """A passthrough call through the api, and the same backend call by the api's upstream client alone."""
    path = f"/api/v1/symbols/{SYMBOL}"
    scope = _scope(app, path, b"", headers)
    upstream = app.state.upstream
    backend_headers = [(b"authorization", f"Bearer {TOKEN}".encode())]

    async def direct() -> bytes:
        response = await upstream.forward("GET", f"/symbols/{SYMBOL}".encode(), backend_headers, None,
                                          route="/symbols/{symbol}")
        try:
            return b"".join([chunk async for chunk in response.aiter_stream()])
        finally:
            await response.aclose()

    # The same call by a general-purpose client's pool (httpcore, h11's pure-Python parser, as httpx uses it),
    # to show what the api's own pool (``api.views.backend_pool``) saves.
    general = httpcore.AsyncConnectionPool(max_connections=1, keepalive_expiry=upstream.settings.upstream_keepalive_s)
    base = httpx.URL(upstream.settings.backend_url)

    async def by_httpcore() -> bytes:
        url = httpcore.URL(scheme=base.raw_scheme, host=base.raw_host, port=base.port, target=f"/symbols/{SYMBOL}")
        request = httpcore.Request(b"GET", url, headers=[(b"host", base.netloc), *backend_headers])
        response = await general.handle_async_request(request)
        try:
            return b"".join([chunk async for chunk in response.aiter_stream()])
        finally:
            await response.aclose()

    calls = {"passthrough: the backend call by httpcore's pool, for comparison": by_httpcore,
             "passthrough: the backend call by Upstream.forward alone": direct,
             "passthrough: through the api": _caller(without(), scope),
             "passthrough: through the api without RateLimitMiddleware": _caller(without("RateLimitMiddleware"),
                                                                                  scope)}
    try:
        return await _interleaved(calls, rounds)
    finally:
        await general.aclose()


def _rate_limiter(app: Any) -> Any:
    layer = app.middleware_stack
    while layer is not None and type(layer).__name__ != "RateLimitMiddleware":
        layer = getattr(layer, "app", None)
    assert layer is not None, "no rate limit in the api's middleware"
    return layer


def main(section: str = "api_layers") -> None:
    with backend_on_redis("api_layers") as servers:
        if servers is None:
            return
        redis_url, backend_url = servers
        load_before = os.getloadavg()[0]
        # The access lines of the case that logs them go nowhere, as the services' do in bench_api.
        stderr, sys.stderr = sys.stderr, open(os.devnull, "w")  # noqa: SIM115
        try:
            measured, names = asyncio.run(_layers(redis_url, backend_url, ROUNDS))
        finally:
            sys.stderr.close()
            sys.stderr = stderr
        delete_key_space(redis_url, KeySpace(PREFIX))
    api = (measured["api"].p50_ms + measured["api (again, last in each round)"].p50_ms) / 2
    lines = [f"{machine_line()}; load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after. The api and "
             "the floor app called as ASGI apps in one process (no HTTP server), on a Redis server and a live "
             f"backend; a chart-data hit (10k candles, gzip), {ROUNDS:,} rounds taking turns. Middleware, "
             f"outermost first: {', '.join(names)}. The api runs twice per round (first and last) to show how much "
             "the position in a round moves a case; the difference column is against their mean.", "",
             "| case | p50 ms | difference from the api, µs |", "| --- | --- | --- |"]
    for name, stats in measured.items():
        lines.append(f"| {name} | {stats.p50_ms:.3f} | {(stats.p50_ms - api) * 1000:+.0f} |")
    lines += ["", STATS_HEADER, *(f"| {name} | {stats.row()} |" for name, stats in measured.items())]
    record_section(section, "\n".join(lines))


if __name__ == "__main__":
    main(*sys.argv[1:2])
