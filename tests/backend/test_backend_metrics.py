"""The backend's ``/metrics`` (requests by route template, run executions, playback connections, the process)
and ``GET /me`` (the roles the backend grants)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from backend.auth import hash_token
from backend.main import create_app
from tests.backend.playback_fixtures import completed_run
from tests.backend.test_backtests_api import add_symbol, post, wait_done
from tests.conftest import ALICE_TOKEN, BOB_TOKEN, auth


def samples(client: TestClient) -> dict[tuple[str, frozenset], float]:
    text = client.get("/metrics").text
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_requests_are_counted_by_route_template_not_by_path(backend_app, backend_client):
    add_symbol(backend_app, "TEST")
    for symbol in ("TEST", "NOPE"):
        backend_client.get(f"/symbols/{symbol}", headers=auth(ALICE_TOKEN))
    found = samples(backend_client)
    route = {"method": "GET", "route": "/symbols/{symbol}"}
    assert value(found, "hewston_backend_request_duration_seconds_count", **route, status="200") == 1
    assert value(found, "hewston_backend_request_duration_seconds_count", **route, status="404") == 1
    assert not any("NOPE" in dict(labels).get("route", "") for _name, labels in found)


def test_run_executions_are_counted_by_outcome(backend_app, backend_client):
    add_symbol(backend_app, "TEST")
    before = value(samples(backend_client), "hewston_backend_run_executions_total", outcome="completed")
    run = post(backend_client).json()
    assert wait_done(backend_client, run["id"])["status"] == "completed"
    found = samples(backend_client)
    assert value(found, "hewston_backend_run_executions_total", outcome="completed") == before + 1
    assert value(found, "hewston_backend_run_duration_seconds_count", outcome="completed") >= 1


def test_open_playback_connections_are_reported_while_open(backend_app, backend_client):
    alice = backend_app.state.catalog.user_by_name("alice")
    run_id = completed_run(backend_app.state.runs, alice.id, n=50)
    assert value(samples(backend_client), "hewston_backend_playback_connections") == 0
    with backend_client.websocket_connect(f"/backtests/{run_id}/ws", headers=auth(ALICE_TOKEN)) as ws:
        ws.receive_text()
        found = samples(backend_client)
        assert value(found, "hewston_backend_playback_connections") == 1
        assert value(found, "hewston_backend_playback_connections_opened_total") == 1
    assert value(samples(backend_client), "hewston_backend_playback_connections") == 0


def test_process_and_event_loop_are_reported(backend_client):
    found = samples(backend_client)
    assert value(found, "process_resident_memory_bytes") > 0
    assert any(name == "hewston_event_loop_lag_seconds_count" for name, _labels in found)


def test_metrics_stay_out_of_the_openapi_document(backend_client):
    assert "/metrics" not in backend_client.get("/openapi.json").json()["paths"]


def test_me_names_the_caller_and_the_roles_the_backend_grants(backend_settings):
    app = create_app(backend_settings.model_copy(update={"operators": ["alice"]}))
    app.state.catalog.add_user("alice", hash_token(ALICE_TOKEN))
    app.state.catalog.add_user("bob", hash_token(BOB_TOKEN))
    with TestClient(app) as client:
        assert client.get("/me", headers=auth(ALICE_TOKEN)).json() == {"name": "alice", "roles": ["operator"]}
        assert client.get("/me", headers=auth(BOB_TOKEN)).json() == {"name": "bob", "roles": []}
        assert client.get("/me").status_code == 401

