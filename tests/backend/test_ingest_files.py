"""Ingest of the files people have: pandas' and other tools' headers, time zones, hourly and daily bars, and
every kind of bad file refused in one line with nothing changed."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from backend.catalog import Catalog
from backend.market.ingest import files as files_module
from backend.market.ingest import ingest_bars
from backend.market.store import BarStore
from backend.market.validate import BarValidationError
from common.models.bars import Timeframe
from hewston.cli import main
from tests.backend.market_data import T0, make_minutes


@pytest.fixture
def store(tmp_path) -> BarStore:
    return BarStore(tmp_path / "bars", Catalog(tmp_path / "catalog.sqlite3"))


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def ohlcv(i: int) -> str:
    price = 100.0 + i
    return f"{price},{price + 2},{price - 1},{price + 1},{1000 + i}"


def weekdays(start: str, count: int) -> list[datetime]:
    day, out = datetime.fromisoformat(start), []
    while len(out) < count:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


def write(path, header: str, times: list[str]):
    path.write_text(header + "\n" + "\n".join(f"{t},{ohlcv(i)}" for i, t in enumerate(times)) + "\n")
    return path


PANDAS_DAILY = [d.strftime("%Y-%m-%d") for d in weekdays("2025-01-02", 30)]


@pytest.mark.parametrize("header", ["Date,Open,High,Low,Close,Volume", ",Open,High,Low,Close,Volume",
                                    "Unnamed: 0,open,HIGH,Low,close,Volume", "index,Open,High,Low,Close,Volume",
                                    "\ufeffDATE,Open,High,Low,Close,Volume", "timestamp,o_ignored,Open,High,Low,"
                                    "Close,Volume"])
def test_pandas_daily_csv_becomes_a_daily_dataset(store, tmp_path, header):
    if "o_ignored" in header:
        path = tmp_path / "daily.csv"
        path.write_text(header + "\n" + "\n".join(f"{t},x,{ohlcv(i)}" for i, t in enumerate(PANDAS_DAILY)) + "\n")
    else:
        path = write(tmp_path / "daily.csv", header, PANDAS_DAILY)
    result = ingest_bars(store, path, "SPY")
    assert result.timeframe is Timeframe.day and result.rows == 30
    assert [r.timeframe for r in store.catalog.datasets("SPY")] == [Timeframe.day]
    stored = store.read("SPY", Timeframe.day)
    assert stored.time.tolist() == [epoch(d) for d in PANDAS_DAILY]
    assert stored.close.tolist()[:2] == [101.0, 102.0]


def test_reset_index_leaves_row_numbers_in_front_of_the_dates(store, tmp_path):
    path = tmp_path / "reset.csv"
    path.write_text(",Date,Open,High,Low,Close,Volume\n"
                    + "\n".join(f"{i},{t},{ohlcv(i)}" for i, t in enumerate(PANDAS_DAILY)) + "\n")
    assert ingest_bars(store, path, "SPY").timeframe is Timeframe.day
    assert store.read("SPY", Timeframe.day).time.tolist()[0] == epoch("2025-01-02")


def test_daily_bars_at_local_midnight_keep_their_dates_in_any_zone(store, tmp_path):
    # What pandas writes for a zoned daily index: New York midnight across the March clock change, and Tokyo.
    days = weekdays("2025-03-05", 8)
    new_york = [f"{d:%Y-%m-%d} 00:00:00{'-05:00' if d.day < 9 else '-04:00'}" for d in days]
    tokyo = [f"{d:%Y-%m-%d} 00:00:00+09:00" for d in days]
    expected = [epoch(f"{d:%Y-%m-%d}") for d in days]
    for name, times in (("NY", new_york), ("TK", tokyo)):
        ingest_bars(store, write(tmp_path / f"{name}.csv", "Date,Open,High,Low,Close,Volume", times), name)
        assert store.read(name, Timeframe.day).time.tolist() == expected, name


def test_daily_bars_stamped_at_the_close_are_days_too(store, tmp_path):
    times = [f"{d:%Y-%m-%d}T21:00:00Z" for d in weekdays("2025-01-02", 10)]
    result = ingest_bars(store, write(tmp_path / "close.csv", "time,open,high,low,close,volume", times), "X")
    assert result.timeframe is Timeframe.day
    assert store.read("X", Timeframe.day).time.tolist()[0] == epoch("2025-01-02")


def hourly_session(days: list[datetime], hours: range) -> list[datetime]:
    return [d.replace(hour=h) for d in days for h in hours]


def test_hourly_csv_with_offsets_across_a_clock_change_becomes_an_hourly_dataset(store, tmp_path):
    # New York session hours 10:00-15:00 local, written by pandas with their offsets, across 9 March.
    local = hourly_session(weekdays("2025-03-05", 6), range(10, 16))
    text = [f"{t:%Y-%m-%d %H:%M:%S}{'-05:00' if t.day < 9 else '-04:00'}" for t in local]
    path = write(tmp_path / "hourly.csv", "Datetime,Open,High,Low,Close,Volume", text)
    result = ingest_bars(store, path, "ACME")
    assert result.timeframe is Timeframe.hour and result.rows == 36
    assert sorted(r.timeframe for r in store.catalog.datasets("ACME")) == [Timeframe.day, Timeframe.hour]
    utc = [epoch(f"{t:%Y-%m-%dT%H:%M:%S}") + (5 if t.day < 9 else 4) * 3600 for t in local]
    assert store.read("ACME", Timeframe.hour).time.tolist() == utc
    days = store.read("ACME", Timeframe.day)
    assert len(days) == 6 and days.open.tolist()[0] == 100.0


def test_naive_times_are_utc_unless_a_zone_is_given(store, tmp_path):
    local = hourly_session(weekdays("2025-03-06", 4), range(10, 16))
    path = write(tmp_path / "naive.csv", "time,open,high,low,close,volume", [f"{t:%Y-%m-%d %H:%M}" for t in local])
    ingest_bars(store, path, "UTCX")
    assert store.read("UTCX", Timeframe.hour).time.tolist()[0] == epoch("2025-03-06T10:00")
    ingest_bars(store, path, "NYX", tz="America/New_York")
    got = store.read("NYX", Timeframe.hour).time.tolist()
    assert got[0] == epoch("2025-03-06T15:00") and got[-1] == epoch("2025-03-11T19:00")  # EST, then EDT


def test_a_wall_time_the_clocks_skip_is_refused_with_its_row(store, tmp_path):
    times = [f"2025-03-09 {h:02d}:00:00" for h in range(0, 5)]
    path = write(tmp_path / "gap.csv", "time,open,high,low,close,volume", times)
    with pytest.raises(BarValidationError) as caught:
        ingest_bars(store, path, "GAP", tz="America/New_York")
    assert caught.value.message.startswith("row 3: column 'time' has 2025-03-09T02:00:00 does not exist")
    with pytest.raises(BarValidationError, match="unknown time zone 'Mars/Olympus'"):
        ingest_bars(store, path, "GAP", tz="Mars/Olympus")
    assert store.catalog.instrument("GAP") is None


def test_pandas_parquet_with_a_zoned_index_column(store, tmp_path):
    local = hourly_session(weekdays("2025-03-06", 3), range(10, 16))
    ny = pa.array([int(datetime.fromisoformat(f"{t:%Y-%m-%dT%H:%M}").replace(tzinfo=UTC).timestamp())
                   + (5 if t.day < 9 else 4) * 3600 for t in local], pa.int64())
    n = len(local)
    table = pa.table({"Open": np.full(n, 10.0), "High": np.full(n, 11.0), "Low": np.full(n, 9.0),
                      "Close": np.full(n, 10.5), "Volume": np.arange(n, dtype=np.float64),
                      "__index_level_0__": pa.compute.cast(ny.cast(pa.timestamp("s")),
                                                           pa.timestamp("us", "America/New_York"))})
    pq.write_table(table, tmp_path / "hourly.parquet")
    result = ingest_bars(store, tmp_path / "hourly.parquet", "PQ")
    assert result.timeframe is Timeframe.hour
    assert store.read("PQ", Timeframe.hour).time.tolist() == ny.to_pylist()


def test_a_parquet_file_named_csv_is_read_as_parquet(store, tmp_path):
    pq.write_table(make_minutes(100).to_table(), tmp_path / "really.csv")
    assert ingest_bars(store, tmp_path / "really.csv", "PQ").timeframe is Timeframe.minute


MINUTE = "time,open,high,low,close,volume"


def minute_times(n: int, start: int = T0, step: int = 60) -> list[str]:
    return [str(start + step * i) for i in range(n)]


INTERVAL_PROBLEMS = [
    # (times, words expected in the message)
    (minute_times(1), "a single bar"),
    (minute_times(20, step=300), "row 2: 5 minutes after the row before; bars must be a minute, an hour or a day"),
    (minute_times(20)[:10] + minute_times(10, start=T0 + 630, step=60), "row 11: 90 seconds after the row before"),
    (minute_times(30) + minute_times(8, start=T0 + 7200, step=3600),
     "the bar interval changes inside the file: rows 31 to 38 are whole hours apart, the others a minute apart"),
    (minute_times(10, step=3600) + minute_times(8, start=T0 + 86400, step=86400),
     "rows 11 to 18 are whole days apart, the others an hour apart"),
    (minute_times(8, step=86400) + minute_times(30, start=T0 + 10 * 86400),
     "rows 1 to 9 are whole days apart, the others a minute apart"),
]


@pytest.mark.parametrize(("times", "words"), INTERVAL_PROBLEMS)
def test_irregular_intervals_and_interval_changes_are_refused(store, tmp_path, times, words):
    with pytest.raises(BarValidationError) as caught:
        ingest_bars(store, write(tmp_path / "bad.csv", MINUTE, times), "BAD")
    assert words in caught.value.message
    assert store.catalog.instrument("BAD") is None


def test_minute_bars_with_session_gaps_are_minutes(store, tmp_path):
    bars = make_minutes(3_000, gap_every=390)
    pq.write_table(bars.to_table(), tmp_path / "m.parquet")
    assert ingest_bars(store, tmp_path / "m.parquet", "M").timeframe is Timeframe.minute


def test_reloading_a_symbol_at_a_coarser_interval_drops_its_finer_bars(store, tmp_path):
    pq.write_table(make_minutes(600).to_table(), tmp_path / "m.parquet")
    ingest_bars(store, tmp_path / "m.parquet", "ACME")
    assert len(store.catalog.datasets("ACME")) == 3
    ingest_bars(store, write(tmp_path / "d.csv", "Date,Open,High,Low,Close,Volume", PANDAS_DAILY), "ACME")
    assert [(r.timeframe, r.data_version) for r in store.catalog.datasets("ACME")] == [(Timeframe.day, 2)]
    assert len(store.read("ACME", Timeframe.minute)) == 0


# Bad files: every kind gets one line and changes nothing --------------------------------------------------------

def good_minutes(n: int = 50) -> list[str]:
    return [f"{t},{ohlcv(i)}" for i, t in enumerate(minute_times(n))]


def text_file(lines: list[str]) -> bytes:
    return ("\n".join([MINUTE, *lines]) + "\n").encode()


def big_file_with(bad_line: str, at: int, rows: int = 20_000) -> bytes:
    lines = good_minutes(rows)
    lines[at] = bad_line
    return text_file(lines)


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data)


BAD_FILES = {
    "binary": (b"\x00\x01\x02\xff" * 500, "binary data"),
    "not utf-8": (b"\x89PNG\r\n\x1a\n" + bytes(range(128, 256)) * 8, "not UTF-8 text"),
    "zip": (b"PK\x03\x04" + b"\x00" * 40, "a ZIP archive"),
    "empty": (b"", "the file is empty"),
    "header only": (MINUTE.encode() + b"\n", "no bars"),
    "short line in the first block": (text_file(good_minutes(5)[:2] + ["1735689720,10,11"] + good_minutes(5)[3:]),
                                      "line 4 (row 3): 3 fields where the header has 6: a truncated or ragged line"),
    "long line in the first block": (text_file(good_minutes(5)[:1] + ["1735689660,10,11,9,10,1,7"]),
                                     "line 3 (row 2): 7 fields where the header has 6"),
    "ragged line deep in the file": (big_file_with("1736889600,1,2", 15_000),
                                     "line 15002 (row 15001): 3 fields"),
    "truncated last line": (text_file(good_minutes(20))[:-9], "line 21 (row 20)"),
    "truncated last value": (text_file(good_minutes(3))[:-5] + b"\n", "row 3: column 'volume' is empty"),
    "binary deep in the file": (big_file_with("1736889600,BINARY,2,1,1,1", 15_000).replace(b"BINARY", b"\xff\xfe"),
                                "line 15002 (row 15001): binary or non-UTF-8 data in column 'open'"),
    "NUL bytes deep in the file": (big_file_with("1736889600,1,2,\x00\x00,1,1", 15_000),
                                   "row 15001: column 'low' has '\\x00\\x00', expected a number"),
    "truncated gzip": (gzipped(text_file(good_minutes(2_000)))[:3_000], "gzip"),
    "interval change": (text_file(good_minutes(30) + [f"{T0 + 7200 + 3600 * i},{ohlcv(i)}" for i in range(8)]),
                        "the bar interval changes inside the file"),
}


def write_bad(tmp_path, name: str) -> object:
    data, _ = BAD_FILES[name]
    path = tmp_path / ("bad.csv.gz" if name == "truncated gzip" else "bad.csv")
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_every_bad_file_is_one_clear_error(store, tmp_path, name, monkeypatch):
    monkeypatch.setattr(files_module, "CSV_BLOCK_BYTES", 64 << 10)  # several blocks for the large files
    with pytest.raises(BarValidationError) as caught:
        ingest_bars(store, write_bad(tmp_path, name), "BAD")
    assert BAD_FILES[name][1] in caught.value.message
    assert "\n" not in caught.value.message
    assert store.catalog.instrument("BAD") is None


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_the_cli_reports_every_bad_file_in_one_line(tmp_path, capsys, name):
    data_dir = tmp_path / "data"
    good = tmp_path / "good.csv"
    good.write_bytes(text_file(good_minutes(120)))
    assert main(["ingest", str(good), "--symbol", "ACME", "--data-dir", str(data_dir)]) == 0
    capsys.readouterr()
    assert main(["ingest", str(write_bad(tmp_path, name)), "--symbol", "ACME", "--data-dir", str(data_dir)]) == 1
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if not line.startswith("ingest: ")]
    assert len(lines) == 1 and lines[0].startswith("error: ") and lines[0].endswith("; nothing was changed")
    assert BAD_FILES[name][1] in lines[0] and out == ""
    assert Catalog(data_dir / "catalog.sqlite3").dataset("ACME", Timeframe.minute).data_version == 1


def test_the_cli_names_the_interval_span_and_timeframes(tmp_path, capsys):
    path = write(tmp_path / "daily.csv", "Date,Open,High,Low,Close,Volume", PANDAS_DAILY)
    assert main(["ingest", str(path), "--symbol", "spy", "--data-dir", str(tmp_path / "data")]) == 0
    assert capsys.readouterr().out.strip() == ("ingested 30 daily bars of SPY from 2025-01-02 to 2025-02-12; "
                                               "timeframes day; data version 1")
    local = hourly_session(weekdays("2025-03-06", 2), range(10, 16))
    path = write(tmp_path / "h.csv", "time,open,high,low,close,volume", [f"{t:%Y-%m-%d %H:%M}" for t in local])
    assert main(["ingest", str(path), "--symbol", "acme", "--tz", "America/New_York",
                 "--data-dir", str(tmp_path / "data")]) == 0
    assert capsys.readouterr().out.strip() == ("ingested 12 hourly bars of ACME from 2025-03-06T15:00:00Z to "
                                               "2025-03-07T20:00:00Z; timeframes hour, day; data version 1")


@pytest.mark.parametrize(("times", "row", "words"), [
    (["2025-01-01T00:00:00", "2025-01-01T00:01:00", "2025-01-01T25:02:00"], 3, "'2025-01-01T25:02:00'"),
    (["2025-01-01T00:00:00Z", "2025-01-01T00:01:00+01:00", "2025-13-01T00:02:00Z"], 3, "'2025-13-01T00:02:00Z'"),
    (["2025-01-01", "soon", "2025-01-03"], 2, "'soon', expected an ISO-8601 datetime"),
])
def test_an_unreadable_iso_time_names_its_row(store, tmp_path, times, row, words):
    with pytest.raises(BarValidationError) as caught:
        ingest_bars(store, write(tmp_path / "t.csv", MINUTE, times), "T")
    assert caught.value.row == row and caught.value.message.startswith(f"row {row}: column 'time' has ")
    assert words in caught.value.message


@pytest.mark.parametrize(("header", "words"), [
    ("time,open,high,low,close,Close,volume", "columns 'close', 'Close' all mean close"),
    ("Date,Time,open,high,low,close,volume", "columns 'Date', 'Time' all look like the bar time"),
    ("when,open,high,low,close,volume", "missing column(s) time (the time may be named time, timestamp"),
])
def test_ambiguous_or_missing_columns_are_named(store, tmp_path, header, words):
    path = tmp_path / "c.csv"
    path.write_text(header + "\n" + ",".join(["1735689600"] + ["1"] * (header.count(",") - 1) + ["1"]) + "\n")
    with pytest.raises(BarValidationError) as caught:
        ingest_bars(store, path, "C")
    assert words in caught.value.message


def test_zones_by_fixed_offset_and_for_epoch_seconds(store, tmp_path):
    # Naive times read at +05:30; epoch seconds are instants whatever the zone, and a daily file of them still
    # keeps the dates its clock reads.
    path = write(tmp_path / "kolkata.csv", MINUTE, [f"2025-01-06 09:{m:02d}" for m in range(15, 25)])
    ingest_bars(store, path, "IN", tz="+05:30")
    assert store.read("IN", Timeframe.minute).time.tolist()[0] == epoch("2025-01-06T03:45")
    days = [str(epoch(f"{d:%Y-%m-%d}") - 9 * 3600) for d in weekdays("2025-01-06", 6)]  # Tokyo midnight
    ingest_bars(store, write(tmp_path / "tokyo.csv", MINUTE, days), "JP", tz="Asia/Tokyo")
    assert store.read("JP", Timeframe.day).time.tolist()[0] == epoch("2025-01-06")


def test_text_without_line_breaks_and_broken_parquet_are_one_error(store, tmp_path):
    (tmp_path / "long.csv").write_text("x" * (files_module.SNIFF_BYTES + 10))
    with pytest.raises(BarValidationError, match="no line break in the first 64 KB"):
        ingest_bars(store, tmp_path / "long.csv", "X")
    pq.write_table(make_minutes(50_000).to_table(), tmp_path / "m.parquet", row_group_size=10_000,
                   compression="zstd")
    data = bytearray((tmp_path / "m.parquet").read_bytes())
    data[len(data) // 2:len(data) // 2 + 4096] = b"\xff" * 4096  # compressed pages in the middle
    (tmp_path / "m.parquet").write_bytes(bytes(data))
    with pytest.raises(BarValidationError, match="not a readable Parquet file"):
        ingest_bars(store, tmp_path / "m.parquet", "X")
    assert store.catalog.instrument("X") is None


def test_the_cli_turns_an_unforeseen_failure_into_one_line(tmp_path, capsys, monkeypatch):
    import backend.market.ingest as ingest_package

    def broken(*_args, **_kwargs):
        raise RuntimeError("something no check foresaw\nsecond line")

    monkeypatch.setattr(ingest_package, "read_ingest_file", broken)
    good = tmp_path / "good.csv"
    good.write_bytes(text_file(good_minutes(10)))
    assert main(["ingest", str(good), "--symbol", "X", "--data-dir", str(tmp_path / "data")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "could not read the file (RuntimeError: something no check foresaw)" in err
    assert err.strip().endswith("nothing was changed")
