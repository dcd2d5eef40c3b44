"""The api's own backend calls (access checks, run parts, chart data, ``/me``, readiness, the worker's catalog) on the
keep-alive pool: what reaches the backend byte by byte, what the caller gets back, and the errors it maps to."""

from __future__ import annotations

import asyncio
import gzip
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest

from api.metrics import ApiMetrics
from api.routers.operations import _backend_state
from api.views import BackendFailure, BackendRefused, Upstream, UpstreamTimeout
from api.views.queries import RunCompleteQuery
from api.views.run_results import compute_run_parts
from common.correlation import _correlation_id
from common.errors import InvalidInput
from tests.api.conftest import api_settings
from tests.api.test_backend_pool import ScriptedBackend, on_both_loops
from tests.conftest import ALICE_TOKEN

OK_JSON = b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}'


def upstream_for(backend: ScriptedBackend, path: str = "", **overrides) -> Upstream:
    return Upstream(api_settings(f"http://127.0.0.1:{backend.port}{path}", None, **overrides), ApiMetrics())


@on_both_loops
async def test_query_parameters_are_encoded_as_before_and_headers_forwarded_unchanged():
    params = {"symbol": "BTC USD", "tags": ["a b", "é/ü&=+"], "include": True, "skip": False, "note": None,
              "limit": 200, "name": "Zürich 東京"}
    async with ScriptedBackend(lambda request: OK_JSON) as backend:
        upstream = upstream_for(backend, "/base/")
        token = _correlation_id.set("req-42")
        try:
            answer = await upstream.get_ok("/bars/m1", route="/bars/m1", authorization="Bearer t\xf6k\xe9n",
                                           params=params)
        finally:
            _correlation_id.reset(token)
        await upstream.aclose()
    assert answer.status == 200 and answer.json() == {"ok": True}
    assert answer.headers["content-type"] == "application/json"
    sent = backend.requests[0]
    # Byte for byte what the general-purpose client wrote before, under the backend url's own path.
    before = httpx.Client(base_url=f"http://127.0.0.1:{backend.port}/base/").build_request(
        "GET", "/bars/m1", params=params)
    assert sent.target == before.url.raw_path
    query = parse_qs(urlsplit(sent.target.decode("ascii")).query, keep_blank_values=True)
    assert query == {"symbol": ["BTC USD"], "tags": ["a b", "é/ü&=+"], "include": ["true"], "skip": ["false"],
                     "note": [""], "limit": ["200"], "name": ["Zürich 東京"]}
    # The caller's Authorization as it arrived (latin-1 bytes, not re-encoded), the correlation id, no gzip asked.
    assert sent.headers[b"authorization"] == "Bearer t\xf6k\xe9n".encode("latin-1")
    assert sent.headers[b"x-request-id"] == b"req-42"
    assert sent.headers[b"host"] == f"127.0.0.1:{backend.port}".encode()
    assert b"accept-encoding" not in sent.headers


@on_both_loops
async def test_a_refusal_keeps_the_backends_status_code_and_message():
    error = orjson.dumps({"error": {"code": "run_not_found", "message": "no run abc is yours",
                                    "details": [{"field": "run_id", "reason": "unknown"}]}})
    refused = (b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\nwww-authenticate: Bearer\r\n"
               b"content-length: %d\r\n\r\n" % len(error)) + error
    failed = b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 2\r\n\r\n{}"
    async with ScriptedBackend(lambda request: refused if request.target.startswith(b"/backtests") else failed) \
            as backend:
        upstream = upstream_for(backend)
        with pytest.raises(BackendRefused) as caught:
            await upstream.get_ok("/backtests/abc", route="/backtests/{id}", authorization="Bearer x")
        with pytest.raises(BackendRefused) as caught_gzip:
            await upstream.get_ok_gzip("/backtests/abc/orders", route="/backtests/{id}/orders",
                                       authorization="Bearer x")
        with pytest.raises(BackendFailure):
            await upstream.get_ok("/me", route="/me", authorization="Bearer x")
        plain = await upstream.get("/me", route="/me", authorization=None)  # get: any status is an answer
        await upstream.aclose()
    for refusal in (caught.value, caught_gzip.value):
        assert refusal.status_code == 404 and refusal.code == "run_not_found"
        assert refusal.message == "no run abc is yours"
        assert refusal.details == [{"field": "run_id", "reason": "unknown"}]
        assert refusal.headers == {"WWW-Authenticate": "Bearer"}
    assert plain.status == 500 and plain.content == b"{}"


@on_both_loops
async def test_a_gzip_part_is_kept_as_the_backend_compressed_it():
    document = orjson.dumps({"orders": [{"id": i, "side": "buy"} for i in range(2000)]})
    compressed = gzip.compress(document, mtime=0)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(compressed[i:i + 1000]), compressed[i:i + 1000])
                       for i in range(0, len(compressed), 1000))
    answer = (b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\nX-Hewston-Gzip: spliceable\r\n"
              b"transfer-encoding: chunked\r\n\r\n" + chunked + b"0\r\n\r\n")
    async with ScriptedBackend(lambda request: answer) as backend:
        upstream = upstream_for(backend)
        part = await upstream.get_ok_gzip("/backtests/abc/orders", route="/backtests/{id}/orders",
                                          authorization="Bearer x", params={"max_points": 2000})
        await upstream.aclose()
    assert part.content == compressed  # not inflated, not recompressed
    assert part.headers["content-encoding"] == "gzip" and part.headers["x-hewston-gzip"] == "spliceable"
    assert backend.requests[0].headers[b"accept-encoding"] == b"gzip"
    assert backend.requests[0].target == b"/backtests/abc/orders?max_points=2000"


@on_both_loops
async def test_a_per_call_timeout_is_a_504_and_readiness_says_down():
    # The head comes 0.05 s after the request, the body not for 1 s: each wait counts, like the pool's own.
    slow = (b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n", b"", b"", b"", b"", b"", b"", b"", b"", b"", b"",
            b"", b"", b"", b"", b"", b"", b"", b"", b"", b"ok")
    async with ScriptedBackend(lambda request: slow) as backend:
        metrics = ApiMetrics()
        upstream = Upstream(api_settings(f"http://127.0.0.1:{backend.port}", None, upstream_timeout_s=5.0), metrics)
        started = time.perf_counter()
        with pytest.raises(UpstreamTimeout):
            await upstream.get("/health", route="/health", authorization=None, timeout_s=0.2)
        assert time.perf_counter() - started < 0.6
        state, _ = await _backend_state(upstream, 0.2)
        assert state == "down"
        # Without its own timeout the call waits as long as the pool allows, and gets the whole answer.
        answer = await upstream.get("/health", route="/health", authorization=None)
        assert answer.status == 200 and answer.content == b"ok"
        await upstream.aclose()
    timeouts = metrics.registry.get_sample_value("hewston_api_upstream_duration_seconds_count",
                                                 {"method": "GET", "route": "/health", "status": "timeout"})
    assert timeouts == 2.0


@on_both_loops
async def test_a_header_value_with_a_line_break_is_never_sent():
    async with ScriptedBackend(lambda request: OK_JSON) as backend:
        upstream = upstream_for(backend)
        with pytest.raises(InvalidInput) as caught:
            await upstream.get_ok("/me", route="/me", authorization="Bearer x\r\nX-Evil: 1")
        await upstream.aclose()
    assert caught.value.details[0]["field"] == "authorization" and backend.requests == []


def test_concurrent_complete_runs_share_one_pool(shared_backend, completed_run):
    """Three uncached complete runs at once (nine part calls) over two connections: the same bytes as one alone."""
    async def main() -> None:
        settings = api_settings(shared_backend.http_url, None, upstream_max_connections=2)
        upstream = Upstream(settings, ApiMetrics())
        query = RunCompleteQuery(target_points=300, include_orders=True)
        authorization = f"Bearer {ALICE_TOKEN}"
        alone = await compute_run_parts(upstream, authorization, completed_run["id"], query, 1)
        together = await asyncio.gather(*(compute_run_parts(upstream, authorization, completed_run["id"], query, 1)
                                          for _ in range(3)))
        assert 1 <= len(upstream.pool._idle) <= 2  # the parts came over the pool, on two connections at most
        await upstream.aclose()
        assert alone.failures == ()
        for computed in together:
            assert computed.failures == ()
            assert computed.encoded.digest == alone.encoded.digest
            assert bytes(computed.encoded.prefix.deflated) == bytes(alone.encoded.prefix.deflated)

    asyncio.run(main())
