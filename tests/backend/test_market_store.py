"""Catalog schema, aggregation, versioned Parquet writes and row-group pruning of the bar store."""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow.parquet as pq
import pytest

from backend.catalog import Catalog
from backend.market import store as store_module
from backend.market.aggregate import aggregate
from backend.market.bars import BarArrays
from backend.market.store import ROW_GROUP_ROWS, BarStore, overlapping_row_groups, read_range
from common.models.bars import AssetClass, Instrument, Timeframe
from tests.backend.market_data import T0, assert_bars_equal, make_minutes

ACME = Instrument(symbol="ACME", name="Acme", asset_class=AssetClass.equity, synthetic=False)


@pytest.fixture
def store(tmp_path) -> BarStore:
    return BarStore(tmp_path / "bars", Catalog(tmp_path / "catalog.sqlite3"))


def test_catalog_schema_is_idempotent_and_keeps_data(tmp_path):
    path = tmp_path / "catalog.sqlite3"
    first = Catalog(path)
    first.upsert_instrument(ACME)
    first.add_user("alice", "hash-a")
    second = Catalog(path)  # creating the schema again must neither fail nor wipe anything
    assert second.instrument("ACME") == ACME
    assert second.user_by_token_hash("hash-a").name == "alice"
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"instruments", "datasets", "users"} <= tables


def test_catalog_reads_see_commits_made_elsewhere_and_connections_stay_per_thread(tmp_path):
    path = tmp_path / "catalog.sqlite3"
    reader, writer = Catalog(path), Catalog(path)
    assert reader.instrument("ACME") is None  # opens this thread's read connection
    writer.upsert_instrument(ACME)
    writer.add_user("alice", "hash-a")
    assert reader.instrument("ACME") == ACME and reader.user_by_token_hash("hash-a").name == "alice"
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(reader.reader).result() is not reader.reader()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _aggregate_by_hand(bars: BarArrays, width: int) -> dict[int, tuple[float, float, float, float, float]]:
    buckets: OrderedDict[int, list[float]] = OrderedDict()
    for t, o, h, lo, c, v in zip(bars.time.tolist(), bars.open.tolist(), bars.high.tolist(), bars.low.tolist(),
                                bars.close.tolist(), bars.volume.tolist(), strict=True):
        key = t // width * width
        if key not in buckets:
            buckets[key] = [o, h, lo, c, v]
        else:
            b = buckets[key]
            b[1], b[2], b[3], b[4] = max(b[1], h), min(b[2], lo), c, b[4] + v
    return {k: tuple(v) for k, v in buckets.items()}


@pytest.mark.parametrize("width", [3600, 86400])
def test_aggregate_matches_an_independent_computation(width):
    bars = make_minutes(5_000, start=T0 + 17 * 60, gap_every=333)  # starts mid-hour, with gaps
    result = aggregate(bars, width)
    expected = _aggregate_by_hand(bars, width)
    assert result.time.tolist() == list(expected)
    got = zip(result.open, result.high, result.low, result.close, result.volume, strict=True)
    for (o, h, lo, c, v), want in zip(got, expected.values(), strict=True):
        assert (o, h, lo, c) == want[:4]
        assert v == pytest.approx(want[4])
    assert (result.time % width == 0).all()


def test_aggregate_of_nothing_is_empty():
    assert len(aggregate(BarArrays.empty(), 3600)) == 0


def test_write_minutes_stores_all_timeframes_and_bumps_the_version(store):
    bars = make_minutes(3_000, gap_every=500)
    assert store.write_minutes(ACME, bars) == 1
    assert_bars_equal(store.read("ACME", Timeframe.minute), bars)
    assert_bars_equal(store.read("ACME", Timeframe.hour), aggregate(bars, 3600))
    assert_bars_equal(store.read("ACME", Timeframe.day), aggregate(bars, 86400))
    record = store.catalog.dataset("ACME", Timeframe.minute)
    assert (record.rows, record.first_time, record.last_time) == (3_000, int(bars.time[0]), int(bars.time[-1]))

    newer = make_minutes(100, seed=2)
    assert store.write_minutes(ACME, newer) == 2
    assert_bars_equal(store.read("ACME", Timeframe.minute), newer)
    assert {r.data_version for r in store.catalog.datasets("ACME")} == {2}
    assert [p.name for p in (store.root / "ACME").iterdir()] == ["v2"]  # the old version is gone


def test_read_range_bounds_are_inclusive(store):
    bars = make_minutes(1_000)
    store.write_minutes(ACME, bars)
    start, end = int(bars.time[10]), int(bars.time[20])
    assert_bars_equal(store.read("ACME", Timeframe.minute, start, end), bars.slice(10, 21))
    assert_bars_equal(store.read("ACME", Timeframe.minute, start=start), bars.slice(10, 1_000))
    assert_bars_equal(store.read("ACME", Timeframe.minute, end=end), bars.slice(0, 21))
    assert len(store.read("ACME", Timeframe.minute, int(bars.time[-1]) + 1)) == 0
    assert len(store.read("NOPE", Timeframe.minute)) == 0


def test_failed_write_leaves_the_previous_version_untouched(store, monkeypatch):
    bars = make_minutes(500)
    store.write_minutes(ACME, bars)
    before = store.catalog.datasets("ACME")

    def broken(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(store_module.pq, "write_table", broken)
    with pytest.raises(OSError):
        store.write_minutes(ACME, make_minutes(50, seed=9))
    monkeypatch.undo()
    assert store.catalog.datasets("ACME") == before
    assert_bars_equal(store.read("ACME", Timeframe.minute), bars)
    assert [p.name for p in (store.root / "ACME").iterdir()] == ["v1"]


def test_files_are_zstd_with_month_sized_row_groups_and_time_statistics(store):
    bars = make_minutes(4 * ROW_GROUP_ROWS + 123)  # about four months of round-the-clock minutes
    store.write_minutes(ACME, bars)
    path = store.root / store.catalog.dataset("ACME", Timeframe.minute).path
    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups == 5
    previous_max = None
    for index in range(meta.num_row_groups):
        group = meta.row_group(index)
        assert group.num_rows <= ROW_GROUP_ROWS
        assert group.column(0).compression == "ZSTD"
        stats = group.column(0).statistics
        assert stats.has_min_max and (previous_max is None or stats.min > previous_max)  # sorted, disjoint
        previous_max = stats.max


def test_a_month_reads_only_the_row_groups_that_overlap_it(store, monkeypatch):
    bars = make_minutes(4 * ROW_GROUP_ROWS + 123)
    store.write_minutes(ACME, bars)
    path = store.root / store.catalog.dataset("ACME", Timeframe.minute).path
    start = T0 + 40 * 86400
    end = start + 30 * 86400 - 60
    groups = overlapping_row_groups(pq.ParquetFile(path).metadata, start, end)
    assert 1 <= len(groups) <= 2

    requested = []
    original = pq.ParquetFile.read_row_groups

    def spy(self, row_groups, *args, **kwargs):
        requested.append(list(row_groups))
        return original(self, row_groups, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", spy)
    month = read_range(path, start, end)
    assert requested == [groups]
    mask = (bars.time >= start) & (bars.time <= end)
    np.testing.assert_array_equal(month.time, bars.time[mask])
    np.testing.assert_array_equal(month.close, bars.close[mask])
    assert len(month) == 30 * 1440


def test_read_before_finds_the_last_bars_before_a_time_across_gaps(store):
    # Two-hour gaps every 100 minutes: 450 bars span far more than 450 minutes.
    bars = make_minutes(3_000, gap_every=100)
    store.write_minutes(ACME, bars)
    t = int(bars.time[2_500])
    assert_bars_equal(store.read_before("ACME", Timeframe.minute, t, 450), bars.slice(2_050, 2_500))
    assert_bars_equal(store.read_before("ACME", Timeframe.minute, t + 1, 1), bars.slice(2_500, 2_501))
    # Fewer bars before the time than asked for: all there are.
    assert_bars_equal(store.read_before("ACME", Timeframe.minute, int(bars.time[10]), 50), bars.slice(0, 10))
    assert len(store.read_before("ACME", Timeframe.minute, int(bars.time[0]), 5)) == 0
    assert len(store.read_before("ACME", Timeframe.minute, t, 0)) == 0
    assert len(store.read_before("NOPE", Timeframe.minute, t, 5)) == 0
    hours = aggregate(bars, 3600)
    before = hours.time < t
    assert_bars_equal(store.read_before("ACME", Timeframe.hour, t, 3),
                      hours.slice(int(before.sum()) - 3, int(before.sum())))
