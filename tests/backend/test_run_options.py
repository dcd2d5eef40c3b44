"""Run options that make results comparable with other tools: warm-up, annualisation basis, signal semantics,
sizing defaults, and the semantics text that records them."""

from __future__ import annotations

import math

import pytest

from backend.catalog import Catalog
from backend.runs.repository import RunRepository
from common.models.backtests import MAX_PERIODS_PER_YEAR
from common.models.bars import AssetClass, Instrument
from tests.backend.test_backtests_api import DAYS, START, add_symbol, minute_bars, post, wait_done
from tests.conftest import ALICE_TOKEN, auth
from tests.support.logs import captured_logs

FROM = START + 2 * 86_400  # two days of hourly bars before it are available for a warm-up


@pytest.fixture
def client(backend_app, backend_client):
    add_symbol(backend_app, "TEST")
    return backend_client


def completed(client, **overrides) -> tuple[dict, dict, list[dict]]:
    run = post(client, **overrides).json()
    done = wait_done(client, run["id"])
    assert done["status"] == "completed", done["error"]
    metrics = client.get(f"/backtests/{run['id']}/metrics", headers=auth(ALICE_TOKEN)).json()
    orders = client.get(f"/backtests/{run['id']}/orders", headers=auth(ALICE_TOKEN)).json()["orders"]
    return done, metrics["metrics"], orders


def test_warm_up_fills_the_indicators_before_from_and_trades_from_from(client):
    warm, warm_metrics, warm_orders = completed(client, mode="long_short", **{"from": FROM})
    cold, cold_metrics, cold_orders = completed(client, mode="long_short", warmup=False, **{"from": FROM})
    hours = (DAYS - 2) * 24
    assert warm["bars"] == cold["bars"] == hours
    assert warm_metrics["first_time"] == cold_metrics["first_time"] == FROM
    assert (warm_metrics["warmup_bars"], cold_metrics["warmup_bars"]) == (12, 0)
    # With the slow average (12 hours) ready at `from`, the state is known on the first bar and fills at the
    # second; without a warm-up nothing can be decided before the 12th bar.
    assert warm_orders[0]["bar_index"] == 1
    assert cold_orders[0]["bar_index"] == 12
    assert "up to 12 bars before `from`" in warm["semantics"]["warmup"]
    assert cold["semantics"]["warmup"].startswith("off")


def test_a_warm_up_at_the_start_of_the_data_uses_what_there_is(client):
    _, metrics, orders = completed(client, mode="long_short")
    assert metrics["warmup_bars"] == 0 and orders[0]["bar_index"] == 12


def test_event_signals_wait_for_the_first_cross(client):
    # In this data the averages are apart at 03:00 on the third day and cross eight hours later.
    start = FROM + 3 * 3600
    state, _, state_orders = completed(client, mode="long_short", **{"from": start})
    event, _, event_orders = completed(client, mode="long_short", params={"fast": 3, "slow": 12, "signal": "event"},
                                       **{"from": start})
    assert event["params"]["signal"] == "event" and event["semantics"]["signal"].startswith("event:")
    assert state["semantics"]["signal"].startswith("state:")
    assert (state_orders[0]["bar_index"], event_orders[0]["bar_index"]) == (1, 9)
    # After the first cross both modes hold the same position, so their later fills are at the same bars.
    first_event_fill = event_orders[0]["bar_index"]
    later_state = [o["bar_index"] for o in state_orders if o["bar_index"] > first_event_fill]
    later_event = [o["bar_index"] for o in event_orders if o["bar_index"] > first_event_fill]
    assert later_state == later_event


def test_periods_per_year_given_with_the_run_is_the_basis_of_every_ratio(client):
    run = post(client, periods_per_year=365 * 24).json()
    assert run["periods_per_year"] == 8760 and "8760, given with the run" in run["semantics"]["periods_per_year"]
    done, metrics, _ = completed(client, periods_per_year=365 * 24)
    assert done["periods_per_year"] == 8760
    assert metrics["periods_per_year"] == 8760 and metrics["periods_per_year_basis"] == "given"
    assert metrics["years"] == pytest.approx((done["bars"] - 1) / 8760)
    observed, observed_metrics, _ = completed(client)
    assert observed_metrics["periods_per_year_basis"] == "observed"
    assert observed["semantics"]["periods_per_year"].startswith("observed")


def test_semantics_describe_the_runs_mode(client):
    long_only = post(client).json()
    long_short = post(client, mode="long_short").json()
    assert long_only["semantics"]["positions"].startswith("long or flat")
    assert "never short" in long_only["semantics"]["positions"]
    assert long_short["semantics"]["positions"].startswith("long or short")
    assert long_only["semantics"]["version"] == 2
    buy_and_hold = post(client, strategy="buy_and_hold", params={}).json()
    assert "not a comparison" in buy_and_hold["semantics"]["signal"]
    assert buy_and_hold["semantics"]["warmup"].startswith("none")


def test_sizing_defaults_to_whole_units_for_equities_and_fractions_elsewhere(client, backend_app):
    backend_app.state.bar_store.write_minutes(
        Instrument(symbol="SHARE", name="Share", asset_class=AssetClass.equity, synthetic=True), minute_bars())
    assert post(client, symbol="SHARE").json()["fractional"] is False
    assert post(client).json()["fractional"] is True
    assert post(client, fractional=False).json()["fractional"] is False
    run = post(client, symbol="SHARE").json()
    assert run["semantics"]["sizing"].endswith("whole units (rounded down)")


def test_a_catalog_from_before_the_run_options_gains_their_columns(tmp_path):
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    with catalog.connect() as conn:
        conn.execute("CREATE TABLE runs (id TEXT PRIMARY KEY, owner_id INTEGER, symbol TEXT, timeframe TEXT, "
                     "strategy TEXT, mode TEXT, params TEXT, from_time INTEGER, to_time INTEGER, cash REAL, "
                     "commission_rate REAL, fixed_fee REAL, slippage_bps REAL, fractional INTEGER, semantics TEXT, "
                     "status TEXT, progress REAL, error TEXT, created_at REAL, started_at REAL, finished_at REAL, "
                     "bars INTEGER, periods_per_year REAL)")
        conn.execute("INSERT INTO users(name, token_hash, created_at) VALUES ('old', 'x', 0)")
        conn.execute("INSERT INTO runs VALUES ('r1', 1, 'ACME', 'day', 'buy_and_hold', 'long_only', '{}', 0, 1, "
                     "1000, 0, 0, 0, 0, '{}', 'completed', 1, NULL, 0, 0, 0, 2, 252)")
    runs = RunRepository(catalog, tmp_path / "runs")
    old = runs.get("r1")
    assert old.warmup is False and old.requested_periods_per_year is None and old.periods_per_year == 252
    RunRepository(catalog, tmp_path / "runs")  # idempotent


def test_periods_per_year_is_bounded_by_the_finest_bars_there_are(client):
    refused = post(client, periods_per_year=20_000_000)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["field"].endswith("periods_per_year")
    assert post(client, periods_per_year=MAX_PERIODS_PER_YEAR + 1).status_code == 422


@pytest.mark.parametrize("extreme", [
    {"periods_per_year": MAX_PERIODS_PER_YEAR}, {"cash": 1e12}, {"cash": 1e-9}, {"fixed_fee": 1e6},
    {"commission_rate": 0.1, "slippage_bps": 1_000}, {"params": {"fast": 10_000, "slow": 50_000}},
])
def test_every_accepted_extreme_completes_with_finite_metrics(client, extreme):
    _, metrics, _ = completed(client, mode="long_short", **extreme)
    assert all(value is None or math.isfinite(value) for value in metrics.values() if isinstance(value, float))


def test_a_crashing_run_logs_one_line_with_its_correlation_id_and_no_locals(client, monkeypatch):
    def crash(record, *_args):
        secret_local = f"params of {record.id}"  # noqa: F841 - a local that must not be written
        raise OverflowError("math range error")

    monkeypatch.setattr("backend.runs.executor.execute", crash)
    with captured_logs() as lines:
        run = client.post("/backtests", headers={**auth(ALICE_TOKEN), "X-Request-ID": "req-crash-1"},
                          json={"symbol": "TEST", "strategy": "ma_crossover", "timeframe": "hour"}).json()
        done = wait_done(client, run["id"])
    assert done["status"] == "failed" and done["error"] == "internal error while running the backtest (OverflowError)"
    text = "".join(lines)
    crashed = [line for line in text.splitlines() if "run_crashed" in line]
    assert len(crashed) == 1
    assert "req-crash-1" in crashed[0] and run["id"] in crashed[0]
    assert "OverflowError: math range error (at test_run_options.py:" in crashed[0]
    assert "secret_local" not in text and "Traceback" not in text


def test_a_crashed_run_is_logged_before_anyone_can_see_it_failed(client, monkeypatch):
    def crash(*_args):
        raise OverflowError("math range error")

    logged_when_marked: list[bool] = []
    mark_failed = RunRepository.mark_failed

    def watched_mark_failed(self, run_id, reason):
        logged_when_marked.append(any("run_crashed" in line for line in lines))
        mark_failed(self, run_id, reason)

    monkeypatch.setattr("backend.runs.executor.execute", crash)
    monkeypatch.setattr(RunRepository, "mark_failed", watched_mark_failed)
    with captured_logs() as lines:
        run = post(client).json()
        assert wait_done(client, run["id"])["status"] == "failed"
    assert logged_when_marked == [True]
