"""Reading a bar file: CSV (optionally gzipped) or Parquet, recognised by its first bytes, read in batches.

Whatever is wrong with a file (binary data, a truncated or ragged line anywhere, a broken Parquet footer) ends
in one :class:`BarValidationError` that names the problem, never in a traceback. Conversion of the values is
:mod:`backend.market.ingest.convert`; nothing here writes anything.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import mmap
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from backend.market.bars import COLUMNS, BarArrays
from backend.market.ingest.columns import locate_columns
from backend.market.ingest.convert import convert_batch
from backend.market.validate import BarValidationError

CSV_BLOCK_BYTES = 4 << 20
PARQUET_BATCH_ROWS = 131_072
# Enough of the start of a file to see whether it is text, and to hold any sensible header line.
SNIFF_BYTES = 64 << 10
_PARQUET_MAGIC = b"PAR1"
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class IngestProgress:
    rows: int
    # Share of the file read so far (0..1); None when the size of the input is unknown.
    fraction: float | None


ProgressCallback = Callable[[IngestProgress], None]


@dataclass(frozen=True)
class FileBars:
    """A file's bars with UTC times, and the same times as the file's clock read them (see ``convert``)."""

    bars: BarArrays
    wall_time: np.ndarray


def read_bars_file(path: Path, *, tz: tzinfo | None = None, progress: ProgressCallback | None = None) -> FileBars:
    """Bars from a CSV, gzipped CSV or Parquet file, converted but not yet validated."""
    path = Path(path)
    if not path.is_file():
        raise BarValidationError("no such file")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic == _PARQUET_MAGIC:
        batches = _parquet_batches(path)
    elif path.suffix.lower() in (".parquet", ".pq"):
        raise BarValidationError("not a readable Parquet file (it does not start with the Parquet signature)")
    elif magic == _ZIP_MAGIC:
        raise BarValidationError("a ZIP archive (an Excel workbook?), not a CSV or Parquet file; save it as CSV")
    else:
        batches = _csv_batches(path, gzipped=magic.startswith(_GZIP_MAGIC))
    parts: list[BarArrays] = []
    walls: list[np.ndarray] = []
    rows = 0
    for batch, fraction in batches:
        bars, wall = convert_batch(batch, rows, tz)
        parts.append(bars)
        walls.append(wall)
        rows += batch.num_rows
        if progress is not None:
            progress(IngestProgress(rows=rows, fraction=fraction))
    if not parts:
        return FileBars(BarArrays.empty(), np.empty(0, np.int64))
    return FileBars(BarArrays.concat(parts), np.concatenate(walls))


# CSV ----------------------------------------------------------------------------------------------------------

def _head(path: Path, gzipped: bool) -> bytes:
    try:
        with (gzip.open(path, "rb") if gzipped else open(path, "rb")) as f:
            return f.read(SNIFF_BYTES)
    except (OSError, EOFError, zlib.error) as exc:
        raise BarValidationError(f"not a readable gzip file ({exc})") from None


# Field separators read, in the order tried: the first one the header line holds separates the fields (a
# semicolon where a decimal comma is the custom, a tab or a bar from a spreadsheet or a database export).
DELIMITERS = (",", ";", "\t", "|")


def _header(head: bytes) -> tuple[list[str], str]:
    """The column names of a CSV from its first bytes, and the delimiter they are separated by; binary data is
    refused here, before Arrow sees it."""
    if not head.strip():
        raise BarValidationError("the file is empty")
    nul = head.find(b"\x00")
    if nul >= 0:
        raise BarValidationError(f"binary data (a NUL byte at offset {nul}): not a CSV text file")
    try:
        # Incremental, so a character cut at the end of the sample is not mistaken for bad data.
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError as exc:
        raise BarValidationError(f"not UTF-8 text (byte {exc.start}): not a CSV text file, or not UTF-8 "
                                 "encoded") from None
    line, newline, _ = text.partition("\n")
    if not newline and len(head) == SNIFF_BYTES:
        raise BarValidationError(f"no line break in the first {SNIFF_BYTES // 1024} KB: not a CSV file")
    line = line.rstrip("\r")
    delimiter = next((d for d in DELIMITERS if d in line), ",")
    return next(csv.reader([line], delimiter=delimiter), []), delimiter


def _locate(names: list[str]) -> dict[str, int]:
    try:
        return locate_columns(names)
    except BarValidationError as exc:
        if len(names) == 1:
            spelled = [d.replace("\t", "tab") for d in DELIMITERS]
            shown = " ".join(spelled[:-1]) + " or " + spelled[-1]
            raise BarValidationError(f"the header is one field ({names[0][:60]!r}): fields must be separated by "
                                     f"{shown}", column=exc.column) from None
        raise


def _csv_batches(path: Path, gzipped: bool) -> Iterator[tuple[pa.RecordBatch, float | None]]:
    names, delimiter = _header(_head(path, gzipped))
    located = _locate(names)
    # Our own names for every column (the wanted ones by meaning, the others by position), so aliases and
    # case do not matter below and a file's header can never collide with them.
    by_position = {index: column for column, index in located.items()}
    column_names = [by_position.get(i, f"_unused_{i}") for i in range(len(names))]
    # Arrow's CSV reader reads ahead, so the file position says little about progress; counting the lines
    # first (a memory-mapped scan, tens of milliseconds per 100 MB) gives an exact row total instead.
    total_rows = None if gzipped else max(_count_lines(path) - 1, 1)
    bad_lines: list[pcsv.InvalidRow] = []

    def refuse_row(row: pcsv.InvalidRow) -> str:
        bad_lines.append(row)
        return "error"

    done = 0
    with open(path, "rb") as raw:
        source = pa.CompressedInputStream(raw, "gzip") if gzipped else raw
        try:
            # Everything is read as text and converted by us, so a bad value is reported with its row number
            # (Arrow's own CSV conversion errors do not say which row failed).
            # One thread: Arrow then numbers the lines, so a ragged one is reported with its line number.
            reader = pcsv.open_csv(
                source,
                read_options=pcsv.ReadOptions(block_size=CSV_BLOCK_BYTES, column_names=column_names, skip_rows=1,
                                              use_threads=False),
                parse_options=pcsv.ParseOptions(delimiter=delimiter, invalid_row_handler=refuse_row),
                convert_options=pcsv.ConvertOptions(
                    include_columns=list(COLUMNS), column_types={c: pa.string() for c in COLUMNS},
                    strings_can_be_null=True, null_values=[""]),
            )
            for batch in reader:
                done += batch.num_rows
                yield batch, min(1.0, done / total_rows) if total_rows else None
        except (pa.ArrowInvalid, OSError) as exc:
            raise _csv_error(exc, bad_lines, names, done, path, gzipped) from None


def _first_non_utf8_line(path: Path, gzipped: bool) -> int | None:
    """The 1-based line holding the first byte that is not UTF-8 text (Arrow says only which column)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with (gzip.open(path, "rb") if gzipped else open(path, "rb")) as f:
        while chunk := f.read(CSV_BLOCK_BYTES):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return line + chunk.count(b"\n", 0, exc.start)
            line += chunk.count(b"\n")
    return None


def _csv_error(exc: Exception, bad_lines: list[pcsv.InvalidRow], names: list[str], done: int, path: Path,
               gzipped: bool) -> BarValidationError:
    if bad_lines:
        row = bad_lines[0]
        where = f"line {row.number} (row {row.number - 1})" if row.number is not None else f"after row {done}"
        text = row.text if len(row.text) <= 80 else row.text[:77] + "..."
        return BarValidationError(f"{where}: {row.actual_columns} fields where the header has "
                                  f"{row.expected_columns}: a truncated or ragged line ({text!r})",
                                  row=row.number - 1 if row.number is not None else None)
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "invalid UTF8" in message:
        column = message.split("#", 1)[1].split(":", 1)[0] if "#" in message else ""
        name = names[int(column)] if column.isdigit() and int(column) < len(names) else "?"
        line = _first_non_utf8_line(path, gzipped)
        where = f"line {line} (row {line - 1})" if line is not None else f"after row {done}"
        return BarValidationError(f"{where}: binary or non-UTF-8 data in column {name!r}: not a CSV text file, "
                                  "or not UTF-8 encoded", row=line - 1 if line is not None else None)
    return BarValidationError(f"not a readable CSV file after row {done} ({message})")


def _count_lines(path: Path) -> int:
    size = path.stat().st_size
    if size == 0:
        return 0
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        data = np.frombuffer(mapped, np.uint8)
        lines = int(np.count_nonzero(data == ord("\n"))) + (data[-1] != ord("\n"))
        del data  # the view must go before the map can close
    return lines


# Parquet ------------------------------------------------------------------------------------------------------

def _parquet_batches(path: Path) -> Iterator[tuple[pa.RecordBatch, float | None]]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise BarValidationError(f"not a readable Parquet file ({exc})") from exc
    names = parquet.schema_arrow.names
    located = locate_columns(names)
    wanted = [names[located[column]] for column in COLUMNS]
    total = parquet.metadata.num_rows
    done = 0
    try:
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=wanted):
            done += batch.num_rows
            yield batch.rename_columns(list(COLUMNS)), done / total if total else None
    except (pa.ArrowInvalid, OSError) as exc:
        raise BarValidationError(f"not a readable Parquet file after row {done} ({exc})") from None
