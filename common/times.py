"""Times on the wire: epoch seconds UTC, given as a number or as an ISO-8601 date or datetime.

One parser for every service, so that ``from``/``to`` mean the same thing at the backend, in a backtest
request and at the api.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

# datetime's range: every accepted time is a valid datetime and fits int64 (numpy, SQLite) with room to spare.
MIN_TIME = int(datetime(1, 1, 1, tzinfo=UTC).timestamp())
MAX_TIME = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp())
EXPECTED = "expected epoch seconds or an ISO-8601 date or datetime, e.g. 2025-03-01 or 2025-03-01T14:30:00Z"
# The shape of a time in a query, as the OpenAPI documents say it: epoch seconds, or an ISO-8601 date or
# datetime with an optional offset. parse_time still decides (a 31st of February has the shape).
TIME_SCHEMA = {
    "pattern": r"^(-?\d{1,12}(\.\d+)?|\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
               r"([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-]([01]\d|2[0-3]):?[0-5]\d)?)?)$",
    "minLength": 1, "maxLength": 40}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_LONGEST = 64  # far longer than any ISO-8601 datetime; refuses garbage before parsing it


def parse_time(value: Any, *, is_end: bool = False) -> int:
    """Epoch seconds (UTC) from a number or an ISO-8601 date/datetime; ``ValueError`` says what is wrong.

    A bare date is its first second, or its last when ``is_end`` (so ``to=2024-12-31`` includes the 31st).
    A datetime without an offset is UTC. A fractional time is rounded inwards (up for a start, down for an
    end), because bars open on whole seconds and a range must never grow.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(EXPECTED)
    if isinstance(value, str):
        value = _number_or_iso_seconds(value, is_end)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a time: {EXPECTED}")
        value = math.floor(value) if is_end else math.ceil(value)
    if not MIN_TIME <= value <= MAX_TIME:
        raise ValueError(f"{value!r} is outside the supported years 1 to 9999")
    return int(value)


def _number_or_iso_seconds(original: str, is_end: bool) -> int | float:
    text = original.strip()
    if len(text) > _LONGEST:
        raise ValueError(f"too long: {EXPECTED}")
    if _INTEGER.match(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        pass
    try:
        if _DATE.match(text):
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
            if is_end:
                moment += timedelta(days=1, seconds=-1)
        else:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    except (ValueError, OverflowError):
        raise ValueError(f"{original!r}: {EXPECTED}") from None
