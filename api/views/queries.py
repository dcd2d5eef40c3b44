"""The queries of the cached views (``GET /api/v1/chart-data`` and ``GET /api/v1/runs/{id}/complete``), with
every bound the views can serve, so that the OpenAPI document says what is accepted."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from common.default_views import CHART_TARGET_POINTS, RUN_EQUITY_TARGET_POINTS, RUN_INCLUDE_ORDERS
from common.models.bars import ChartTimeframe
from common.times import TIME_SCHEMA, parse_time

MAX_EPOCH_S = 4_102_444_800  # 2100-01-01: beyond any bar we store, and far from integer overflow
SYMBOL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-^=]{0,31}$"
RUN_ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"


def _epoch(value: Any, *, end_of_day: bool) -> int:
    """Epoch seconds (``common.times``), within the years charts can have data for."""
    seconds = parse_time(value, is_end=end_of_day)
    if not 0 <= seconds <= MAX_EPOCH_S:
        raise ValueError("must be between 1970-01-01 and 2100-01-01")
    return seconds


class ChartDataQuery(BaseModel):
    """Query of ``GET /api/v1/chart-data``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    symbol: str = Field(pattern=SYMBOL_PATTERN, description="Instrument symbol, e.g. `AAPL`")
    timeframe: ChartTimeframe = Field(
        description="`1D`, `1H`, `1M` return the backend's bars as they are; `1M_DECIMATED` aggregates minute "
                    "bars into equal-width buckets so that at most `target_points` come back")
    from_date: str | None = Field(default=None, max_length=40, json_schema_extra=TIME_SCHEMA,
                                  description="First bar time: epoch seconds or ISO date/datetime (UTC)")
    to_date: str | None = Field(default=None, max_length=40, json_schema_extra=TIME_SCHEMA,
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


class RunCompleteQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    target_points: int = Field(default=RUN_EQUITY_TARGET_POINTS, ge=3, le=100_000,
                               description="Most equity points returned (MinMaxLTTB decimation, 3..100000)")
    include_orders: bool = Field(default=RUN_INCLUDE_ORDERS,
                                 description="Include the run's orders (every fill; a long run has thousands, so they "
                                             "are left out unless asked for)")
