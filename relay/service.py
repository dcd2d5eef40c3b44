"""A relay process: reads demand, claims demanded runs with leases, relays each, and hands viewers' controls
to the run they are for.

Any number of relays run side by side. Each demanded run is claimed by exactly one of them (the lease); a relay
that holds fewer runs claims sooner, so runs spread across relays. A run nobody demands any more (its last api
node stopped asking, a grace period after its last viewer left) is released: its lease is dropped at once, so
that a later viewer's relay need not wait out a TTL, and its keys expire after ``idle_ttl_s``.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections import OrderedDict
from copy import copy
from dataclasses import dataclass

import redis.asyncio as aioredis

from common.keys import KeySpace
from common.logging import get_logger
from common.redis_client import REDIS_ERRORS
from common.stream.cluster_reader import make_stream_reader
from common.stream.envelope import PlaybackPosition
from common.stream.store import StreamStore
from common.tasks import cancel_and_wait, supervise
from relay.metrics import RelayMetrics
from relay.run_relay import LeaseLost, RunRefused, RunRelay
from relay.settings import RelaySettings

log = get_logger("hewston.relay")
# A run the backend refused (deleted, no longer visible) is not claimed again for this long.
_REFUSED_COOLDOWN_S = 60.0
# Positions remembered for runs this relay stopped relaying (restart where they were if their history is lost).
_REMEMBERED_RUNS = 10_000
# Controls sent at most this long before a relay claimed the run are still applied.
_RECENT_CONTROLS_MS = 10_000


@dataclass
class _Held:
    relay: RunRelay
    task: asyncio.Task[None]
    token: str
    controls_key: str


class RelayService:
    def __init__(self, settings: RelaySettings, redis: aioredis.Redis, blocking_redis: aioredis.Redis,
                 metrics: RelayMetrics | None = None, *, relay_id: str | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or RelayMetrics()
        self.relay_id = relay_id or secrets.token_hex(4)
        self.metrics.identity.info({"relay_id": self.relay_id})
        self.keys = KeySpace(settings.redis_key_prefix)
        self.redis = redis
        self.store = StreamStore(redis, self.keys, settings.retention)
        self.reader = make_stream_reader(blocking_redis, redis, self.keys, f"relay-{self.relay_id}",
                                         block_ms=settings.control_block_ms,
                                         socket_timeout_s=settings.control_block_ms / 1000
                                         + settings.redis_socket_timeout_s)
        self.held: dict[str, _Held] = {}
        self._by_controls_key: dict[str, str] = {}
        self._remembered: OrderedDict[str, PlaybackPosition] = OrderedDict()
        self._refused_until: dict[str, float] = {}
        self._log = log.bind(relay_id=self.relay_id)

    async def run(self) -> None:
        """Relay until cancelled; on the way out every lease is released, so other relays take over at once."""
        self._log.info("relay_started", backend=self.settings.backend_url)
        tasks = [supervise(self._scan_loop, name="relay-scan", restarts=self.metrics.task_restarts),
                 supervise(self._control_loop, name="relay-controls", restarts=self.metrics.task_restarts)]
        try:
            # The loops end only when cancelled. Waiting on them (a gather would pass this task's cancellation on
            # to them, and wait as long as one of them lost it) lets a stop begin here whatever they are doing.
            await asyncio.wait(tasks)
        finally:
            await self._stop(tasks)

    async def _stop(self, loops: list[asyncio.Task[None]]) -> None:
        """The loops end, then every run ends and its lease is given back, all runs at once; each step bounded,
        so that a stop ends well within the process's exit deadline whatever a connection or Redis does."""
        still_running = await cancel_and_wait(loops, timeout_s=self.settings.stop_timeout_s)
        if still_running:
            self._log.warning("relay_loops_did_not_stop", tasks=sorted(task.get_name() for task in still_running))
        await asyncio.gather(*(self._release(run_id) for run_id in list(self.held)))
        self._log.info("relay_stopped")

    # Demand and leases -------------------------------------------------------------------------------------

    async def _scan_loop(self) -> None:
        failing = False
        while True:
            try:
                await self.scan()
                if failing:
                    self._log.info("redis_recovered")
                failing = False
            except REDIS_ERRORS as exc:
                if not failing:
                    self._log.warning("redis_unavailable", error=type(exc).__name__)
                failing = True
            await asyncio.sleep(self.settings.scan_interval_s)

    async def scan(self) -> None:
        """One pass: release what is no longer demanded, claim what is demanded and unheld."""
        demanded = await self.store.demanded_runs(grace_ms=int(self.settings.demand_grace_s * 1000))
        for run_id in [run_id for run_id in self.held if run_id not in demanded.deadlines]:
            await self._release(run_id)
        now = time.monotonic()
        candidates = [run_id for run_id in demanded.wanted()
                      if run_id not in self.held and self._refused_until.get(run_id, 0.0) <= now]
        room = self.settings.max_runs - len(self.held)
        if not candidates or room <= 0:
            return
        # A run this relay remembers (it relayed it until Redis lost its history, or its lease) is claimed at once:
        # only this relay knows where that playback was. Other relays defer such a claim by one scan interval.
        remembered = [run_id for run_id in candidates if run_id in self._remembered][:room]
        for run_id in remembered:
            await self._claim(run_id)
        others = [run_id for run_id in candidates if run_id not in self._remembered][:room - len(remembered)]
        if not others:
            return
        # Each run already held delays this relay's claims a little more, so the least loaded relay claims first.
        await asyncio.sleep(self.settings.scan_interval_s + min(len(self.held) * 0.01, self.settings.scan_interval_s)
                            + random.uniform(0, 0.01))
        for run_id in others:
            await self._claim(run_id)

    async def _claim(self, run_id: str) -> None:
        token = f"{self.relay_id}:{secrets.token_hex(8)}"
        claim = await self.store.claim(run_id, token, lease_ttl_ms=int(self.settings.lease_ttl_s * 1000))
        if claim is None:
            return
        # A new epoch (or one ended because the stream went backwards) restarts where this relay last was.
        restart_from = self._remembered.pop(run_id, None) if claim.fresh or claim.offset == 0 else None
        relay = RunRelay(run_id, claim, token=token, store=self.store, settings=self.settings,
                         metrics=self.metrics, restart_from=restart_from)
        controls_key = self.keys.run_stream(run_id).controls
        task = asyncio.create_task(relay.run(), name=f"relay-{run_id}")
        held = _Held(relay, task, token, controls_key)
        self.held[run_id] = held
        self._by_controls_key[controls_key] = run_id
        task.add_done_callback(lambda done: self._ended(run_id, held, done))
        self.metrics.runs_held.set(len(self.held))
        self.metrics.lease_changes.labels("took_over" if claim.takeover else "claimed").inc()
        self._log.info("run_claimed", run_id=run_id, epoch=claim.epoch, offset=claim.offset, fresh=claim.fresh,
                       takeover=claim.takeover, cursor=relay.position.cursor)
        # Controls not yet applied are this relay's to apply: those after the last one recorded as applied, if
        # they are recent (a first viewer's "play" usually arrives before any relay holds the run). Redis's clock
        # comes with the claim, so nothing can fail between holding the run and reading its controls.
        recent = (claim.redis_now_ms - _RECENT_CONTROLS_MS, 0)
        ms, seq = max(recent, _stream_id(claim.last_control))
        try:
            await self.reader.watch(controls_key, f"{ms}-{seq}")
        except REDIS_ERRORS:
            pass  # only the wake-up failed: the next read includes the run's controls anyway

    def _forget(self, run_id: str, held: _Held) -> None:
        if self.held.get(run_id) is held:
            del self.held[run_id]
        self._by_controls_key.pop(held.controls_key, None)
        self.reader.unwatch(held.controls_key)
        self.metrics.runs_held.set(len(self.held))
        if held.relay.position.cursor is not None:
            self._remembered[run_id] = copy(held.relay.position)
            self._remembered.move_to_end(run_id)
            while len(self._remembered) > _REMEMBERED_RUNS:
                self._remembered.popitem(last=False)

    def _ended(self, run_id: str, held: _Held, task: asyncio.Task[None]) -> None:
        """The run's relay stopped on its own: lease lost, refused by the backend, or a bug."""
        if task.cancelled() or self.held.get(run_id) is not held:
            return  # released on purpose: _release did the bookkeeping
        self._forget(run_id, held)
        exc = task.exception()
        if isinstance(exc, LeaseLost):
            self.metrics.lease_changes.labels("lost").inc()
            self._log.warning("lease_lost", run_id=run_id, reason=str(exc))
        elif isinstance(exc, RunRefused):
            self._refused_until[run_id] = time.monotonic() + _REFUSED_COOLDOWN_S
            self._log.warning("run_refused_by_backend", run_id=run_id, reason=str(exc))
        else:
            self._log.error("run_relay_failed", run_id=run_id, error=repr(exc))
        # Whatever happened, the lease must not outlive the relaying: give it back if it is still ours.
        asyncio.get_running_loop().create_task(self._drop_lease(run_id, held.token))

    async def _release(self, run_id: str) -> None:
        held = self.held.get(run_id)
        if held is None:
            return
        self._forget(run_id, held)
        if await cancel_and_wait([held.task], timeout_s=self.settings.stop_timeout_s):
            # Its appends are fenced: once the lease is given back below it can publish nothing more.
            self._log.warning("run_relay_did_not_stop", run_id=run_id, timeout_s=self.settings.stop_timeout_s)
        await self._drop_lease(run_id, held.token)
        self.metrics.lease_changes.labels("released").inc()
        self._log.info("run_released", run_id=run_id, offset=held.relay.offset)

    async def _drop_lease(self, run_id: str, token: str) -> None:
        try:
            async with asyncio.timeout(self.settings.redis_socket_timeout_s):
                await self.store.release(run_id, token, idle_ttl_ms=int(self.settings.idle_ttl_s * 1000))
        except REDIS_ERRORS:
            pass  # the lease expires on its own within its TTL

    # Controls --------------------------------------------------------------------------------------------------

    async def _control_loop(self) -> None:
        failing = False
        while True:
            try:
                batches = await self.reader.read()
                failing = False
            except REDIS_ERRORS as exc:
                if not failing:
                    self._log.warning("control_read_failed", error=type(exc).__name__)
                failing = True
                await asyncio.sleep(min(1.0, self.settings.scan_interval_s))
                continue
            for key, entries in batches:
                held = self.held.get(self._by_controls_key.get(key, ""))
                if held is None:
                    continue
                for entry_id, fields in entries:
                    await held.relay.control(entry_id.decode(), fields[b"c"].decode(), fields[b"x"])



def _stream_id(text: str) -> tuple[int, int]:
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)
