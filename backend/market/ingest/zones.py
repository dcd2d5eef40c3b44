"""Wall-clock times of a time zone to UTC instants and back, vectorised, with Python's own zone database.

Offsets are looked up once per distinct calendar day: a day whose offset is the same at its first and last
second (every day but the two a year when the clocks change) shifts all its bars at once; only the bars of a
changing day are converted one by one. A wall-clock time the change skips or repeats has no single instant,
so it is refused rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

_DAY = 86_400
_FIXED_OFFSET = re.compile(r"^([+-])(\d\d):?(\d\d)$")


class WallTimeError(ValueError):
    """A wall-clock time with no single instant in the zone; ``index`` is its position in the input."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(reason)
        self.index = index
        self.reason = reason


def zone(name: str) -> tzinfo:
    """A zone by IANA name (``America/New_York``), ``UTC`` or a fixed offset (``+05:30``); ValueError if unknown."""
    fixed = _FIXED_OFFSET.match(name.strip())
    if fixed:
        sign = -1 if fixed.group(1) == "-" else 1
        return timezone(sign * timedelta(hours=int(fixed.group(2)), minutes=int(fixed.group(3))))
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as America/New_York, UTC or an "
                         "offset such as +05:30") from None


def _seconds(delta: timedelta | None) -> int:
    return int(delta.total_seconds()) if delta is not None else 0


def _by_day(times: np.ndarray, offsets_at: Callable[[int], tuple[int, ...]],
            one: Callable[[int, int], int]) -> np.ndarray:
    """Offset of every time: per day when the day's offsets agree, else ``one(index, time)`` per time."""
    days = times // _DAY
    unique, inverse = np.unique(days, return_inverse=True)
    offsets = np.empty(unique.shape[0], np.int64)
    steady = np.empty(unique.shape[0], bool)
    for k, day in enumerate(unique.tolist()):
        seen = offsets_at(day * _DAY) + offsets_at(day * _DAY + _DAY - 1)
        offsets[k], steady[k] = seen[0], len(set(seen)) == 1
    out = offsets[inverse]
    for index in np.flatnonzero(~steady[inverse]).tolist():
        out[index] = one(index, int(times[index]))
    return out


def utc_to_wall(utc_s: np.ndarray, tz: tzinfo) -> np.ndarray:
    """Wall-clock seconds (as if UTC) of each instant as the clocks of ``tz`` show it."""
    def offset(instant: int) -> int:
        return _seconds(datetime.fromtimestamp(instant, UTC).astimezone(tz).utcoffset())

    return utc_s + _by_day(utc_s, lambda s: (offset(s),), lambda _i, s: offset(s))


def wall_to_utc(wall_s: np.ndarray, tz: tzinfo) -> np.ndarray:
    """UTC instants of wall-clock seconds read in ``tz``; WallTimeError for a skipped or repeated time."""
    def offsets(wall: int) -> tuple[int, int]:
        moment = datetime.fromtimestamp(wall, UTC).replace(tzinfo=tz)
        return _seconds(moment.utcoffset()), _seconds(moment.replace(fold=1).utcoffset())

    def one(index: int, wall: int) -> int:
        first, second = offsets(wall)
        if first != second:
            shown = datetime.fromtimestamp(wall, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            what = "occurs twice (the clocks went back)" if first > second else \
                "does not exist (the clocks went forward)"
            raise WallTimeError(index, f"{shown} {what} in {tz}; give that time with its UTC offset")
        return first

    return wall_s - _by_day(wall_s, offsets, one)
