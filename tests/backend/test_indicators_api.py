"""The strategy's own lines of a run: what its rule computed, at the run's bars, decimated on request."""

from __future__ import annotations

import numpy as np
import pytest

from backend.strategies.base import rolling_mean
from backend.strategies.rsi_mean_reversion import rsi
from tests.backend.test_backtests_api import add_symbol, post, wait_done
from tests.conftest import ALICE_TOKEN, BOB_TOKEN, auth


@pytest.fixture
def client(backend_app, backend_client):
    add_symbol(backend_app, "TEST")
    return backend_client


def _run(client, **overrides) -> str:
    response = post(client, **{"from": "2025-01-01", "to": "2025-01-04"}, **overrides)
    assert response.status_code == 202, response.text
    run = response.json()
    assert wait_done(client, run["id"])["status"] == "completed"
    return run["id"]


def _closes(client, run_id: str) -> tuple[np.ndarray, np.ndarray]:
    run = client.get(f"/backtests/{run_id}", headers=auth(ALICE_TOKEN)).json()
    bars = client.get("/bars/hour", params={"symbol": "TEST", "from": run["from_time"], "to": run["to_time"]},
                      headers=auth(ALICE_TOKEN)).json()
    return np.asarray(bars["time"]), np.asarray(bars["close"], dtype=float)


def test_moving_averages_are_the_ones_the_rule_compares(client):
    run_id = _run(client)
    body = client.get(f"/backtests/{run_id}/indicators", headers=auth(ALICE_TOKEN)).json()
    assert body["strategy"] == "ma_crossover" and body["params"]["fast"] == 3 and body["levels"] == []
    assert [(line["name"], line["label"], line["pane"]) for line in body["lines"]] == [
        ("fast", "SMA 3", "price"), ("slow", "SMA 12", "price")]
    time, close = _closes(client, run_id)
    slow = body["lines"][1]
    # Undefined until its window fills: the first 11 bars have no slow average.
    assert slow["count"] == len(slow["time"]) == len(time) - 11
    assert slow["time"] == time[11:].tolist()
    assert slow["values"] == pytest.approx(rolling_mean(close, 12)[11:].tolist())


def test_rsi_has_its_own_pane_and_levels_and_lines_decimate(client):
    run_id = _run(client, strategy="rsi_mean_reversion", params={"period": 5, "lower": 25, "upper": 75})
    body = client.get(f"/backtests/{run_id}/indicators", headers=auth(ALICE_TOKEN)).json()
    (line,) = body["lines"]
    assert (line["label"], line["pane"], body["levels"]) == ("RSI 5", "own", [25.0, 75.0])
    _, close = _closes(client, run_id)
    assert line["values"] == pytest.approx(rsi(close, 5)[5:].tolist())
    small = client.get(f"/backtests/{run_id}/indicators", params={"max_points": 10}, headers=auth(ALICE_TOKEN)).json()
    assert small["lines"][0]["count"] <= 10 and set(small["lines"][0]["time"]) <= set(line["time"])


def test_buy_and_hold_has_no_lines_and_others_runs_stay_hidden(client):
    run_id = _run(client, strategy="buy_and_hold", params={})
    assert client.get(f"/backtests/{run_id}/indicators", headers=auth(ALICE_TOKEN)).json()["lines"] == []
    assert client.get(f"/backtests/{run_id}/indicators", headers=auth(BOB_TOKEN)).status_code == 404
    bad = client.get(f"/backtests/{run_id}/indicators", params={"max_points": 1}, headers=auth(ALICE_TOKEN))
    assert bad.status_code == 422 and "max_points" in bad.text


def test_a_stretch_holds_the_whole_runs_values_there_and_bad_bounds_are_named(client):
    run_id = _run(client)
    whole = client.get(f"/backtests/{run_id}/indicators", headers=auth(ALICE_TOKEN)).json()["lines"][1]
    start, end = whole["time"][5], whole["time"][20]
    part = client.get(f"/backtests/{run_id}/indicators", params={"from": start, "to": end},
                      headers=auth(ALICE_TOKEN)).json()["lines"][1]
    # Computed over the whole run, then cut: the same values as the whole run's at those bars.
    assert part["time"] == whole["time"][5:21] and part["values"] == whole["values"][5:21]
    # Before the slow average's window fills there is nothing, even inside the stretch.
    early = client.get(f"/backtests/{run_id}/indicators", params={"to": whole["time"][0] - 1},
                       headers=auth(ALICE_TOKEN)).json()["lines"][1]
    assert early["count"] == 0
    bad = client.get(f"/backtests/{run_id}/indicators", params={"from": end, "to": start}, headers=auth(ALICE_TOKEN))
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "from"
