"""One viewer's socket: messages written at once when it keeps up, else a bounded queue its own task drains.

The reader never waits for a viewer. A viewer that is *idle* (nothing held, queued or in flight) and whose socket
is writable gets each message written right away: :func:`fan_out` writes what one read of the stream brought
(usually one frame) to every such viewer in one ``SocketWriter.try_write`` of bytes prepared once for everybody,
with no per-viewer object, call chain or task switch. Otherwise the message goes into the viewer's queue and its
sender task writes the queue at whatever pace the network allows, as few writes as it can (everything queued,
up to ``_BATCH_BYTES`` a write).

Order is structural: every message is either written at once or queued, and a message is written at once only
when nothing is queued *and* the sender holds no message it took for sending (it may be waiting for the socket
to turn writable: the socket can be writable again before the sender runs). So one viewer's messages reach its
socket in the order they were pushed, whatever the timing; a notice never overtakes a frame.

When a queue would exceed its bound (messages or bytes) the push is refused and the run's feed resynchronises
that viewer instead (``RunFeed.resync``): memory stays bounded and nobody else waits.

A viewer starts *held*: while its catch-up (hello, missed history) is being assembled, live messages queue up
behind it but nothing is sent, so the history can go in front of them without a gap or a duplicate.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from api.stream.socket_writer import Item, SocketWriter, WriteDeadlineExceeded
from common.close_codes import CloseCode
from common.sockets import Refused

# The most one write of a viewer's sender takes from its queue (in characters of text, close to bytes): a
# newcomer's catch-up of a hundred frames goes out in one or two writes. No more than the transport's own high-water
# mark (64 KiB), so that what a slow socket holds in its write buffer stays what it was with a write per message.
_BATCH_BYTES = 64 * 1024


@dataclass(frozen=True)
class QueueLimits:
    max_messages: int
    max_bytes: int


class Viewer:
    def __init__(self, writer: SocketWriter, *, run_id: str, client_id: str, can_control: bool,
                 limits: QueueLimits, authorization: str | None = None) -> None:
        self.writer = writer
        self.run_id = run_id
        self.client_id = client_id
        self.can_control = can_control
        # Kept to re-check access while the socket stays open; never logged.
        self.authorization = authorization
        self.limits = limits
        self.epoch: str | None = None
        # Offset of the newest published message queued (dedupe, and the offset of this viewer's own messages)
        # and of the newest one handed to the socket (where a resync starts counting what was skipped).
        self.queued_offset = 0
        self.sent_offset = 0
        self.messages_sent = 0
        self._queue: deque[Item] = deque()
        self._bytes = 0
        self._held = True
        self._replaced_while_held = False
        self._hello: Item | None = None  # until it is sent: a resync must not drop it
        self._ended: Refused | None = None
        self._gone = False  # its socket failed; its receive loop is about to end it
        self._in_flight = False  # the sender took a message and has not written it yet
        self.dropped: str | None = None  # why this node let the viewer go, if it did (for metrics)
        self._waiter: asyncio.Future[None] | None = None
        # Nothing held, queued or in flight, not ended, not gone: a message may be written at once (when the
        # socket is writable). Kept up to date at every change of those, because the fan-out reads it for every
        # viewer and message.
        self.idle = False

    def _settle(self) -> None:
        self.idle = (not self._held and not self._queue and not self._in_flight and self._ended is None
                     and not self._gone)

    # Filling (reader side: synchronous, never blocks) ---------------------------------------------------------

    def push(self, item: Item) -> bool:
        """Send or queue ``item``; False when neither is possible (the caller resynchronises this viewer)."""
        if item.published and item.offset <= self.queued_offset:
            return True  # already queued (a catch-up and the live stream overlapped)
        if self.idle and self.writer.ready:
            self._send_now(item)
            return True
        if len(self._queue) >= self.limits.max_messages or self._bytes + item.size > self.limits.max_bytes:
            return False
        self._enqueue(item)
        if item.published:
            self.queued_offset = item.offset
        return True

    def _enqueue(self, item: Item) -> None:
        self._queue.append(item)
        self._bytes += item.size
        self.idle = False
        self._wake()

    def _send_now(self, item: Item) -> None:
        """Write at once; a socket that is gone drops the message (its receive loop is ending the viewer)."""
        try:
            self.writer.send_now(item)
        except Exception:  # noqa: BLE001 - whatever a closed socket raises
            self.mark_lost()
            return
        self.messages_sent += 1
        if item.published:
            self.queued_offset = self.sent_offset = item.offset

    def mark_lost(self) -> None:
        """Its socket failed: nothing more is written to it (its receive loop is ending the viewer)."""
        self._gone = True
        self.idle = False

    def push_own(self, message: dict) -> None:
        """A message for this viewer alone, at the offset it will have reached when it gets it."""
        message = {"type": message["type"], "epoch": self.epoch, "offset": self.queued_offset, **message}
        self.push_notice(Item(self.queued_offset, orjson.dumps(message).decode(), published=False))

    def push_notice(self, item: Item) -> None:
        """Send or queue a message of this node's own (its offset must be this viewer's ``queued_offset``).
        Never refused: these are rare and small, and dropping an error would leave a control unanswered."""
        if self.idle and self.writer.ready:
            self._send_now(item)
            return
        self._enqueue(item)

    def replace(self, items: list[Item], *, epoch: str | None, queued_offset: int) -> None:
        """Drop what is queued and queue ``items`` instead (a resync, or a new epoch)."""
        self._queue = deque([self._hello, *items] if self._hello is not None and not self._held else items)
        self._bytes = sum(item.size for item in self._queue)
        self.epoch = epoch
        self.queued_offset = queued_offset
        if self._held:
            self._replaced_while_held = True
        self._settle()
        self._wake()

    def start(self, first: list[Item], history: list[Item]) -> None:
        """Send ``first`` (hello), then ``history`` (unless the queue was replaced meanwhile), then the queue."""
        if self._replaced_while_held:
            history = []
        last = history[-1].offset if history else 0
        live = [item for item in self._queue if not item.published or item.offset > last]
        self._hello = first[0] if first else None
        self._queue = deque([*first, *history, *live])
        self._bytes = sum(item.size for item in self._queue)
        self.queued_offset = max(self.queued_offset, last)
        self._held = False
        self._settle()
        self._wake()

    def end(self, code: CloseCode, reason: str) -> None:
        """Stop sending; the viewer's sender raises :class:`Refused` so its socket is closed with ``code``."""
        self._ended = Refused(code, reason)
        self.idle = False
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # Draining (the viewer's own task) ------------------------------------------------------------------------

    async def send_forever(self) -> None:
        """Write the queue to the socket until the socket fails (the caller ends the viewer then)."""
        loop = asyncio.get_running_loop()
        while True:
            if self._ended is not None:
                raise self._ended
            if self._held or not self._queue:
                self._waiter = loop.create_future()
                await self._waiter
                self._waiter = None
                continue
            batch = self._take()
            self._in_flight = True
            try:
                await self.writer.send(batch)
            except WriteDeadlineExceeded:
                self.dropped = "write_deadline"
                raise
            finally:
                self._in_flight = False
                self._settle()
            self.messages_sent += len(batch)

    def _take(self) -> list[Item]:
        """The oldest queued messages, up to ``_BATCH_BYTES`` (at least one), taken for one write."""
        queue, batch, size = self._queue, [], 0
        while queue and (not batch or size + queue[0].size <= _BATCH_BYTES):
            item = queue.popleft()
            size += item.size
            batch.append(item)
            if item is self._hello:
                self._hello = None
            if item.published:
                self.sent_offset = item.offset
        self._bytes -= size
        return batch


def fan_out(viewers: Iterable[Viewer], items: list[Item]) -> list[Viewer]:
    """Hand ``items`` (consecutive published messages, oldest first, new to the run's feed) to every viewer;
    returns the viewers whose queue overflowed (the caller resynchronises them).

    The node's hot path. An idle viewer that has everything before ``items`` gets them all in one write of the
    frames prepared once for everybody, if its socket takes data now; any other viewer (held, queued, in flight,
    ahead of the feed, not writable) takes them one by one through :meth:`Viewer.push`, which keeps its order.
    """
    after, last, count = items[0].offset - 1, items[-1].offset, len(items)
    frames = items[0].frame if count == 1 else b"".join(item.frame for item in items)
    overflowed: list[Viewer] = []
    for viewer in viewers:
        if viewer.idle and viewer.queued_offset == after:
            try:
                written = viewer.writer.try_write(frames)
            except Exception:  # noqa: BLE001 - whatever a closed socket raises; its receive loop ends the viewer
                viewer.mark_lost()
                continue
            if written:
                viewer.queued_offset = viewer.sent_offset = last
                viewer.messages_sent += count
                continue
        for item in items:
            if not viewer.push(item):
                overflowed.append(viewer)
                break
    return overflowed
