"""The decoded bar-file cache: same bars as a plain read, decoded once, bounded in bytes."""

from __future__ import annotations

import numpy as np
import pytest

from backend.catalog import Catalog
from backend.market.bar_cache import BarFileCache
from backend.market.store import ROW_GROUP_ROWS, BarStore, read_range
from common.models.bars import AssetClass, Instrument, Timeframe
from tests.backend.market_data import T0, assert_bars_equal, make_minutes

BTC = Instrument(symbol="BTC", name="Bitcoin", asset_class=AssetClass.crypto, synthetic=True)
ROWS = 3 * ROW_GROUP_ROWS + 100


@pytest.fixture
def minute_file(tmp_path):
    store = BarStore(tmp_path / "bars", Catalog(tmp_path / "catalog.sqlite3"))
    store.write_minutes(BTC, make_minutes(ROWS))
    return store.root / store.catalog.dataset("BTC", Timeframe.minute).path


@pytest.mark.parametrize("span", [(None, None), (T0 + 600, T0 + 60 * ROW_GROUP_ROWS * 2 + 30), (T0 - 60, T0),
                                  (T0 - 600, T0 - 60)])
def test_cached_reads_equal_plain_reads(minute_file, span):
    cache = BarFileCache(max_bytes=1 << 30)
    plain = read_range(minute_file, *span)
    assert_bars_equal(read_range(minute_file, *span, cache), plain)
    assert_bars_equal(read_range(minute_file, *span, cache), plain)  # now from memory


def test_a_file_is_decoded_once_and_ranges_are_views_of_it(minute_file):
    cache = BarFileCache(max_bytes=1 << 30)
    read_range(minute_file, None, None, cache)
    whole = cache.get(minute_file)
    assert whole is not None and len(whole) == ROWS and cache.size_bytes == ROWS * 48
    part = read_range(minute_file, T0 + 60, T0 + 600, cache)
    assert len(part) == 10 and np.shares_memory(part.close, whole.close)


def test_files_larger_than_the_budget_are_read_by_row_group_and_not_kept(minute_file):
    cache = BarFileCache(max_bytes=ROWS * 48 - 1)
    assert len(read_range(minute_file, None, None, cache)) == ROWS
    assert cache.get(minute_file) is None and cache.size_bytes == 0


def test_least_recently_used_files_are_evicted_first(tmp_path):
    cache = BarFileCache(max_bytes=2 * 10 * 48)
    bars = make_minutes(10)
    for name in ("a", "b", "c"):
        cache.put(tmp_path / name, bars)
    assert cache.get(tmp_path / "a") is None
    assert cache.get(tmp_path / "b") is not None and cache.get(tmp_path / "c") is not None
    assert cache.size_bytes == 2 * 10 * 48
