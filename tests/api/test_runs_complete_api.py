"""``/api/v1/runs/{id}/complete`` against a real backend run and a real Redis."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable

import httpx
import orjson
import pytest
from fastapi import FastAPI, Request
from starlette.responses import Response

from api.views import run_results
from common.spliceable_gzip import split_spliceable
from tests.conftest import ALICE_TOKEN, BOB_TOKEN, auth
from tests.support.servers import free_port, live_server

pytestmark = pytest.mark.redis


def complete(api, run_id: str, token: str = ALICE_TOKEN, **params) -> httpx.Response:
    return httpx.get(f"{api.http_url}/api/v1/runs/{run_id}/complete", params=params, headers=auth(token))


def _proxy(backend_url: str, intercept: Callable[[str], Awaitable[Response | None]]) -> FastAPI:
    """A proxy in front of the backend (plain JSON answers) that lets ``intercept`` see each path first and answer
    in the backend's place when it returns a response."""
    proxy = FastAPI()

    @proxy.api_route("/{path:path}", methods=["GET"])
    async def relay(path: str, request: Request) -> Response:
        instead = await intercept(path)
        if instead is not None:
            return instead
        async with httpx.AsyncClient() as client:
            upstream = await client.get(f"{backend_url}/{path}", params=request.query_params,
                                        headers={"Authorization": request.headers.get("authorization", "")})
        return Response(upstream.content, status_code=upstream.status_code, media_type="application/json")

    return proxy


def test_completed_run_in_one_response_then_from_cache(shared_backend, make_api, completed_run):
    api = make_api(shared_backend.http_url)
    run_id = completed_run["id"]
    first = complete(api, run_id, target_points=200, include_orders="true")
    assert first.status_code == 200
    body = first.json()
    assert body["run"]["id"] == run_id and body["run"]["status"] == "completed"
    equity = body["equity"]
    assert equity["source_points"] == completed_run["bars"] and equity["count"] <= 200
    assert len(equity["time"]) == len(equity["equity"]) == len(equity["drawdown"]) == equity["count"]
    direct = httpx.get(f"{shared_backend.http_url}/backtests/{run_id}/equity", headers=auth(ALICE_TOKEN)).json()
    # Decimation keeps real points: each returned point is the backend's point at that time, drawdown included.
    by_time = {t: (e, d) for t, e, d in zip(direct["time"], direct["equity"], direct["drawdown"], strict=True)}
    assert all(by_time[t] == (e, d) for t, e, d in zip(equity["time"], equity["equity"], equity["drawdown"],
                                                        strict=True))
    assert equity["time"][0] == direct["time"][0] and equity["time"][-1] == direct["time"][-1]
    metrics = httpx.get(f"{shared_backend.http_url}/backtests/{run_id}/metrics", headers=auth(ALICE_TOKEN)).json()
    orders = httpx.get(f"{shared_backend.http_url}/backtests/{run_id}/orders", headers=auth(ALICE_TOKEN)).json()
    assert body["metrics"] == metrics["metrics"] and body["orders"] == orders
    meta = body["metadata"]
    assert meta["cache"] == "miss" and meta["partial_failures"] == [] and meta["load_time_ms"] > 0
    assert meta["sources"] == {"run": "backend", "metrics": "backend", "equity": "backend", "orders": "backend"}

    second = complete(api, run_id, target_points=200, include_orders="true")
    meta2 = second.json()["metadata"]
    assert meta2["cache"] == "hit" and meta2["sources"]["equity"] == "cache"
    assert meta2["sources"]["run"] == "access_cache"
    assert second.json()["equity"] == equity and second.headers["etag"] == first.headers["etag"]
    again = httpx.get(f"{api.http_url}/api/v1/runs/{run_id}/complete",
                      params={"target_points": 200, "include_orders": "true"},
                      headers={**auth(ALICE_TOKEN), "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    plain = httpx.get(f"{api.http_url}/api/v1/runs/{run_id}/complete",
                      params={"target_points": 200, "include_orders": "true"},
                      headers={**auth(ALICE_TOKEN), "Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.json()["metadata"]["cache"] == "hit"
    assert {k: v for k, v in plain.json().items() if k != "metadata"} == {
        k: v for k, v in second.json().items() if k != "metadata"}


def test_orders_can_be_left_out(shared_backend, make_api, completed_run):
    api = make_api(shared_backend.http_url)
    body = complete(api, completed_run["id"]).json()
    assert body["orders"] is None and body["metadata"]["sources"]["orders"] == "not_requested"


def test_access_is_the_backends_even_for_cached_runs(shared_backend, make_api, completed_run):
    api = make_api(shared_backend.http_url)
    assert complete(api, completed_run["id"]).status_code == 200
    refused = complete(api, completed_run["id"], token=BOB_TOKEN)
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
    assert complete(api, completed_run["id"], token="hw_wrong").status_code == 401
    assert complete(api, "does-not-exist").status_code == 404
    assert complete(api, "bad id!").status_code == 422


def test_unfinished_runs_are_served_fresh_and_not_cached(market_backend, backend_app, make_api):
    from backend.engine.spec import RunSpec
    from common.models.bars import Timeframe
    from tests.api.conftest import START, SYMBOL

    alice = backend_app.state.catalog.user_by_name("alice")
    spec = RunSpec(symbol=SYMBOL, timeframe=Timeframe.minute, strategy="buy_and_hold", mode="long_only",
                   params={}, from_time=START, to_time=START + 3600, cash=1000.0, commission_rate=0.0,
                   fixed_fee=0.0, slippage_bps=0.0, fractional=False)
    # Created behind the executor's back, so it stays queued for the whole test.
    record = backend_app.state.runs.create(alice.id, spec, {})
    api = make_api(market_backend.http_url)
    for _ in range(2):
        body = complete(api, record.id, include_orders="true").json()
        assert body["run"]["status"] == "queued" and body["equity"] is None and body["metrics"] is None
        assert body["metadata"]["cache"] == "not_cached"
        assert body["metadata"]["sources"] == {"run": "backend", "metrics": "unavailable",
                                               "equity": "unavailable", "orders": "unavailable"}


def test_backend_down_is_503(make_api):
    api = make_api(f"http://127.0.0.1:{free_port()}")
    response = complete(api, "abc")
    assert response.status_code == 503 and response.json()["error"]["correlation_id"]


def test_a_failing_optional_part_is_reported_not_hidden(shared_backend, make_api, completed_run):
    """Orders fail behind a proxy that breaks only that route; metrics and equity still come back."""
    async def break_orders(path: str) -> Response | None:
        if path.endswith("/orders"):
            return Response(b'{"error": {"code": "boom", "message": "orders store offline"}}', status_code=500,
                            media_type="application/json")
        return None

    with live_server(_proxy(shared_backend.http_url, break_orders)) as broken:
        api = make_api(broken.http_url)
        body = complete(api, completed_run["id"], include_orders="true").json()
        assert body["equity"]["count"] > 0 and body["metrics"]
        assert body["orders"] is None and body["metadata"]["sources"]["orders"] == "unavailable"
        failure = body["metadata"]["partial_failures"][0]
        assert failure["part"] == "orders" and failure["status"] == 502
        # Incomplete answers are not cached.
        assert complete(api, completed_run["id"], include_orders="true").json()["metadata"]["cache"] == "miss"


@pytest.mark.parametrize("part", ["orders", "equity"])
@pytest.mark.parametrize("backend_sends", ["spliceable", "plain", "ordinary_gzip"])
def test_large_parts_are_the_backends_documents_byte_for_byte(shared_backend, make_api, completed_run, backend_sends,
                                                               part):
    """The backend's spliceable gzip orders and equity are taken in whole; a backend that sends one plain, or as
    ordinary gzip, is read as before. Either way gzip and identity clients get the same JSON, with the backend's
    document in it byte for byte."""
    run_id = completed_run["id"]
    plain_part = httpx.get(f"{shared_backend.http_url}/backtests/{run_id}/{part}",
                           params={"max_points": 200} if part == "equity" else None,
                           headers={**auth(ALICE_TOKEN), "Accept-Encoding": "identity"}).content
    follows = b',"run":' if part == "orders" else b',"orders":'
    seen: list[tuple[str, dict[str, str]]] = []
    proxy = FastAPI()

    @proxy.api_route("/{path:path}", methods=["GET"])
    async def relay(path: str, request: Request) -> Response:
        asks = request.headers.get("accept-encoding", "identity")
        if path.endswith(f"/{part}") and backend_sends != "spliceable":
            asks = "identity"
        async with httpx.AsyncClient() as client:
            async with client.stream("GET", f"{shared_backend.http_url}/{path}", params=request.query_params,
                                     headers={"Authorization": request.headers.get("authorization", ""),
                                              "Accept-Encoding": asks}) as upstream:
                body = b"".join([chunk async for chunk in upstream.aiter_raw()])
                headers = {k: v for k, v in upstream.headers.items()
                           if k in ("content-encoding", "x-hewston-gzip", "vary")}
        if path.endswith(f"/{part}"):
            seen.append((request.headers.get("accept-encoding", ""), headers))
            if backend_sends == "ordinary_gzip":
                body, headers = gzip.compress(body), {"content-encoding": "gzip"}
        return Response(body, status_code=upstream.status_code, media_type="application/json", headers=headers)

    with live_server(proxy) as front:
        api = make_api(front.http_url)
        url = f"{api.http_url}/api/v1/runs/{run_id}/complete"
        params = {"target_points": 200, "include_orders": "true"}
        for encoding in ("gzip", "identity", "gzip"):
            with httpx.stream("GET", url, params=params,
                              headers={**auth(ALICE_TOKEN), "Accept-Encoding": encoding}) as response:
                raw = b"".join(response.iter_raw())
            assert response.status_code == 200
            body = gzip.decompress(raw) if encoding == "gzip" else raw
            assert response.headers.get("content-encoding") == ("gzip" if encoding == "gzip" else None)
            assert f'"{part}":'.encode() + plain_part + follows in body
            assert orjson.loads(body)["metadata"]["partial_failures"] == []
        assert len(seen) == 1  # one miss, then hits
        asked, answered = seen[0]
        assert asked == "gzip"
        if backend_sends == "spliceable":
            assert answered == {"content-encoding": "gzip", "x-hewston-gzip": "spliceable",
                                "vary": "Accept-Encoding"}


def test_the_equity_is_spliced_in_as_the_backend_compressed_and_kept_it(shared_backend, make_api, completed_run,
                                                                        monkeypatch):
    api = make_api(shared_backend.http_url)
    run_id = completed_run["id"]
    compressed: list[bytes] = []
    real = run_results.compress_prefix
    monkeypatch.setattr(run_results, "compress_prefix", lambda raw, level: compressed.append(raw) or real(raw, level))
    with httpx.stream("GET", f"{api.http_url}/api/v1/runs/{run_id}/complete", params={"target_points": 137},
                      headers={**auth(ALICE_TOKEN), "Accept-Encoding": "gzip"}) as response:
        body = b"".join(response.iter_raw())
    assert response.status_code == 200 and response.headers["x-cache"] == "miss"
    loaded = shared_backend.server.config.app.state.playback.cache._runs[run_id]
    kept = loaded.encoded.get(("gzip", "equity", None, None, 137))
    # The api asked for the curve compressed, and its answer carries the backend's deflate stream unchanged.
    part = split_spliceable(kept)
    assert part is not None and part.deflated in body
    assert orjson.loads(gzip.decompress(body))["equity"] == orjson.loads(gzip.decompress(kept))
    # The api compressed only its own small pieces around it, never the curve.
    assert compressed and all(b'"drawdown"' not in raw and len(raw) < 2_000 for raw in compressed)


def test_a_concurrent_miss_on_a_second_api_waits_and_gets_the_same_bytes(shared_backend, make_api, completed_run):
    """Two api apps on one Redis, one backend behind a proxy that counts (and slows) the equity calls: the second
    request waits for the first one's stored entry instead of asking the backend again."""
    import threading
    import time

    equity_calls: list[str] = []

    async def count_and_slow_equity(path: str) -> None:
        if path.endswith("/equity"):
            equity_calls.append(path)
            await asyncio.sleep(0.3)

    with live_server(_proxy(shared_backend.http_url, count_and_slow_equity)) as slow:
        first = make_api(slow.http_url)
        second = make_api(slow.http_url, prefix=first.app_settings.redis_key_prefix)
        params = {"target_points": 171, "include_orders": "true"}
        answers: dict[str, httpx.Response] = {}

        def ask(name: str, api) -> None:
            answers[name] = httpx.get(f"{api.http_url}/api/v1/runs/{completed_run['id']}/complete", params=params,
                                      headers={**auth(ALICE_TOKEN), "Accept-Encoding": "gzip"})

        threads = [threading.Thread(target=ask, args=("first", first))]
        threads[0].start()
        time.sleep(0.1)  # the first request holds the lock and waits on the slowed equity call
        threads.append(threading.Thread(target=ask, args=("second", second)))
        threads[1].start()
        for thread in threads:
            thread.join(timeout=20)
        assert answers["first"].headers["x-cache"] == "miss" and answers["second"].headers["x-cache"] == "wait_hit"
        assert len(equity_calls) == 1
        # The same bytes up to the per-request metadata; and the same again from the cache afterwards.
        bodies = [answers["first"].content, answers["second"].content]
        hit = httpx.get(f"{second.http_url}/api/v1/runs/{completed_run['id']}/complete", params=params,
                        headers=auth(ALICE_TOKEN))
        assert hit.headers["x-cache"] == "hit" and len(equity_calls) == 1
        bodies.append(hit.content)
        assert len({body.partition(b',"metadata":')[0] for body in bodies}) == 1
        assert answers["first"].headers["etag"] == answers["second"].headers["etag"] == hit.headers["etag"]


def test_a_miss_hashes_none_of_the_large_spliced_parts(shared_backend, make_api, completed_run, monkeypatch):
    """The ETag of a spliced part comes from the CRC-32 and length of its text, which the backend sent: a miss does
    not pass over half a megabyte of orders to hash it."""
    api = make_api(shared_backend.http_url)
    hashed: list[int] = []
    real = run_results.digest
    monkeypatch.setattr(run_results, "digest", lambda data: hashed.append(len(data)) or real(data))
    params = {"target_points": 139, "include_orders": "true"}
    miss = complete(api, completed_run["id"], **params)
    assert miss.status_code == 200 and miss.headers["x-cache"] == "miss"
    assert hashed and max(hashed) < 1_000
    # The same text, the same ETag: from the cache, and from a fresh computation under another key space.
    assert complete(api, completed_run["id"], **params).headers["etag"] == miss.headers["etag"]
    other = make_api(shared_backend.http_url)
    assert complete(other, completed_run["id"], **params).headers["etag"] == miss.headers["etag"]
    assert complete(api, completed_run["id"], target_points=140, include_orders="true").headers["etag"] != \
        miss.headers["etag"]
