"""Ingest of bar files: CSV or Parquet as real tools write them, into the bar store.

Columns are found by name whatever their case, with the usual aliases for the time (:mod:`.columns`); times
may carry a zone offset or be read in a given zone (:mod:`.convert`, :mod:`.zones`); the file's bar interval
(minute, hour or day) is detected and becomes the dataset's timeframe (:mod:`.interval`). Any bad file is
refused with one message naming the problem (:mod:`.files`), and nothing is written (:mod:`.load`).
"""

from backend.market.ingest.files import FileBars, IngestProgress, ProgressCallback, read_bars_file
from backend.market.ingest.load import IngestResult, ingest_bars, read_ingest_file, store_bars, store_ingested

__all__ = ["FileBars", "IngestProgress", "IngestResult", "ProgressCallback", "ingest_bars", "read_bars_file",
           "read_ingest_file", "store_ingested",
           "store_bars"]
