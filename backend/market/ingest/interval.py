"""The bar interval of a file: minute, hour or day, told from its times; anything else is refused.

- **Daily**: every bar on a later calendar day of the file's clock than the one before, at least 20 hours
  apart. A daily bar is stored at 00:00 UTC of its date, whatever time of day or zone the file gave it, so a
  pandas index at local midnight (``2025-01-02 00:00:00-05:00``) and a bare date mean the same day.
- **Hourly** or **minute**: the smallest step between bars is an hour or a minute, and every step is a whole
  number of them (gaps for nights, weekends and holidays are fine).
- **An interval change** inside the file is refused: a stretch of bars whole days (or hours) apart in a file of
  minutes, or whole days apart in a file of hours, means two kinds of bars were joined.
"""

from __future__ import annotations

import numpy as np

from backend.market.bars import BarArrays
from backend.market.validate import BarValidationError
from common.models.bars import Timeframe

_DAY = Timeframe.day.seconds
DAILY_MIN_STEP_S = 20 * 3600
# Consecutive steps of whole coarser units that are not gaps but another interval: six minute bars in a row on
# whole hours, or six hourly bars in a row on whole days, with nothing in between.
CHANGE_RUN = 5
_APART = {3600: "whole hours apart", _DAY: "whole days apart"}


def _duration(seconds: int) -> str:
    for unit, name in ((_DAY, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= unit and seconds % unit == 0:
            count = seconds // unit
            return f"{count} {name}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def _coarser_run(steps: np.ndarray, width: int) -> tuple[int, int] | None:
    """(first, last) step index of the first run of at least CHANGE_RUN steps that are whole ``width``s."""
    equal = np.concatenate(([False], steps % width == 0, [False])).astype(np.int8)
    edges = np.diff(equal)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    long = np.flatnonzero(ends - starts >= CHANGE_RUN)
    return (int(starts[long[0]]), int(ends[long[0]]) - 1) if long.size else None


def detect_timeframe(utc: np.ndarray, wall: np.ndarray) -> Timeframe:
    """The interval of sorted, distinct bar times; BarValidationError says why there is none."""
    if utc.shape[0] < 2:
        raise BarValidationError("a single bar: at least two are needed to tell minute, hourly and daily bars "
                                 "apart", column="time")
    wall_steps = np.diff(wall)
    if np.all(np.diff(wall // _DAY) >= 1) and int(wall_steps.min()) >= DAILY_MIN_STEP_S:
        return Timeframe.day
    steps = np.diff(utc)
    smallest = int(steps.min())
    if smallest not in (60, 3600):
        row = int(np.argmin(steps)) + 2
        raise BarValidationError(f"row {row}: {_duration(smallest)} after the row before; bars must be a minute, "
                                 "an hour or a day apart", column="time", row=row)
    off_grid = np.flatnonzero(steps % smallest)
    if off_grid.size:
        row = int(off_grid[0]) + 2
        raise BarValidationError(f"row {row}: {_duration(int(steps[off_grid[0]]))} after the row before, not a "
                                 f"whole number of {'minutes' if smallest == 60 else 'hours'}: the bar interval "
                                 "is irregular", column="time", row=row)
    for coarser in (_DAY, 3600):
        run = _coarser_run(steps, coarser) if coarser > smallest else None
        if run is not None:
            first, last = run[0] + 1, run[1] + 2
            others = "a minute" if smallest == 60 else "an hour"
            raise BarValidationError(
                f"the bar interval changes inside the file: rows {first} to {last} are {_APART[coarser]}, the "
                f"others {others} apart; load one interval per file", column="time", row=first)
    return Timeframe.minute if smallest == 60 else Timeframe.hour


def as_timeframe(bars: BarArrays, wall: np.ndarray) -> tuple[Timeframe, BarArrays]:
    """The file's timeframe and its bars as stored: daily bars move to 00:00 UTC of their date."""
    timeframe = detect_timeframe(bars.time, wall)
    if timeframe is Timeframe.day:
        bars = BarArrays(wall - wall % _DAY, bars.open, bars.high, bars.low, bars.close, bars.volume)
    return timeframe, bars
