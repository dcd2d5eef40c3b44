"""``/api/v1/ops/*`` on a real api and backend: operators only (the backend decides), the summary of what the
nodes measured, and the audit trail of state-changing calls, paged."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.api.conftest import MINUTES, START, SYMBOL, build_backend
from tests.conftest import ALICE_TOKEN, BOB_TOKEN
from tests.support.servers import LiveServer, live_server


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def ops_backend(tmp_path_factory) -> Iterator[LiveServer]:
    """A backend that names alice an operator (and bob not)."""
    with live_server(build_backend(tmp_path_factory.mktemp("backend") / "data", operators=["alice"])) as server:
        yield server


def test_a_non_operator_gets_403_and_no_token_gets_401(ops_backend, make_api):
    api = make_api(ops_backend.http_url)
    for path in ("/api/v1/ops/summary", "/api/v1/ops/audit"):
        refused = httpx.get(api.http_url + path, headers=auth(BOB_TOKEN))
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "forbidden"
        assert httpx.get(api.http_url + path).status_code == 401


def test_summary_shows_requests_against_the_backend_and_cache_hits(ops_backend, make_api):
    api = make_api(ops_backend.http_url, ops_sample_interval_s=0.2)
    params = {"symbol": SYMBOL, "timeframe": "1D"}
    for _ in range(3):
        assert httpx.get(f"{api.http_url}/api/v1/chart-data", params=params, headers=auth(ALICE_TOKEN)).status_code \
            == 200
        assert httpx.get(f"{api.http_url}/api/v1/symbols", headers=auth(ALICE_TOKEN)).status_code == 200
    time.sleep(0.5)  # at least one sampling window after the calls
    body = _summary_until(api, lambda b: any(r["route"] == "/api/v1/symbols" for r in b["routes"]))
    symbols = next(r for r in body["routes"] if r["route"] == "/api/v1/symbols")
    # A passthrough route has the same call's time in the backend beside it, and what the api added.
    assert symbols["p95_ms"] is not None and symbols["backend_p95_ms"] is not None
    assert symbols["added_p95_ms"] == pytest.approx(symbols["p95_ms"] - symbols["backend_p95_ms"], abs=0.01)
    assert body["ready"] == {"redis": "ok", "backend": "ok"}
    assert [node["node"] for node in body["nodes"]] == [api.server.config.app.state.ops_sampler.node_id]
    assert len(body["history"]) >= 2
    assert body["degraded"] == []


def test_summary_merges_every_node_sharing_the_broker(ops_backend, make_api):
    first = make_api(ops_backend.http_url, ops_sample_interval_s=0.2)
    second = make_api(ops_backend.http_url, ops_sample_interval_s=0.2, prefix=first.app_settings.redis_key_prefix)
    body = _summary_until(first, lambda b: len(b["nodes"]) == 2)
    assert {node["node"] for node in body["nodes"]} == {first.server.config.app.state.ops_sampler.node_id,
                                                        second.server.config.app.state.ops_sampler.node_id}


def test_state_changing_calls_are_audited_and_paged_newest_first(ops_backend, make_api):
    api = make_api(ops_backend.http_url)
    body = {"symbol": SYMBOL, "strategy": "buy_and_hold", "timeframe": "minute", "from": START,
            "to": START + 60 * (MINUTES - 1)}
    created = httpx.post(f"{api.http_url}/api/v1/backtests", json=body, headers=auth(ALICE_TOKEN))
    assert created.status_code == 202, created.text
    run_id = created.json()["id"]
    shares = f"{api.http_url}/api/v1/backtests/{run_id}/shares"
    assert httpx.post(shares, json={"user": "bob"}, headers=auth(ALICE_TOKEN)).status_code == 200
    assert httpx.delete(f"{shares}/bob", headers=auth(ALICE_TOKEN)).status_code == 200
    assert httpx.post(shares, json={"user": "alice"}, headers=auth(BOB_TOKEN)).status_code in (403, 404)
    # Reads are not audited.
    assert httpx.get(f"{api.http_url}/api/v1/backtests/{run_id}", headers=auth(ALICE_TOKEN)).status_code == 200

    first = httpx.get(f"{api.http_url}/api/v1/ops/audit", params={"limit": 3}, headers=auth(ALICE_TOKEN)).json()
    rest = httpx.get(f"{api.http_url}/api/v1/ops/audit", params={"limit": 3, "before": first["next"]},
                     headers=auth(ALICE_TOKEN)).json()
    events = first["events"] + rest["events"]
    assert rest["next"] is None
    assert [(e["action"], e["user"], e["outcome"]) for e in events] == [
        ("backtest_shared", "bob", events[0]["outcome"]), ("backtest_unshared", "alice", "200"),
        ("backtest_shared", "alice", "200"), ("backtest_created", "alice", "202")]
    assert events[0]["outcome"] in ("403", "404")
    assert {e["run_id"] for e in events} == {run_id}
    assert events[1]["target"] == "bob"
    assert all(len(e["correlation_id"]) >= 16 for e in events)
    assert created.headers["x-request-id"] == events[3]["correlation_id"]


def test_a_bad_audit_cursor_is_a_422_naming_the_field(ops_backend, make_api):
    api = make_api(ops_backend.http_url)
    refused = httpx.get(f"{api.http_url}/api/v1/ops/audit", params={"before": "x; DROP"},
                        headers=auth(ALICE_TOKEN))
    assert refused.status_code == 422
    assert "before" in refused.text


def _summary_until(api, done, timeout_s: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        response = httpx.get(f"{api.http_url}/api/v1/ops/summary", headers=auth(ALICE_TOKEN))
        assert response.status_code == 200, response.text
        body = response.json()
        if done(body) or time.monotonic() > deadline:
            assert done(body), body
            return body
        time.sleep(0.2)


def test_without_redis_the_summary_shows_this_node_and_calls_are_still_answered(ops_backend, make_api):
    from tests.support.servers import free_port

    api = make_api(ops_backend.http_url, redis_url=f"redis://127.0.0.1:{free_port()}/0", ops_sample_interval_s=0.2)
    body = {"symbol": SYMBOL, "strategy": "buy_and_hold", "timeframe": "minute", "from": START,
            "to": START + 60 * (MINUTES - 1)}
    # The audit event cannot be stored, but the call it describes is answered (and the event still logged).
    assert httpx.post(f"{api.http_url}/api/v1/backtests", json=body, headers=auth(ALICE_TOKEN)).status_code == 202
    summary = _summary_until(api, lambda b: b["ready"]["redis"] == "down")
    assert len(summary["nodes"]) == 1 and "redis is down" in summary["degraded"]
    audit = httpx.get(f"{api.http_url}/api/v1/ops/audit", headers=auth(ALICE_TOKEN))
    assert audit.status_code == 503 and audit.json()["error"]["code"] == "service_unavailable"
