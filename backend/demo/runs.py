"""Completed demo runs for the demo users, so a fresh install has results to open, compare and replay.

Runs are executed synchronously here (the demo-data command has no server yet). Creating them again is a no-op
for every run its owner already has with the same settings, so the command can be repeated safely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backend.catalog import Catalog
from backend.engine.semantics import describe
from backend.engine.simulate import fractional_by_default
from backend.engine.spec import RunSpec
from backend.market.store import BarStore
from backend.runs.executor import RunExecutor
from backend.runs.repository import RunRecord, RunRepository, RunStatus
from backend.strategies.registry import get_strategy
from common.logging import get_logger
from common.models.bars import Timeframe

log = get_logger("hewston.demo")


@dataclass(frozen=True)
class DemoRun:
    owner: str
    symbol: str
    timeframe: Timeframe
    strategy: str
    mode: str = "long_only"
    params: dict[str, Any] = field(default_factory=dict)
    share_with: tuple[str, ...] = ()
    # None: the instrument's default (whole shares, fractional currencies and crypto).
    fractional: bool | None = None


DEMO_RUNS = (
    DemoRun("alice", "BTCUSD", Timeframe.minute, "ma_crossover", "long_short", {"fast": 30, "slow": 240},
            share_with=("bob",)),
    DemoRun("alice", "ACME", Timeframe.hour, "rsi_mean_reversion", "long_only", {"period": 14}),
    DemoRun("alice", "GLOBEX", Timeframe.day, "buy_and_hold"),
    DemoRun("bob", "EURUSD", Timeframe.hour, "bollinger_breakout", "long_short", {"period": 20, "width": 2.0}),
    DemoRun("bob", "GLOBEX", Timeframe.day, "buy_and_hold"),
)


def _spec(catalog: Catalog, demo: DemoRun) -> RunSpec | None:
    dataset = catalog.dataset(demo.symbol, demo.timeframe)
    instrument = catalog.instrument(demo.symbol)
    if dataset is None or not dataset.rows or instrument is None:
        return None
    params = get_strategy(demo.strategy).parse_params(demo.params).model_dump(mode="json")
    fractional = demo.fractional if demo.fractional is not None else fractional_by_default(instrument.asset_class)
    return RunSpec(symbol=demo.symbol, timeframe=demo.timeframe, strategy=demo.strategy, mode=demo.mode,
                   params=params, from_time=int(dataset.first_time), to_time=int(dataset.last_time),
                   cash=100_000.0, commission_rate=0.0005, fixed_fee=0.0, slippage_bps=1.0, fractional=fractional,
                   warmup=True, requested_periods_per_year=None)


def _existing(runs: RunRepository, owner_id: int, spec: RunSpec) -> RunRecord | None:
    for record in runs.owned_by(owner_id):
        if record.status is RunStatus.completed and record.spec == spec:
            return record
    return None


def create_demo_runs(catalog: Catalog, bar_store: BarStore, runs: RunRepository,
                     demo_runs: tuple[DemoRun, ...] = DEMO_RUNS) -> list[RunRecord]:
    """Create and execute the demo runs whose owner and bars exist; returns every demo run (new or found)."""
    executor = RunExecutor(runs, bar_store)
    out = []
    try:
        for demo in demo_runs:
            owner = catalog.user_by_name(demo.owner)
            spec = _spec(catalog, demo)
            if owner is None or spec is None:
                log.warning("demo_run_skipped", owner=demo.owner, symbol=demo.symbol,
                            timeframe=demo.timeframe.value)
                continue
            record = _existing(runs, owner.id, spec)
            if record is None:
                record = runs.create(owner.id, spec, describe(spec))
                executor.run_now(record.id)
            for user in demo.share_with:
                runs.share(record.id, user)
            final = runs.get(record.id)
            assert final is not None
            out.append(final)
    finally:
        executor.shutdown()
    return out
