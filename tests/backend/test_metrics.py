"""Metrics checked against independent plain-Python implementations written here, not the engine's helpers."""

from __future__ import annotations

import math
import statistics

import numpy as np
import orjson
import pytest

from backend.engine.metrics import compute_metrics
from backend.engine.simulate import Costs, simulate
from backend.market.bars import BarArrays

YEAR_S = 365.25 * 86_400


def random_bars(n: int, seed: int, step_s: int = 3_600) -> BarArrays:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(rng.normal(0, 0.002, n))
    time = 1_600_000_000 + step_s * np.arange(n, dtype=np.int64)
    return BarArrays(time, open_, np.maximum(open_, close), np.minimum(open_, close), close, np.ones(n))


def random_targets(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    # Hold each decision for a few bars so there are trades of both signs, winners and losers.
    return np.repeat(rng.choice([-1, 0, 1], size=n // 5 + 1), 5)[:n].astype(np.int8)


def reference_trades(fills) -> list[float]:
    """Pair fills into round trips: net PnL of each closed trade, from the fill rows alone."""
    pnls, entry = [], None
    for side, qty, price, fee in zip(fills.side, fills.quantity, fills.price, fills.fee, strict=False):
        if entry is None:
            entry = (1 if side == "buy" else -1, qty, price, fee)
        else:
            direction, q, p, f = entry
            pnls.append(direction * q * (price - p) - f - fee)
            entry = None
    return pnls


@pytest.mark.parametrize(("seed", "given_ppy"), [(1, None), (2, None), (3, None), (4, 252), (5, 365)])
def test_metrics_match_independent_computation(seed, given_ppy):
    n = 600
    b = random_bars(n, seed)
    sim = simulate(b, random_targets(n, seed), Costs(cash=50_000.0, commission_rate=0.001, fixed_fee=1.0))
    m = compute_metrics(b, sim, given_ppy)
    equity = [float(x) for x in sim.equity]

    if given_ppy is None:
        years = (int(b.time[-1]) - int(b.time[0])) / YEAR_S
        ppy = (n - 1) / years
    else:
        # empyrical's basis: years are return periods / periods per year.
        ppy = given_ppy
        years = (n - 1) / ppy
    assert m["periods_per_year"] == pytest.approx(ppy) and m["years"] == pytest.approx(years)
    assert m["periods_per_year_basis"] == ("observed" if given_ppy is None else "given")
    assert m["total_return"] == pytest.approx(equity[-1] / 50_000 - 1)
    assert m["buy_and_hold_return"] == pytest.approx(float(b.close[-1]) / float(b.close[0]) - 1)
    assert m["cagr"] == pytest.approx((equity[-1] / 50_000) ** (1 / years) - 1)

    rets = [equity[i] / equity[i - 1] - 1 for i in range(1, n)]
    mean, sd = statistics.fmean(rets), statistics.stdev(rets)
    downside = math.sqrt(sum(min(r, 0) ** 2 for r in rets) / len(rets))
    assert m["annualized_return"] == pytest.approx(mean * ppy)
    assert m["annualized_volatility"] == pytest.approx(sd * math.sqrt(ppy))
    assert m["sharpe"] == pytest.approx(mean / sd * math.sqrt(ppy))
    assert m["sortino"] == pytest.approx(mean / downside * math.sqrt(ppy))

    peak, worst = equity[0], 0.0
    for e in equity:
        peak = max(peak, e)
        worst = min(worst, e / peak - 1)
    # Duration: from a peak to the first bar back at or above it, or to the last bar if it never recovers.
    durations, peak_i = [0], 0
    for i in range(1, n):
        if equity[i] >= equity[peak_i]:
            if i - peak_i > 1:
                durations.append(i - peak_i)
            peak_i = i
    if peak_i < n - 1:
        durations.append(n - 1 - peak_i)
    longest = max(durations)
    assert m["max_drawdown"] == pytest.approx(worst)
    assert m["max_drawdown_duration_bars"] == longest
    assert m["calmar"] == pytest.approx(m["cagr"] / -worst)

    pnls = reference_trades(sim.fills)
    wins, losses = [p for p in pnls if p > 0], [p for p in pnls if p < 0]
    assert m["trades"] == len(pnls) > 5
    assert m["win_rate"] == pytest.approx(len(wins) / len(pnls))
    assert m["best_trade"] == pytest.approx(max(pnls))
    assert m["worst_trade"] == pytest.approx(min(pnls))
    assert m["avg_trade"] == pytest.approx(statistics.fmean(pnls))
    assert m["profit_factor"] == pytest.approx(sum(wins) / -sum(losses))
    assert m["commissions"] == pytest.approx(float(sum(sim.fills.fee)))
    assert m["exposure"] == pytest.approx(sum(1 for p in sim.position if p != 0) / n)


def test_undefined_metrics_are_null_and_json_has_no_nan():
    b = random_bars(50, 7)
    # Buy and hold on a path that only rises: no losing trade, no closed trade at all.
    rising = BarArrays(b.time, np.linspace(10, 20, 50), np.linspace(10, 20, 50), np.linspace(10, 20, 50),
                       np.linspace(10, 20, 50), b.volume)
    m = compute_metrics(rising, simulate(rising, np.ones(50, np.int8), Costs(cash=1_000.0, commission_rate=0)))
    assert m["trades"] == 0
    assert m["win_rate"] is None and m["profit_factor"] is None and m["avg_trade"] is None
    assert m["max_drawdown"] == 0 and m["calmar"] is None and m["sortino"] is None
    assert m["open_trade_pnl"] == pytest.approx((20 - rising.open[1]) * math.floor(1000 / rising.open[1]))
    assert all(v is None or not isinstance(v, float) or math.isfinite(v) for v in m.values())
    assert b"NaN" not in orjson.dumps(m) and b"Infinity" not in orjson.dumps(m)


def test_single_bar_run_has_no_annualised_numbers():
    b = random_bars(1, 3)
    m = compute_metrics(b, simulate(b, np.ones(1, np.int8), Costs()))
    assert m["periods_per_year"] is None and m["sharpe"] is None and m["cagr"] is None
    assert m["rejected_orders"] == 1 and m["total_return"] == 0


def test_profit_factor_with_only_winners_is_null_and_with_losers_is_money_ratio():
    b = BarArrays(np.arange(6, dtype=np.int64) * 86_400, np.array([10., 10, 12, 12, 10, 10]),
                  np.array([10., 10, 12, 12, 10, 10]), np.array([10., 10, 12, 12, 10, 10]),
                  np.array([10., 10, 12, 12, 10, 10]), np.ones(6))
    # Long 100 at 10 → out at 12 (+200); short floor(1200 / 12) = 100 at 12 → cover at 10 (+200).
    sim = simulate(b, np.array([1, 0, -1, 0, 0, 0]), Costs(cash=1_000.0, commission_rate=0))
    m = compute_metrics(b, sim)
    assert m["trades"] == 2 and m["win_rate"] == 1.0 and m["profit_factor"] is None
    assert m["best_trade"] == pytest.approx(200.0) and m["worst_trade"] == pytest.approx(200.0)
    assert m["expectancy"] == pytest.approx((200 / 1000 + 200 / 1200) / 2)


@pytest.mark.parametrize(("ppy", "documented"), [
    (252, {"sharpe": 5.7752, "sortino": 16.837, "annualized_return": 1.89, "annualized_volatility": 0.32726,
           "years": 0.015873, "cagr": 5.3182, "calmar": 531.82}),
    (365, {"sharpe": 6.9505, "sortino": 20.263, "annualized_return": 2.7375, "annualized_volatility": 0.39386,
           "years": 0.010959, "cagr": 13.441, "calmar": 1344.1}),
])
def test_the_documented_annualisation_example(ppy, documented):
    # docs/engine.md, "Worked example: annualisation": returns +2 %, -1 %, +3 %, -1 % on five daily closes.
    equity = np.array([100_000.0, 102_000.0, 100_980.0, 104_009.4, 102_969.306])
    b = random_bars(5, 1, step_s=86_400)
    sim = simulate(b, np.zeros(5, np.int8), Costs(cash=100_000.0))
    sim.equity = equity
    m = compute_metrics(b, sim, ppy)
    assert m["max_drawdown"] == pytest.approx(-0.01)
    for name, value in documented.items():
        assert m[name] == pytest.approx(value, rel=5e-5), name
