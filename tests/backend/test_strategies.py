"""Strategies: registry, parameter validation and signals checked against straightforward Python loops."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from backend.market.bars import BarArrays
from backend.strategies.registry import get_strategy, strategies
from common.errors import InvalidInput
from common.models.backtests import Mode


def closes_to_bars(close: np.ndarray) -> BarArrays:
    n = close.shape[0]
    return BarArrays(np.arange(n, dtype=np.int64) * 60, close, close, close, close, np.ones(n))


@pytest.fixture
def walk() -> BarArrays:
    rng = np.random.default_rng(5)
    return closes_to_bars(100 + np.cumsum(rng.normal(0, 1, 400)))


def sma(values: list[float], i: int, w: int) -> float | None:
    return statistics.fmean(values[i - w + 1:i + 1]) if i >= w - 1 else None


def test_registry_has_the_built_in_strategies_with_defaults():
    assert set(strategies()) == {"ma_crossover", "rsi_mean_reversion", "bollinger_breakout", "buy_and_hold"}
    assert get_strategy("ma_crossover").defaults() == {"fast": 10, "slow": 50}
    assert get_strategy("rsi_mean_reversion").defaults() == {"period": 14, "lower": 30.0, "upper": 70.0}
    assert get_strategy("bollinger_breakout").defaults() == {"period": 20, "width": 2.0}
    assert get_strategy("buy_and_hold").defaults() == {}


@pytest.mark.parametrize(("name", "params", "field"), [
    ("ma_crossover", {"fast": 50, "slow": 20}, "params.fast"),
    ("ma_crossover", {"fast": 0}, "params.fast"),
    ("ma_crossover", {"slow": "many"}, "params.slow"),
    ("ma_crossover", {"speed": 3}, "params.speed"),
    ("rsi_mean_reversion", {"lower": 80, "upper": 70}, "params.lower"),
    ("rsi_mean_reversion", {"upper": 150}, "params.upper"),
    ("bollinger_breakout", {"width": -1}, "params.width"),
    ("bollinger_breakout", {"period": 1}, "params.period"),
])
def test_bad_parameters_name_the_field(name, params, field):
    with pytest.raises(InvalidInput) as exc:
        get_strategy(name).parse_params(params)
    assert exc.value.details[0]["field"] == field


def test_unknown_strategy_is_invalid_input_on_strategy():
    with pytest.raises(InvalidInput) as exc:
        get_strategy("martingale")
    assert exc.value.details[0]["field"] == "strategy"


def test_ma_crossover_matches_a_loop(walk):
    close = walk.close.tolist()
    s = get_strategy("ma_crossover")
    got = s.signals(walk, s.parse_params({"fast": 5, "slow": 20}), Mode.long_short).tolist()
    state, want = 0, []
    for i in range(len(close)):
        f, sl = sma(close, i, 5), sma(close, i, 20)
        if f is not None and sl is not None and abs(f - sl) > 1e-9:
            state = 1 if f > sl else -1
        want.append(state)
    assert got == want
    assert set(got) == {-1, 0, 1}
    long_only = s.signals(walk, s.parse_params({"fast": 5, "slow": 20}), Mode.long_only).tolist()
    assert long_only == [max(v, 0) for v in want]


def test_rsi_mean_reversion_matches_a_loop(walk):
    close = walk.close.tolist()
    s = get_strategy("rsi_mean_reversion")
    params = s.parse_params({"period": 10, "lower": 35, "upper": 65})
    got = s.signals(walk, params, Mode.long_short).tolist()
    state, want = 0, []
    for i in range(len(close)):
        if i >= 10:
            changes = [close[j] - close[j - 1] for j in range(i - 9, i + 1)]
            gain = sum(c for c in changes if c > 0) / 10
            loss = sum(-c for c in changes if c < 0) / 10
            rsi = 100 * gain / (gain + loss)
            if rsi < 35:
                state = 1
            elif rsi > 65:
                state = -1
        want.append(state)
    assert got == want
    assert set(got) == {-1, 1, 0}


def test_bollinger_breakout_matches_a_loop(walk):
    close = walk.close.tolist()
    s = get_strategy("bollinger_breakout")
    params = s.parse_params({"period": 15, "width": 1.5})
    got = s.signals(walk, params, Mode.long_short).tolist()
    state, want = 0, []
    for i in range(len(close)):
        if i >= 14:
            window = close[i - 14:i + 1]
            mid, sd = statistics.fmean(window), statistics.pstdev(window)
            if close[i] > mid + 1.5 * sd:
                state = 1
            elif close[i] < mid - 1.5 * sd:
                state = -1
            elif (state == 1 and close[i] < mid) or (state == -1 and close[i] > mid):
                state = 0
        want.append(state)
    assert got == want
    assert set(got) == {-1, 0, 1}


def test_buy_and_hold_is_always_long_in_either_mode(walk):
    s = get_strategy("buy_and_hold")
    for mode in Mode:
        assert s.signals(walk, s.parse_params({}), mode).tolist() == [1] * len(walk)


@pytest.mark.parametrize("name", ["ma_crossover", "rsi_mean_reversion", "bollinger_breakout"])
def test_long_only_never_shorts_and_short_series_are_handled(name, walk):
    s = get_strategy(name)
    assert s.signals(walk, s.parse_params({}), Mode.long_only).min() >= 0
    tiny = walk.slice(0, 3)  # fewer bars than any window: no signal at all, not an error
    assert s.signals(tiny, s.parse_params({}), Mode.long_short).tolist() == [0, 0, 0]
