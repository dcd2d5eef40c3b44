"""What the backend does per request on a completed run's results (metrics, equity, orders, trades, indicators):
as few dependencies as FastAPI must solve, the access decision still taken on every call, the OpenAPI document
as it was."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute

from backend.auth import hash_token
from backend.routers import backtests, indicators, trades
from tests.backend.test_backtests_api import add_symbol, post, wait_done
from tests.conftest import ALICE_TOKEN, BOB_TOKEN, SERVICE_TOKEN, auth

RESULTS = ("/backtests/{run_id}/metrics", "/backtests/{run_id}/equity", "/backtests/{run_id}/orders",
           "/backtests/{run_id}/trades", "/backtests/{run_id}/indicators")
ROTATED = "hw_rotated_token_for_alice_0123456789"


def _dependencies(dependant) -> int:
    return sum(1 + _dependencies(sub) for sub in dependant.dependencies)


@pytest.fixture
def run_id(backend_app, backend_client) -> str:
    add_symbol(backend_app, "TEST")
    response = post(backend_client, **{"from": "2025-01-01", "to": "2025-01-03"})
    assert wait_done(backend_client, response.json()["id"])["status"] == "completed"
    return response.json()["id"]


def test_a_results_route_solves_two_dependencies():
    """The caller (its own security scheme) and the run stores: each level FastAPI solves costs about as much
    as the SQLite read behind the access check."""
    routes = {r.path: r for router in (backtests.router, trades.router, indicators.router) for r in router.routes
              if isinstance(r, APIRoute) and r.methods == {"GET"}}
    for path in RESULTS:
        assert _dependencies(routes[path].dependant) == 2, path


def test_the_openapi_document_names_the_same_bearer_scheme(backend_client):
    document = backend_client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"] == {
        "HTTPBearer": {"type": "http", "scheme": "bearer",
                       "description": "API token: `Authorization: Bearer <token>`"}}
    for path in RESULTS:
        assert document["paths"][path]["get"]["security"] == [{"HTTPBearer": []}], path


@pytest.mark.parametrize("part", ["metrics", "equity", "orders"])
def test_a_replaced_token_and_a_withdrawn_share_count_from_the_next_request(backend_app, backend_client, run_id,
                                                                           part):
    """Nothing about the caller is kept between requests: the principal and the share are read on each one."""
    url = f"/backtests/{run_id}/{part}"
    assert backend_client.get(url, headers=auth(ALICE_TOKEN)).status_code == 200
    assert backend_client.get(url, headers=auth(BOB_TOKEN)).status_code == 404
    assert backend_client.post(f"/backtests/{run_id}/shares", json={"user": "bob"},
                               headers=auth(ALICE_TOKEN)).status_code == 200
    assert backend_client.get(url, headers=auth(BOB_TOKEN)).status_code == 200
    assert backend_client.delete(f"/backtests/{run_id}/shares/bob", headers=auth(ALICE_TOKEN)).status_code == 200
    refused = backend_client.get(url, headers=auth(BOB_TOKEN))
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"

    backend_app.state.catalog.add_user("alice", hash_token(ROTATED))  # alice's token replaced
    old = backend_client.get(url, headers=auth(ALICE_TOKEN))
    assert old.status_code == 401 and "x-hewston-user" not in old.headers
    new = backend_client.get(url, headers=auth(ROTATED))
    assert new.status_code == 200 and new.headers["x-hewston-user"] == "alice"
    assert backend_client.get(url).status_code == 401
    assert backend_client.get(url, headers={"Authorization": "Basic YWxpY2U6eA=="}).status_code == 401


def test_the_metrics_of_a_loaded_run_are_read_once_and_kept_with_it(backend_app, backend_client, run_id,
                                                                    monkeypatch):
    reads: list[str] = []
    real = backtests.read_metrics

    def counted(run_dir):
        reads.append(run_dir.name)
        return real(run_dir)

    monkeypatch.setattr(backtests, "read_metrics", counted)
    url = f"/backtests/{run_id}/metrics"
    first = backend_client.get(url, headers=auth(ALICE_TOKEN))
    assert first.status_code == 200 and first.json()["metrics"]["bars"] > 0
    assert backend_client.get(url, headers=auth(ALICE_TOKEN)).content == first.content
    assert reads == [run_id, run_id]  # a run that is not loaded is not loaded for its metrics
    assert run_id not in backend_app.state.playback.cache

    assert backend_client.get(f"/backtests/{run_id}/orders", headers=auth(ALICE_TOKEN)).status_code == 200
    for _ in range(3):
        again = backend_client.get(url, headers=auth(ALICE_TOKEN))
        assert again.status_code == 200 and again.content == first.content
        assert again.headers["content-type"] == "application/json"
    assert reads == [run_id, run_id, run_id]  # read once more, then kept
    assert backend_app.state.playback.cache._runs[run_id].encoded.get("metrics") == first.content

    # Kept bytes do not skip the access check.
    refused = backend_client.get(url, headers=auth(BOB_TOKEN))
    assert refused.status_code == 404 and b"metrics" not in refused.content
    assert backend_client.get(url, headers=auth("hw_not_a_token_0123456789abcdef")).status_code == 401
    assert reads == [run_id, run_id, run_id]


@pytest.mark.parametrize("token", [ALICE_TOKEN, BOB_TOKEN, SERVICE_TOKEN], ids=["owner", "shared", "service"])
def test_a_results_request_reads_the_catalog_twice_whoever_calls(backend_app, backend_client, run_id, token):
    """One read for the token, one for the run together with whether it is shared with the caller."""
    assert backend_client.post(f"/backtests/{run_id}/shares", json={"user": "bob"},
                               headers=auth(ALICE_TOKEN)).status_code == 200
    statements: list[str] = []
    catalog = backend_app.state.catalog
    reader = catalog.reader

    def traced():
        # A reader belongs to the thread that opened it (and to this test's catalog only): traced in that thread.
        conn = reader()
        conn.set_trace_callback(statements.append)
        return conn

    for part in ("metrics", "orders", "equity"):
        backend_client.get(f"/backtests/{run_id}/{part}", headers=auth(token))  # loaded and kept
    catalog.reader = traced
    try:
        for part in ("metrics", "orders", "equity"):
            statements.clear()
            assert backend_client.get(f"/backtests/{run_id}/{part}", headers=auth(token)).status_code == 200
            assert len(statements) == (1 if token == SERVICE_TOKEN else 2), statements
    finally:
        catalog.reader = reader
