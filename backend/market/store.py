"""The Parquet bar store.

Each ingest of a symbol writes a new version directory ``bars/<SYMBOL>/v<N>/`` holding a file for the timeframe
of the bars loaded and for every coarser one (``minute``, ``hour``, ``day``; zstd, sorted by time, row groups of
about a month of minutes), then points the catalog at it in one transaction, drops any finer timeframe the symbol
had before, and removes the old version. A failed ingest never touches the current version, and readers
always see one complete version. A date range reads only the row groups whose time statistics overlap it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from backend.catalog import Catalog, DatasetRecord
from backend.market.aggregate import aggregate
from backend.market.bar_cache import BarFileCache
from backend.market.bars import BarArrays
from common.models.bars import Instrument, Timeframe

# About a month of 24x7 minutes; hourly and daily files fit in a few row groups anyway.
ROW_GROUP_ROWS = 43_200
COMPRESSION = "zstd"
_BYTES_PER_ROW = 8 * 6  # int64 time and five float64 columns, decoded


class BarStore:
    def __init__(self, root: Path, catalog: Catalog, cache: BarFileCache | None = None) -> None:
        self.root = root
        self.catalog = catalog
        self.cache = cache
        root.mkdir(parents=True, exist_ok=True)

    def read(self, symbol: str, timeframe: Timeframe, start: int | None = None, end: int | None = None,
             record: DatasetRecord | None = None) -> BarArrays:
        """Bars with ``start <= time <= end`` (either bound optional), in time order."""
        for attempt in range(2):
            record = record or self.catalog.dataset(symbol, timeframe)
            if record is None:
                return BarArrays.empty()
            try:
                return read_range(self.root / record.path, start, end, self.cache)
            except FileNotFoundError:
                # An ingest switched versions between our catalog read and the open: read the new one.
                if attempt:
                    raise
                record = None
        raise AssertionError("unreachable")

    def read_before(self, symbol: str, timeframe: Timeframe, time: int, count: int) -> BarArrays:
        """The last ``count`` bars with ``time`` before ``time`` (fewer where the data starts later).

        Sessions, weekends and gaps make the span of ``count`` bars unknown, so the window starts at ``count``
        bars' worth of seconds and widens until it holds enough bars or reaches the first bar.
        """
        record = self.catalog.dataset(symbol, timeframe)
        if count <= 0 or record is None or record.first_time is None or time <= record.first_time:
            return BarArrays.empty()
        span = count * timeframe.seconds
        while True:
            start = time - span
            bars = self.read(symbol, timeframe, start, time - 1, record=record)
            if len(bars) >= count or start <= record.first_time:
                return bars.slice(max(len(bars) - count, 0), len(bars))
            span *= 4

    def write_minutes(self, instrument: Instrument, minutes: BarArrays) -> int:
        """Store validated minute bars of one symbol with their hourly and daily aggregates."""
        return self.write_bars(instrument, minutes, Timeframe.minute)

    def write_bars(self, instrument: Instrument, bars: BarArrays, timeframe: Timeframe) -> int:
        """Store validated bars of ``timeframe`` for one symbol with their aggregates to every coarser timeframe.

        Returns the new data version. The previous version stays readable until the catalog switches over; a
        finer timeframe the symbol had before is gone with it (bars finer than the data cannot be made up).
        """
        symbol_dir = self.root / instrument.symbol
        with self.catalog.connect() as conn:
            version = self.catalog.current_data_version(instrument.symbol, conn) + 1
        version_dir = symbol_dir / f"v{version}"
        shutil.rmtree(version_dir, ignore_errors=True)  # leftovers of an ingest that died mid-write
        version_dir.mkdir(parents=True)
        try:
            series = {coarser: aggregate(bars, coarser.seconds) for coarser in Timeframe
                      if coarser.seconds > timeframe.seconds}
            series[timeframe] = bars
            records = []
            for kind, rows in series.items():
                relative = Path(instrument.symbol) / f"v{version}" / f"{kind.value}.parquet"
                pq.write_table(rows.to_table(), self.root / relative, compression=COMPRESSION,
                               row_group_size=ROW_GROUP_ROWS, write_statistics=True)
                records.append(DatasetRecord(
                    symbol=instrument.symbol, timeframe=kind,
                    first_time=int(rows.time[0]) if len(rows) else None,
                    last_time=int(rows.time[-1]) if len(rows) else None,
                    rows=len(rows), data_version=version, path=str(relative)))
            with self.catalog.transaction() as conn:
                self.catalog.upsert_instrument(instrument, conn)
                self.catalog.keep_only_datasets(instrument.symbol, list(series), conn)
                for record in records:
                    self.catalog.put_dataset(record, conn)
        except BaseException:
            shutil.rmtree(version_dir, ignore_errors=True)
            raise
        self._remove_old_versions(symbol_dir, keep=version_dir.name)
        return version

    @staticmethod
    def _remove_old_versions(symbol_dir: Path, keep: str) -> None:
        for child in symbol_dir.iterdir():
            if child.is_dir() and child.name != keep:
                shutil.rmtree(child, ignore_errors=True)


def overlapping_row_groups(metadata: pq.FileMetaData, start: int | None, end: int | None) -> list[int]:
    """Indexes of the row groups whose ``time`` statistics overlap ``[start, end]``."""
    time_column = metadata.schema.names.index("time")
    chosen = []
    for index in range(metadata.num_row_groups):
        stats = metadata.row_group(index).column(time_column).statistics
        if stats is None or not stats.has_min_max:
            chosen.append(index)  # cannot prove it is outside the range
        elif (start is None or stats.max >= start) and (end is None or stats.min <= end):
            chosen.append(index)
    return chosen


def read_range(path: Path, start: int | None, end: int | None, cache: BarFileCache | None = None) -> BarArrays:
    """Bars of one file with ``start <= time <= end``.

    Without a cache, only the row groups that overlap the range are read (chosen from the footer, which is
    cheaper than a dataset scan with filters and makes the pruning explicit: a month of minutes touches one or
    two row groups whatever the file's length). With a cache, a file small enough for it is decoded once and
    every range is a slice of it. Either way the exact range is cut by binary search.
    """
    bars = cache.get(path) if cache is not None else None
    if bars is None:
        parquet = pq.ParquetFile(path, memory_map=True)
        if cache is not None and cache.fits(parquet.metadata.num_rows * _BYTES_PER_ROW):
            bars = BarArrays.from_table(parquet.read())
            cache.put(path, bars)
        else:
            groups = overlapping_row_groups(parquet.metadata, start, end)
            if not groups:
                return BarArrays.empty()
            bars = BarArrays.from_table(parquet.read_row_groups(groups))
    lo = 0 if start is None else int(np.searchsorted(bars.time, start, side="left"))
    hi = len(bars) if end is None else int(np.searchsorted(bars.time, end, side="right"))
    return bars if (lo, hi) == (0, len(bars)) else bars.slice(lo, hi)
