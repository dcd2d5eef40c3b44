"""Synthetic demo data: sessions per instrument, bar shape, determinism, catalog entries and demo users."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from backend.auth import Authenticator
from backend.catalog import Catalog
from backend.demo.data import (
    DEMO_INSTRUMENTS,
    DEMO_USERS,
    NYSE_EARLY_CLOSES_2025,
    NYSE_HOLIDAYS_2025,
    YEAR_END,
    YEAR_START,
    create_demo_data,
    demo_bars,
)
from backend.settings import BackendSettings
from common.models.bars import Timeframe
from hewston.cli import main
from tests.conftest import ALICE_TOKEN, auth

NEW_YORK = ZoneInfo("America/New_York")
SPECS = {spec.instrument.symbol: spec for spec in DEMO_INSTRUMENTS}


@pytest.fixture(scope="module")
def demo():
    return {symbol: demo_bars(spec) for symbol, spec in SPECS.items()}


def test_four_instruments_of_each_kind():
    kinds = sorted(spec.instrument.asset_class.value for spec in DEMO_INSTRUMENTS)
    assert kinds == ["crypto", "equity", "equity", "fx"]
    assert {"ACME", "GLOBEX", "EURUSD", "BTCUSD"} == set(SPECS)
    assert all(spec.instrument.synthetic for spec in DEMO_INSTRUMENTS)


def test_crypto_trades_every_minute_of_2025(demo):
    times = demo["BTCUSD"].time
    assert len(times) == 525_600
    assert times[0] == YEAR_START and times[-1] == YEAR_END - 60
    assert (np.diff(times) == 60).all()


def test_fx_trades_sunday_22_to_friday_22_utc(demo):
    times = demo["EURUSD"].time
    hours = {datetime.fromtimestamp(t, UTC) for t in np.unique(times - times % 3600).tolist()}
    for hour in hours:
        weekday = hour.weekday()  # Monday 0 .. Sunday 6
        closed = weekday == 5 or (weekday == 6 and hour.hour < 22) or (weekday == 4 and hour.hour >= 22)
        assert not closed, hour
    # Every minute of an open hour is there: count the open hours of the year independently.
    open_hours = 0
    hour = datetime(2025, 1, 1, tzinfo=UTC)
    while hour < datetime(2026, 1, 1, tzinfo=UTC):
        wd = hour.weekday()
        open_hours += wd in (0, 1, 2, 3) or (wd == 4 and hour.hour < 22) or (wd == 6 and hour.hour >= 22)
        hour += timedelta(hours=1)
    assert len(times) == open_hours * 60
    weekend_gaps = np.diff(times)[np.diff(times) > 60]
    assert (weekend_gaps == 48 * 3600 + 60).all()  # Friday 21:59 to Sunday 22:00


@pytest.mark.parametrize("symbol", ["ACME", "GLOBEX"])
def test_equities_trade_new_york_regular_hours(demo, symbol):
    times = demo[symbol].time
    local = [datetime.fromtimestamp(t, UTC).astimezone(NEW_YORK) for t in times.tolist()]
    per_day: dict = {}
    for moment in local:
        per_day.setdefault(moment.date(), []).append(moment)
    for day, moments in per_day.items():
        assert day.weekday() < 5 and day not in NYSE_HOLIDAYS_2025
        close = (13, 0) if day in NYSE_EARLY_CLOSES_2025 else (16, 0)
        minutes = [m.hour * 60 + m.minute for m in moments]
        assert minutes == list(range(9 * 60 + 30, close[0] * 60 + close[1]))
    weekdays = sum(1 for d in range(365) if (datetime(2025, 1, 1) + timedelta(days=d)).weekday() < 5)
    assert len(per_day) == weekdays - len(NYSE_HOLIDAYS_2025)
    assert 95_000 <= len(times) <= 99_000


def test_equity_sessions_follow_daylight_saving_time(demo):
    opens = {datetime.fromtimestamp(t, UTC).date(): datetime.fromtimestamp(t, UTC).hour
             for t in demo["ACME"].time[::-1].tolist()}  # reversed, so each day keeps its first bar
    assert opens[datetime(2025, 1, 2).date()] == 14  # EST: 09:30 = 14:30 UTC
    assert opens[datetime(2025, 7, 1).date()] == 13  # EDT: 09:30 = 13:30 UTC


@pytest.mark.parametrize("symbol", list(SPECS))
def test_bars_are_well_formed(demo, symbol):
    bars = demo[symbol]
    assert (np.diff(bars.time) > 0).all() and (bars.time % 60 == 0).all()
    for name in ("open", "high", "low", "close", "volume"):
        assert np.isfinite(getattr(bars, name)).all()
    assert (bars.high >= np.maximum(bars.open, bars.close)).all()
    assert (bars.low <= np.minimum(bars.open, bars.close)).all()
    assert (bars.low > 0).all() and (bars.volume >= 0).all() and (bars.high > bars.low).mean() > 0.95


@pytest.mark.parametrize("symbol", ["ACME", "EURUSD"])
def test_sessions_open_with_a_gap_and_continue_without_one(demo, symbol):
    bars = demo[symbol]
    new_session = np.concatenate(([False], np.diff(bars.time) > 60))
    continued = np.flatnonzero(~new_session)[1:]
    np.testing.assert_array_equal(bars.open[continued], bars.close[continued - 1])
    opened = np.flatnonzero(new_session)
    assert (bars.open[opened] != bars.close[opened - 1]).mean() > 0.9


def test_equity_volatility_and_volume_are_u_shaped(demo):
    bars = demo["ACME"]
    starts = np.flatnonzero(np.concatenate(([True], np.diff(bars.time) > 60)))
    position = np.arange(len(bars)) - np.repeat(starts, np.diff(np.append(starts, len(bars))))
    move = np.abs(np.log(bars.close / bars.open))
    edges = (position < 30) | ((position >= 360) & (position < 390))
    middle = (position >= 165) & (position < 225)
    assert move[edges].mean() > 1.5 * move[middle].mean()
    assert bars.volume[edges].mean() > 1.5 * bars.volume[middle].mean()


def test_generation_is_deterministic(demo):
    again = demo_bars(SPECS["EURUSD"])
    for name in ("time", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(again, name), getattr(demo["EURUSD"], name))
    assert not np.array_equal(demo["ACME"].close[:1000], demo["GLOBEX"].close[:1000])


def test_create_demo_data_writes_catalog_users_and_skips_when_present(tmp_path, capsys, demo):
    settings = BackendSettings(data_dir=tmp_path / "data", _env_file=None)
    summary = create_demo_data(settings, if_missing=True)  # nothing there yet: creates
    assert summary.created
    assert {d.symbol: d.rows for d in summary.datasets} == {symbol: len(bars) for symbol, bars in demo.items()}
    assert [d.asset_class for d in summary.datasets] == [s.instrument.asset_class for s in DEMO_INSTRUMENTS]
    catalog = Catalog(settings.catalog_path)
    assert {i.symbol for i in catalog.instruments() if i.synthetic} == set(SPECS)
    for symbol in SPECS:
        assert {r.timeframe for r in catalog.datasets(symbol)} == set(Timeframe)
    btc = catalog.dataset("BTCUSD", Timeframe.minute)
    assert (btc.rows, btc.first_time, btc.data_version) == (525_600, YEAR_START, 1)
    assert catalog.dataset("BTCUSD", Timeframe.day).rows == 365

    authenticator = Authenticator(catalog, service_token=None)
    assert {authenticator.authenticate(token).name for token in DEMO_USERS.values()} == set(DEMO_USERS)
    with sqlite3.connect(settings.catalog_path) as conn:
        stored = " ".join(r[0] for r in conn.execute("SELECT token_hash FROM users"))
    assert not any(token in stored for token in DEMO_USERS.values())  # only hashes are kept
    assert all(token.startswith("hw_demo_") for token in DEMO_USERS.values())

    assert main(["demo-data", "--if-missing", "--data-dir", str(settings.data_dir)]) == 0
    out = capsys.readouterr().out
    assert "already present" in out and DEMO_USERS["alice"] in out and "525,600" in out
    assert catalog.dataset("BTCUSD", Timeframe.minute).data_version == 1  # untouched


def test_the_readme_backtest_is_a_meaningful_run_on_the_demo_data(demo, backend_app, backend_client):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    body = json.loads(re.search(r"-d '(\{.*?\})'", readme, re.DOTALL).group(1))
    backend_app.state.bar_store.write_minutes(SPECS["BTCUSD"].instrument, demo["BTCUSD"])
    run = backend_client.post("/backtests", json=body, headers=auth(ALICE_TOKEN)).json()
    assert run["fractional"] is True and run["warmup"] is True
    deadline = time.monotonic() + 30
    while backend_client.get(f"/backtests/{run['id']}", headers=auth(ALICE_TOKEN)).json()["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    metrics = backend_client.get(f"/backtests/{run['id']}/metrics", headers=auth(ALICE_TOKEN)).json()["metrics"]
    # What the README says of it: every entry sized, a few dozen round trips, a full warm-up.
    assert metrics["rejected_orders"] == 0
    assert (metrics["bars"], metrics["trades"], metrics["warmup_bars"]) == (7_344, 42, 120)
    assert metrics["periods_per_year"] == 8760 and metrics["sharpe"] is not None
    assert "7,344 hourly bars" in readme and "42 round trips" in readme
