"""Validation of bars before they reach the store, and of symbols.

Every check is vectorised over whole columns. An error names the column and the first offending row (1-based
data row, not counting a header line) and how many rows share the problem, so a user can fix the file at once.
"""

from __future__ import annotations

import re

import numpy as np

from backend.market.bars import COLUMNS, BarArrays
from common.errors import HewstonError, InvalidInput

SYMBOL_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,31}$")


class BarValidationError(HewstonError):
    """Bars (or a symbol) that cannot be stored; ``column`` and ``row`` locate the first problem when known."""

    status_code = 422
    code = "invalid_input"

    def __init__(self, message: str, *, column: str | None = None, row: int | None = None) -> None:
        super().__init__(message, details=[{"field": column or "bars", "location": "body", "reason": message}])
        self.column = column
        self.row = row


def normalize_symbol(symbol: str) -> str:
    """Upper-cased symbol, or :class:`BarValidationError` if it is not 1-32 of ``A-Z 0-9 . _ -``."""
    normalized = symbol.strip().upper()
    if not SYMBOL_PATTERN.match(normalized):
        raise BarValidationError(
            f"symbol {symbol!r} is not valid: use 1-32 characters A-Z, 0-9, '.', '_' or '-', "
            "starting with a letter or digit", column="symbol")
    return normalized


def _first_bad(mask: np.ndarray, column: str, reason: str, bars: BarArrays | None = None) -> None:
    """Raise for the first True in ``mask`` (row numbers are 1-based)."""
    bad = np.flatnonzero(mask)
    if bad.size == 0:
        return
    index = int(bad[0])
    more = f" ({bad.size} rows affected)" if bad.size > 1 else ""
    detail = ""
    if bars is not None:
        values = ", ".join(f"{name}={float(getattr(bars, name)[index])!r}" for name in COLUMNS[1:5])
        detail = f" [{values}]"
    raise BarValidationError(f"row {index + 1}: {reason}{detail}{more}", column=column, row=index + 1)


def validate_bars(bars: BarArrays) -> None:
    """Check that ``bars`` can be stored: times strictly increasing, finite values, consistent OHLC."""
    if len(bars) == 0:
        raise BarValidationError("no bars: the input has no data rows")
    for name in COLUMNS[1:]:
        _first_bad(~np.isfinite(getattr(bars, name)), name, f"column '{name}' is not a finite number (NaN or inf)")
    step = np.diff(bars.time)
    # Report the row that breaks the order (the later one of each pair), hence the +1 shift.
    _first_bad(np.concatenate(([False], step == 0)), "time",
               "duplicate time (the same timestamp as the row before)")
    _first_bad(np.concatenate(([False], step < 0)), "time",
               "time is earlier than the row before: rows must be sorted by time")
    _first_bad(bars.high < bars.low, "high", "high is below low", bars)
    _first_bad((bars.open < bars.low) | (bars.open > bars.high), "open", "open is outside [low, high]", bars)
    _first_bad((bars.close < bars.low) | (bars.close > bars.high), "close", "close is outside [low, high]", bars)
    _first_bad(bars.volume < 0, "volume", "volume is negative")


def symbol_param(value: str, location: str = "query") -> str:
    """A symbol from a request, upper-cased; a malformed one is a 422 naming the ``symbol`` parameter."""
    try:
        return normalize_symbol(value)
    except BarValidationError as exc:
        raise InvalidInput("symbol", exc.message, location=location) from None
