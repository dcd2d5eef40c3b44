"""Every backend route works through the api, with the same status and body as a direct call.

The backend's routes are enumerated from its own OpenAPI: a new backend route without a case here fails
``test_every_backend_route_has_a_case``, so the BFF cannot silently fall behind the backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import orjson
import pytest

from api.main import create_app
from tests.api.conftest import MINUTES, START, SYMBOL, api_settings
from tests.conftest import ALICE_TOKEN, BOB_TOKEN, auth
from tests.support.servers import LiveServer

pytestmark = pytest.mark.redis
ALICE = auth(ALICE_TOKEN)


def same(api: httpx.Client, backend: httpx.Client, method: str, path: str, **kw) -> httpx.Response:
    """Call through the api and directly; both must agree on status and body."""
    via = api.request(method, f"/api/v1{path}", **kw)
    direct = backend.request(method, path, **kw)
    assert via.status_code == direct.status_code, (path, via.text, direct.text)
    if via.headers.get("content-type", "").startswith("application/json"):
        v, d = via.json(), direct.json()
        if isinstance(v, dict) and isinstance(v.get("error"), dict):
            v["error"].pop("correlation_id", None), d["error"].pop("correlation_id", None)
        assert v == d
    return via


def _shares(api, backend, run) -> None:
    shared = api.post(f"/api/v1/backtests/{run['id']}/shares", json={"user": "bob"}, headers=ALICE)
    assert shared.status_code in (200, 201, 204), shared.text
    assert api.get(f"/api/v1/backtests/{run['id']}", headers=auth(BOB_TOKEN)).status_code == 200
    assert api.post(f"/api/v1/backtests/{run['id']}/shares", json={"user": "bob"},
                    headers=auth(BOB_TOKEN)).status_code in (403, 404)


def _unshare(api, backend, run) -> None:
    api.post(f"/api/v1/backtests/{run['id']}/shares", json={"user": "bob"}, headers=ALICE)
    gone = api.delete(f"/api/v1/backtests/{run['id']}/shares/bob", headers=ALICE)
    assert gone.status_code in (200, 204), gone.text
    assert api.get(f"/api/v1/backtests/{run['id']}", headers=auth(BOB_TOKEN)).status_code == 404


def _create(api, backend, run) -> None:
    body = {"symbol": SYMBOL, "strategy": "buy_and_hold", "timeframe": "hour", "from": START,
            "to": START + 60 * (MINUTES - 1)}
    created = api.post("/api/v1/backtests", json=body, headers=ALICE)
    assert created.status_code == 202 and created.json()["status"] in ("queued", "running", "completed")
    bad = same(api, backend, "POST", "/backtests", json={**body, "strategy": "nope"}, headers=ALICE)
    assert bad.status_code == 422
    assert api.post("/api/v1/backtests", json=body).status_code == 401


def _trades(api, backend, run) -> None:
    trades = same(api, backend, "GET", f"/backtests/{run['id']}/trades", headers=ALICE).json()["trades"]
    assert trades and all(t["mae"] <= 0 <= t["mfe"] for t in trades)
    assert api.get(f"/api/v1/backtests/{run['id']}/trades", headers=auth(BOB_TOKEN)).status_code == 404


CASES: dict[tuple[str, str], Callable] = {
    ("GET", "/health"): lambda api, b, run: same(api, b, "GET", "/health"),
    ("GET", "/me"): lambda api, b, run: (same(api, b, "GET", "/me", headers=ALICE), same(api, b, "GET", "/me")),
    ("GET", "/symbols"): lambda api, b, run: (same(api, b, "GET", "/symbols", headers=ALICE),
                                              same(api, b, "GET", "/symbols")),
    ("GET", "/symbols/{symbol}"): lambda api, b, run: (same(api, b, "GET", f"/symbols/{SYMBOL}", headers=ALICE),
                                                       same(api, b, "GET", "/symbols/NOPE", headers=ALICE)),
    ("GET", "/bars/daily"): lambda api, b, run: same(api, b, "GET", "/bars/daily", params={"symbol": SYMBOL},
                                                     headers=ALICE),
    ("GET", "/bars/hour"): lambda api, b, run: same(api, b, "GET", "/bars/hour",
                                                    params={"symbol": SYMBOL, "from": "2024-01-02"}, headers=ALICE),
    ("GET", "/bars/minute"): lambda api, b, run: (
        same(api, b, "GET", "/bars/minute", params={"symbol": SYMBOL}, headers=ALICE),
        same(api, b, "GET", "/bars/minute", params={"symbol": SYMBOL, "from": "garbage"}, headers=ALICE)),
    ("GET", "/backtests/strategies"): lambda api, b, run: same(api, b, "GET", "/backtests/strategies",
                                                               headers=ALICE),
    ("GET", "/backtests"): lambda api, b, run: same(api, b, "GET", "/backtests", params={"limit": 5},
                                                    headers=ALICE),
    ("POST", "/backtests"): _create,
    ("GET", "/backtests/{run_id}"): lambda api, b, run: (
        same(api, b, "GET", f"/backtests/{run['id']}", headers=ALICE),
        same(api, b, "GET", f"/backtests/{run['id']}", headers=auth(BOB_TOKEN))),
    ("GET", "/backtests/{run_id}/metrics"): lambda api, b, run: same(api, b, "GET",
                                                                     f"/backtests/{run['id']}/metrics",
                                                                     headers=ALICE),
    ("GET", "/backtests/{run_id}/equity"): lambda api, b, run: (
        same(api, b, "GET", f"/backtests/{run['id']}/equity", headers=ALICE),
        same(api, b, "GET", f"/backtests/{run['id']}/equity", headers=ALICE,
             params={"from": START + 3_600, "to": START + 7_200, "max_points": 10}),
        same(api, b, "GET", f"/backtests/{run['id']}/equity", params={"to": "garbage"}, headers=ALICE)),
    ("GET", "/backtests/{run_id}/indicators"): lambda api, b, run: same(api, b, "GET",
                                                                        f"/backtests/{run['id']}/indicators",
                                                                        params={"max_points": 500}, headers=ALICE),
    ("GET", "/backtests/{run_id}/trades"): _trades,
    ("GET", "/backtests/{run_id}/orders"): lambda api, b, run: same(api, b, "GET",
                                                                    f"/backtests/{run['id']}/orders",
                                                                    headers=ALICE),
    ("POST", "/backtests/{run_id}/shares"): _shares,
    ("DELETE", "/backtests/{run_id}/shares/{user}"): _unshare,
}


def backend_routes(backend_url: str) -> set[tuple[str, str]]:
    spec = httpx.get(f"{backend_url}/openapi.json").json()
    return {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops
            if method in ("get", "post", "put", "patch", "delete")}


def test_every_backend_route_has_a_case(shared_backend):
    missing = backend_routes(shared_backend.http_url) - set(CASES)
    assert not missing, f"backend routes without a BFF passthrough test: {sorted(missing)}"


def test_every_backend_route_works_through_the_api(shared_backend, make_api, completed_run):
    api_server = make_api(shared_backend.http_url)
    with httpx.Client(base_url=api_server.http_url) as api, httpx.Client(base_url=shared_backend.http_url) as b:
        for key in sorted(backend_routes(shared_backend.http_url)):
            CASES[key](api, b, completed_run)


def test_headers_token_and_correlation_id_are_forwarded(shared_backend, make_api):
    api = make_api(shared_backend.http_url)
    response = httpx.get(f"{api.http_url}/api/v1/symbols", headers={**ALICE, "X-Request-ID": "abc-123",
                                                                     "Connection": "keep-alive, X-Secret",
                                                                     "X-Secret": "hop"})
    assert response.status_code == 200 and response.headers["x-request-id"] == "abc-123"
    assert response.headers["x-hewston-user"] == "alice"
    assert "transfer-encoding" not in response.headers or response.headers["transfer-encoding"] == "chunked"


def test_large_bodies_stream_through(shared_backend, make_api):
    api = make_api(shared_backend.http_url)
    via = httpx.get(f"{api.http_url}/api/v1/bars/minute", params={"symbol": SYMBOL}, headers=ALICE)
    direct = httpx.get(f"{shared_backend.http_url}/bars/minute", params={"symbol": SYMBOL}, headers=ALICE)
    assert len(via.content) > 256 * 1024 and via.content == direct.content


def test_unknown_backend_paths_pass_through_with_the_backends_404(shared_backend, make_api):
    api = make_api(shared_backend.http_url)
    response = httpx.get(f"{api.http_url}/api/v1/no/such/route", headers=ALICE)
    assert response.status_code == 404


def test_a_post_body_sent_chunked_reaches_the_backend_whole(shared_backend, make_api):
    """No Content-Length from the client: the body streams to the backend chunked, and is judged there."""
    api = make_api(shared_backend.http_url)
    body = orjson.dumps({"symbol": SYMBOL, "strategy": "nope", "timeframe": "hour", "from": START,
                         "to": START + 60 * (MINUTES - 1)})

    def pieces() -> Iterator[bytes]:
        yield from (body[:10], body[10:])

    headers = {**ALICE, "Content-Type": "application/json"}
    via = httpx.post(f"{api.http_url}/api/v1/backtests", content=pieces(), headers=headers)
    direct = httpx.post(f"{shared_backend.http_url}/backtests", content=body, headers=headers)
    assert via.request.headers.get("transfer-encoding") == "chunked"
    assert via.status_code == direct.status_code == 422
    assert via.json()["error"]["details"] == direct.json()["error"]["details"]
    assert any(detail.get("field", "").endswith("strategy") for detail in via.json()["error"]["details"]), via.text


def test_a_client_leaving_mid_stream_frees_the_backend_connection(shared_backend, make_api):
    """Streamed answers hold a pooled backend connection; a client that goes away must not keep it busy."""
    settings = api_settings(shared_backend.http_url, None, upstream_max_connections=1)
    # A small send buffer: the api is still sending when the client leaves, as with a real network.
    api = LiveServer(create_app(settings), send_buffer_bytes=4096).start()
    try:
        _leave_mid_stream(api)
    finally:
        api.stop()


def _leave_mid_stream(api: LiveServer) -> None:
    for _ in range(3):  # with one connection, a second leak would leave every later call waiting
        with httpx.stream("GET", f"{api.http_url}/api/v1/bars/minute", params={"symbol": SYMBOL},
                          headers=ALICE) as response:
            assert response.status_code == 200 and next(response.iter_raw())
        # closed with most of the body unread
    answer = httpx.get(f"{api.http_url}/api/v1/symbols/{SYMBOL}", headers=ALICE, timeout=5)
    assert answer.status_code == 200
