"""The decimation processes' side: read a completed run's columns from its artifacts and return the indices that
MinMaxLTTB keeps of its lines.

Nothing large crosses between processes: a job names the run's directory and a stretch of its bars, and the
answer is a few thousand indices. A worker reads only the columns a job needs from the memory-mapped timeline
(artifacts never change once written) and keeps them for its most recent runs, so a run's second curve costs
the decimation alone. A worker exits on its own when the backend that started it is gone, whatever killed it.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import orjson
import pyarrow.parquet as pq

from backend.market.bars import BarArrays
from backend.runs.artifacts import TIMELINE
from backend.runs.equity_curve import decimation_x, line_indices
from backend.runs.lines import BAR_COLUMNS, RunLines, compute_indicators, points_of
from backend.strategies.indicators import Indicators

# How often a worker checks that the backend that started it still runs.
ORPHAN_CHECK_S = 0.5


class _LoadedRun:
    """One run's columns, each read from the memory-mapped timeline when a job first needs it."""

    def __init__(self, run_dir: str) -> None:
        self.path = Path(run_dir) / TIMELINE
        self.columns: dict[str, np.ndarray] = {}
        self.indicators: dict[tuple[str, str], Indicators] = {}

    def column(self, name: str) -> np.ndarray:
        array = self.columns.get(name)
        if array is None:
            table = pq.read_table(self.path, columns=[name], memory_map=True)
            array = self.columns[name] = table.column(name).to_numpy()
        return array

    def line_column(self, name: str) -> np.ndarray:
        """A column as a line's x or y: time kept as the floats it is decimated as (converted once per run)."""
        if name != "time":
            return self.column(name)
        x = self.columns.get("time:x")
        if x is None:
            x = self.columns["time:x"] = decimation_x(self.column("time"))
        return x

    def indicators_of(self, lines: RunLines) -> Indicators:
        key = (lines.strategy or "", lines.params)
        found = self.indicators.get(key)
        if found is None:
            bars = BarArrays(*(self.column(name) for name in BAR_COLUMNS))
            found = self.indicators[key] = compute_indicators(key[0], orjson.loads(key[1]), bars)
        return found


_runs: OrderedDict[str, _LoadedRun] = OrderedDict()
_max_runs = 4


def start(max_runs: int, parent_pid: int) -> None:
    """The pool's initializer: how many runs to keep, and leave when ``parent_pid`` is no longer the parent."""
    global _max_runs
    _max_runs = max_runs
    threading.Thread(target=_exit_when_orphaned, args=(parent_pid,), name="orphan-check", daemon=True).start()


def _exit_when_orphaned(parent_pid: int) -> None:
    # A process whose parent died is re-parented (to init or a subreaper), so its parent id changes. The pool's
    # own shutdown never runs when the backend is killed, and a worker blocked on its job queue would wait forever.
    while os.getppid() == parent_pid:
        time.sleep(ORPHAN_CHECK_S)
    os._exit(0)


def ready() -> int:
    """A no-op job that the pool runs once per worker at start, so that the first real job finds it imported."""
    return os.getpid()


def _run(run_dir: str) -> _LoadedRun:
    run = _runs.get(run_dir)
    if run is None:
        run = _runs[run_dir] = _LoadedRun(run_dir)
        while len(_runs) > _max_runs:
            _runs.popitem(last=False)
    _runs.move_to_end(run_dir)
    return run


def warm(run_dir: str) -> None:
    """Read the columns of a run's equity curve ahead of its first job (while the backend loads the run)."""
    run = _run(run_dir)
    run.line_column("time")
    run.column("equity")


def kept() -> dict[str, list[str]]:
    """The runs this worker holds, most recent last, with the columns it has read of each."""
    return {run_dir: sorted(run.columns) for run_dir, run in _runs.items()}


def decimate(lines: RunLines, n_out: int) -> list[tuple[int, np.ndarray]]:
    """For every line of ``lines``: how many points it has (the backend checks it against its own) and the
    indices of at most ``n_out`` of them that keep its shape."""
    run = _run(lines.run_dir)
    return [(int(x.shape[0]), line_indices(x, y, n_out))
            for x, y in points_of(lines, run.line_column, lambda: run.indicators_of(lines))]
