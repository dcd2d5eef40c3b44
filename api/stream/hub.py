"""The shared stream on one api node: which runs have local viewers, one reader for all of them, and the
housekeeping that keeps relays and viewers informed.

- **Reading.** One task does a blocking ``XREAD`` over the streams and reply streams of every run with local
  viewers, on a Redis connection of its own (``common.stream.reader``). Each message goes to its run's feed,
  which fans the same object out to every local viewer's queue; viewers whose queue is full are resynchronised.
- **Demand.** Every ``stream_demand_refresh_s`` the node records its viewers per run (each with a deadline of
  ``stream_demand_ttl_s``), which is what relays claim runs by; the answer gives each run's viewers on every
  node, and its epoch and offset, so a stream whose history was lost is noticed even when no message flows.
- **Heartbeats.** A run that sent nothing for ``stream_heartbeat_s`` (a paused playback is silent) gets one.
- **Presence.** When a run's viewer count changes (here, or on another node as the demand refresh learns), its
  viewers are told with a ``presence`` message, at most once every ``stream_presence_s``, playing or paused.
- **Access.** Viewers' access is re-checked by a task of its own (``access_recheck``), never in housekeeping.
- **Going away.** When the node shuts down, every viewer's socket is closed with 1001 before the server stops,
  so that clients reconnect to another node with their resume point (``going_away``).
- **Redis down.** Viewers already watching are told (``upstream`` lost, from this node) and kept. When Redis
  answers again each run is checked where the node left it: a stream that is still there (a stall, a restart
  with AOF) costs nothing — the reader carries on from the same offset, nobody is reset or sent anything twice;
  a new epoch (history lost) resets the run's viewers; a stream that went backwards (its state behind the
  offset the node holds, or another message under it) is ended as an epoch (``StreamStore.rewind``), and its
  viewers are reset into the new one once its first snapshot is there. Offsets are never reused within an epoch.

The hub's Redis calls use a client of their own with a generous timeout, not the REST path's breaker: under
a burst of thousands of viewers connecting, the event loop lags, and a REST-sized timeout would read that lag
as Redis failing — skipping demand refreshes (so the relay lets the run go) and sending viewers to the direct
fallback. The hub knows Redis is down when its reader cannot read, and only then gives up on it at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import orjson
from starlette.websockets import WebSocket

from api.settings import ApiSettings
from api.stream.access_recheck import AccessRechecks
from api.stream.feed import ResumePlan, RunFeed
from api.stream.join_access import JoinAccess
from api.stream.memory import bound_node_memory
from api.stream.metrics import StreamMetrics
from api.stream.socket_writer import Item
from api.stream.viewer import Viewer
from api.views import AccessChecks, SharedTasks
from common.close_codes import CloseCode
from common.keys import KeySpace
from common.logging import get_logger
from common.models.stream import ResetCause, ResumeOutcome, UpstreamState
from common.redis_client import REDIS_ERRORS
from common.sockets import close
from common.stream.cluster_reader import ClusterStreamReader
from common.stream.reader import StreamReader
from common.stream.store import Entry, StreamStore, parse_entry, stream_id
from common.tasks import cancel_and_wait, supervise

log = get_logger("hewston.api.stream")
T = TypeVar("T")
# A run's control stream outlives the relay that reads it by this long, then goes away with nobody watching.
_CONTROLS_TTL_MS = 60_000
_MB = 1024 * 1024


class BrokerUnavailable(Exception):
    """Redis cannot be used to join the shared stream right now (the caller falls back to a direct playback)."""


def _now_ms() -> int:
    return int(time.time() * 1000)


class StreamHub:
    def __init__(self, *, store: StreamStore, reader: StreamReader | ClusterStreamReader, keys: KeySpace,
                 settings: ApiSettings, metrics: StreamMetrics, node_id: str, access: AccessChecks) -> None:
        self.store = store
        self.access = access
        self.reader = reader
        self.keys = keys
        self.settings = settings
        self.metrics = metrics
        self.node_id = node_id
        metrics.node.info({"node_id": node_id})
        self.feeds: dict[str, RunFeed] = {}
        self._keys: dict[str, tuple[str, bool]] = {}  # stream or replies key -> (run id, is replies)
        self._loading: SharedTasks[str, RunFeed] = SharedTasks()
        self._reloading: dict[str, asyncio.Task[None]] = {}
        self._history: SharedTasks[tuple[str, int, int], list[Entry]] = SharedTasks()
        self._withdrawn: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._broker_down = False
        self._refreshing: asyncio.Task[None] | None = None
        # Demand refreshes one at a time, each counting when it starts: two in flight could land out of order,
        # and a count from before a viewer left would then stand until its deadline.
        self._refresh_lock = asyncio.Lock()
        self._viewer_seq = 0
        # Sockets of viewers on a private direct playback (Redis was down when they came), for going_away.
        self.direct: set[WebSocket] = set()
        self.join_access = JoinAccess(access, ttl_s=settings.access_cache_ttl_s)
        self.access_rechecks = AccessRechecks(
            access, self._all_viewers, interval_s=settings.stream_access_recheck_s,
            timeout_s=settings.stream_access_timeout_s, concurrency=settings.stream_access_concurrency)

    # Lifecycle ----------------------------------------------------------------------------------------------

    async def start(self) -> None:
        restarts = self.metrics.task_restarts
        self._tasks = [supervise(self._read_loop, name="stream-reader", restarts=restarts),
                       supervise(self._housekeeping_loop, name="stream-housekeeping", restarts=restarts),
                       supervise(self._presence_loop, name="stream-presence", restarts=restarts),
                       supervise(self.access_rechecks.run_forever, name="stream-access-rechecks",
                                 restarts=restarts)]

    async def stop(self) -> None:
        """End every task the hub started: its loops, and the demand refresh and per-run repairs under way (left
        running, they would go on using the Redis clients the node closes next). A task whose cancellation a Redis
        call swallowed is cancelled again, for at most the stream's Redis timeout."""
        tasks = [*self._tasks, *self._reloading.values()]
        if self._refreshing is not None:
            tasks.append(self._refreshing)
        self._tasks = []
        still_running = await cancel_and_wait(tasks, timeout_s=self.settings.stream_redis_timeout_s)
        if still_running:
            log.error("stream_tasks_did_not_stop", budget_s=self.settings.stream_redis_timeout_s,
                      still_running=sorted(task.get_name() for task in still_running))

    async def going_away(self, timeout_s: float = 3.0) -> None:
        """This node is shutting down: close every viewer's socket with 1001 (going away) so that its client
        reconnects, to another node, with its resume point; wait (at most ``timeout_s``) until they are gone."""
        reason = "this api node is shutting down; reconnect with your resume point"
        viewers = self._all_viewers()
        for viewer in viewers:
            viewer.end(CloseCode.going_away, reason)
        direct = list(self.direct)
        await asyncio.gather(*(close(websocket, CloseCode.going_away, reason) for websocket in direct))
        log.info("stream_node_going_away", viewers=len(viewers), direct_viewers=len(direct))
        deadline = time.monotonic() + timeout_s
        while any(feed.viewers for feed in self.feeds.values()) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    def _all_viewers(self) -> list[Viewer]:
        return [viewer for feed in self.feeds.values() for viewer in feed.viewers.values()]

    def new_client_id(self) -> str:
        self._viewer_seq += 1
        return f"{self.node_id}-{self._viewer_seq}"

    async def _redis(self, op: Callable[[], Awaitable[T]]) -> T:
        """One Redis call of the hub; raises :class:`BrokerUnavailable` when it fails."""
        if self._broker_down:
            raise BrokerUnavailable("the stream reader cannot reach Redis")
        try:
            async with asyncio.timeout(self.settings.stream_redis_timeout_s):
                return await op()
        except REDIS_ERRORS as exc:
            raise BrokerUnavailable(type(exc).__name__) from exc

    # Viewers ------------------------------------------------------------------------------------------------

    async def attach(self, viewer: Viewer, epoch: str | None, offset: int | None) -> ResumeOutcome:
        """Join ``viewer`` to its run's stream, queue hello and its catch-up, and start it; raises
        :class:`BrokerUnavailable` when Redis cannot be used (nothing is left registered then)."""
        while True:
            feed = await self._feed(viewer.run_id)
            plan = feed.plan_resume(epoch, offset)
            if plan.outcome is ResumeOutcome.reset and await self._published_beyond_feed(feed, epoch, offset):
                # This node's reader is a little behind the stream (the viewer came from a node ahead of it): the
                # point is valid. What follows it arrives with the reader; what the feed has up to it is skipped.
                plan = ResumePlan(ResumeOutcome.recovered, offset, [])  # type: ignore[arg-type]
            if self.feeds.get(viewer.run_id) is feed:
                break
            # The run's last viewer left while this one waited, and its feed was dropped: a viewer registered
            # there would get nothing and be counted after it left. Join the run afresh.
        feed.attach(viewer, plan)
        self.metrics.viewers.inc()
        try:
            if len(feed.viewers) == 1:
                # The run's first viewer here: ask for a relay now rather than at the next refresh, and learn how
                # many watch on other nodes for its hello.
                await self._refresh_demand()
            history: list[Item] | None = []
            if plan.missing is not None:
                history = await self._missing(feed, plan)
                if history is None:  # trimmed meanwhile, or the epoch changed: start the viewer over
                    plan = ResumePlan(ResumeOutcome.reset, 0, feed.since_snapshot(ResetCause.history_lost))
                    history = []
            hello = {"type": "hello", "epoch": feed.epoch, "offset": plan.offset, "run_id": viewer.run_id,
                     "client_id": viewer.client_id, "can_control": viewer.can_control,
                     "viewers": feed.viewer_count, "degraded": False, "resume": plan.outcome.value}
            viewer.start([Item(plan.offset, orjson.dumps(hello).decode(), published=False)],
                         [*history, *plan.items])
        except BaseException:
            self.detach(viewer)
            raise
        self.metrics.resumes.labels(plan.outcome.value).inc()
        return plan.outcome

    async def _published_beyond_feed(self, feed: RunFeed, epoch: str | None, offset: int | None) -> bool:
        """Whether ``(epoch, offset)`` is in the feed's epoch, past what the feed holds, and published."""
        if epoch is None or epoch != feed.epoch or offset is None or offset <= feed.last_offset:
            return False
        stream_epoch, stream_offset = await self._redis(lambda: self.store.position(feed.run_id))
        return stream_epoch == epoch and offset <= stream_offset

    def detach(self, viewer: Viewer) -> None:
        feed = self.feeds.get(viewer.run_id)
        self.metrics.messages_out.inc(viewer.messages_sent)
        viewer.messages_sent = 0
        if feed is None or viewer.client_id not in feed.viewers:
            return
        feed.detach(viewer)
        self.metrics.viewers.dec()
        if not feed.viewers:
            self._drop_feed(feed)

    async def push_control(self, viewer: Viewer, control: dict) -> None:
        """Hand a control to the relay through the run's control stream; raises BrokerUnavailable."""
        data = orjson.dumps(control)
        await self._redis(lambda: self.store.push_control(viewer.run_id, viewer.client_id, data,
                                                          ttl_ms=_CONTROLS_TTL_MS))

    # Feeds --------------------------------------------------------------------------------------------------

    async def _feed(self, run_id: str) -> RunFeed:
        feed = self.feeds.get(run_id)
        if feed is not None:
            return feed
        return await self._loading.run(run_id, lambda: self._load(run_id), name=f"stream-load-{run_id}")

    async def _load(self, run_id: str) -> RunFeed:
        state = await self._redis(lambda: self.store.join(run_id))
        feed = RunFeed(run_id, recent_messages=self.settings.stream_recent_messages,
                       recent_bytes=self.settings.stream_recent_mb * _MB)
        feed.load(state)
        self.feeds[run_id] = feed
        self._withdrawn.discard(run_id)
        keys = self.keys.run_stream(run_id)
        self._keys[keys.stream] = (run_id, False)
        self._keys[keys.replies] = (run_id, True)
        self.reader.seek(keys.replies, state.reply_id)
        try:
            await self.reader.watch(keys.stream, stream_id(feed.last_offset))
        except REDIS_ERRORS:
            pass  # the reader picks the run up with its next read anyway
        self.metrics.runs.set(len(self.feeds))
        return feed

    def _drop_feed(self, feed: RunFeed) -> None:
        if self.feeds.get(feed.run_id) is not feed:
            return
        del self.feeds[feed.run_id]
        keys = self.keys.run_stream(feed.run_id)
        for key in (keys.stream, keys.replies):
            self._keys.pop(key, None)
            self.reader.unwatch(key)
        # The next refresh withdraws this node's viewers; the run's deadline lapses after the demand TTL,
        # which is the grace period before its relay lets it go.
        self._withdrawn.add(feed.run_id)
        self.metrics.runs.set(len(self.feeds))

    async def _missing(self, feed: RunFeed, plan: ResumePlan) -> list[Item] | None:
        """History older than the feed remembers, read once for every viewer resuming from the same point."""
        after, upto = plan.missing  # type: ignore[misc]
        try:
            entries = await self._history.run(
                (feed.run_id, after, upto), lambda: self._redis(lambda: self.store.history(feed.run_id, after, upto)))
        except BrokerUnavailable:
            return None
        complete = len(entries) == upto - after and (not entries or entries[0].offset == after + 1)
        if not complete or any(entry.epoch != feed.epoch for entry in entries):
            return None
        return [Item(entry.offset, entry.data.decode()) for entry in entries]

    def _repair_soon(self, feed: RunFeed, work: Coroutine[Any, Any, None], what: str) -> None:
        """Run ``work`` (a reload, a check, a rewind) for the feed's run unless one is already under way."""
        if feed.run_id in self._reloading:
            work.close()
            return
        task = asyncio.create_task(work, name=f"stream-{what}-{feed.run_id}")
        self._reloading[feed.run_id] = task
        task.add_done_callback(lambda _t: self._reloading.pop(feed.run_id, None))

    def _reload_soon(self, feed: RunFeed) -> None:
        self._repair_soon(feed, self._reload(feed), "reload")

    def _verify_soon(self, feed: RunFeed) -> None:
        if feed.epoch is not None:
            self._repair_soon(feed, self._verify(feed), "verify")

    def _rewind_soon(self, feed: RunFeed, held_offset: int) -> None:
        self._repair_soon(feed, self._rewind(feed, held_offset), "rewind")

    async def _verify(self, feed: RunFeed) -> None:
        """After the reader lost Redis: is the run's stream still the one the feed follows, up to the message the
        feed holds last? Then nothing happens at all. If it went backwards, its epoch ends here."""
        await self._rewind(feed, feed.last_offset, feed.last_message())
        # Otherwise: the same epoch and offset (the reader goes on from there), or a new epoch, which the
        # demand refresh (asked for now) notices.
        self._refresh_soon()

    async def _rewind(self, feed: RunFeed, held_offset: int, held_message: bytes = b"") -> None:
        """End the run's epoch if its stream is behind ``held_offset`` (or holds another message there)."""
        epoch = feed.epoch
        try:
            went_back = await self._redis(
                lambda: self.store.rewind(feed.run_id, epoch, held_offset, held_message))  # type: ignore[arg-type]
        except BrokerUnavailable:
            return  # the next recovery, or demand refresh, looks again
        if went_back:
            self.metrics.went_back.inc()
            log.warning("stream_went_backwards", run_id=feed.run_id, epoch=epoch, offset=held_offset)

    async def _reload(self, feed: RunFeed) -> None:
        """The run's stream is not the one the feed follows (a new epoch): start its viewers over."""
        try:
            state = await self._redis(lambda: self.store.join(feed.run_id))
        except BrokerUnavailable:
            return  # the next demand refresh notices again
        if self.feeds.get(feed.run_id) is not feed:
            return
        if state.snapshot is None:
            # The new epoch has no snapshot yet (a relay claimed the run, or is reconnecting, and has not published
            # it): viewers stay in the epoch their last message gave them until it has one, since only a reset
            # snapshot may move a viewer to another epoch (a presence or heartbeat sent meanwhile would carry an
            # epoch they were never given). What the reader took meanwhile is read again, so the snapshot it may
            # have brought (refused while this reload was on its way) triggers the next reload at once.
            await self._read_again_from(feed)
            return
        before, followed = feed.epoch, feed.followed_a_stream
        feed.load(state)
        # Viewers that joined before the run's stream existed are just starting, not losing anything.
        feed.reset_viewers(ResetCause.history_lost if followed else ResetCause.connect)
        self.metrics.reloads.inc()
        log.info("stream_epoch_changed", run_id=feed.run_id, epoch=feed.epoch, previous=before,
                 offset=feed.last_offset)
        await self._read_again_from(feed)

    async def _read_again_from(self, feed: RunFeed) -> None:
        """The reader reads the run's stream again from just after the feed's last message (waking its read)."""
        key, after = self.keys.run_stream(feed.run_id).stream, stream_id(feed.last_offset)
        try:
            await self.reader.watch(key, after)
        except REDIS_ERRORS:
            self.reader.seek(key, after)

    # Reading ------------------------------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        backoff_s = 0.05
        while True:
            try:
                batches = await self.reader.read()
            except REDIS_ERRORS as exc:
                if not self._broker_down:
                    self._broker_down = True
                    log.warning("stream_reader_lost_redis", error=type(exc).__name__)
                    self._notify(UpstreamState.lost, "the broker (Redis) is unavailable; waiting for it")
                await asyncio.sleep(backoff_s)
                backoff_s = min(backoff_s * 2, 2.0)
                continue
            backoff_s = 0.05
            if self._broker_down:
                self._broker_down = False
                log.info("stream_reader_recovered")
                self._notify(UpstreamState.resumed, "the broker (Redis) is back")
                for feed in list(self.feeds.values()):
                    self._verify_soon(feed)  # still where it was? lost, or gone backwards meanwhile?
            for key, entries in batches:
                self._dispatch(key, entries)
            self._bound_memory()

    def _dispatch(self, key: str, entries: list) -> None:
        run_id, is_replies = self._keys.get(key, ("", False))
        feed = self.feeds.get(run_id)
        if feed is None:
            return
        if is_replies:
            for _entry_id, fields in entries:
                viewer = feed.viewers.get(fields[b"c"].decode())
                if viewer is not None:
                    viewer.push_own({"type": "error", **orjson.loads(fields[b"d"])})
            return
        now_ms = _now_ms()
        taken = feed.on_entries([parse_entry(entry_id, fields) for entry_id, fields in entries])
        self.metrics.messages_in.inc(len(taken.entries))
        for entry in taken.entries:
            self.metrics.delivery_lag.observe(max(0, now_ms - entry.published_ms) / 1000)
        for viewer in taken.overflowed:
            skipped = feed.resync(viewer)
            self.metrics.resyncs.inc()
            self.metrics.skipped.inc(skipped)
            log.info("viewer_resynchronised", run_id=run_id, client_id=viewer.client_id, skipped=skipped)
        if taken.reload:
            self._reload_soon(feed)

    def _bound_memory(self) -> None:
        kept = bound_node_memory(self.feeds.values(), self.settings.stream_node_memory_mb * _MB)
        self.metrics.memory_bytes.set(kept)

    def _notify(self, state: UpstreamState, reason: str) -> None:
        for feed in self.feeds.values():
            feed.broadcast_own({"type": "broker", "ts": _now_ms(), "state": state.value, "reason": reason})

    # Housekeeping -------------------------------------------------------------------------------------------

    async def _housekeeping_loop(self) -> None:
        refresh_s = self.settings.stream_demand_refresh_s
        next_refresh = time.monotonic() + refresh_s
        while True:
            await asyncio.sleep(min(1.0, refresh_s))
            now = time.monotonic()
            for feed in self.feeds.values():
                if feed.viewers and now - feed.last_sent_at >= self.settings.stream_heartbeat_s:
                    feed.announced_viewers = feed.viewer_count
                    feed.broadcast_own({"type": "heartbeat", "ts": _now_ms(), "viewers": feed.viewer_count})
                sent = sum(viewer.messages_sent for viewer in feed.viewers.values())
                for viewer in feed.viewers.values():
                    viewer.messages_sent = 0
                self.metrics.messages_out.inc(sent)
            if now >= next_refresh:
                next_refresh = now + refresh_s
                await self._refresh_demand()

    async def _presence_loop(self) -> None:
        """Tell each run's viewers how many watch, whenever that changed (a few times a second at most)."""
        while True:
            await asyncio.sleep(self.settings.stream_presence_s)
            for feed in self.feeds.values():
                count = feed.viewer_count
                if feed.viewers and count != feed.announced_viewers:
                    feed.announced_viewers = count
                    feed.broadcast_own({"type": "presence", "ts": _now_ms(), "viewers": count})

    def _refresh_soon(self) -> None:
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.create_task(self._refresh_demand(), name="stream-demand-refresh")

    async def _refresh_demand(self) -> None:
        async with self._refresh_lock:
            await self._refresh_demand_now()

    async def _refresh_demand_now(self) -> None:
        counts = {run_id: len(feed.viewers) for run_id, feed in self.feeds.items()}
        counts.update({run_id: 0 for run_id in self._withdrawn if run_id not in counts})
        if not counts:
            return
        epochs = {run_id: feed.epoch for run_id, feed in self.feeds.items()}
        offsets = {run_id: feed.last_offset for run_id, feed in self.feeds.items()}
        ttl_ms = int(self.settings.stream_demand_ttl_s * 1000)
        try:
            demand = await self._redis(lambda: self.store.refresh_demand(
                self.node_id, counts, ttl_ms=ttl_ms, key_ttl_ms=ttl_ms * 6))
        except BrokerUnavailable:
            return
        # Only what this refresh withdrew is done: a run whose last viewer left while it was on its way still has
        # its 0 to send.
        self._withdrawn.difference_update(run_id for run_id, count in counts.items() if count == 0)
        for run_id, seen in demand.items():
            feed = self.feeds.get(run_id)
            if feed is None:
                continue
            feed.remote_viewers = max(0, seen.viewers - counts[run_id])
            # A new epoch means the history was lost; a feed reloaded while this answer was on its way, or a
            # run whose stream is not there yet (no relay has claimed it again), is left to the next refresh.
            fresh_answer = feed.epoch == epochs.get(run_id)
            if not fresh_answer or seen.epoch is None or self._broker_down:
                continue
            if seen.epoch != feed.epoch:
                self._reload_soon(feed)
            elif seen.offset is not None and seen.offset < offsets[run_id]:
                # Behind what this node already delivered, in the same epoch: the stream went backwards.
                self._rewind_soon(feed, offsets[run_id])
