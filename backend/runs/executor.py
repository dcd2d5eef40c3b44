"""Background execution of queued runs on a small thread pool.

The engine is vectorised numpy, which releases the GIL for most of its work, so one or two threads keep the
event loop responsive without the cost of shipping bars to another process. The catalog is the queue of record:
a run is claimed with a conditional update (queued → running), so two executors never run it twice, and on
start every run left queued or running by a stopped process is queued again (one backend process owns a
runs directory, so a run found running at start has no live executor).
"""

from __future__ import annotations

import contextvars
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import structlog

from backend.engine.backtest import run_backtest
from backend.engine.simulate import Costs
from backend.market.bars import BarArrays
from backend.market.store import BarStore
from backend.runs.artifacts import read_metrics, write_artifacts
from backend.runs.repository import RunRecord, RunRepository, RunStatus
from backend.strategies.registry import get_strategy
from common.logging import get_logger
from common.models.backtests import Mode

log = get_logger("hewston.runs")

# Progress is written to the catalog at most this often, so a fast run does not turn into a burst of commits.
_PROGRESS_INTERVAL_S = 0.2


class RunFailed(Exception):
    """A run cannot complete for a reason its owner should read (stored as the run's ``error``)."""


def execute(record: RunRecord, bar_store: BarStore, runs: RunRepository) -> None:
    """Compute a claimed (running) run and store its artifacts; raises RunFailed with a readable reason."""
    last = [0.0]

    def progress(fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] >= _PROGRESS_INTERVAL_S:
            last[0] = now
            runs.set_progress(record.id, fraction)

    final = runs.run_dir(record.id)
    if final.exists():
        # The process stopped between writing the artifacts and recording completion: the artifacts are
        # complete (they are renamed into place in one step), so finish the record from them.
        metrics = read_metrics(final)
        runs.mark_completed(record.id, int(metrics["bars"]), metrics.get("periods_per_year"))
        return
    bars = bar_store.read(record.symbol, record.timeframe, record.from_time, record.to_time)
    if len(bars) == 0:
        raise RunFailed(f"no {record.timeframe.value} bars of {record.symbol} between {record.from_time} "
                        f"and {record.to_time}")
    warmup = _warmup_bars(record, bar_store)
    progress(0.2)
    costs = Costs(cash=record.cash, commission_rate=record.commission_rate, fixed_fee=record.fixed_fee,
                  slippage_bps=record.slippage_bps, fractional=record.fractional)
    artifacts, _ = run_backtest(bars, record.strategy, record.params, Mode(record.mode), costs, progress,
                                warmup=warmup, periods_per_year=record.requested_periods_per_year)
    write_artifacts(runs.runs_dir, record.id, artifacts)
    runs.mark_completed(record.id, len(bars), artifacts.metrics["periods_per_year"])


def _warmup_bars(record: RunRecord, bar_store: BarStore) -> BarArrays | None:
    """The strategy's lookback of bars before the run's first bar, when the run asked for a warm-up."""
    if not record.warmup:
        return None
    strategy = get_strategy(record.strategy)
    lookback = strategy.lookback(strategy.parse_params(record.params))
    return bar_store.read_before(record.symbol, record.timeframe, record.from_time, lookback)


class RunExecutor:
    def __init__(self, runs: RunRepository, bar_store: BarStore, max_workers: int = 1,
                 on_finished: Callable[[str, float], None] | None = None) -> None:
        self.runs = runs
        # Told each execution's outcome and duration (the backend's metrics).
        self.on_finished = on_finished
        self.bar_store = bar_store
        self.max_workers = max_workers
        self._pool = self._new_pool()
        self._lock = threading.Lock()
        self._pending: set[Future[None]] = set()
        self._closed = False

    def _new_pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="backtest")

    def start(self) -> list[str]:
        """Accept work (again, after a shutdown) and recover what a stopped process left behind."""
        with self._lock:
            if self._closed:
                self._pool, self._closed = self._new_pool(), False
        return self.recover()

    def submit(self, run_id: str) -> None:
        with self._lock:
            if self._closed:
                return  # stays queued in the catalog; the next start picks it up
            # The request's context (its correlation id) goes with the run, so its log lines carry it.
            future = self._pool.submit(contextvars.copy_context().run, self.run_now, run_id)
            self._pending.add(future)
        future.add_done_callback(self._discard)

    def _discard(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)

    def run_now(self, run_id: str) -> RunStatus | None:
        """Claim and execute one queued run in the calling thread; returns its final status."""
        if not self.runs.mark_running(run_id):
            return None
        record = self.runs.get(run_id)
        assert record is not None
        structlog.contextvars.bind_contextvars(run_id=run_id)
        started = time.perf_counter()
        status = RunStatus.failed
        # A failure's log line is written before the status changes, so whoever sees "failed" can already find it.
        try:
            execute(record, self.bar_store, self.runs)
            status = RunStatus.completed
        except RunFailed as exc:
            log.warning("run_failed", reason=str(exc))
            self.runs.mark_failed(run_id, str(exc))
        except Exception as exc:
            log.exception("run_crashed")
            self.runs.mark_failed(run_id, f"internal error while running the backtest ({type(exc).__name__})")
        finally:
            structlog.contextvars.unbind_contextvars("run_id")
            if self.on_finished is not None:
                self.on_finished(status.value, time.perf_counter() - started)
        if status is RunStatus.completed:
            log.info("run_completed", run_id=run_id, elapsed_s=round(time.perf_counter() - started, 3))
        return status

    def recover(self) -> list[str]:
        """Queue again every run a stopped process left queued or running, and drop half-written artifacts."""
        for leftover in self.runs.runs_dir.glob(".*-*"):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
        stale = self.runs.ids_with_status(RunStatus.queued, RunStatus.running)
        for run_id in stale:
            self.runs.requeue(run_id)
            self.submit(run_id)
        if stale:
            log.info("runs_recovered", count=len(stale))
        return stale

    def idle(self) -> bool:
        with self._lock:
            return not self._pending

    def shutdown(self) -> None:
        """Finish the run in progress, leave the rest queued in the catalog for the next start."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
