"""Bars on the wire: columnar arrays, times in epoch seconds UTC."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

# What a symbol in a request may be, as the OpenAPI documents say it: 1-32 of A-Z 0-9 . _ - (either case; the
# backend upper-cases it), starting with a letter or digit. The backend checks it with its own message.
SYMBOL_SCHEMA = {"pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$", "minLength": 1, "maxLength": 32}


class Timeframe(StrEnum):
    minute = "minute"
    hour = "hour"
    day = "day"

    @property
    def seconds(self) -> int:
        return {"minute": 60, "hour": 3600, "day": 86400}[self.value]


class ChartTimeframe(StrEnum):
    """Timeframes of the api's chart data: the backend's bars as they are, or minutes decimated by aggregation."""

    day = "1D"
    hour = "1H"
    minute = "1M"
    minute_decimated = "1M_DECIMATED"

    @property
    def source(self) -> Timeframe:
        """The backend bars the chart is built from."""
        return {"1D": Timeframe.day, "1H": Timeframe.hour}.get(self, Timeframe.minute)

    @property
    def backend_path(self) -> str:
        return {"1D": "daily", "1H": "hour"}.get(self, "minute")


class AssetClass(StrEnum):
    equity = "equity"
    fx = "fx"
    crypto = "crypto"
    other = "other"


class Instrument(BaseModel):
    symbol: str
    name: str
    asset_class: AssetClass
    synthetic: bool = Field(description="True for generated demo data")


class DatasetInfo(BaseModel):
    timeframe: Timeframe
    first_time: int | None = Field(description="Epoch seconds UTC of the first bar")
    last_time: int | None = Field(description="Epoch seconds UTC of the last bar")
    rows: int
    data_version: int = Field(description="Increases on every successful ingest of the symbol")


class SymbolInfo(Instrument):
    datasets: list[DatasetInfo]


class SymbolsResponse(BaseModel):
    symbols: list[SymbolInfo]


class BarColumns(BaseModel):
    """Bars as parallel arrays, oldest first: ``time[i]`` is bar i's open time (epoch seconds UTC)."""

    time: list[int]
    open: list[float]
    high: list[float]
    low: list[float]
    close: list[float]
    volume: list[float]


class BarsResponse(BarColumns):
    """Bars of one symbol over a range, columnar."""

    symbol: str
    timeframe: Timeframe
    data_version: int
    count: int = Field(description="Bars in this response")
    source_count: int = Field(description="Stored bars in the range; more than `count` when aggregated")
    bucket_seconds: int = Field(description="Width of each returned bar in seconds")
