"""Remove chart entries of data versions older than the current ones.

Chart keys carry the data version of the dataset they were built from, so after an ingest no request looks
up an old entry any more: it is unreachable, and its lifetime bounds how long it stays. Removing it at once
frees the memory and makes sure that even an api node still holding a few-seconds-old access decision (with
the old version) misses and recomputes instead of serving it.

Entries of a version newer than the one read here are kept (an ingest landed meanwhile: they are current),
and so are entries of symbols the backend no longer lists (they expire by themselves).
"""

from __future__ import annotations

from api.views import RedisGuard
from common.keys import KeySpace
from common.models.bars import ChartTimeframe

_SCAN_COUNT = 1000


async def drop_stale_chart_entries(guard: RedisGuard, keys: KeySpace, current: dict[tuple[str, str], int]) -> int:
    """Remove chart entries older than ``current`` ((symbol, backend timeframe) -> data version); returns how
    many were removed. The scan walks the key space in small steps, so Redis keeps serving meanwhile."""
    sources = {timeframe.value: timeframe.source.value for timeframe in ChartTimeframe}
    removed, cursor = 0, 0
    while True:
        cursor, found = await guard.run(
            lambda r, cursor=cursor: r.scan(cursor, match=keys.chart_data_pattern(), count=_SCAN_COUNT))
        stale = []
        for raw in found:
            key = raw.decode() if isinstance(raw, bytes) else raw
            parsed = keys.chart_data_version(key)
            if parsed is None or parsed[1] not in sources:
                continue
            symbol, timeframe, version = parsed
            latest = current.get((symbol, sources[timeframe]))
            if latest is not None and version < latest:
                stale.append(key)
        if stale:
            removed += await guard.run(lambda r, stale=stale: r.unlink(*stale))
        if cursor == 0:
            return removed
