"""Decimation of long lines (a run's equity curve, its strategy's indicator lines) in worker processes.

MinMaxLTTB (tsdownsample) holds the GIL for the whole call, 3-5 ms for a year of minutes: on the event loop it
stops every other request, and on a thread just the same. A small pool of processes decimates instead, while the
loop answers the other parts of the same page (metrics, orders). A worker reads the run's columns itself and
returns only the indices it keeps; the backend builds the document from its own arrays, so the bytes are those it
would have built alone. Short lines stay on the loop, where decimating costs less than the hand-off.

Whatever happens to the pool, a request is answered: when no worker is ready, the queue is full, a worker takes
longer than ``timeout_s`` or the pool broke, the line is decimated on the loop (logged once until the pool
answers again), and a broken pool is started anew after a pause.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from backend.runs import decimation_worker
from backend.runs.equity_curve import line_indices
from backend.runs.lines import Points, RunLines
from common.logging import get_logger

log = get_logger("hewston.decimation")

# Jobs waiting per worker before further lines are decimated on the loop instead of queueing behind them.
QUEUED_PER_WORKER = 2
# A broken pool is started anew at most this often.
RESTART_PAUSE_S = 5.0


class LineDecimator:
    def __init__(self, workers: int, min_points: int, timeout_s: float, runs_per_worker: int,
                 on_decimated: Callable[[str], None] = lambda where: None) -> None:
        self.workers = workers
        self.on_decimated = on_decimated
        self.min_points = min_points
        self.timeout_s = timeout_s
        self.runs_per_worker = runs_per_worker
        self._pool: ProcessPoolExecutor | None = None
        self._ready: Future | None = None
        self._in_flight = 0
        self._restart_at = 0.0
        self._warned = False
        # Lines long enough for the pool: decimated by a worker, or (no worker ready or able) on the loop.
        self.on_pool = 0
        self.on_loop = 0

    # Lifecycle ----------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker processes (they import in the background; lines go to the loop until they are ready)."""
        if self.workers == 0:
            return
        # spawn, not fork: the backend has threads (run executor, loop helpers) that a fork would copy mid-state.
        self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=decimation_worker.start,
                                         initargs=(self.runs_per_worker, os.getpid()))
        readies = [self._pool.submit(decimation_worker.ready) for _ in range(self.workers)]
        self._ready = readies[-1]

    @property
    def pids(self) -> list[int]:
        """The worker processes' ids."""
        return [p.pid for p in getattr(self._pool, "_processes", {}).values() if p.pid is not None]

    async def aclose(self, timeout_s: float = 5.0) -> None:
        """Stop the workers: queued jobs are dropped, a running one may finish within ``timeout_s``, then the
        workers left are killed."""
        pool, self._pool, self._restart_at = self._pool, None, 0.0
        if pool is None:
            return
        processes = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        await asyncio.to_thread(_join_or_kill, processes, timeout_s)

    # Decimating ---------------------------------------------------------------------------------------------

    async def indices(self, lines: RunLines, points: list[Points], n_out: int) -> list[np.ndarray]:
        """For each of ``points`` (the backend's own points of ``lines``), the indices of at most ``n_out`` points
        that keep its shape."""
        longest = max((int(x.shape[0]) for x, _ in points), default=0)
        if longest > n_out and sum(int(x.shape[0]) for x, _ in points) >= self.min_points:
            chosen = await self._on_pool(lines, points, n_out)
            if chosen is not None:
                self.on_pool += 1
                self.on_decimated("pool")
                return chosen
            self.on_loop += 1
            self.on_decimated("loop")
        return [line_indices(x, y, n_out) for x, y in points]

    def warm(self, run_dir: str, points: int) -> None:
        """Have a worker read the curve's columns of a run that is long enough for the pool, without waiting."""
        pool = self._usable_pool() if points >= self.min_points else None
        if pool is not None:
            # A read that fails here fails again in the first job, which then falls back on the loop and says so.
            try:
                pool.submit(decimation_worker.warm, run_dir)
            except BrokenProcessPool:
                self._broken()

    async def _on_pool(self, lines: RunLines, points: list[Points], n_out: int) -> list[np.ndarray] | None:
        pool = self._usable_pool()
        if pool is None:
            return None
        self._in_flight += 1
        try:
            job = asyncio.wrap_future(pool.submit(decimation_worker.decimate, lines, n_out))
            answer = await asyncio.wait_for(job, self.timeout_s)
        except BrokenProcessPool:
            return self._broken()
        except TimeoutError:
            return self._warn(f"a worker took longer than {self.timeout_s:g} s")
        except Exception as exc:  # noqa: BLE001 - a worker's error (an unreadable artifact) must not fail the request
            return self._warn(f"a worker failed: {type(exc).__name__}: {exc}")
        finally:
            self._in_flight -= 1
        if [n for n, _ in answer] != [int(x.shape[0]) for x, _ in points]:
            return self._warn("a worker's lines differ from the backend's")
        self._warned = False
        return [keep for _, keep in answer]

    def _usable_pool(self) -> ProcessPoolExecutor | None:
        if self._pool is None and self.workers and self._restart_at and time.monotonic() >= self._restart_at:
            self._restart_at = 0.0
            self.start()
        if self._pool is None or self._ready is None or not self._ready.done():
            return None
        if self._ready.exception() is not None:
            self._broken()
            return None
        if self._in_flight >= QUEUED_PER_WORKER * self.workers:
            return None
        return self._pool

    def _broken(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
            self._restart_at = time.monotonic() + RESTART_PAUSE_S
        self._warn("the pool's processes stopped")

    def _warn(self, reason: str) -> None:
        """Say once (until a worker answers again) why lines are decimated on the loop."""
        if not self._warned:
            self._warned = True
            log.warning("decimation_on_loop", reason=reason)
        return None


def _join_or_kill(processes: list[multiprocessing.Process], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join(1.0)
