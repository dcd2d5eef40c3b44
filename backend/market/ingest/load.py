"""Ingest: a file (or bars built in memory) validated as a whole, then stored as a new data version.

A file that fails any check leaves the stored data and its version untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from backend.market.bars import BarArrays
from backend.market.ingest.files import ProgressCallback, read_bars_file
from backend.market.ingest.interval import as_timeframe
from backend.market.ingest.zones import zone
from backend.market.store import BarStore
from backend.market.validate import BarValidationError, normalize_symbol, validate_bars
from common.models.bars import AssetClass, Instrument, Timeframe


@dataclass(frozen=True)
class IngestResult:
    symbol: str
    timeframe: Timeframe
    rows: int
    first_time: int
    last_time: int
    data_version: int

    def summary(self) -> str:
        """What was stored, in the words a user checks it by: the interval, the span and the timeframes."""
        kind = {Timeframe.minute: "minute", Timeframe.hour: "hourly", Timeframe.day: "daily"}[self.timeframe]
        shown = "%Y-%m-%d" if self.timeframe is Timeframe.day else "%Y-%m-%dT%H:%M:%SZ"
        first, last = (datetime.fromtimestamp(t, UTC).strftime(shown) for t in (self.first_time, self.last_time))
        served = ", ".join(t.value for t in Timeframe if t.seconds >= self.timeframe.seconds)
        return (f"ingested {self.rows:,} {kind} bars of {self.symbol} from {first} to {last}; timeframes {served}; "
                f"data version {self.data_version}")


def store_bars(store: BarStore, instrument: Instrument, bars: BarArrays,
               timeframe: Timeframe = Timeframe.minute) -> int:
    """Validate bars of ``timeframe`` and store them with their coarser aggregates; returns the new version."""
    validate_bars(bars)
    return store.write_bars(instrument, bars, timeframe)


def ingest_bars(store: BarStore, path: Path, symbol: str, *, name: str | None = None,
                asset_class: AssetClass | None = None, synthetic: bool = False, tz: str | None = None,
                progress: ProgressCallback | None = None) -> IngestResult:
    """Read, validate and store one file of minute, hourly or daily bars for ``symbol``.

    ``name`` and ``asset_class`` default to the instrument's current ones (or the symbol and ``other``).
    ``tz`` is the zone of times written without an offset (default UTC). Raises :class:`BarValidationError`
    naming the row or column of the first problem found.
    """
    symbol = normalize_symbol(symbol)
    try:
        file_zone = zone(tz) if tz is not None else None
    except ValueError as exc:
        raise BarValidationError(str(exc), column="tz") from None
    current = store.catalog.instrument(symbol)
    instrument = Instrument(
        symbol=symbol, name=name or (current.name if current else symbol),
        asset_class=asset_class or (current.asset_class if current else AssetClass.other), synthetic=synthetic)
    file = read_bars_file(path, tz=file_zone, progress=progress)
    validate_bars(file.bars)
    timeframe, bars = as_timeframe(file.bars, file.wall_time)
    version = store.write_bars(instrument, bars, timeframe)
    return IngestResult(symbol=symbol, timeframe=timeframe, rows=len(bars), first_time=int(bars.time[0]),
                        last_time=int(bars.time[-1]), data_version=version)
