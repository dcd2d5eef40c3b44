"""Response models of the api's own routes (their queries are :mod:`api.views.queries`; the passthrough routes use
the backend's models)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from common.models.backtests import Order, RunDetail
from common.models.bars import BarColumns, ChartTimeframe

# Which way an area of the browser app reaches its data: through the api, or straight to the backend.
DataPath = Literal["bff", "direct"]


class ChartDataResponse(BarColumns):
    """Columnar candles. ``X-Cache`` says whether the bytes came from the cache (`hit`, `wait_hit`) or not."""

    symbol: str
    timeframe: ChartTimeframe
    data_version: int | None
    from_date: int | None = Field(description="Requested start, epoch seconds UTC (null: from the first bar)")
    to_date: int | None = Field(description="Requested end, epoch seconds UTC (null: to the last bar)")
    target_points: int | None = Field(description="The decimation target (null unless `1M_DECIMATED`)")
    source_points: int = Field(description="Bars the backend returned for the range")
    returned_points: int = Field(description="Bars in this response")
    bucket_seconds: int = Field(description="Width of each returned bar in seconds")


class EquityOut(BaseModel):
    """The backend's equity document, decimated by it with MinMaxLTTB to at most ``target_points``."""

    run_id: str
    count: int = Field(description="Points returned")
    source_points: int = Field(description="Bars in the run")
    time: list[int]
    equity: list[float]
    drawdown: list[float] = Field(description="Drawdown at the same points as `equity`")


class OrdersOut(BaseModel):
    """The backend's orders document: every fill in time order."""

    run_id: str
    count: int
    orders: list[Order]


class PartFailure(BaseModel):
    part: str
    status: int | None
    code: str
    message: str


class RunCompleteMetadata(BaseModel):
    load_time_ms: float
    cache: str = Field(description="`hit`, `wait_hit`, `miss`, `bypass` (Redis unavailable) or `not_cached` "
                                   "(the run is not completed, so nothing about it is immutable yet)")
    sources: dict[str, str] = Field(description="Where each part came from: `backend`, `cache`, "
                                                "`access_cache`, `not_requested` or `unavailable`")
    partial_failures: list[PartFailure]


class RunCompleteResponse(BaseModel):
    run: RunDetail = Field(description="The backend's run detail (`GET /backtests/{id}`)")
    metrics: dict[str, Any] | None
    periods_per_year: float | None
    equity: EquityOut | None
    orders: OrdersOut | None
    metadata: RunCompleteMetadata


class DependencyState(BaseModel):
    state: str = Field(description="`ok` or `down`")
    latency_ms: float


class ReadyResponse(BaseModel):
    status: str = Field(description="`ok`, `degraded` (one dependency down) or `unavailable` (both down)")
    redis: DependencyState
    backend: DependencyState


class DataPaths(BaseModel):
    """For each area of the browser app: `bff` (through this api) or `direct` (straight to the backend)."""

    charts: DataPath = Field(description="Candles: `/api/v1/chart-data` or the backend's `/bars`")
    runs: DataPath = Field(description="Runs list, detail and new backtests: `/api/v1/...` or the backend's "
                                       "`/backtests`")
    playback: DataPath = Field(description="The shared stream or a private backend playback")


class AppConfig(BaseModel):
    data_paths: DataPaths = Field(description="Defaults; a person may override each in the app's settings")
    backend_url: str = Field(description="The backend's URL as a browser reaches it (for the direct paths)")


class RunViewers(BaseModel):
    run_id: str
    viewers: int = Field(description="People watching the run's shared replay now, on every api node (as the nodes "
                                     "last recorded it, a few seconds at most ago)")
