"""Which column of a file is which: names matched case-insensitively, with the aliases real files use.

The time may be called ``time``, ``timestamp``, ``datetime`` or ``date``; failing those, ``index`` (what
pandas' ``reset_index()`` calls an unnamed index); failing that, the unnamed first column that pandas writes
for its index (``,Open,High,...`` in a CSV, ``Unnamed: 0`` after a round trip, or ``__index_level_0__`` in
Parquet). A named time column wins over an unnamed one, because ``reset_index()`` leaves the row numbers
unnamed in front of the real dates.
"""

from __future__ import annotations

from backend.market.bars import COLUMNS
from backend.market.validate import BarValidationError

TIME_ALIASES = ("time", "timestamp", "datetime", "date")
_INDEX = "index"
_UNNAMED_FIRST = ("", "unnamed: 0")
_PANDAS_INDEX = "__index_level_0__"


def _key(name: str) -> str:
    return name.strip().lstrip("\ufeff").strip().lower()


def _unnamed_index(names: list[str]) -> int | None:
    for index, name in enumerate(names):
        if _key(name) == _PANDAS_INDEX or (index == 0 and _key(name) in _UNNAMED_FIRST):
            return index
    return None


def locate_columns(names: list[str]) -> dict[str, int]:
    """Position of each of ``time, open, high, low, close, volume`` among the file's column ``names``."""
    keys = [_key(name) for name in names]
    found: dict[str, int] = {}
    for column in COLUMNS[1:]:
        matches = [i for i, key in enumerate(keys) if key == column]
        if len(matches) > 1:
            raise BarValidationError(f"columns {', '.join(repr(names[i]) for i in matches)} all mean {column}; "
                                     "keep one", column=column)
        if matches:
            found[column] = matches[0]
    times = [i for i, key in enumerate(keys) if key in TIME_ALIASES]
    if len(times) > 1:
        raise BarValidationError(f"columns {', '.join(repr(names[i]) for i in times)} all look like the bar time; "
                                 "keep one (a separate date and time of day must be joined into one column)",
                                 column="time")
    if times:
        found["time"] = times[0]
    elif _INDEX in keys:
        found["time"] = keys.index(_INDEX)
    elif (unnamed := _unnamed_index(names)) is not None:
        found["time"] = unnamed
    missing = [c for c in COLUMNS if c not in found]
    if missing:
        shown = ", ".join(repr(n) if not n.strip() else n for n in names) or "none"
        hint = " (the time may be named time, timestamp, datetime or date)" if "time" in missing else ""
        raise BarValidationError(f"missing column(s) {', '.join(missing)}{hint}; found {shown}", column=missing[0])
    return {column: found[column] for column in COLUMNS}
