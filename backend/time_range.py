"""``from`` and ``to`` query parameters: one meaning for every route that reads a stretch of time.

Both are inclusive and optional. Each is epoch seconds or an ISO-8601 date or datetime (UTC unless it carries an
offset); a bare date as ``to`` means the end of that day. A value that is not a time, or a ``from`` after ``to``,
is a 422 naming the parameter and the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

import numpy as np
from fastapi import Query

from common import times
from common.errors import InvalidInput
from common.times import TIME_SCHEMA

FromParam = Annotated[str | None, Query(alias="from", json_schema_extra=TIME_SCHEMA, description=
                                        "Inclusive start: epoch seconds or ISO-8601 "
                                        "date/datetime, UTC unless an offset is given. Default: the first bar")]
ToParam = Annotated[str | None, Query(alias="to", json_schema_extra=TIME_SCHEMA, description=
                                      "Inclusive end: epoch seconds or ISO-8601 "
                                      "date/datetime; a bare date means the end of that day. Default: the last bar")]

# The 422 a route with `from`/`to` documents.
BAD_RANGE = {422: {"description": "A bad `from`, `to` or `max_points`, or `from` after `to`; `details` names the "
                                  "parameter"}}


_SHAPE = re.compile(TIME_SCHEMA["pattern"])


def parse_time(field: str, value: str | None, *, is_end: bool = False) -> int | None:
    """Epoch seconds from a query value (see ``common.times``); a bad one is a 422 naming ``field``.

    The documented shape (``TIME_SCHEMA``) is checked first, so that what the OpenAPI document refuses is refused.
    """
    if value is None:
        return None
    if len(value) > TIME_SCHEMA["maxLength"] or not _SHAPE.match(value):
        raise InvalidInput(field, f"not a time: {times.EXPECTED}")
    try:
        return times.parse_time(value, is_end=is_end)
    except ValueError as exc:
        raise InvalidInput(field, str(exc)) from None


@dataclass(frozen=True)
class TimeRange:
    """Inclusive bounds in epoch seconds; None is open on that side."""

    start: int | None = None
    end: int | None = None

    @classmethod
    def parse(cls, from_: str | None, to: str | None) -> TimeRange:
        start = parse_time("from", from_)
        end = parse_time("to", to, is_end=True)
        if start is not None and end is not None and start > end:
            raise InvalidInput("from", "must not be after 'to'")
        return cls(start, end)

    def indices(self, time: np.ndarray) -> slice:
        """The positions of ascending ``time`` inside the range (one binary search per bound)."""
        lo = 0 if self.start is None else int(np.searchsorted(time, self.start, side="left"))
        hi = int(time.shape[0]) if self.end is None else int(np.searchsorted(time, self.end, side="right"))
        return slice(lo, max(lo, hi))
