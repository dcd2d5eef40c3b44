"""Arrow columns of a file to bar arrays: numbers, and times as UTC instants and as the file's wall clock.

Everything is converted column by column with Arrow; a value that fails is found by bisection, so an error
names its row (1-based data row) and column however large the batch. Times come as integer epoch seconds,
Arrow timestamps or dates (Parquet), or ISO-8601 text. A time with a zone offset is that instant; a time
without one is read in the file's zone (``tz``, UTC when not given). Next to the UTC instant every bar keeps
its *wall-clock* time (the time as the file's clock reads it), which tells the calendar day of a daily bar.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from backend.market.bars import COLUMNS, BarArrays
from backend.market.ingest.zones import WallTimeError, utc_to_wall, wall_to_utc, zone
from backend.market.validate import BarValidationError

_INTEGER = r"^\s*[+-]?\d+\s*$"
# A zone offset only counts after a clock time, so the day of a bare date is not mistaken for one.
_CLOCK = r"(\d\d:\d\d(?::\d\d(?:\.\d+)?)?)"
_ZONE = r"\s*(?:[Zz]|[+-]\d\d(?::?\d\d)?)\s*$"
_NS_PER_S = 1_000_000_000
_ISO_EXPECTED = "an ISO-8601 datetime such as 2025-01-02T09:30:00 or 2025-01-02T14:30:00Z"


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


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def convert_batch(batch: pa.RecordBatch, row_offset: int, tz: tzinfo | None) -> tuple[BarArrays, np.ndarray]:
    """(bars with UTC times, wall-clock times) of one batch whose columns are named as in ``COLUMNS``."""
    columns = {}
    for name in COLUMNS[1:]:
        values = batch.column(name)
        _check_nulls(values, name, row_offset)
        kind = values.type
        if not (_is_text(kind) or pa.types.is_integer(kind) or pa.types.is_floating(kind)
                or pa.types.is_decimal(kind)):
            raise BarValidationError(f"column '{name}' has type {kind}; expected numbers", column=name)
        columns[name] = _cast(values, pa.float64(), name, row_offset, "a number").to_numpy(zero_copy_only=False)
    utc, wall = _times(batch.column("time"), row_offset, tz)
    return BarArrays(time=utc, **columns), wall


def _times(values: pa.Array, row_offset: int, tz: tzinfo | None) -> tuple[np.ndarray, np.ndarray]:
    """(UTC epoch seconds, wall-clock seconds) from integers, Arrow timestamps or dates, or ISO-8601 text."""
    _check_nulls(values, "time", row_offset)
    kind = values.type
    if pa.types.is_integer(kind):
        return _epoch(pc.cast(values, pa.int64()).to_numpy(), tz)
    if pa.types.is_date(kind):
        values, kind = pc.cast(values, pa.timestamp("s")), pa.timestamp("s")
    if pa.types.is_timestamp(kind):
        seconds = _ns_to_seconds(pc.cast(pc.cast(values, pa.timestamp("ns", kind.tz)), pa.int64()).to_numpy(),
                                 row_offset)
        if kind.tz is None:
            return _naive(seconds, np.arange(seconds.shape[0]), row_offset, tz), seconds
        # Arrow stores zoned timestamps as UTC instants; the zone says what their clock read.
        try:
            own_zone = zone(kind.tz)
        except ValueError as exc:
            raise BarValidationError(f"column 'time': {exc}", column="time") from None
        return seconds, utc_to_wall(seconds, own_zone)
    if not _is_text(kind):
        raise BarValidationError(f"column 'time' has type {kind}; expected integer epoch seconds or ISO-8601 "
                                 "datetimes", column="time")
    is_integer = pc.match_substring_regex(values, _INTEGER).to_numpy(zero_copy_only=False)
    if is_integer.all():
        return _epoch(_cast(pc.utf8_trim_whitespace(values), pa.int64(), "time", row_offset,
                            "epoch seconds").to_numpy(), tz)
    if is_integer.any():
        index = int(np.flatnonzero(is_integer != is_integer[0])[0])
        raise _fail("time", row_offset + index + 1,
                    f"has {values[index].as_py()!r}: a file must not mix epoch seconds and ISO-8601 datetimes")
    return _iso(values, row_offset, tz)


def _epoch(utc: np.ndarray, tz: tzinfo | None) -> tuple[np.ndarray, np.ndarray]:
    # Epoch seconds are instants; the file's zone only says what its clock read at them.
    return utc, (utc_to_wall(utc, tz) if tz is not None else utc)


def _naive(wall: np.ndarray, positions: np.ndarray, row_offset: int, tz: tzinfo | None) -> np.ndarray:
    """UTC instants of times without an offset (at ``positions`` of the batch), read in ``tz`` or UTC."""
    if tz is None:
        return wall
    try:
        return wall_to_utc(wall, tz)
    except WallTimeError as exc:
        raise _fail("time", row_offset + int(positions[exc.index]) + 1, f"has {exc.reason}") from None


def _iso_to_ns(values: pa.Array, unit: pa.DataType, positions: np.ndarray, row_offset: int) -> np.ndarray:
    part = values.take(pa.array(positions))
    try:
        converted = pc.cast(part, unit)
    except pa.ArrowInvalid:
        index = int(positions[_first_failure(part, lambda p: pc.cast(p, unit))])
        raise _fail("time", row_offset + index + 1, f"has {values[index].as_py()!r}, expected {_ISO_EXPECTED}") \
            from None
    return pc.cast(converted, pa.int64()).to_numpy()


def _iso(values: pa.Array, row_offset: int, tz: tzinfo | None) -> tuple[np.ndarray, np.ndarray]:
    has_zone = pc.match_substring_regex(values, _CLOCK + _ZONE).to_numpy(zero_copy_only=False)
    utc = np.zeros(len(values), np.int64)
    wall = np.zeros(len(values), np.int64)
    if has_zone.any():
        positions = np.flatnonzero(has_zone)
        utc[positions] = _iso_to_ns(values, pa.timestamp("ns", "UTC"), positions, row_offset)
        # The same text without its offset is the time the file's clock read.
        local = pc.replace_substring_regex(values, _CLOCK + _ZONE, r"\1")
        wall[positions] = _iso_to_ns(local, pa.timestamp("ns"), positions, row_offset)
    if not has_zone.all():
        positions = np.flatnonzero(~has_zone)
        wall[positions] = _iso_to_ns(values, pa.timestamp("ns"), positions, row_offset)
    utc, wall = _ns_to_seconds(utc, row_offset), _ns_to_seconds(wall, row_offset)
    if not has_zone.all():
        naive = np.flatnonzero(~has_zone)
        utc[naive] = _naive(wall[naive], naive, row_offset, tz)
    return utc, wall


def _ns_to_seconds(ns: np.ndarray, row_offset: int) -> np.ndarray:
    fractional = np.flatnonzero(ns % _NS_PER_S)
    if fractional.size:
        raise _fail("time", row_offset + int(fractional[0]) + 1, "has a fraction of a second; bars start on "
                    "whole seconds")
    return ns // _NS_PER_S
