"""Round-trip trades with their excursions, checked by hand on a few bars, and against the engine's own trades
and a direct reading of the bars through the API."""

from __future__ import annotations

import numpy as np
import pytest

from backend.engine.results import Fills
from backend.market.bars import BarArrays
from backend.runs.round_trips import round_trips
from tests.backend.test_backtests_api import add_symbol, post, wait_done
from tests.conftest import ALICE_TOKEN, BOB_TOKEN, auth

#                     open   high   low    close
_BARS = np.array([[100.0, 101.0, 99.0, 100.0],
                  [100.0, 104.0, 98.0, 103.0],   # long entry at this open
                  [103.0, 106.0, 97.0, 105.0],   # lowest low while long: 97
                  [105.0, 107.0, 102.0, 106.0],  # highest high while long: 107
                  [106.0, 108.0, 101.0, 104.0],  # long exit at this open (106); the 108 after it does not count
                  [104.0, 105.0, 95.0, 96.0]])   # short entry at this open, still open at the end


def _bars() -> BarArrays:
    n = _BARS.shape[0]
    return BarArrays(60 * np.arange(n, dtype=np.int64), _BARS[:, 0], _BARS[:, 1], _BARS[:, 2], _BARS[:, 3],
                     np.ones(n))


def _fills(rows: list[tuple[int, str, float, float, float]]) -> Fills:
    bar, side, qty, price, fee = zip(*rows, strict=True)
    return Fills(np.array(bar, dtype=np.int64), 60 * np.array(bar, dtype=np.int64), list(side), np.array(qty),
                 np.array(price), np.array(fee), ["signal"] * len(rows), np.zeros(len(rows)))


def test_a_long_then_an_open_short_worked_out_by_hand():
    fills = _fills([(1, "buy", 2, 100.0, 0.2), (4, "sell", 2, 106.0, 0.212), (5, "sell", 1, 104.0, 0.104)])
    long, short = round_trips(fills, _bars())
    assert (long["number"], long["side"], long["size"], long["fills"]) == (1, "long", 2, 2)
    assert (long["entry_time"], long["exit_time"], long["entry_price"], long["exit_price"]) == (60, 240, 100, 106)
    assert long["pnl"] == pytest.approx(6 * 2 - 0.2 - 0.212) and long["return"] == pytest.approx(11.588 / 200)
    # Exposed over bars 1-3 and the exit bar's open: best 107, worst 97 against 100.
    assert long["mfe"] == pytest.approx(0.07) and long["mae"] == pytest.approx(-0.03)
    assert long["mfe_pnl"] == pytest.approx(14.0) and long["mae_pnl"] == pytest.approx(-6.0)
    # The short is open at the end: no exit, marked at the last close (96), exposed over the last bar.
    assert (short["side"], short["exit_time"], short["exit_price"], short["exit_bar"]) == ("short", None, None, None)
    assert short["pnl"] == pytest.approx(8 - 0.104)
    assert short["mfe"] == pytest.approx(9 / 104) and short["mae"] == pytest.approx(-1 / 104)


def test_a_reversing_fill_closes_one_trade_and_opens_the_next_sharing_its_fee():
    fills = _fills([(1, "buy", 1, 100.0, 0.0), (3, "sell", 3, 110.0, 0.3), (5, "buy", 2, 100.0, 0.0)])
    long, short = round_trips(fills, _bars())
    assert (long["size"], long["exit_price"], long["fees"]) == (1, 110, pytest.approx(0.1))
    assert long["pnl"] == pytest.approx(10 - 0.1)
    assert (short["size"], short["entry_price"], short["exit_price"], short["fills"]) == (2, 110, 100, 2)
    assert short["pnl"] == pytest.approx(20 - 0.2)
    # The short: bars 3-4 and bar 5's open; best 101 (low of bar 4); the highest, 108, never above its entry (110):
    # it never stood against the trader.
    assert short["mfe"] == pytest.approx(1 - 101 / 110) and short["mae"] == 0
    # The long: bars 1-2 and bar 3's open; best 106, worst 97.
    assert long["mfe"] == pytest.approx(0.06) and long["mae"] == pytest.approx(-0.03)


def test_no_fills_no_trades():
    none = Fills(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), [], np.zeros(0), np.zeros(0),
                 np.zeros(0), [], np.zeros(0))
    assert round_trips(none, _bars()) == []


@pytest.fixture
def client(backend_app, backend_client):
    add_symbol(backend_app, "TEST")
    return backend_client


def test_the_route_agrees_with_the_engine_and_with_the_bars(client):
    response = post(client, mode="long_short", **{"from": "2025-01-01", "to": "2025-01-05"})
    run_id = response.json()["id"]
    run = wait_done(client, run_id)
    assert run["status"] == "completed"
    body = client.get(f"/backtests/{run_id}/trades", headers=auth(ALICE_TOKEN)).json()
    metrics = client.get(f"/backtests/{run_id}/metrics", headers=auth(ALICE_TOKEN)).json()["metrics"]
    closed = [t for t in body["trades"] if t["exit_time"] is not None]
    assert body["count"] == len(body["trades"]) >= metrics["trades"] == len(closed) > 2
    # The same PnL the engine counted for its trades.
    pnls = [t["pnl"] for t in closed]
    assert max(pnls) == pytest.approx(metrics["best_trade"]) and min(pnls) == pytest.approx(metrics["worst_trade"])
    assert np.mean(pnls) == pytest.approx(metrics["avg_trade"])
    # Every excursion read again from the bars, one trade at a time.
    bars = client.get("/bars/hour", params={"symbol": "TEST", "from": run["from_time"], "to": run["to_time"]},
                      headers=auth(ALICE_TOKEN)).json()
    for trade in closed:
        entry, exit_ = trade["entry_bar"], trade["exit_bar"]
        prices = bars["high"][entry:exit_] + bars["low"][entry:exit_] + [bars["open"][exit_]]
        moves = [(p / trade["entry_price"] - 1) * (1 if trade["side"] == "long" else -1) for p in prices]
        assert trade["mfe"] == pytest.approx(max(0.0, *moves)) and trade["mae"] == pytest.approx(min(0.0, *moves))
        assert trade["mae"] <= 0 <= trade["mfe"]
    assert client.get(f"/backtests/{run_id}/trades", headers=auth(BOB_TOKEN)).status_code == 404
