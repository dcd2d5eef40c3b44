"""Bars in memory: parallel numpy arrays, times in epoch seconds UTC (int64), prices and volume float64."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

COLUMNS = ("time", "open", "high", "low", "close", "volume")
PRICE_COLUMNS = ("open", "high", "low", "close")
SCHEMA = pa.schema([("time", pa.int64())] + [(name, pa.float64()) for name in COLUMNS[1:]])


@dataclass(frozen=True)
class BarArrays:
    time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return int(self.time.shape[0])

    def slice(self, start: int, stop: int) -> BarArrays:
        return BarArrays(*(getattr(self, name)[start:stop] for name in COLUMNS))

    def to_table(self) -> pa.Table:
        return pa.Table.from_arrays([pa.array(getattr(self, name)) for name in COLUMNS], schema=SCHEMA)

    @classmethod
    def from_table(cls, table: pa.Table) -> BarArrays:
        return cls(*(table.column(name).to_numpy() for name in COLUMNS))

    @classmethod
    def concat(cls, parts: list[BarArrays]) -> BarArrays:
        if len(parts) == 1:
            return parts[0]
        return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in COLUMNS))

    @classmethod
    def empty(cls) -> BarArrays:
        return cls(np.empty(0, np.int64), *(np.empty(0, np.float64) for _ in COLUMNS[1:]))
