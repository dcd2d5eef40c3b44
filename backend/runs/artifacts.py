"""A completed run's artifacts: written once, immutable afterwards, read by the runs API and by playback.

Layout of ``runs/<run_id>/`` (written into a temporary directory and renamed into place, so a reader never
sees half a run):

- ``timeline.parquet`` — one row per bar of the run: ``time`` (epoch s UTC), ``open``, ``high``, ``low``,
  ``close``, ``volume``, and the account marked at that bar's close: ``equity``, ``drawdown`` (fraction below
  the running peak, 0 or negative), ``position`` (signed units), ``cash``.
- ``fills.parquet`` — one row per fill in time order: ``bar_index`` (row of the timeline it happened at),
  ``time``, ``side`` (``buy``/``sell``), ``quantity`` (positive units), ``price``, ``fee``, ``reason``,
  ``realized_pnl`` (money realised by this fill, net of its fee).
- ``metrics.json`` — the run's metrics (see the engine docs), UTF-8 JSON.

The bars are copied into the run so that a run replays identically even after its symbol is re-ingested.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from backend.engine.results import Fills, RunArtifacts, Timeline
from backend.market.bars import BarArrays

TIMELINE = "timeline.parquet"
FILLS = "fills.parquet"
METRICS = "metrics.json"

_TIMELINE_SCHEMA = pa.schema([
    ("time", pa.int64()), ("open", pa.float64()), ("high", pa.float64()), ("low", pa.float64()),
    ("close", pa.float64()), ("volume", pa.float64()), ("equity", pa.float64()), ("drawdown", pa.float64()),
    ("position", pa.float64()), ("cash", pa.float64()),
])
_FILLS_SCHEMA = pa.schema([
    ("bar_index", pa.int64()), ("time", pa.int64()), ("side", pa.string()), ("quantity", pa.float64()),
    ("price", pa.float64()), ("fee", pa.float64()), ("reason", pa.string()), ("realized_pnl", pa.float64()),
])


def write_artifacts(runs_dir: Path, run_id: str, artifacts: RunArtifacts) -> Path:
    """Write a run's artifacts atomically; refuses to overwrite an existing run (artifacts are immutable)."""
    final = runs_dir / run_id
    if final.exists():
        raise FileExistsError(f"artifacts of run {run_id} already exist")
    runs_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{run_id}-", dir=runs_dir))
    try:
        t = artifacts.timeline
        columns = [t.bars.time, t.bars.open, t.bars.high, t.bars.low, t.bars.close, t.bars.volume,
                   t.equity, t.drawdown, t.position, t.cash]
        # Dictionary encoding buys nothing on float series and triples the write time of a long run.
        pq.write_table(pa.Table.from_arrays([pa.array(c) for c in columns], schema=_TIMELINE_SCHEMA),
                       tmp / TIMELINE, compression="zstd", use_dictionary=False)
        f = artifacts.fills
        fill_columns = [f.bar_index, f.time, f.side, f.quantity, f.price, f.fee, f.reason, f.realized_pnl]
        pq.write_table(pa.Table.from_arrays([pa.array(c) for c in fill_columns], schema=_FILLS_SCHEMA),
                       tmp / FILLS, compression="zstd", use_dictionary=["side", "reason"])
        (tmp / METRICS).write_bytes(orjson.dumps(artifacts.metrics, option=orjson.OPT_SERIALIZE_NUMPY))
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def read_timeline(run_dir: Path) -> Timeline:
    table = pq.read_table(run_dir / TIMELINE, memory_map=True)
    col = lambda name: table.column(name).to_numpy()  # noqa: E731
    bars = BarArrays(col("time"), col("open"), col("high"), col("low"), col("close"), col("volume"))
    return Timeline(bars=bars, equity=col("equity"), drawdown=col("drawdown"), position=col("position"),
                    cash=col("cash"))


def read_fills(run_dir: Path) -> Fills:
    table = pq.read_table(run_dir / FILLS, memory_map=True)
    col = lambda name: table.column(name).to_numpy(zero_copy_only=False)  # noqa: E731
    return Fills(bar_index=col("bar_index"), time=col("time"), side=table.column("side").to_pylist(),
                 quantity=col("quantity"), price=col("price"), fee=col("fee"),
                 reason=table.column("reason").to_pylist(), realized_pnl=col("realized_pnl"))


def read_metrics(run_dir: Path) -> dict[str, Any]:
    return orjson.loads((run_dir / METRICS).read_bytes())
