"""Engine semantics on tiny hand-computed cases: every expected number below is worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from structlog.testing import capture_logs

from backend.engine.simulate import Costs, simulate
from backend.market.bars import BarArrays

T0 = 1_700_000_000


def bars(opens: list[float], closes: list[float]) -> BarArrays:
    o, c = np.array(opens, float), np.array(closes, float)
    return BarArrays(time=T0 + 86_400 * np.arange(len(o), dtype=np.int64), open=o, high=np.maximum(o, c),
                     low=np.minimum(o, c), close=c, volume=np.ones(len(o)))


def free(cash: float = 1_000.0, **kw) -> Costs:
    return Costs(cash=cash, commission_rate=kw.pop("commission_rate", 0.0), **kw)


def test_signal_at_close_fills_at_next_open():
    b = bars([10, 11, 12, 13], [10.5, 11.5, 12.5, 13.5])
    sim = simulate(b, np.array([1, 1, 0, 0]), free())
    # Long decided at bar 0's close → buy at bar 1's open (11): floor(1000 / 11) = 90 units, cash 10.
    # Flat decided at bar 2's close → sell at bar 3's open (13): cash 10 + 90 * 13 = 1180.
    assert sim.fills.bar_index.tolist() == [1, 3]
    assert sim.fills.side == ["buy", "sell"]
    assert sim.fills.price.tolist() == [11.0, 13.0]
    assert sim.fills.quantity.tolist() == [90.0, 90.0]
    assert sim.position.tolist() == [0, 90, 90, 0]
    assert sim.cash.tolist() == [1000, 10, 10, 1180]
    # Equity is marked at every close: bar 1 → 10 + 90 * 11.5, bar 2 → 10 + 90 * 12.5.
    assert sim.equity.tolist() == pytest.approx([1000, 1045, 1135, 1180])
    assert sim.fills.realized_pnl.tolist() == pytest.approx([0.0, 180.0])
    assert len(sim.trades) == 1 and sim.trades[0].pnl == pytest.approx(180.0)


def test_commission_charged_at_entry_and_exit():
    b = bars([10, 10, 12], [10, 10, 12])
    sim = simulate(b, np.array([1, 0, 0]), Costs(cash=1_000.0, commission_rate=0.01))
    # Entry at 10: floor(1000 / (10 * 1.01)) = 99 units, fee 9.9; cash 1000 - 990 - 9.9 = 0.1.
    # Exit at 12: fee 0.01 * 99 * 12 = 11.88; cash 0.1 + 1188 - 11.88 = 1176.22.
    assert sim.fills.quantity.tolist() == [99.0, 99.0]
    assert sim.fills.fee.tolist() == pytest.approx([9.9, 11.88])
    assert sim.cash[-1] == pytest.approx(1176.22)
    assert sim.fees_paid == pytest.approx(21.78)
    # Realised PnL per fill is net of that fill's fee; the trade's PnL is net of both.
    assert sim.fills.realized_pnl.tolist() == pytest.approx([-9.9, 198 - 11.88])
    assert sim.trades[0].pnl == pytest.approx(198 - 9.9 - 11.88)


def test_reversal_closes_then_opens_the_opposite_side():
    b = bars([10, 10, 8, 6], [10, 9, 7, 6])
    sim = simulate(b, np.array([1, -1, -1, -1]), free())
    # Bar 1: buy 100 at 10. Bar 2: sell 100 at 8 (cash 800), then short floor(800 / 8) = 100 at 8 (cash 1600).
    assert sim.fills.bar_index.tolist() == [1, 2, 2]
    assert sim.fills.side == ["buy", "sell", "sell"]
    assert sim.fills.quantity.tolist() == [100, 100, 100]
    assert sim.position.tolist() == [0, 100, -100, -100]
    assert sim.cash.tolist() == [1000, 0, 1600, 1600]
    # Short marked at the close: 1600 - 100 * 7 = 900, then 1600 - 600 = 1000.
    assert sim.equity.tolist() == pytest.approx([1000, 900, 900, 1000])
    assert sim.trades[0].pnl == pytest.approx(-200.0)
    assert sim.open_trade is not None and sim.open_trade.direction == -1 and sim.open_trade.entry_price == 8


def test_gap_fills_at_the_open_not_at_the_previous_close():
    b = bars([100, 100, 80], [100, 100, 82])
    sim = simulate(b, np.array([1, 0, 0]), free())
    # Bought 10 at 100; the exit signal at bar 1's close fills at bar 2's gapped-down open, 80.
    assert sim.fills.price.tolist() == [100.0, 80.0]
    assert sim.trades[0].pnl == pytest.approx(-200.0)
    assert sim.equity[-1] == pytest.approx(800.0)


def test_no_signal_no_trades_equity_flat():
    b = bars([10, 11, 12], [11, 12, 13])
    sim = simulate(b, np.zeros(3, dtype=np.int8), free())
    assert len(sim.fills) == 0 and sim.trades == [] and sim.rejections == []
    assert sim.equity.tolist() == [1000, 1000, 1000]


def test_fractional_versus_whole_units():
    b = bars([3, 3, 3], [3, 3, 3])
    whole = simulate(b, np.array([1, 1, 1]), free(cash=100.0))
    fractional = simulate(b, np.array([1, 1, 1]), free(cash=100.0, fractional=True))
    assert whole.fills.quantity.tolist() == [33.0]
    assert whole.cash[-1] == pytest.approx(1.0)
    assert fractional.fills.quantity[0] == pytest.approx(100 / 3)
    assert fractional.cash[-1] == pytest.approx(0.0, abs=1e-9)


def test_slippage_moves_buys_up_and_sells_down():
    b = bars([100, 100, 100], [100, 100, 100])
    sim = simulate(b, np.array([1, 0, 0]), free(cash=10_000.0, slippage_bps=50))
    # 50 bps: buy at 100.5, floor(10000 / 100.5) = 99 units; sell at 99.5.
    assert sim.fills.price.tolist() == pytest.approx([100.5, 99.5])
    assert sim.fills.quantity.tolist() == [99, 99]
    assert sim.trades[0].pnl == pytest.approx(-99.0)


def test_fixed_fee_per_fill_reduces_size_and_cash():
    b = bars([10, 10, 10], [10, 10, 10])
    sim = simulate(b, np.array([1, 0, 0]), free(cash=1_000.0, fixed_fee=5.0))
    # The fee is reserved before sizing: floor((1000 - 5) / 10) = 99 units; two fills cost 10.
    assert sim.fills.quantity.tolist() == [99, 99]
    assert sim.fills.fee.tolist() == [5.0, 5.0]
    assert sim.cash[-1] == pytest.approx(990.0)
    assert sim.trades[0].pnl == pytest.approx(-10.0)


def test_rejected_when_equity_cannot_buy_one_unit_and_reason_is_logged():
    b = bars([500, 500, 500], [500, 500, 500])
    with capture_logs() as logs:
        sim = simulate(b, np.array([1, 1, 1]), free(cash=100.0))
    assert len(sim.fills) == 0
    assert len(sim.rejections) == 1
    rejection = sim.rejections[0]
    assert rejection.bar_index == 0 and "too small for one unit" in rejection.reason
    summary = [e for e in logs if e["event"] == "orders_rejected"]
    assert [(e["count"], e["first_reason"]) for e in summary] == [(1, rejection.reason)]
    assert sim.equity.tolist() == [100, 100, 100]


def test_many_rejections_are_summed_up_in_one_log_line():
    # Whole units at 500 with 100 of cash: every one of the 200 entries is rejected.
    n = 401
    b = bars([500] * n, [500] * n)
    target = np.tile([1, 0], n // 2 + 1)[:n]
    with capture_logs() as logs:
        sim = simulate(b, target, free(cash=100.0))
    assert len(sim.rejections) == 201
    assert [(e["event"], e["count"]) for e in logs] == [("orders_rejected", 201)]


def test_signal_on_the_last_bar_is_rejected_for_want_of_a_next_bar():
    b = bars([10, 10, 10], [10, 10, 10])
    sim = simulate(b, np.array([0, 0, 1]), free())
    assert len(sim.fills) == 0
    assert [r.bar_index for r in sim.rejections] == [2]
    assert "no next bar" in sim.rejections[0].reason


def test_rejected_entry_is_not_retried_until_the_signal_changes():
    # Cash for one unit at 10 but not at 500; the first long is rejected, the second (after a flat) fills.
    b = bars([10, 500, 500, 10, 10], [500, 500, 500, 10, 10])
    sim = simulate(b, np.array([0, 1, 0, 1, 1]), free(cash=100.0))
    assert [r.bar_index for r in sim.rejections] == [1]
    assert sim.fills.bar_index.tolist() == [4]
