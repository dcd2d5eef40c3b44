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
    assert get_strategy("ma_crossover").defaults() == {"signal": "state", "fast": 10, "slow": 50}
    assert get_strategy("rsi_mean_reversion").defaults() == {"signal": "state", "period": 14, "lower": 30.0,
                                                             "upper": 70.0}
    assert get_strategy("bollinger_breakout").defaults() == {"signal": "state", "period": 20, "width": 2.0}
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
    ("ma_crossover", {"signal": "cross"}, "params.signal"),
    ("buy_and_hold", {"signal": "event"}, "params.signal"),
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


def crossover_loop(close: list[float], fast: int, slow: int, event: bool, start: int = 0) -> list[int]:
    """The crossover rule bar by bar. Event: act only where "above" (or "below") becomes true after a bar where
    both averages existed and it was false, from ``start`` on (TradingView's ta.crossover)."""
    state, want, previous = 0, [], None
    for i in range(len(close)):
        f, sl = sma(close, i, fast), sma(close, i, slow)
        now = None if f is None or sl is None else (f > sl + 1e-9, f < sl - 1e-9)
        if now is not None:
            if not event:
                if now[0] or now[1]:
                    state = 1 if now[0] else -1
            elif previous is not None and i >= start:
                if now[0] and not previous[0]:
                    state = 1
                elif now[1] and not previous[1]:
                    state = -1
        previous = now
        want.append(state)
    return want


def test_event_signals_act_only_on_a_cross_and_nothing_before_the_first(walk):
    s = get_strategy("ma_crossover")
    close = walk.close.tolist()
    state = s.signals(walk, s.parse_params({"fast": 5, "slow": 20}), Mode.long_short).tolist()
    event = s.signals(walk, s.parse_params({"fast": 5, "slow": 20, "signal": "event"}), Mode.long_short).tolist()
    assert event == crossover_loop(close, 5, 20, event=True)
    assert state == crossover_loop(close, 5, 20, event=False)
    first_cross = next(i for i in range(1, len(state)) if state[i] != state[i - 1] and state[i - 1] != 0)
    # State holds a position from the first bar the averages exist; event waits for the first cross, after
    # which both agree.
    assert state[19] != 0 and set(event[:first_cross]) == {0}
    assert event[first_cross:] == state[first_cross:]


def test_event_rsi_enters_on_the_cross_of_a_level(walk):
    s = get_strategy("rsi_mean_reversion")
    close = walk.close.tolist()
    params = s.parse_params({"period": 10, "lower": 45, "upper": 55, "signal": "event"})
    got = s.signals(walk, params, Mode.long_short).tolist()
    state, want, previous = 0, [], None
    for i in range(len(close)):
        rsi = None
        if i >= 10:
            changes = [close[j] - close[j - 1] for j in range(i - 9, i + 1)]
            gain = sum(c for c in changes if c > 0) / 10
            loss = sum(-c for c in changes if c < 0) / 10
            rsi = 100 * gain / (gain + loss)
        if rsi is not None and previous is not None:
            if rsi < 45 <= previous:
                state = 1
            elif rsi > 55 >= previous:
                state = -1
        previous = rsi
        want.append(state)
    assert got == want and set(got) == {-1, 0, 1}


def test_event_bollinger_waits_for_a_close_crossing_a_band():
    # A close far above the band on the first bar the bands exist is a state, not a cross.
    close = np.array([10.0, 10, 10, 10.1, 20, 20.5, 21, 10, 9, 9.5, 30.0])
    bars = closes_to_bars(close)
    s = get_strategy("bollinger_breakout")
    state = s.signals(bars, s.parse_params({"period": 4, "width": 1.0}), Mode.long_only).tolist()
    event = s.signals(bars, s.parse_params({"period": 4, "width": 1.0, "signal": "event"}), Mode.long_only)
    assert state[4] == 1 and event.tolist()[4] == 0
    assert event.tolist()[-1] == state[-1] == 1


@pytest.mark.parametrize("signal", ["state", "event"])
def test_warm_up_bars_feed_the_rule_but_events_before_start_do_not_count(walk, signal):
    s = get_strategy("ma_crossover")
    params = s.parse_params({"fast": 5, "slow": 20, "signal": signal})
    start = s.lookback(params) + 37
    got = s.signals(walk, params, Mode.long_short, start=start).tolist()
    assert got == crossover_loop(walk.close.tolist(), 5, 20, event=signal == "event", start=start)
    if signal == "event":
        assert set(got[:start]) == {0}
    else:
        # State: the warm-up decides the position the run holds at its first bar.
        assert got[start] != 0


# Closes whose last bar is a cross, with exactly the strategy's lookback of bars before it.
CROSS_AT_LAST_BAR = [
    ("ma_crossover", {"fast": 3, "slow": 9}, [20.0, 19, 18, 17, 16, 15, 14, 13, 12, 40]),
    ("rsi_mean_reversion", {"period": 6}, [10.0, 11, 12, 13, 14, 15, 16, -90]),
    ("bollinger_breakout", {"period": 7}, [10.0, 10.2, 9.9, 10.1, 9.8, 10.0, 10.1, 15]),
]


@pytest.mark.parametrize(("name", "params", "closes"), CROSS_AT_LAST_BAR)
def test_lookback_is_exactly_enough_to_act_on_a_cross_at_the_first_bar(name, params, closes):
    s = get_strategy(name)
    parsed = s.parse_params({**params, "signal": "event"})
    lookback = s.lookback(parsed)
    assert lookback == len(closes) - 1
    full = s.signals(closes_to_bars(np.array(closes)), parsed, Mode.long_short, start=lookback)
    assert full.tolist()[lookback] != 0
    # One warm-up bar fewer and the bar before the first is undefined: no cross can be seen there.
    short = s.signals(closes_to_bars(np.array(closes[1:])), parsed, Mode.long_short, start=lookback - 1)
    assert short.tolist()[lookback - 1] == 0


def test_the_documented_worked_example():
    # docs/engine.md, "Worked example: signals": four warm-up days, then the run's days 0..7.
    closes = np.array([10, 10.5, 11, 11.5, 12, 12.5, 12, 11, 10.5, 11, 12, 13.0])
    s = get_strategy("ma_crossover")
    bars = closes_to_bars(closes)
    state = s.parse_params({"fast": 2, "slow": 4})
    event = s.parse_params({"fast": 2, "slow": 4, "signal": "event"})
    assert s.lookback(state) == 4
    assert s.signals(bars, state, Mode.long_only, 4)[4:].tolist() == [1, 1, 1, 0, 0, 0, 1, 1]
    assert s.signals(bars, event, Mode.long_only, 4)[4:].tolist() == [0, 0, 0, 0, 0, 0, 1, 1]
    assert s.signals(bars, event, Mode.long_short, 4)[4:].tolist() == [0, 0, 0, -1, -1, -1, 1, 1]
    run_only = bars.slice(4, 12)
    assert s.signals(run_only, state, Mode.long_only).tolist() == [0, 0, 0, 0, 0, 0, 1, 1]
    assert s.signals(run_only, event, Mode.long_only).tolist() == [0, 0, 0, 0, 0, 0, 1, 1]
