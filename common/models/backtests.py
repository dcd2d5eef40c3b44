"""Backtest runs on the wire: the request that starts one and the shapes its results are read in.

Times are epoch seconds UTC. Series are columnar (parallel arrays), one point per bar of the run.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from common.models.bars import SYMBOL_SCHEMA, Timeframe
from common.times import parse_time

# Minute bars around the clock in a leap year: the finest bars there are, so no run can have more periods in a
# year. Beyond it annualised figures stop meaning anything (and a compound growth rate overflows a float).
MAX_PERIODS_PER_YEAR = 366 * 24 * 60


class RunStatus(StrEnum):
    queued = "queued"
    running = "running"
    completed = "completed"
    failed = "failed"


class Mode(StrEnum):
    long_only = "long_only"
    long_short = "long_short"


class OrderSide(StrEnum):
    buy = "buy"
    sell = "sell"


class BacktestRequest(BaseModel):
    """``POST /backtests``. Omitted ``from``/``to`` mean the first/last bar of the dataset."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    symbol: str = Field(min_length=1, max_length=32, json_schema_extra=SYMBOL_SCHEMA)
    strategy: str = Field(min_length=1, max_length=64, description="Registry name, see GET /backtests/strategies")
    params: dict[str, Any] = Field(default_factory=dict, description="Strategy parameters; defaults filled in")
    mode: Mode = Mode.long_only
    timeframe: Timeframe = Timeframe.day
    from_time: int | None = Field(None, alias="from", description="Epoch seconds or ISO date/datetime (UTC)")
    to_time: int | None = Field(None, alias="to", description="Epoch seconds or ISO date/datetime (UTC)")
    cash: float = Field(100_000.0, gt=0, le=1e12)
    commission_rate: float = Field(0.0005, ge=0, le=0.1, description="Fraction of notional per fill")
    fixed_fee: float = Field(0.0, ge=0, le=1e6, description="Money per fill")
    slippage_bps: float = Field(0.0, ge=0, le=1_000, description="Basis points: buys fill higher, sells lower")
    fractional: bool | None = Field(None, description=(
        "Size in fractional units (true) or whole units (false); omitted: whole units for equities, fractional "
        "for everything else (currencies and crypto trade in fractions)"))
    warmup: bool = Field(True, description=(
        "Let the strategy's indicators use up to its lookback of bars before `from`, so they exist at `from`; "
        "fills, equity and metrics still start at `from`"))
    periods_per_year: float | None = Field(None, gt=0, le=MAX_PERIODS_PER_YEAR, description=(
        "Annualisation basis of every annualised metric, e.g. 252 (trading days) or 365, at most 527040 (minute "
        "bars around the clock in a leap year); omitted: the bar intervals per calendar year observed in the "
        "run's bars"))

    @field_validator("from_time", mode="before")
    @classmethod
    def _parse_from(cls, value: Any) -> int | None:
        return None if value is None else parse_time(value)

    @field_validator("to_time", mode="before")
    @classmethod
    def _parse_to(cls, value: Any) -> int | None:
        return None if value is None else parse_time(value, is_end=True)


class RunDetail(BaseModel):
    id: str
    owner: str
    symbol: str
    timeframe: Timeframe
    strategy: str
    mode: Mode
    params: dict[str, Any]
    from_time: int
    to_time: int
    cash: float
    commission_rate: float
    fixed_fee: float
    slippage_bps: float
    fractional: bool
    warmup: bool
    status: RunStatus
    progress: float = Field(ge=0, le=1)
    error: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    bars: int | None
    periods_per_year: float | None = Field(description=(
        "Annualisation basis: the one given with the run, else the one observed (known once completed)"))
    semantics: dict[str, Any]
    shared_with: list[str] = Field(description="Users the run is shared with; only shown to the owner")
    can_control: bool = Field(description="Whether the caller may control the run's playback")


class RunList(BaseModel):
    items: list[RunDetail]
    total: int
    limit: int
    offset: int


class MetricsResponse(BaseModel):
    run_id: str
    periods_per_year: float | None = Field(description="The annualisation basis the metrics used")
    metrics: dict[str, Any]


class EquityResponse(BaseModel):
    run_id: str
    count: int = Field(description="Points in this response")
    source_points: int = Field(description="Bars of the run in the requested range (the whole run by default); "
                                           "more than `count` when `max_points` decimated them")
    time: list[int]
    equity: list[float]
    drawdown: list[float]


class Order(BaseModel):
    bar_index: int
    time: int
    side: OrderSide
    quantity: float
    price: float
    fee: float
    reason: str
    realized_pnl: float


class OrdersResponse(BaseModel):
    run_id: str
    count: int
    orders: list[Order]


class ShareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str = Field(min_length=1, max_length=64)


class StrategyInfo(BaseModel):
    name: str
    title: str
    description: str
    defaults: dict[str, Any]
    params_schema: dict[str, Any] = Field(description="JSON Schema of the parameters, with bounds")


class StrategiesResponse(BaseModel):
    strategies: list[StrategyInfo]
