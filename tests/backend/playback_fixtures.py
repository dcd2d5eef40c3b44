"""Synthetic completed runs for the playback tests: deterministic bars, an account and fills."""

from __future__ import annotations

import numpy as np

from backend.engine.results import Fills, RunArtifacts, Timeline
from backend.engine.spec import RunSpec
from backend.market.bars import BarArrays
from backend.playback.data import PlaybackData
from backend.runs.artifacts import write_artifacts
from backend.runs.repository import RunRepository
from common.models.bars import Timeframe

T0 = 1_700_000_040  # a minute boundary
CASH = 10_000.0


def make_artifacts(n: int = 200, seed: int = 7, fill_every: int = 10) -> RunArtifacts:
    """``n`` minute bars with a buy every ``fill_every`` bars and a sell half-way to the next buy."""
    rng = np.random.default_rng(seed)
    time = T0 + 60 * np.arange(n, dtype=np.int64)
    close = 100.0 + np.cumsum(rng.normal(0, 0.5, n))
    open_ = np.concatenate(([100.0], close[:-1]))
    high = np.maximum(open_, close) + 0.25
    low = np.minimum(open_, close) - 0.25
    volume = rng.integers(100, 1000, n).astype(np.float64)
    bars = BarArrays(time, open_, high, low, close, volume)

    buys = np.arange(1, n, fill_every)
    sells = buys + fill_every // 2
    sells = sells[sells < n]
    index = np.sort(np.concatenate((buys, sells)))
    buy_set = set(buys.tolist())
    side = ["buy" if i in buy_set else "sell" for i in index.tolist()]
    quantity = np.full(index.shape[0], 10.0)
    price = close[index]
    fee = np.full(index.shape[0], 1.0)
    realized = np.zeros(index.shape[0])
    position = np.zeros(n)
    cash = np.full(n, CASH)
    held, money, entry = 0.0, CASH, 0.0
    for k, (i, s) in enumerate(zip(index.tolist(), side, strict=True)):
        if s == "buy":
            held, money, entry = held + 10, money - 10 * price[k] - 1.0, price[k]
            realized[k] = -1.0
        else:
            held, money = held - 10, money + 10 * price[k] - 1.0
            realized[k] = 10 * (price[k] - entry) - 1.0
        position[i:] = held
        cash[i:] = money
    equity = cash + position * close
    peak = np.maximum.accumulate(equity)
    drawdown = equity / peak - 1.0
    fills = Fills(bar_index=index.astype(np.int64), time=time[index], side=side, quantity=quantity, price=price,
                  fee=fee, reason=["entry" if s == "buy" else "exit" for s in side], realized_pnl=realized)
    timeline = Timeline(bars=bars, equity=equity, drawdown=drawdown, position=position, cash=cash)
    return RunArtifacts(timeline=timeline, fills=fills, metrics={"bars": n, "final_equity": float(equity[-1])})


def make_data(n: int = 200, **kwargs) -> PlaybackData:
    artifacts = make_artifacts(n, **kwargs)
    return PlaybackData.build(artifacts.timeline, artifacts.fills, CASH)


def completed_run(runs: RunRepository, owner_id: int, n: int = 200, strategy: str = "buy_and_hold",
                  params: dict | None = None, **kwargs) -> str:
    """A completed run with synthetic artifacts, recorded in the repository as the engine would (as a run of
    ``strategy``, whose indicator lines are computed from the same bars)."""
    artifacts = make_artifacts(n, **kwargs)
    spec = RunSpec(symbol="DEMO", timeframe=Timeframe.minute, strategy=strategy, mode="long_only",
                   params=params or {}, from_time=T0, to_time=T0 + 60 * n, cash=CASH, commission_rate=0.0,
                   fixed_fee=1.0, slippage_bps=0.0, fractional=False)
    record = runs.create(owner_id, spec, semantics={})
    write_artifacts(runs.runs_dir, record.id, artifacts)
    runs.mark_running(record.id)
    runs.mark_completed(record.id, n, None)
    return record.id


def queued_run(runs: RunRepository, owner_id: int) -> str:
    spec = RunSpec(symbol="DEMO", timeframe=Timeframe.minute, strategy="buy_and_hold", mode="long_only",
                   params={}, from_time=T0, to_time=T0 + 600, cash=CASH, commission_rate=0.0, fixed_fee=0.0,
                   slippage_bps=0.0, fractional=False)
    return runs.create(owner_id, spec, semantics={}).id

