"""Decoded bar files kept in memory, least recently used first out, bounded in bytes.

Bar files never change once written (a re-ingest writes a new version directory), so a decoded file is valid
for as long as it exists and its path can never serve stale bars. Charts ask for the same hot symbols again
and again; with the file decoded once, any range of it is a zero-copy slice found by binary search instead
of decompressing and copying up to 25 MB per request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from backend.market.bars import COLUMNS, BarArrays


def _nbytes(bars: BarArrays) -> int:
    return sum(getattr(bars, name).nbytes for name in COLUMNS)


class BarFileCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._files: OrderedDict[str, BarArrays] = OrderedDict()
        self._bytes = 0
        # Sync routes run on a thread pool: the cache is shared between threads.
        self._lock = threading.Lock()

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def fits(self, nbytes: int) -> bool:
        return nbytes <= self.max_bytes

    def get(self, path: Path) -> BarArrays | None:
        key = str(path)
        with self._lock:
            bars = self._files.get(key)
            if bars is not None:
                self._files.move_to_end(key)
            return bars

    def put(self, path: Path, bars: BarArrays) -> None:
        size = _nbytes(bars)
        if not self.fits(size):
            return
        key = str(path)
        with self._lock:
            if key in self._files:
                return  # another thread decoded it at the same time
            self._files[key] = bars
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, evicted = self._files.popitem(last=False)
                self._bytes -= _nbytes(evicted)
