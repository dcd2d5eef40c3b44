"""A run's specification: what a user asked the engine to compute, already validated.

The engine owns it (its semantics are described from it); ``backend.runs`` stores it with the run's record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from common.models.bars import Timeframe


@dataclass(frozen=True)
class RunSpec:
    """What a user asked for: everything needed to execute a run, already validated."""

    symbol: str
    timeframe: Timeframe
    strategy: str
    mode: str
    params: dict[str, Any]
    from_time: int
    to_time: int
    cash: float
    commission_rate: float
    fixed_fee: float
    slippage_bps: float
    fractional: bool
    # Whether indicators may use the strategy's lookback of bars before from_time.
    warmup: bool = True
    # The annualisation basis asked for; None means the one observed in the run's bars.
    requested_periods_per_year: float | None = None
