"""Decoded Parquet row groups kept in memory, least recently used first out, bounded in bytes.

Bar files never change once written (a re-ingest writes a new version directory), so a decoded row group is
valid for as long as its file exists and the (path, index) key can never serve stale bars. Charts ask for
the same hot ranges again and again; keeping their row groups decoded turns a read of a year of minutes from
decompressing 25 MB into copying arrays that are already in memory.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

from backend.market.bars import COLUMNS, BarArrays


def _nbytes(bars: BarArrays) -> int:
    return sum(getattr(bars, name).nbytes for name in COLUMNS)


class RowGroupCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._groups: OrderedDict[tuple[str, int], BarArrays] = OrderedDict()
        self._footers: OrderedDict[str, pq.FileMetaData] = OrderedDict()
        self._bytes = 0
        # Sync routes run on a thread pool: the cache is shared between threads.
        self._lock = threading.Lock()

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def footer(self, path: Path, load: Callable[[], pq.FileMetaData]) -> pq.FileMetaData:
        key = str(path)
        with self._lock:
            metadata = self._footers.get(key)
            if metadata is not None:
                self._footers.move_to_end(key)
                return metadata
        metadata = load()
        with self._lock:
            self._footers[key] = metadata
            while len(self._footers) > 1024:
                self._footers.popitem(last=False)
        return metadata

    def group(self, path: Path, index: int, load: Callable[[], BarArrays]) -> BarArrays:
        key = (str(path), index)
        with self._lock:
            bars = self._groups.get(key)
            if bars is not None:
                self._groups.move_to_end(key)
                return bars
        bars = load()
        size = _nbytes(bars)
        if size > self.max_bytes:
            return bars  # too large to keep at all
        with self._lock:
            if key not in self._groups:
                self._groups[key] = bars
                self._bytes += size
            while self._bytes > self.max_bytes:
                _, evicted = self._groups.popitem(last=False)
                self._bytes -= _nbytes(evicted)
        return bars
