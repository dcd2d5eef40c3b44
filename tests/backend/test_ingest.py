"""Ingest of CSV and Parquet files: formats, every validation error with its row or column, atomicity, CLI."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from backend.catalog import Catalog
from backend.market.bars import BarArrays
from backend.market.ingest import IngestProgress, ingest_bars, read_bars_file
from backend.market.ingest import files as ingest_module
from backend.market.store import BarStore
from backend.market.validate import BarValidationError, normalize_symbol
from common.models.bars import AssetClass, Instrument, Timeframe
from hewston.cli import main
from tests.backend.market_data import T0, assert_bars_equal, make_minutes

HEADER = "time,open,high,low,close,volume\n"
GOOD_ROWS = ["1735689600,10,11,9,10.5,100", "1735689660,10.5,12,10,11,200", "1735689720,11,11.5,10.5,11,0"]


@pytest.fixture
def store(tmp_path) -> BarStore:
    return BarStore(tmp_path / "bars", Catalog(tmp_path / "catalog.sqlite3"))


def write_csv(path, rows: list[str], header: str = HEADER):
    path.write_text(header + "\n".join(rows) + "\n")
    return path


def bars_csv(path, bars: BarArrays):
    pcsv.write_csv(bars.to_table(), path)
    return path


def test_csv_roundtrip_and_version_bump(store, tmp_path):
    bars = make_minutes(2_000, gap_every=300)
    result = ingest_bars(store, bars_csv(tmp_path / "acme.csv", bars), "acme", name="Acme Corp",
                         asset_class=AssetClass.equity)
    assert (result.symbol, result.rows, result.data_version) == ("ACME", 2_000, 1)
    assert (result.first_time, result.last_time) == (int(bars.time[0]), int(bars.time[-1]))
    assert_bars_equal(store.read("ACME", Timeframe.minute), bars)

    again = ingest_bars(store, bars_csv(tmp_path / "acme2.csv", bars.slice(0, 10)), "ACME")
    assert again.data_version == 2
    instrument = store.catalog.instrument("ACME")
    assert (instrument.name, instrument.asset_class, instrument.synthetic) == ("Acme Corp", AssetClass.equity,
                                                                                False)
    assert store.catalog.dataset("ACME", Timeframe.hour).data_version == 2


def test_iso_times_naive_are_utc_and_offsets_are_honoured(tmp_path):
    path = write_csv(tmp_path / "iso.csv", [
        "2025-01-01T00:00:00,10,11,9,10,1",
        "2025-01-01 00:01:00,10,11,9,10,1",
        "2025-01-01T00:02:00Z,10,11,9,10,1",
        "2025-01-01T01:03:00+01:00,10,11,9,10,1",
        "2024-12-31T19:04:00-05:00,10,11,9,10,1",
        "2025-01-02,10,11,9,10,1",
    ])
    expected = [T0, T0 + 60, T0 + 120, T0 + 180, T0 + 240, T0 + 86400]
    assert read_bars_file(path).bars.time.tolist() == expected


def test_extra_columns_are_ignored_and_gzip_is_read(tmp_path):
    text = "volume,close,extra,low,high,open,time\n100,10.5,anything,9,11,10,1735689600\n"
    path = tmp_path / "bars.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write(text)
    bars = read_bars_file(path).bars
    assert bars.time.tolist() == [T0] and bars.open.tolist() == [10.0] and bars.volume.tolist() == [100.0]


@pytest.mark.parametrize("time_column", ["int", "timestamp_utc", "timestamp_naive", "string"])
def test_parquet_time_columns(store, tmp_path, time_column):
    bars = make_minutes(500)
    table = bars.to_table()
    if time_column == "timestamp_utc":
        time = pa.array(bars.time * 1000, pa.timestamp("ms", "UTC"))
    elif time_column == "timestamp_naive":
        time = pa.array(bars.time, pa.timestamp("s"))
    elif time_column == "string":
        time = pa.array([datetime.fromtimestamp(t, UTC).isoformat() for t in bars.time.tolist()])
    else:
        time = pa.array(bars.time.astype(np.int32))
    table = table.set_column(0, "time", time)
    pq.write_table(table, tmp_path / "bars.parquet")
    ingest_bars(store, tmp_path / "bars.parquet", "PQ")
    assert_bars_equal(store.read("PQ", Timeframe.minute), bars)


BAD_INPUTS = [
    # (rows, header, column, row, words expected in the message)
    (GOOD_ROWS, "time,open,high,low,close\n", "volume", None, "missing column(s) volume"),
    ([GOOD_ROWS[0], "yesterday,10,11,9,10,1"], HEADER, "time", 2, "'yesterday'"),
    ([GOOD_ROWS[0], "2025-01-01T00:01:00,10,11,9,10,1"], HEADER, "time", 2, "mix epoch seconds"),
    (["2025-01-01T00:00:00.5,10,11,9,10,1"], HEADER, "time", 1, "fraction of a second"),
    ([GOOD_ROWS[0], ",10,11,9,10,1"], HEADER, "time", 2, "empty"),
    ([*GOOD_ROWS, "1735689780,ten,11,9,10,1"], HEADER, "open", 4, "'ten'"),
    ([GOOD_ROWS[0], "1735689660,10,,9,10,1"], HEADER, "high", 2, "empty"),
    ([GOOD_ROWS[0], GOOD_ROWS[0]], HEADER, "time", 2, "duplicate time"),
    ([GOOD_ROWS[1], GOOD_ROWS[0]], HEADER, "time", 2, "sorted"),
    ([*GOOD_ROWS[:2], "1735689720,10,9,11,10,1"], HEADER, "high", 3, "high is below low [open=10.0, high=9.0"),
    (["1735689600,12,11,9,10,1"], HEADER, "open", 1, "open is outside [low, high]"),
    (["1735689600,10,11,9,8.5,1", "1735689660,10,11,9,8,1"], HEADER, "close", 1, "2 rows affected"),
    ([GOOD_ROWS[0], "1735689660,10,11,9,10,-5"], HEADER, "volume", 2, "volume is negative"),
    ([GOOD_ROWS[0], "1735689660,NaN,11,9,10,1"], HEADER, "open", 2, "NaN"),
    ([GOOD_ROWS[0], "1735689660,10,inf,9,10,1"], HEADER, "high", 2, "not a finite number"),
    ([], HEADER, None, None, "no data rows"),
]


@pytest.mark.parametrize(("rows", "header", "column", "row", "words"), BAD_INPUTS)
def test_bad_input_names_the_column_and_row(store, tmp_path, rows, header, column, row, words):
    path = write_csv(tmp_path / "bad.csv", rows, header) if rows else tmp_path / "bad.csv"
    if not rows:
        path.write_text(header)
    with pytest.raises(BarValidationError) as caught:
        ingest_bars(store, path, "BAD")
    error = caught.value
    assert (error.column, error.row) == (column, row)
    assert words in error.message
    if row is not None:
        assert error.message.startswith(f"row {row}:")
    assert store.catalog.instrument("BAD") is None  # nothing was recorded


def test_failed_ingest_leaves_previous_data_and_version_untouched(store, tmp_path):
    bars = make_minutes(300)
    ingest_bars(store, bars_csv(tmp_path / "good.csv", bars), "ACME")
    before = store.catalog.datasets("ACME")
    bad = make_minutes(300, seed=5)
    bad.high[150] = bad.low[150] - 1.0
    with pytest.raises(BarValidationError, match="row 151"):
        ingest_bars(store, bars_csv(tmp_path / "bad.csv", bad), "ACME")
    assert store.catalog.datasets("ACME") == before
    assert_bars_equal(store.read("ACME", Timeframe.minute), bars)
    assert [p.name for p in (store.root / "ACME").iterdir()] == ["v1"]


def test_symbols_are_normalised_and_validated():
    assert normalize_symbol(" brk.b ") == "BRK.B"
    for bad in ("", "-ACME", "A" * 33, "AC ME", "ÄCME", "ACME/USD"):
        with pytest.raises(BarValidationError) as caught:
            normalize_symbol(bad)
        assert caught.value.column == "symbol"


def test_progress_is_reported_per_batch(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest_module, "CSV_BLOCK_BYTES", 16 << 10)
    path = bars_csv(tmp_path / "big.csv", make_minutes(5_000))
    seen: list[IngestProgress] = []
    bars = read_bars_file(path, progress=seen.append).bars
    assert len(bars) == 5_000 and len(seen) > 3
    assert [p.rows for p in seen] == sorted(p.rows for p in seen) and seen[-1].rows == 5_000
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and fractions[0] < 0.5


def test_parquet_progress_reaches_one(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest_module, "PARQUET_BATCH_ROWS", 1_000)
    pq.write_table(make_minutes(3_500).to_table(), tmp_path / "bars.parquet")
    seen: list[IngestProgress] = []
    read_bars_file(tmp_path / "bars.parquet", progress=seen.append)
    assert [p.rows for p in seen] == [1_000, 2_000, 3_000, 3_500]
    assert seen[-1].fraction == 1.0


def test_unreadable_files_are_reported(tmp_path, store):
    with pytest.raises(BarValidationError, match="no such file"):
        ingest_bars(store, tmp_path / "missing.csv", "X")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(BarValidationError, match="not a readable Parquet file"):
        ingest_bars(store, tmp_path / "junk.parquet", "X")


def test_cli_ingest_success_and_failure(tmp_path, capsys):
    data_dir = tmp_path / "data"
    good = bars_csv(tmp_path / "good.csv", make_minutes(120))
    assert main(["ingest", str(good), "--symbol", "acme", "--asset-class", "equity", "--name", "Acme",
                 "--data-dir", str(data_dir)]) == 0
    out, err = capsys.readouterr()
    assert "120 minute bars of ACME" in out and "data version 1" in out
    assert "rows read (100%)" in err

    bad = write_csv(tmp_path / "bad.csv", [GOOD_ROWS[0], "1735689660,10,11,9,10,-1"])
    assert main(["ingest", str(bad), "--symbol", "ACME", "--data-dir", str(data_dir)]) == 1
    out, err = capsys.readouterr()
    assert "row 2: volume is negative" in err and "nothing was changed" in err
    catalog = Catalog(data_dir / "catalog.sqlite3")
    assert catalog.dataset("ACME", Timeframe.minute).data_version == 1
    assert catalog.instrument("ACME").asset_class is AssetClass.equity

    assert main(["ingest", str(good), "--symbol", "not valid!", "--data-dir", str(data_dir)]) == 1
    assert "symbol 'not valid!' is not valid" in capsys.readouterr().err


def test_a_refused_ingest_into_a_new_data_directory_creates_nothing(tmp_path, capsys):
    data_dir = tmp_path / "new-data"
    bad = write_csv(tmp_path / "bad.csv", [GOOD_ROWS[0], "1735689660,10,11,9,10,-1"])
    assert main(["ingest", str(bad), "--symbol", "ACME", "--data-dir", str(data_dir)]) == 1
    assert "nothing was changed" in capsys.readouterr().err
    assert not data_dir.exists()


def test_fields_separated_by_semicolons_tabs_or_bars_are_read(store, tmp_path):
    for name, delimiter in (("semicolon", ";"), ("tab", "\t"), ("bar", "|")):
        rows = [row.replace(",", delimiter) for row in GOOD_ROWS]
        path = write_csv(tmp_path / f"{name}.csv", rows, header=HEADER.replace(",", delimiter))
        assert ingest_bars(store, path, f"S{name.upper()}").rows == len(GOOD_ROWS)


def test_a_header_of_one_field_names_the_separators_read(store, tmp_path):
    path = write_csv(tmp_path / "colons.csv", [row.replace(",", ":") for row in GOOD_ROWS],
                     header=HEADER.replace(",", ":"))
    with pytest.raises(BarValidationError, match=r"one field.*separated by , ; tab or \|"):
        ingest_bars(store, path, "ACME")


def test_real_bars_for_a_demo_symbol_drop_the_synthetic_name(store, tmp_path):
    store.write_bars(Instrument(symbol="ACME", name="Acme Corporation (synthetic)", asset_class=AssetClass.equity,
                                synthetic=True), make_minutes(60), Timeframe.minute)
    ingest_bars(store, bars_csv(tmp_path / "real.csv", make_minutes(120)), "ACME")
    instrument = store.catalog.instrument("ACME")
    assert (instrument.name, instrument.synthetic, instrument.asset_class) == ("Acme Corporation", False,
                                                                               AssetClass.equity)
