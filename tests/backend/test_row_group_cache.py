"""The decoded row-group cache: same bars as a plain read, reused, bounded in bytes."""

from __future__ import annotations

import numpy as np
import pytest

from backend.catalog import Catalog
from backend.market.bars import BarArrays
from backend.market.row_group_cache import RowGroupCache
from backend.market.store import ROW_GROUP_ROWS, BarStore, read_range
from common.models.bars import AssetClass, Instrument, Timeframe
from tests.backend.market_data import T0, make_minutes

BTC = Instrument(symbol="BTC", name="Bitcoin", asset_class=AssetClass.crypto, synthetic=True)


@pytest.fixture
def minute_file(tmp_path):
    store = BarStore(tmp_path / "bars", Catalog(tmp_path / "catalog.sqlite3"))
    store.write_minutes(BTC, make_minutes(3 * ROW_GROUP_ROWS + 100))
    return store.root / store.catalog.dataset("BTC", Timeframe.minute).path


def assert_same(a: BarArrays, b: BarArrays) -> None:
    for name in ("time", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


@pytest.mark.parametrize("span", [(None, None), (T0 + 600, T0 + 60 * ROW_GROUP_ROWS * 2 + 30), (T0 - 60, T0)])
def test_cached_reads_equal_plain_reads(minute_file, span):
    cache = RowGroupCache(max_bytes=1 << 30)
    plain = read_range(minute_file, *span)
    assert_same(read_range(minute_file, *span, cache), plain)
    assert_same(read_range(minute_file, *span, cache), plain)  # now from memory


def test_row_groups_are_decoded_once_and_reused(minute_file):
    cache = RowGroupCache(max_bytes=1 << 30)
    loads = []
    first = cache.group(minute_file, 0, lambda: loads.append(1) or read_range(minute_file, None, T0 + 60))
    again = cache.group(minute_file, 0, lambda: loads.append(1) or read_range(minute_file, None, T0 + 60))
    assert again is first and loads == [1]


def test_the_cache_stays_within_its_byte_budget(minute_file):
    one_group_bytes = ROW_GROUP_ROWS * 6 * 8
    cache = RowGroupCache(max_bytes=int(one_group_bytes * 1.5))
    read_range(minute_file, None, None, cache)
    assert 0 < cache.size_bytes <= cache.max_bytes
    tiny = RowGroupCache(max_bytes=10)
    assert len(read_range(minute_file, None, None, tiny)) == 3 * ROW_GROUP_ROWS + 100
    assert tiny.size_bytes == 0
