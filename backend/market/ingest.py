"""Ingest minute bars from CSV or Parquet files into the bar store.

Files need the columns ``time, open, high, low, close, volume`` (others are ignored). ``time`` is either
integer epoch seconds or ISO-8601 datetimes; datetimes without a zone offset are taken as UTC. Files are read
in batches (so progress can be reported), converted column by column with Arrow, validated as a whole with
numpy, and only then written: a file that fails any check leaves the stored data and its version untouched.
"""

from __future__ import annotations

import csv
import gzip
import mmap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from backend.market.bars import COLUMNS, BarArrays
from backend.market.store import BarStore
from backend.market.validate import BarValidationError, normalize_symbol, validate_bars
from common.models.bars import AssetClass, Instrument

CSV_BLOCK_BYTES = 4 << 20
PARQUET_BATCH_ROWS = 131_072
_INTEGER = r"^\s*[+-]?\d+\s*$"
# A zone offset only counts after a clock time, so the day of a bare date is not mistaken for one.
_ZONE_SUFFIX = r"\d\d:\d\d(?::\d\d(?:\.\d+)?)?\s*(?:[Zz]|[+-]\d\d(?::?\d\d)?)\s*$"
_NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class IngestProgress:
    rows: int
    # Share of the file read so far (0..1); None when the size of the input is unknown.
    fraction: float | None


ProgressCallback = Callable[[IngestProgress], None]


@dataclass(frozen=True)
class IngestResult:
    symbol: str
    rows: int
    first_time: int
    last_time: int
    data_version: int


def store_bars(store: BarStore, instrument: Instrument, bars: BarArrays) -> int:
    """Validate minute bars and store them with their aggregates; returns the new data version."""
    validate_bars(bars)
    return store.write_minutes(instrument, bars)


def ingest_bars(store: BarStore, path: Path, symbol: str, *, name: str | None = None,
                asset_class: AssetClass | None = None, synthetic: bool = False,
                progress: ProgressCallback | None = None) -> IngestResult:
    """Read, validate and store one file of minute bars for ``symbol``.

    ``name`` and ``asset_class`` default to the instrument's current ones (or the symbol and ``other``).
    Raises :class:`BarValidationError` naming the row or column of the first problem found.
    """
    symbol = normalize_symbol(symbol)
    current = store.catalog.instrument(symbol)
    instrument = Instrument(
        symbol=symbol, name=name or (current.name if current else symbol),
        asset_class=asset_class or (current.asset_class if current else AssetClass.other), synthetic=synthetic)
    bars = read_bars_file(path, progress=progress)
    version = store_bars(store, instrument, bars)
    return IngestResult(symbol=symbol, rows=len(bars), first_time=int(bars.time[0]),
                        last_time=int(bars.time[-1]), data_version=version)


def read_bars_file(path: Path, *, progress: ProgressCallback | None = None) -> BarArrays:
    """Minute bars from a CSV (optionally gzipped) or Parquet file, converted but not yet validated."""
    path = Path(path)
    if not path.is_file():
        raise BarValidationError("no such file")
    suffixes = [s.lower() for s in path.suffixes]
    batches = _parquet_batches(path) if suffixes[-1:] in (['.parquet'], ['.pq']) else _csv_batches(path)
    parts: list[BarArrays] = []
    rows = 0
    for batch, fraction in batches:
        parts.append(_convert(batch, row_offset=rows))
        rows += batch.num_rows
        if progress is not None:
            progress(IngestProgress(rows=rows, fraction=fraction))
    if not parts:
        return BarArrays.empty()
    return BarArrays.concat(parts)


# Reading ----------------------------------------------------------------------------------------------------

def _require_columns(found: list[str]) -> None:
    missing = [c for c in COLUMNS if c not in found]
    if missing:
        raise BarValidationError(
            f"missing column(s) {', '.join(missing)}; found {', '.join(found) or 'none'}",
            column=missing[0])


def _csv_batches(path: Path) -> Iterator[tuple[pa.RecordBatch, float | None]]:
    gzipped = path.suffix.lower() == ".gz"
    with (gzip.open(path, "rt", newline="") if gzipped else open(path, newline="")) as head:
        header = next(csv.reader(head), [])
    _require_columns([h.strip() for h in header])
    # Arrow's CSV reader reads ahead, so the file position says little about progress; counting the lines
    # first (a memory-mapped scan, tens of milliseconds per 100 MB) gives an exact row total instead.
    total_rows = None if gzipped else max(_count_lines(path) - 1, 1)
    with open(path, "rb") as raw:
        source = pa.CompressedInputStream(raw, "gzip") if gzipped else raw
        # Everything is read as text and converted by us, so a bad value is reported with its row number
        # (Arrow's own CSV conversion errors do not say which row failed).
        reader = pcsv.open_csv(
            source,
            read_options=pcsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
            convert_options=pcsv.ConvertOptions(
                include_columns=list(COLUMNS), column_types={c: pa.string() for c in COLUMNS},
                strings_can_be_null=True, null_values=[""]),
        )
        done = 0
        try:
            for batch in reader:
                done += batch.num_rows
                yield batch, min(1.0, done / total_rows) if total_rows else None
        except pa.ArrowInvalid as exc:
            raise BarValidationError(f"not a readable CSV file ({exc})") from exc


def _count_lines(path: Path) -> int:
    size = path.stat().st_size
    if size == 0:
        return 0
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        data = np.frombuffer(mapped, np.uint8)
        lines = int(np.count_nonzero(data == ord("\n"))) + (data[-1] != ord("\n"))
        del data  # the view must go before the map can close
    return lines


def _parquet_batches(path: Path) -> Iterator[tuple[pa.RecordBatch, float | None]]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise BarValidationError(f"not a readable Parquet file ({exc})") from exc
    _require_columns(parquet.schema_arrow.names)
    total = parquet.metadata.num_rows
    done = 0
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=list(COLUMNS)):
        done += batch.num_rows
        yield batch, done / total if total else None


# Conversion -------------------------------------------------------------------------------------------------

def _fail(column: str, row: int, reason: str) -> BarValidationError:
    return BarValidationError(f"row {row}: column '{column}' {reason}", column=column, row=row)


def _first_failure(values: pa.Array, convert: Callable[[pa.Array], object]) -> int:
    """Index of the first element that ``convert`` rejects, found by bisection (log n vectorised calls)."""
    lo, hi = 0, len(values)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            convert(values.slice(lo, mid - lo))
            lo = mid
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            hi = mid
    return lo


def _cast(values: pa.Array, to: pa.DataType, column: str, row_offset: int, expected: str) -> pa.Array:
    try:
        return pc.cast(values, to)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        index = _first_failure(values, lambda part: pc.cast(part, to))
        raise _fail(column, row_offset + index + 1, f"has {values[index].as_py()!r}, expected {expected}") from None


def _check_nulls(values: pa.Array, column: str, row_offset: int) -> None:
    if values.null_count:
        index = int(np.flatnonzero(pc.is_null(values).to_numpy(zero_copy_only=False))[0])
        raise _fail(column, row_offset + index + 1, "is empty")


def _convert(batch: pa.RecordBatch, row_offset: int) -> BarArrays:
    columns = {}
    for name in COLUMNS[1:]:
        values = batch.column(name)
        _check_nulls(values, name, row_offset)
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
                or pa.types.is_integer(values.type) or pa.types.is_floating(values.type)
                or pa.types.is_decimal(values.type)):
            raise BarValidationError(f"column '{name}' has type {values.type}; expected numbers", column=name)
        columns[name] = _cast(values, pa.float64(), name, row_offset, "a number").to_numpy(zero_copy_only=False)
    return BarArrays(time=_times(batch.column("time"), row_offset), **columns)


def _times(values: pa.Array, row_offset: int) -> np.ndarray:
    """Epoch seconds (int64) from integers, Arrow timestamps/dates or ISO-8601 strings."""
    _check_nulls(values, "time", row_offset)
    kind = values.type
    if pa.types.is_integer(kind):
        return pc.cast(values, pa.int64()).to_numpy()
    if pa.types.is_date(kind):
        values, kind = pc.cast(values, pa.timestamp("s")), pa.timestamp("s")
    if pa.types.is_timestamp(kind):
        # Arrow stores timestamps as UTC instants (naive ones are wall times we take as UTC).
        return _ns_to_seconds(pc.cast(pc.cast(values, pa.timestamp("ns", kind.tz)), pa.int64()).to_numpy(),
                              row_offset)
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise BarValidationError(f"column 'time' has type {kind}; expected integer epoch seconds or ISO-8601 "
                                 "datetimes", column="time")
    is_integer = pc.match_substring_regex(values, _INTEGER).to_numpy(zero_copy_only=False)
    if is_integer.all():
        return _cast(pc.utf8_trim_whitespace(values), pa.int64(), "time", row_offset,
                     "epoch seconds").to_numpy()
    if is_integer.any():
        index = int(np.flatnonzero(is_integer != is_integer[0])[0])
        raise _fail("time", row_offset + index + 1,
                    f"has {values[index].as_py()!r}: a file must not mix epoch seconds and ISO-8601 datetimes")
    return _ns_to_seconds(_iso_to_ns(values, row_offset), row_offset)


def _iso_to_ns(values: pa.Array, row_offset: int) -> np.ndarray:
    has_zone = pc.match_substring_regex(values, _ZONE_SUFFIX).to_numpy(zero_copy_only=False)
    out = np.empty(len(values), np.int64)
    expected = "an ISO-8601 datetime such as 2025-01-02T09:30:00 or 2025-01-02T14:30:00Z"
    for mask, unit in ((has_zone, pa.timestamp("ns", "UTC")), (~has_zone, pa.timestamp("ns"))):
        if not mask.any():
            continue
        positions = np.flatnonzero(mask)
        part = values.take(pa.array(positions))
        try:
            converted = pc.cast(part, unit)
        except pa.ArrowInvalid:
            index = int(positions[_first_failure(part, lambda p, unit=unit: pc.cast(p, unit))])
            raise _fail("time", row_offset + index + 1, f"has {values[index].as_py()!r}, expected {expected}") \
                from None
        out[positions] = pc.cast(converted, pa.int64()).to_numpy()
    return out


def _ns_to_seconds(ns: np.ndarray, row_offset: int) -> np.ndarray:
    fractional = np.flatnonzero(ns % _NS_PER_S)
    if fractional.size:
        raise _fail("time", row_offset + int(fractional[0]) + 1, "has a fraction of a second; bars start on "
                    "whole seconds")
    return ns // _NS_PER_S

