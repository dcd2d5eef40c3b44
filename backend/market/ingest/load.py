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

# How the name of an instrument with generated bars ends (the demo's instruments).
SYNTHETIC_SUFFIX = " (synthetic)"


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


def read_ingest_file(path: Path, *, tz: str | None = None,
                     progress: ProgressCallback | None = None) -> tuple[Timeframe, BarArrays]:
    """Read and validate one file of minute, hourly or daily bars, touching nothing: its timeframe and bars.

    ``tz`` is the zone of times written without an offset (default UTC). Raises :class:`BarValidationError`
    naming the row or column of the first problem found.
    """
    try:
        file_zone = zone(tz) if tz is not None else None
    except ValueError as exc:
        raise BarValidationError(str(exc), column="tz") from None
    file = read_bars_file(path, tz=file_zone, progress=progress)
    validate_bars(file.bars)
    return as_timeframe(file.bars, file.wall_time)


def _display_name(current: Instrument | None, symbol: str, synthetic: bool) -> str:
    if current is None:
        return symbol
    if current.synthetic and not synthetic:
        # Real bars replace generated ones: the name must stop saying they are synthetic.
        return current.name.removesuffix(SYNTHETIC_SUFFIX)
    return current.name


def ingest_bars(store: BarStore, path: Path, symbol: str, *, name: str | None = None,
                asset_class: AssetClass | None = None, synthetic: bool = False, tz: str | None = None,
                progress: ProgressCallback | None = None) -> IngestResult:
    """Read, validate and store one file of minute, hourly or daily bars for ``symbol`` (see
    :func:`read_ingest_file` and :func:`store_ingested`)."""
    symbol = normalize_symbol(symbol)
    timeframe, bars = read_ingest_file(path, tz=tz, progress=progress)
    return store_ingested(store, symbol, timeframe, bars, name=name, asset_class=asset_class, synthetic=synthetic)


def store_ingested(store: BarStore, symbol: str, timeframe: Timeframe, bars: BarArrays, *, name: str | None = None,
                   asset_class: AssetClass | None = None, synthetic: bool = False) -> IngestResult:
    """Store bars read by :func:`read_ingest_file` for the (normalised) ``symbol``.

    ``name`` and ``asset_class`` default to the instrument's current ones (or the symbol and ``other``); a
    synthetic instrument's name loses its ``(synthetic)`` when real bars replace its generated ones.
    """
    current = store.catalog.instrument(symbol)
    instrument = Instrument(
        symbol=symbol, name=name or _display_name(current, symbol, synthetic),
        asset_class=asset_class or (current.asset_class if current else AssetClass.other), synthetic=synthetic)
    version = store.write_bars(instrument, bars, timeframe)
    return IngestResult(symbol=symbol, timeframe=timeframe, rows=len(bars), first_time=int(bars.time[0]),
                        last_time=int(bars.time[-1]), data_version=version)
