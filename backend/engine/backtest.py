"""One backtest from bars and a strategy choice to the artifacts a completed run stores."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from backend.engine.metrics import compute_metrics, drawdown
from backend.engine.results import RunArtifacts, Timeline
from backend.engine.simulate import Costs, Simulation, simulate
from backend.market.bars import BarArrays
from backend.strategies.base import Mode, StrategyParams
from backend.strategies.registry import get_strategy

Progress = Callable[[float], None]


def run_backtest(bars: BarArrays, strategy_name: str, params: StrategyParams | dict[str, Any], mode: Mode,
                 costs: Costs, progress: Progress | None = None, *, warmup: BarArrays | None = None,
                 periods_per_year: float | None = None) -> tuple[RunArtifacts, Simulation]:
    """Run ``bars``; ``warmup`` (bars just before them) only feeds the strategy's indicators.

    Fills, the account and every metric cover ``bars`` alone; ``periods_per_year`` replaces the observed
    annualisation basis when given.
    """
    report = progress or (lambda _fraction: None)
    strategy = get_strategy(strategy_name)
    if not isinstance(params, StrategyParams):
        params = strategy.parse_params(params)
    start = len(warmup) if warmup is not None else 0
    history = BarArrays.concat([warmup, bars]) if warmup is not None and start else bars
    target = strategy.signals(history, params, mode, start)[start:]
    report(0.4)
    sim = simulate(bars, target, costs)
    report(0.7)
    metrics = compute_metrics(bars, sim, periods_per_year)
    metrics["warmup_bars"] = start
    timeline = Timeline(bars=bars, equity=sim.equity, drawdown=drawdown(sim.equity) if len(bars) else np.zeros(0),
                        position=sim.position, cash=sim.cash)
    report(0.8)
    return RunArtifacts(timeline=timeline, fills=sim.fills, metrics=metrics), sim
