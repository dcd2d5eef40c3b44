"""What a strategy is: a name, a validated parameter model, a vectorised signal function and its lookback.

A strategy turns bars into a target position per bar (-1 short, 0 flat, +1 long) decided at that bar's close.
It sees only prices up to and including that close, so a signal never peeks at the bar it will fill on.
Users pick a strategy and its parameters; they never supply code.

A strategy whose rule is a comparison (an average above another, an oscillator below a level) acts either on
the *state* of the comparison on every bar or on the *event* of it becoming true (see :class:`Signal`). Bars
before the first one a run trades on (``start``) are warm-up: they feed the indicators, and in state mode the
rule's state, but no event before ``start`` counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from backend.market.bars import BarArrays
from backend.strategies.indicators import IndicatorFn, no_indicators
from common.errors import InvalidInput
from common.models.backtests import Mode


class ParamError(ValueError):
    """A cross-field rule broken by ``field``: raise it from a model validator so the error names that field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


class StrategyParams(BaseModel):
    """Base of every parameter model: unknown parameters are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Signal(StrEnum):
    state = "state"
    event = "event"


class ComparisonParams(StrategyParams):
    """Parameters of a strategy whose rule is a comparison: it may act on the comparison's state or event."""

    signal: Signal = Field(Signal.state, description=(
        "state: hold what the comparison says on every bar (a position from the first bar the indicators "
        "exist); event: enter or reverse only on the bar where the comparison flips, flat before the first "
        "flip (like backtesting.py's crossover or TradingView's ta.crossover)"))


def smaller_than(low: str, high: str) -> Any:
    """A model validator for a parameter model: ``low`` must be smaller than ``high``; the error names ``low``.

    Use as a class attribute: ``_order = smaller_than("fast", "slow")``.
    """
    def check(model: StrategyParams) -> StrategyParams:
        if getattr(model, low) >= getattr(model, high):
            raise ParamError(low, f"must be smaller than {high}")
        return model

    return model_validator(mode="after")(check)


# (bars, params, mode, start): target per bar; ``start`` is the first bar an event may be acted on.
SignalFn = Callable[[BarArrays, Any, Mode, int], np.ndarray]
LookbackFn = Callable[[Any], int]


def no_lookback(_params: StrategyParams) -> int:
    return 0


@dataclass(frozen=True)
class Strategy:
    name: str
    title: str
    description: str
    params_model: type[StrategyParams]
    signal_fn: SignalFn
    # Bars before a run's first bar that make the rule defined on that bar and on the one before it (the one
    # before tells whether the comparison flipped on the first bar).
    lookback_fn: LookbackFn = no_lookback
    # The lines the rule is made of (moving averages, bands, an oscillator), for charts of a run.
    indicators_fn: IndicatorFn = no_indicators

    def parse_params(self, raw: dict[str, Any] | None) -> StrategyParams:
        """Validate user parameters, filling defaults; a bad one raises InvalidInput naming ``params.<name>``."""
        try:
            return self.params_model.model_validate(raw or {})
        except ValidationError as exc:
            err = exc.errors()[0]
            cause = (err.get("ctx") or {}).get("error")
            if isinstance(cause, ParamError):
                raise InvalidInput(f"params.{cause.field}", cause.reason, location="body") from None
            loc = ".".join(str(part) for part in err.get("loc", ()))
            raise InvalidInput(f"params.{loc}" if loc else "params", err.get("msg", "invalid value"),
                               location="body") from None

    def defaults(self) -> dict[str, Any]:
        return self.params_model().model_dump(mode="json")

    def lookback(self, params: StrategyParams) -> int:
        return int(self.lookback_fn(params))

    def signal_mode(self, params: StrategyParams) -> Signal | None:
        """How the rule acts (None: the strategy's rule is not a comparison)."""
        return params.signal if isinstance(params, ComparisonParams) else None

    def signals(self, bars: BarArrays, params: StrategyParams, mode: Mode, start: int = 0) -> np.ndarray:
        """Target position per bar as int8; long-only mode never goes short. Bars before ``start`` are warm-up."""
        target = np.asarray(self.signal_fn(bars, params, mode, start), dtype=np.int8)
        if target.shape != (len(bars),):
            raise ValueError(f"strategy {self.name} returned {target.shape} signals for {len(bars)} bars")
        if mode is Mode.long_only:
            np.maximum(target, 0, out=target)
        return target


# Shared vectorised building blocks ---------------------------------------------------------------------------

def rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Simple moving average; NaN until ``window`` values exist. O(n) through a cumulative sum."""
    out = np.full(values.shape[0], np.nan)
    if window > values.shape[0]:
        return out
    # Centre the data first: it keeps the running sum small, so differences of it stay precise.
    centred = values - values[0]
    csum = np.cumsum(centred)
    sums = csum[window - 1:].copy()
    sums[1:] -= csum[:-window]
    out[window - 1:] = sums / window + values[0]
    return out


def rolling_std(values: np.ndarray, window: int) -> np.ndarray:
    """Population standard deviation over a trailing window; NaN until ``window`` values exist."""
    out = np.full(values.shape[0], np.nan)
    if window > values.shape[0]:
        return out
    centred = values - np.mean(values)
    mean = rolling_mean(centred, window)
    mean_sq = rolling_mean(centred * centred, window)
    # Rounding can leave a tiny negative variance on a flat stretch; it is zero.
    out[window - 1:] = np.sqrt(np.maximum(mean_sq[window - 1:] - mean[window - 1:] ** 2, 0.0))
    return out


def fires(condition: np.ndarray, defined: np.ndarray, signal: Signal, start: int) -> np.ndarray:
    """Bars on which a rule whose comparison is ``condition`` acts.

    State: every bar where the comparison holds. Event: only a bar where it holds after a bar where it was
    defined and did not (TradingView's ``a > b and a[1] <= b[1]``), never on the first defined bar and never
    before ``start``, so nothing happens before the first flip a run can trade on.
    """
    if signal is Signal.state:
        return condition
    was_false = np.concatenate(([False], defined[:-1] & ~condition[:-1]))
    edge = condition & was_false
    edge[:start] = False
    return edge


def hold_last(events: np.ndarray) -> np.ndarray:
    """Carry the last non-NaN event forward (a position holds until the next decision); 0 before the first."""
    valid = ~np.isnan(events)
    idx = np.where(valid, np.arange(events.shape[0]), -1)
    np.maximum.accumulate(idx, out=idx)
    out = np.where(idx >= 0, events[np.maximum(idx, 0)], 0.0)
    return out.astype(np.int8)
