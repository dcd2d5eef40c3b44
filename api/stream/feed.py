"""One run as an api node sees it: its epoch, the latest snapshot, recent messages, and the local viewers.

Everything a viewer needs to start or catch up usually comes from here, not from Redis: the pinned snapshot
and every message after it (what a newcomer or a resynchronised viewer gets), and a window of recent messages
(what a viewer reconnecting within seconds missed). The window never drops the snapshot or anything after it.
It is bounded by message count and by bytes (``recent_bytes``: at top speed a frame carries hundreds of bars, so
a count alone would let one run hold tens of megabytes), and the hub trims it further when the whole node is over
its own bound (``api.stream.memory``). A resume older than the window reads the gap from Redis.
Each published message is decoded to ``str`` once and that same object goes into every viewer's queue.

A feed is synchronous and runs on the event loop; the hub does its I/O (reads, history, reloads).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from itertools import takewhile

import orjson

from api.stream.socket_writer import Item
from api.stream.viewer import Viewer, fan_out
from common.models.stream import ResetCause, ResumeOutcome
from common.stream.envelope import relabel_snapshot
from common.stream.store import Entry, JoinState


@dataclass(frozen=True)
class ResumePlan:
    outcome: ResumeOutcome
    offset: int                    # the offset `hello` carries
    items: list[Item]              # what to send after hello, from memory
    missing: tuple[int, int] | None = None  # (after, upto): history to read from Redis before ``items``


@dataclass(frozen=True)
class Taken:
    entries: list[Entry]       # read in the feed's epoch (delivered now, or before)
    overflowed: list[Viewer]   # viewers whose queue overflowed: resynchronise them
    reload: bool = False       # the stream is not the one this feed follows (a new epoch, or a gap)


def item_bytes(item: Item) -> int:
    """What one remembered message costs: its text and the prepared WebSocket frame of the same bytes (built
    once any viewer is sent it), counted whether or not it was built yet, so the bound never depends on timing."""
    return 2 * item.size


class RunFeed:
    def __init__(self, run_id: str, *, recent_messages: int, recent_bytes: int) -> None:
        self.run_id = run_id
        self.recent_messages = recent_messages
        self.recent_bytes = recent_bytes
        # What ``recent`` costs (see :func:`item_bytes`), kept up to date as items come and go.
        self.memory_bytes = 0
        self.epoch: str | None = None
        # Whether this feed ever followed a stream: a new epoch after that is history lost, not a first start.
        self.followed_a_stream = False
        self.last_offset = 0
        self.snapshot: Entry | None = None
        self.recent: deque[Item] = deque()
        self.viewers: dict[str, Viewer] = {}
        self.remote_viewers = 0
        self.announced_viewers = 0  # the count last sent to this node's viewers (hello, heartbeat, presence)
        self.last_sent_at = time.monotonic()
        self._relabelled: dict[tuple[int, ResetCause], Item] = {}
        self._since: dict[tuple[int, ResetCause, int], list[Item]] = {}

    # State from Redis ---------------------------------------------------------------------------------------

    def load(self, state: JoinState) -> None:
        """Start over from what the run's stream holds now (first viewer, or a new epoch)."""
        self.epoch, self.last_offset = state.epoch, state.offset
        self.followed_a_stream = self.followed_a_stream or state.epoch is not None
        self.snapshot = state.snapshot
        self._relabelled.clear()
        self._since.clear()
        self.recent = deque()
        self.memory_bytes = 0
        if state.snapshot is not None:
            self._remember(self._item(state.snapshot))
        for entry in state.tail:
            self._remember(self._item(entry))
        if self.recent:
            self.last_offset = max(self.last_offset, self.recent[-1].offset)
        self._trim_recent()

    def last_message(self) -> bytes:
        """The bytes of the newest message this feed holds (what the stream must still hold under
        ``last_offset`` for the feed to carry on), or nothing when it holds none."""
        if self.recent and self.recent[-1].offset == self.last_offset:
            return self.recent[-1].text.encode()
        return b""

    def on_entries(self, entries: list[Entry]) -> Taken:
        """Take messages read from the stream, oldest first, and hand the new ones to every viewer at once (one
        write per viewer that keeps up, however many there are). Stops at an entry showing that the stream is not
        the one this feed follows (``reload``); what came before it is delivered."""
        items: list[Item] = []
        taken: list[Entry] = []
        reload = False
        for entry in entries:
            if entry.epoch != self.epoch or entry.offset > self.last_offset + 1:
                reload = True
                break
            taken.append(entry)
            if entry.offset <= self.last_offset:
                continue  # read twice (a read raced a reload): already delivered
            item = self._item(entry)
            self.last_offset = entry.offset
            if entry.type == "snapshot":
                self.snapshot = entry
            self._remember(item)
            items.append(item)
        if not items:
            return Taken(taken, [], reload)
        self._trim_recent()
        self.last_sent_at = time.monotonic()
        return Taken(taken, fan_out(self.viewers.values(), items), reload)

    def _remember(self, item: Item) -> None:
        self.recent.append(item)
        self.memory_bytes += item_bytes(item)

    def _trim_recent(self) -> None:
        recent = self.recent
        while (len(recent) > self.recent_messages or self.memory_bytes > self.recent_bytes) and self.trimmable:
            self.memory_bytes -= item_bytes(recent.popleft())

    @property
    def trimmable(self) -> bool:
        """Whether the oldest remembered message may go: only what comes before the pinned snapshot may."""
        snapshot_offset = self.snapshot.offset if self.snapshot else self.last_offset + 1
        return bool(self.recent) and self.recent[0].offset < snapshot_offset

    def trim_to(self, target_bytes: int) -> int:
        """Forget the oldest messages before the pinned snapshot until at most ``target_bytes`` are kept (or
        nothing more may go); returns the bytes freed."""
        before = self.memory_bytes
        while self.memory_bytes > target_bytes and self.trimmable:
            self.memory_bytes -= item_bytes(self.recent.popleft())
        return before - self.memory_bytes

    @staticmethod
    def _item(entry: Entry) -> Item:
        return Item(entry.offset, entry.data.decode())

    # Starting and catching up viewers ------------------------------------------------------------------------

    def since_snapshot(self, cause: ResetCause) -> list[Item]:
        """The latest snapshot re-marked as a reset for ``cause``, and every message after it.

        Built once for every viewer starting at the same point (a crowd joining between two messages shares one
        list), so the caller must not change it."""
        if self.snapshot is None:
            return list(self.recent)  # nothing pinned yet: the stream's first snapshot is still to come
        offset = self.snapshot.offset
        key = (offset, cause, self.last_offset)
        since = self._since.get(key)
        if since is not None:
            return since
        relabelled = self._relabelled.get((offset, cause))
        if relabelled is None:
            relabelled = Item(offset, relabel_snapshot(self.snapshot.data, cause).decode())
            self._relabelled = {k: v for k, v in self._relabelled.items() if k[0] == offset}
            self._relabelled[(offset, cause)] = relabelled
        tail = list(takewhile(lambda item: item.offset > offset, reversed(self.recent)))
        since = [relabelled, *reversed(tail)]
        # Only lists up to the newest message are of use; one per cause.
        self._since = {k: v for k, v in self._since.items() if k[2] == self.last_offset and k[0] == offset}
        self._since[key] = since
        return since

    def plan_resume(self, epoch: str | None, offset: int | None) -> ResumePlan:
        if offset is None:
            return ResumePlan(ResumeOutcome.fresh, 0, self.since_snapshot(ResetCause.connect))
        if epoch != self.epoch or self.epoch is None or offset > self.last_offset:
            return ResumePlan(ResumeOutcome.reset, 0, self.since_snapshot(ResetCause.history_lost))
        oldest = self.recent[0].offset if self.recent else self.last_offset + 1
        if offset + 1 >= oldest:
            return ResumePlan(ResumeOutcome.recovered, offset,
                              [item for item in self.recent if item.offset > offset])
        # Older than this node remembers: the gap comes from Redis, the rest from memory.
        return ResumePlan(ResumeOutcome.recovered, offset, list(self.recent), missing=(offset, oldest - 1))

    def attach(self, viewer: Viewer, plan: ResumePlan) -> None:
        """Register a (held) viewer: from now on it receives every new message."""
        viewer.epoch = self.epoch
        viewer.queued_offset = plan.offset
        viewer.sent_offset = plan.offset
        self.viewers[viewer.client_id] = viewer

    def detach(self, viewer: Viewer) -> None:
        if self.viewers.get(viewer.client_id) is viewer:
            del self.viewers[viewer.client_id]

    def resync(self, viewer: Viewer) -> int:
        """Skip a viewer that fell behind to the latest snapshot; returns how many messages it skipped."""
        snapshot_offset = self.snapshot.offset if self.snapshot else 0
        if snapshot_offset > viewer.sent_offset:
            skipped = snapshot_offset - viewer.sent_offset - 1
            notice = {"type": "skipped", "epoch": self.epoch, "offset": viewer.sent_offset, "count": skipped,
                      "from_offset": viewer.sent_offset + 1, "to_offset": snapshot_offset - 1}
            items = [Item(viewer.sent_offset, orjson.dumps(notice).decode(), published=False),
                     *self.since_snapshot(ResetCause.resync)]
        else:
            # The snapshot is older than what it already has: it only needs what it has not been sent.
            skipped = 0
            items = [item for item in self.recent if item.offset > viewer.sent_offset]
        viewer.replace(items, epoch=self.epoch, queued_offset=self.last_offset)
        return skipped

    def reset_viewers(self, cause: ResetCause) -> None:
        """After :meth:`load` of a new epoch: every viewer starts again from its snapshot."""
        items = self.since_snapshot(cause)
        for viewer in self.viewers.values():
            viewer.replace(items, epoch=self.epoch, queued_offset=self.last_offset)
        self.last_sent_at = time.monotonic()

    def broadcast_own(self, message: dict) -> None:
        """A message from this node to each viewer (heartbeat, broker notices), at each one's own offset;
        encoded once per offset, which in the steady state means once."""
        encoded: dict[tuple[str | None, int], Item] = {}
        for viewer in self.viewers.values():
            key = (viewer.epoch, viewer.queued_offset)
            item = encoded.get(key)
            if item is None:
                text = orjson.dumps({"type": message["type"], "epoch": key[0], "offset": key[1], **message}).decode()
                item = encoded[key] = Item(key[1], text, published=False)
            viewer.push_notice(item)
        self.last_sent_at = time.monotonic()

    @property
    def viewer_count(self) -> int:
        return self.remote_viewers + len(self.viewers)
