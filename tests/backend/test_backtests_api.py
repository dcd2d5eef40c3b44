"""The runs API: validation, background execution, results, access rules and sharing."""

from __future__ import annotations

import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from backend.demo.runs import DEMO_RUNS, create_demo_runs
from backend.engine.semantics import describe
from backend.engine.spec import RunSpec
from backend.market.bars import BarArrays
from backend.runs.repository import RunStatus
from common.models.bars import AssetClass, Instrument, Timeframe
from tests.conftest import ALICE_TOKEN, BOB_TOKEN, SERVICE_TOKEN, auth

START = 1_735_689_600  # 2025-01-01 UTC
DAYS = 5


def minute_bars(days: int = DAYS, seed: int = 1, start: int = START) -> BarArrays:
    n = days * 1_440
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    return BarArrays(start + 60 * np.arange(n, dtype=np.int64), open_, np.maximum(open_, close) * 1.0005,
                     np.minimum(open_, close) * 0.9995, close, np.full(n, 10.0))


def add_symbol(app, symbol: str, **kw) -> None:
    app.state.bar_store.write_minutes(
        Instrument(symbol=symbol, name=symbol, asset_class=AssetClass.crypto, synthetic=True), minute_bars(**kw))


@pytest.fixture
def client(backend_app, backend_client):
    add_symbol(backend_app, "TEST")
    return backend_client


def wait_done(client, run_id: str, token: str = ALICE_TOKEN, timeout_s: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = client.get(f"/backtests/{run_id}", headers=auth(token)).json()
        if body["status"] in ("completed", "failed"):
            return body
        time.sleep(0.02)
    raise AssertionError(f"run {run_id} did not finish")


def post(client, token: str = ALICE_TOKEN, **overrides):
    body = {"symbol": "TEST", "strategy": "ma_crossover", "timeframe": "hour", "params": {"fast": 3, "slow": 12}}
    body.update(overrides)
    return client.post("/backtests", json=body, headers=auth(token))


def queued_record(app, owner: str = "alice", **overrides):
    """A run created straight in the repository and never submitted: it stays queued."""
    owner_id = app.state.catalog.user_by_name(owner).id
    fields = dict(symbol="TEST", timeframe=Timeframe.hour, strategy="buy_and_hold", mode="long_only", params={},
                  from_time=START, to_time=START + DAYS * 86_400, cash=1e5, commission_rate=0.0, fixed_fee=0.0,
                  slippage_bps=0.0, fractional=False)
    fields.update(overrides)
    spec = RunSpec(**fields)
    return app.state.runs.create(owner_id, spec, describe(spec))


def test_run_lifecycle_and_results(client):
    response = post(client, mode="long_short", **{"from": "2025-01-01", "to": "2025-01-04"})
    assert response.status_code == 202
    run = response.json()
    assert run["status"] == "queued" and run["owner"] == "alice" and run["can_control"] is True
    assert run["params"] == {"signal": "state", "fast": 3, "slow": 12}
    assert run["from_time"] == START and run["to_time"] == START + 4 * 86_400 - 1
    assert run["semantics"]["fill"].startswith("market order at the next bar's open")
    done = wait_done(client, run["id"])
    assert done["status"] == "completed", done["error"]
    assert done["bars"] == 96 and done["progress"] == 1.0
    assert done["periods_per_year"] == pytest.approx(95 / ((95 * 3600) / (365.25 * 86400)))

    metrics = client.get(f"/backtests/{run['id']}/metrics", headers=auth(ALICE_TOKEN)).json()
    assert metrics["periods_per_year"] == done["periods_per_year"]
    assert metrics["metrics"]["bars"] == 96 and metrics["metrics"]["trades"] >= 1

    equity = client.get(f"/backtests/{run['id']}/equity", headers=auth(ALICE_TOKEN)).json()
    assert equity["count"] == 96 == len(equity["time"]) == len(equity["equity"]) == len(equity["drawdown"])
    assert equity["equity"][0] == 100_000 and max(equity["drawdown"]) <= 0

    orders = client.get(f"/backtests/{run['id']}/orders", headers=auth(ALICE_TOKEN)).json()
    assert orders["count"] == len(orders["orders"]) == metrics["metrics"]["fills"] > 0
    first = orders["orders"][0]
    assert set(first) == {"bar_index", "time", "side", "quantity", "price", "fee", "reason", "realized_pnl"}
    assert first["time"] == equity["time"][first["bar_index"]]


def test_defaults_fill_in_and_whole_dataset_range(client):
    run = post(client, strategy="buy_and_hold", params={}, timeframe="day").json()
    assert run["mode"] == "long_only" and run["cash"] == 100_000 and run["commission_rate"] == 0.0005
    assert run["fixed_fee"] == 0 and run["slippage_bps"] == 0
    # TEST is a crypto instrument: it trades in fractions.
    assert run["fractional"] is True and run["warmup"] is True and run["periods_per_year"] is None
    assert wait_done(client, run["id"])["bars"] == DAYS


@pytest.mark.parametrize(("overrides", "field"), [
    ({"params": {"fast": 20, "slow": 10}}, "params.fast"),
    ({"params": {"fast": -1}}, "params.fast"),
    ({"symbol": "NOPE"}, "symbol"),
    ({"symbol": "bad symbol!"}, "symbol"),
    ({"strategy": "magic"}, "strategy"),
    ({"from": "2030-01-01"}, "from"),
    ({"from": "2025-01-03", "to": "2025-01-02"}, "from"),
    ({"from": "yesterday"}, "from"),
    ({"to": "nan"}, "to"),
    ({"cash": -5}, "cash"),
    ({"mode": "sideways"}, "mode"),
    ({"timeframe": "week"}, "timeframe"),
    ({"leverage": 10}, "leverage"),
    ({"slippage_bps": 1e9}, "slippage_bps"),
    ({"periods_per_year": 0}, "periods_per_year"),
    ({"periods_per_year": "daily"}, "periods_per_year"),
    ({"warmup": "maybe"}, "warmup"),
    ({"params": {"signal": "cross"}}, "params.signal"),
])
def test_invalid_requests_are_422_naming_the_field(client, overrides, field):
    response = post(client, **overrides)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert [d["field"] for d in error["details"]] == [field]


def test_missing_symbol_is_422(client):
    response = client.post("/backtests", json={"strategy": "buy_and_hold"}, headers=auth(ALICE_TOKEN))
    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "symbol"


def test_authentication_required(client):
    for method, path in [("get", "/backtests"), ("post", "/backtests"), ("get", "/backtests/x"),
                         ("get", "/backtests/x/metrics"), ("get", "/backtests/strategies")]:
        assert getattr(client, method)(path).status_code == 401
    assert client.get("/backtests", headers=auth("hw_wrong")).status_code == 401


def test_others_runs_are_404_until_shared_then_read_only(client, backend_app):
    run = post(client).json()
    wait_done(client, run["id"])
    for path in ["", "/metrics", "/equity", "/orders"]:
        response = client.get(f"/backtests/{run['id']}{path}", headers=auth(BOB_TOKEN))
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert client.get("/backtests/unknown", headers=auth(ALICE_TOKEN)).status_code == 404
    assert client.get("/backtests", headers=auth(BOB_TOKEN)).json()["total"] == 0
    # Bob cannot learn the run exists by trying to share it.
    assert client.post(f"/backtests/{run['id']}/shares", json={"user": "bob"},
                       headers=auth(BOB_TOKEN)).status_code == 404

    shared = client.post(f"/backtests/{run['id']}/shares", json={"user": "bob"}, headers=auth(ALICE_TOKEN))
    assert shared.status_code == 200 and shared.json()["shared_with"] == ["bob"]
    seen = client.get(f"/backtests/{run['id']}", headers=auth(BOB_TOKEN)).json()
    assert seen["can_control"] is False and seen["shared_with"] == []
    assert client.get(f"/backtests/{run['id']}/metrics", headers=auth(BOB_TOKEN)).status_code == 200
    assert client.get("/backtests", headers=auth(BOB_TOKEN)).json()["total"] == 1
    # Read-only: a viewer cannot re-share or unshare.
    assert client.post(f"/backtests/{run['id']}/shares", json={"user": "bob"},
                       headers=auth(BOB_TOKEN)).status_code == 403
    assert client.delete(f"/backtests/{run['id']}/shares/bob", headers=auth(BOB_TOKEN)).status_code == 403

    unknown = client.post(f"/backtests/{run['id']}/shares", json={"user": "mallory"}, headers=auth(ALICE_TOKEN))
    assert unknown.status_code == 422 and unknown.json()["error"]["details"][0]["field"] == "user"
    gone = client.delete(f"/backtests/{run['id']}/shares/bob", headers=auth(ALICE_TOKEN))
    assert gone.status_code == 200 and gone.json()["shared_with"] == []
    assert client.get(f"/backtests/{run['id']}", headers=auth(BOB_TOKEN)).status_code == 404


def test_service_token_reads_every_run_but_cannot_create(client, backend_app):
    alice_run = post(client).json()
    bob_run = post(client, token=BOB_TOKEN).json()
    wait_done(client, alice_run["id"])
    listed = client.get("/backtests", headers=auth(SERVICE_TOKEN)).json()
    assert {item["id"] for item in listed["items"]} == {alice_run["id"], bob_run["id"]}
    seen = client.get(f"/backtests/{alice_run['id']}", headers=auth(SERVICE_TOKEN)).json()
    assert seen["can_control"] is True and seen["shared_with"] == []
    assert client.get(f"/backtests/{alice_run['id']}/equity", headers=auth(SERVICE_TOKEN)).status_code == 200
    assert post(client, token=SERVICE_TOKEN).status_code == 400


def test_results_of_an_unfinished_run_are_409(client, backend_app):
    record = queued_record(backend_app)
    for path in ["/metrics", "/equity", "/orders"]:
        response = client.get(f"/backtests/{record.id}{path}", headers=auth(ALICE_TOKEN))
        assert response.status_code == 409 and response.json()["error"]["code"] == "run_not_completed"
    # Not visible beats not completed: others still get a 404.
    assert client.get(f"/backtests/{record.id}/metrics", headers=auth(BOB_TOKEN)).status_code == 404


def test_paging_newest_first(client, backend_app):
    ids = [queued_record(backend_app).id for _ in range(5)]
    first = client.get("/backtests?limit=2", headers=auth(ALICE_TOKEN)).json()
    assert first["total"] == 5 and first["limit"] == 2 and first["offset"] == 0
    assert [i["id"] for i in first["items"]] == ids[::-1][:2]
    last = client.get("/backtests?limit=2&offset=4", headers=auth(ALICE_TOKEN)).json()
    assert [i["id"] for i in last["items"]] == [ids[0]]
    for bad in ["limit=0", "limit=1000", "offset=-1", "limit=x", "offset=9223372036854775808"]:
        assert client.get(f"/backtests?{bad}", headers=auth(ALICE_TOKEN)).status_code == 422


def test_run_without_bars_fails_with_a_reason(client, backend_app):
    record = queued_record(backend_app, from_time=START + 30 * 86_400, to_time=START + 31 * 86_400)
    backend_app.state.executor.submit(record.id)
    done = wait_done(client, record.id)
    assert done["status"] == "failed" and "no hour bars of TEST" in done["error"]
    response = client.get(f"/backtests/{record.id}/metrics", headers=auth(ALICE_TOKEN))
    assert response.status_code == 409 and "no hour bars" in response.json()["error"]["message"]


def test_runs_left_behind_by_a_stopped_process_are_recovered(backend_app):
    add_symbol(backend_app, "TEST")
    runs = backend_app.state.runs
    interrupted = queued_record(backend_app)
    assert runs.mark_running(interrupted.id)
    waiting = queued_record(backend_app)
    leftover = runs.runs_dir / f".{interrupted.id}-half"
    leftover.mkdir()
    with TestClient(backend_app) as client:  # startup recovers
        assert wait_done(client, interrupted.id)["status"] == "completed"
        assert wait_done(client, waiting.id)["status"] == "completed"
    assert not leftover.exists()
    # Artifacts are immutable: executing the run again does not rewrite them.
    assert runs.mark_running(interrupted.id) is False


def test_strategies_listing(client):
    body = client.get("/backtests/strategies", headers=auth(BOB_TOKEN)).json()
    by_name = {s["name"]: s for s in body["strategies"]}
    assert by_name["ma_crossover"]["defaults"] == {"signal": "state", "fast": 10, "slow": 50}
    assert by_name["ma_crossover"]["params_schema"]["$defs"]["Signal"]["enum"] == ["state", "event"]
    assert by_name["ma_crossover"]["params_schema"]["properties"]["fast"]["minimum"] == 1


def test_demo_runs_are_completed_shared_and_not_duplicated(backend_app):
    for symbol in {d.symbol for d in DEMO_RUNS}:
        add_symbol(backend_app, symbol, days=3)
    app = backend_app
    first = create_demo_runs(app.state.catalog, app.state.bar_store, app.state.runs)
    assert len(first) == len(DEMO_RUNS)
    assert all(r.status is RunStatus.completed for r in first)
    assert {r.owner for r in first} == {"alice", "bob"}
    assert any(app.state.runs.shared_with(r.id) == ["bob"] for r in first if r.owner == "alice")
    again = create_demo_runs(app.state.catalog, app.state.bar_store, app.state.runs)
    assert [r.id for r in again] == [r.id for r in first]
