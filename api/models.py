"""Request and response models of the api's own routes (the passthrough routes use the backend's models)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from common.default_views import CHART_TARGET_POINTS, RUN_EQUITY_TARGET_POINTS, RUN_INCLUDE_ORDERS
from common.models.backtests import Order, RunDetail
from common.models.bars import BarColumns, ChartTimeframe
from common.times import parse_time

MAX_EPOCH_S = 4_102_444_800  # 2100-01-01: beyond any bar we store, and far from integer overflow
SYMBOL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-^=]{0,31}$"
RUN_ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
# Which way an area of the browser app reaches its data: through the api, or straight to the backend.
DataPath = Literal["bff", "direct"]


def _epoch(value: Any, *, end_of_day: bool) -> int:
    """Epoch seconds (``common.times``), within the years charts can have data for."""
    seconds = parse_time(value, is_end=end_of_day)
    if not 0 <= seconds <= MAX_EPOCH_S:
        raise ValueError("must be between 1970-01-01 and 2100-01-01")
    return seconds


class ChartDataQuery(BaseModel):
    """Query of ``GET /api/v1/chart-data``."""

    model_config = ConfigDict(extra="ignore")

    symbol: str = Field(pattern=SYMBOL_PATTERN, description="Instrument symbol, e.g. `AAPL`")
    timeframe: ChartTimeframe = Field(
        description="`1D`, `1H`, `1M` return the backend's bars as they are; `1M_DECIMATED` aggregates minute "
                    "bars into equal-width buckets so that at most `target_points` come back")
    from_date: str | None = Field(default=None, max_length=40,
                                  description="First bar time: epoch seconds or ISO date/datetime (UTC)")
    to_date: str | None = Field(default=None, max_length=40,
                                description="Last bar time, inclusive: epoch seconds or ISO date/datetime (UTC); "
                                            "a date means the end of that day")
    target_points: int = Field(default=CHART_TARGET_POINTS, ge=2, le=100_000,
                               description="Most candles `1M_DECIMATED` returns (2..100000)")

    @field_validator("from_date", "to_date", mode="after")
    @classmethod
    def _valid_time(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            _epoch(value, end_of_day=info.field_name == "to_date")
        return value

    @field_validator("to_date", mode="after")
    @classmethod
    def _not_before_from(cls, value: str | None, info: ValidationInfo) -> str | None:
        start = info.data.get("from_date")
        if value is not None and start is not None and _epoch(value, end_of_day=True) < _epoch(start,
                                                                                          end_of_day=False):
            raise ValueError("must not be before from_date")
        return value

    @property
    def from_s(self) -> int | None:
        return None if self.from_date is None else _epoch(self.from_date, end_of_day=False)

    @property
    def to_s(self) -> int | None:
        return None if self.to_date is None else _epoch(self.to_date, end_of_day=True)


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


class RunCompleteQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    target_points: int = Field(default=RUN_EQUITY_TARGET_POINTS, ge=3, le=100_000,
                               description="Most equity points returned (MinMaxLTTB decimation, 3..100000)")
    include_orders: bool = Field(default=RUN_INCLUDE_ORDERS,
                                 description="Include the run's orders (every fill; a long run has thousands, so they "
                                             "are left out unless asked for)")


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
