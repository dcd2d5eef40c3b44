"""A stretch of a run's equity curve (`from`/`to`): the points inside it, decimated within it, so a zoomed chart
gets the detail of its visible range; a bad bound is a 422 naming it."""

from __future__ import annotations

import pytest

from tests.backend.test_backtests_api import START, add_symbol, post, wait_done
from tests.conftest import ALICE_TOKEN, BOB_TOKEN, auth

HOUR = 3_600


@pytest.fixture
def client(backend_app, backend_client):
    add_symbol(backend_app, "TEST")
    return backend_client


@pytest.fixture
def run_id(client) -> str:
    response = post(client, **{"from": "2025-01-01", "to": "2025-01-04"})  # 96 hourly bars
    assert response.status_code == 202, response.text
    assert wait_done(client, response.json()["id"])["status"] == "completed"
    return response.json()["id"]


def _equity(client, run_id: str, **params) -> dict:
    response = client.get(f"/backtests/{run_id}/equity", params=params, headers=auth(ALICE_TOKEN))
    assert response.status_code == 200, response.text
    return response.json()


def test_a_range_returns_exactly_the_bars_inside_it(client, run_id):
    whole = _equity(client, run_id)
    assert whole["count"] == whole["source_points"] == 96
    # Bars 10..30 (both bounds inclusive), by epoch seconds.
    part = _equity(client, run_id, **{"from": START + 10 * HOUR, "to": START + 30 * HOUR})
    assert part["count"] == part["source_points"] == 21
    assert part["time"] == whole["time"][10:31]
    assert part["equity"] == whole["equity"][10:31] and part["drawdown"] == whole["drawdown"][10:31]
    # A bare date as `to` is the end of that day; only `from` or only `to` leave the other side open.
    day = _equity(client, run_id, **{"from": "2025-01-02", "to": "2025-01-02"})
    assert day["time"] == whole["time"][24:48]
    assert _equity(client, run_id, **{"from": START + 90 * HOUR})["time"] == whole["time"][90:]
    assert _equity(client, run_id, to=START + 2 * HOUR)["time"] == whole["time"][:3]
    # Outside the run: no points, not an error.
    assert _equity(client, run_id, **{"from": "2026-01-01"})["count"] == 0


def test_decimation_happens_within_the_range_so_zooming_in_gains_detail(client, run_id):
    start, end = START + 40 * HOUR, START + 60 * HOUR
    whole = _equity(client, run_id, max_points=12)
    inside_whole = [t for t in whole["time"] if start <= t <= end]
    zoomed = _equity(client, run_id, max_points=12, **{"from": start, "to": end})
    assert zoomed["source_points"] == 21 and zoomed["count"] == 12
    assert all(start <= t <= end for t in zoomed["time"])
    # The range's own first and last bars stay (MinMaxLTTB keeps the ends), and the zoomed view is finer.
    assert zoomed["time"][0] == start and zoomed["time"][-1] == end
    assert len(zoomed["time"]) > len(inside_whole)


@pytest.mark.parametrize(("params", "field", "reason"), [
    ({"from": "yesterday"}, "from", "expected epoch seconds or an ISO-8601"),
    ({"to": "2025-02-30"}, "to", ""),
    ({"from": "0" * 41}, "from", "not a time"),  # longer than the documented shape allows
    ({"from": "2025-01-03", "to": "2025-01-02"}, "from", "must not be after 'to'"),
])
def test_a_bad_bound_is_a_422_naming_it(client, run_id, params, field, reason):
    response = client.get(f"/backtests/{run_id}/equity", params=params, headers=auth(ALICE_TOKEN))
    assert response.status_code == 422
    detail = response.json()["error"]["details"][0]
    assert detail["field"] == field and reason in detail["reason"] and detail["reason"]


def test_a_range_does_not_open_another_users_run(client, run_id):
    response = client.get(f"/backtests/{run_id}/equity", params={"from": START}, headers=auth(BOB_TOKEN))
    assert response.status_code == 404
