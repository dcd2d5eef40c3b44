"""arq's worker with a stop that always ends, and in time.

arq stops a worker (SIGTERM, SIGINT, or ``close()`` when ``hewston up`` ends) by cancelling its running jobs and its
poll loop once, then waiting for them without a limit. A cancellation can be lost (see :mod:`common.tasks`): the
poll loop sends a Redis command every half second, and one that completes just as the cancellation lands returns
its result instead of raising, so the loop polls on and the worker never exits. This worker takes arq's steps
with :func:`common.tasks.cancel_and_wait` instead: running jobs may finish for ``job_completion_wait``; then the
jobs left and the poll loop are cancelled, again and again until they have ended, for at most ``stop_timeout_s``
(a cancelled job goes back to the queue, as with arq); the clean-up (arq's health key, the shutdown hook, the
connection) gets as long again. A worker that is its own process also has an exit deadline past those steps, the
last guarantee that its process ends, whatever still runs.
"""

from __future__ import annotations

import asyncio
from signal import Signals
from typing import Any

from arq.worker import Worker

from common.logging import get_logger
from common.serving import ExitDeadline
from common.tasks import cancel_and_wait

log = get_logger("hewston.worker")


class BoundedStopWorker(Worker):
    def __init__(self, *, stop_timeout_s: float, exit_deadline: ExitDeadline | None = None, **options: Any) -> None:
        """``options`` are arq's (:func:`workers.worker.worker_options`); ``exit_deadline`` starts with the stop."""
        super().__init__(**options)
        self.stop_timeout_s = stop_timeout_s
        self.exit_deadline = exit_deadline
        self.stop_requested = False
        self._stopping: asyncio.Task[None] | None = None

    # arq calls these from its signal handlers, and ``handle_sig`` from ``close()`` when it has none.
    def handle_sig(self, signum: Signals) -> None:
        self._stop_requested()
        self._stop_soon(Signals(signum).name, wait_s=0)

    def handle_sig_wait_for_completion(self, signum: Signals) -> None:
        self._stop_requested()
        self._stop_soon(Signals(signum).name, wait_s=self._job_completion_wait)

    def _stop_requested(self) -> None:
        self.stop_requested = True
        if self.exit_deadline is not None:
            self.exit_deadline.start()

    def _stop_soon(self, cause: str, *, wait_s: float) -> None:
        """``cause``: the signal's name, ``SIGUSR1`` when ``hewston up`` ends, ``connection_lost``."""
        self.allow_pick_jobs = False
        if self._stopping is None:
            log.info("worker_stopping", cause=cause, wait_s=wait_s,
                     running_jobs=sum(not task.done() for task in self.tasks.values()))
            self._stopping = self.loop.create_task(self._stop(cause, wait_s), name="worker-stop")

    async def _stop(self, cause: str, wait_s: float) -> None:
        # Jobs the poll loop was starting as the signal came are waited for too.
        deadline = self.loop.time() + wait_s
        while (running := [task for task in self.tasks.values() if not task.done()]) and \
                (left_s := deadline - self.loop.time()) > 0:
            await asyncio.wait(running, timeout=left_s)
        # The jobs' own tasks too: arq's wrapper around a job stops waiting for it when cancelled twice, and the
        # job would then run on with nobody to end it.
        tasks = [*self.tasks.values(), *self.job_tasks.values(), *([self.main_task] if self.main_task else [])]
        returned = sum(not task.done() for task in self.tasks.values())
        still_running = await cancel_and_wait(tasks, timeout_s=self.stop_timeout_s)
        if still_running:
            log.error("worker_tasks_did_not_stop", budget_s=self.stop_timeout_s,
                      still_running=sorted(task.get_name() for task in still_running))
        log.info("worker_jobs_stopped", cause=cause, complete=self.jobs_complete, failed=self.jobs_failed,
                 retried=self.jobs_retried, cancelled=returned)
        if self.on_stop is not None and cause in Signals.__members__:
            self.on_stop(Signals[cause])

    async def close(self) -> None:
        if not self._handle_signals:
            self.handle_sig(Signals.SIGUSR1)  # inside hewston up, the end of its block is the stop
        elif any(not task.done() for task in self.tasks.values()):
            # Its poll loop ended by itself (its Redis gone): the jobs still running end the same bounded way
            # before it starts again (not a stop: no exit deadline).
            self._stop_soon("connection_lost", wait_s=0)
        if self._stopping is not None:
            await asyncio.shield(self._stopping)
        if not self._pool:
            return
        try:
            async with asyncio.timeout(self.stop_timeout_s):
                await self.pool.delete(self.health_check_key)
                if self.on_shutdown:
                    await self.on_shutdown(self.ctx)
                await self.pool.aclose(close_connection_pool=True)
        except TimeoutError:
            log.error("worker_clean_up_overran", budget_s=self.stop_timeout_s)
        self._pool = None
