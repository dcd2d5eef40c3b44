"""The api node's stream pieces on their own: viewer queues, the run feed's catch-up plans and resync, the
control gate and the resume point in the URL."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from starlette.datastructures import QueryParams

from api.stream.controls import ControlGate, Refusal
from api.stream.feed import ResumePlan, RunFeed
from api.stream.router import resume_point
from api.stream.socket_writer import Item
from api.stream.viewer import QueueLimits, Viewer
from common.close_codes import CloseCode
from common.models.stream import ResumeOutcome
from common.sockets import Refused
from common.stream.store import Entry, JoinState


class FakeWriter:
    """A socket that is never writable at once, so every message takes the queued path (tests of the eager path
    run over real sockets in tests/stream)."""

    ready = False

    def __init__(self) -> None:
        self.sent: list[dict] = []

    def send_now(self, item) -> None:
        raise AssertionError("not writable")

    def try_write(self, frame: bytes) -> bool:
        return False

    async def send(self, items) -> None:
        self.sent += [orjson.loads(item.text) for item in items]


def entry(offset: int, kind: str = "frame", epoch: str = "e1") -> Entry:
    body = {"type": kind, "epoch": epoch, "offset": offset}
    if kind == "snapshot":
        body.update(kind="keyframe", cause=None)
    return Entry(offset, kind, epoch, orjson.dumps(body))


def take(feed: RunFeed, e: Entry) -> list[Viewer] | None:
    """The viewers to resynchronise after one message, or None when the feed must reload."""
    taken = feed.on_entries([e])
    return None if taken.reload else taken.overflowed


def feed_with(snapshot_at: int, last: int, recent: int = 100) -> RunFeed:
    feed = RunFeed("r", recent_messages=recent, recent_bytes=1 << 30)
    feed.load(JoinState("e1", last, entry(snapshot_at, "snapshot"),
                        [entry(o) for o in range(snapshot_at + 1, last + 1)], "0-0"))
    return feed


def viewer(max_messages: int = 10, max_bytes: int = 1 << 20) -> Viewer:
    return Viewer(FakeWriter(), run_id="r", client_id="n-1", can_control=True,  # type: ignore[arg-type]
                  limits=QueueLimits(max_messages, max_bytes))


async def drain(v: Viewer) -> list[dict]:
    task = asyncio.create_task(v.send_forever())
    await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.wait([task])
    return v.writer.sent  # type: ignore[attr-defined]


async def test_a_held_viewer_sends_hello_and_history_before_what_arrived_meanwhile():
    feed = feed_with(snapshot_at=5, last=8)
    v = viewer()
    plan = feed.plan_resume("e1", 6)
    assert plan.outcome is ResumeOutcome.recovered and [i.offset for i in plan.items] == [7, 8]
    feed.attach(v, plan)
    assert take(feed, entry(9)) == []  # live, while the catch-up is assembled
    v.start([Item(6, '{"type":"hello","epoch":"e1","offset":6}', published=False)], plan.items)
    assert [m["offset"] for m in await drain(v)] == [6, 7, 8, 9]


def test_plans_for_fresh_recovered_and_reset_viewers():
    feed = feed_with(snapshot_at=5, last=8)
    fresh = feed.plan_resume(None, None)
    assert fresh.outcome is ResumeOutcome.fresh
    assert [orjson.loads(i.text)["cause"] for i in fresh.items[:1]] == ["connect"]
    assert [i.offset for i in fresh.items] == [5, 6, 7, 8]
    for epoch, offset in [("other", 3), ("e1", 99)]:
        reset = feed.plan_resume(epoch, offset)
        assert reset.outcome is ResumeOutcome.reset and orjson.loads(reset.items[0].text)["cause"] == "history_lost"
    # Older than memory: the gap is read from Redis, the rest comes from memory.
    older = feed.plan_resume("e1", 2)
    assert older.missing == (2, 4) and older.items[0].offset == 5


def test_a_full_queue_refuses_and_the_feed_resyncs_from_the_snapshot():
    feed = feed_with(snapshot_at=5, last=8)
    v = viewer(max_messages=3)
    feed.attach(v, feed.plan_resume("e1", 8))
    v.start([], [])
    overflowed = []
    for offset in range(9, 14):
        overflowed += take(feed, entry(offset))
    assert set(overflowed) == {v}  # the hub resyncs at the first refusal; here nobody did
    assert take(feed, entry(14, "snapshot")) == [v]  # still full: the feed must resync it now
    skipped = feed.resync(v)
    assert skipped == 14 - 8 - 1
    queued = [orjson.loads(item.text) for item in v._queue]
    assert queued[0] == {"type": "skipped", "epoch": "e1", "offset": 8, "count": 5, "from_offset": 9,
                         "to_offset": 13}
    assert (queued[1]["offset"], queued[1]["cause"]) == (14, "resync")


def test_recent_messages_never_drop_the_snapshot_or_what_follows():
    feed = feed_with(snapshot_at=1, last=1, recent=2)
    for offset in range(2, 10):
        take(feed, entry(offset))
    assert [i.offset for i in feed.recent] == list(range(1, 10))
    take(feed, entry(10, "snapshot"))
    take(feed, entry(11))
    assert [i.offset for i in feed.recent] == [10, 11]


def test_an_entry_of_another_epoch_or_after_a_gap_asks_for_a_reload():
    feed = feed_with(snapshot_at=5, last=8)
    assert take(feed, entry(9, epoch="e2")) is None
    assert take(feed, entry(11)) is None
    assert take(feed, entry(8)) == []  # read twice: ignored


def test_the_gate_checks_shape_permission_and_rate():
    gate = ControlGate(can_control=True, per_second=1.0, burst=2)
    assert gate.admit('{"type": "seek", "cursor": 5, "ref": "a"}') == {"type": "seek", "cursor": 5, "ref": "a"}
    refusal = gate.admit('{"type": "seek", "cursor": "x", "ref": "b"}')
    assert isinstance(refusal, Refusal) and refusal.code == "invalid_control" and refusal.ref == "b"
    assert "cursor" in refusal.message
    limited = gate.admit('{"type": "play", "ref": "d"}')
    assert isinstance(limited, Refusal) and (limited.code, limited.ref) == ("rate_limited", "d")
    assert gate.admit('{"type": "play"}') is None  # one notice per second, the rest dropped silently
    follower = ControlGate(can_control=False, per_second=10, burst=10)
    assert follower.admit('{"type": "play", "ref": "c"}') == Refusal(
        "forbidden", "you may watch this run but not control its playback", "c")
    assert follower.admit('{"type": "snapshot"}').code == "invalid_control"  # the relay's own control
    assert follower.admit('{"type": "auth", "token": "t"}').code == "invalid_control"


@pytest.mark.parametrize("query, expected", [
    ("", (None, None)), ("epoch=abc&offset=12", ("abc", 12)), ("epoch=abc", ("abc", 0)), ("offset=5", (None, None))])
def test_resume_points(query, expected):
    assert resume_point(QueryParams(query)) == expected


@pytest.mark.parametrize("query, field", [
    ("epoch=a b&offset=1", "epoch"), ("epoch=abc&offset=-1", "offset"), ("epoch=abc&offset=x", "offset"),
    ("token=hw_secret", "token")])
def test_bad_resume_points_close_with_4400_naming_the_field(query, field):
    with pytest.raises(Refused) as refused:
        resume_point(QueryParams(query))
    assert refused.value.code is CloseCode.bad_request and refused.value.reason.startswith(f"{field}:")
    assert "hw_secret" not in refused.value.reason


class GatedWriter:
    """A transport that is writable or not, as a real one is: ``send`` waits for writability, then writes."""

    def __init__(self) -> None:
        self.writable = asyncio.Event()
        self.written: list[dict] = []

    @property
    def ready(self) -> bool:
        return self.writable.is_set()

    def send_now(self, item) -> None:
        self.try_write(item.frame)

    def try_write(self, frame: bytes) -> bool:
        if not self.ready:
            return False
        self.written += [orjson.loads(text) for text in texts_of(frame)]
        return True

    async def send(self, items) -> None:
        await self.writable.wait()
        self.try_write(b"".join(item.frame for item in items))


def texts_of(frames: bytes) -> list[bytes]:
    """The payloads of consecutive unmasked WebSocket frames, as a server writes them."""
    texts, pos = [], 0
    while pos < len(frames):
        length, pos = frames[pos + 1] & 0x7F, pos + 2
        if length >= 126:
            width = 2 if length == 126 else 8
            length, pos = int.from_bytes(frames[pos:pos + width], "big"), pos + width
        texts.append(frames[pos:pos + length])
        pos += length
    return texts


async def test_a_message_taken_for_sending_is_written_before_any_later_one():
    """The sender took a frame and waits for the socket; the socket turns writable, and before the sender runs
    again the reader has a heartbeat and a frame for this viewer: neither may overtake the frame in flight."""
    writer = GatedWriter()
    v = Viewer(writer, run_id="r", client_id="n-1", can_control=True,  # type: ignore[arg-type]
               limits=QueueLimits(10, 1 << 20))
    v.start([], [])
    sender = asyncio.create_task(v.send_forever())
    try:
        v.push(Item(1, orjson.dumps({"type": "frame", "offset": 1}).decode()))
        await asyncio.sleep(0.01)  # the sender has taken offset 1 and waits for the socket
        writer.writable.set()      # the network drained; the sender has not run yet
        v.push_own({"type": "heartbeat"})
        v.push(Item(2, orjson.dumps({"type": "frame", "offset": 2}).decode()))
        await asyncio.sleep(0.01)
        assert [(m["type"], m["offset"]) for m in writer.written] == [("frame", 1), ("heartbeat", 1), ("frame", 2)]
    finally:
        sender.cancel()
        await asyncio.wait([sender])


class CountingWriter(GatedWriter):
    """A gated writer that also counts its writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def try_write(self, frame: bytes) -> bool:
        written = super().try_write(frame)
        self.writes += written
        return written


def live_viewer(feed: RunFeed, client_id: str, writer: GatedWriter) -> Viewer:
    v = Viewer(writer, run_id="r", client_id=client_id, can_control=False,  # type: ignore[arg-type]
               limits=QueueLimits(100, 1 << 20))
    feed.attach(v, feed.plan_resume("e1", feed.last_offset))
    v.start([], [])
    return v


async def test_one_read_of_several_messages_is_one_write_per_viewer_that_keeps_up():
    feed = feed_with(snapshot_at=5, last=8)
    fast, slow = CountingWriter(), CountingWriter()
    fast.writable.set()
    live_viewer(feed, "n-1", fast)
    lagging = live_viewer(feed, "n-2", slow)  # its socket takes nothing right now: it queues
    taken = feed.on_entries([entry(9), entry(10), entry(11, "snapshot")])
    assert taken.overflowed == [] and not taken.reload and len(taken.entries) == 3
    assert fast.writes == 1 and [(m["type"], m["offset"]) for m in fast.written] == [
        ("frame", 9), ("frame", 10), ("snapshot", 11)]
    assert slow.writes == 0 and [item.offset for item in lagging._queue] == [9, 10, 11]
    sender = asyncio.create_task(lagging.send_forever())
    try:
        slow.writable.set()
        await asyncio.sleep(0.01)
        assert slow.writes == 1 and [m["offset"] for m in slow.written] == [9, 10, 11]  # the queue in one write
        assert (lagging.sent_offset, lagging.messages_sent) == (11, 3)
        feed.on_entries([entry(12)])  # drained: the fan-out writes to it at once again
        assert slow.writes == 2 and slow.written[-1]["offset"] == 12
    finally:
        sender.cancel()
        await asyncio.wait([sender])


def test_a_viewer_ahead_of_the_feed_gets_only_what_it_has_not_had():
    feed = feed_with(snapshot_at=5, last=8)
    writer = CountingWriter()
    writer.writable.set()
    v = Viewer(writer, run_id="r", client_id="n-1", can_control=False,  # type: ignore[arg-type]
               limits=QueueLimits(100, 1 << 20))
    # It came from a node further along: it has everything up to 10, which this node has not read yet.
    feed.attach(v, ResumePlan(ResumeOutcome.recovered, 10, []))
    v.start([], [])
    feed.on_entries([entry(9), entry(10), entry(11)])
    assert [m["offset"] for m in writer.written] == [11]
    feed.on_entries([entry(12)])
    assert [m["offset"] for m in writer.written] == [11, 12] and v.sent_offset == 12


async def test_the_sender_splits_a_long_queue_into_bounded_writes():
    writer = CountingWriter()
    writer.writable.set()
    v = Viewer(writer, run_id="r", client_id="n-1", can_control=False,  # type: ignore[arg-type]
               limits=QueueLimits(10_000, 1 << 30))
    big = "x" * 20_000
    history = [Item(o, orjson.dumps({"type": "frame", "offset": o, "pad": big}).decode()) for o in range(1, 11)]
    v.start([], history)
    sender = asyncio.create_task(v.send_forever())
    try:
        await asyncio.sleep(0.01)
    finally:
        sender.cancel()
        await asyncio.wait([sender])
    assert [m["offset"] for m in writer.written] == list(range(1, 11))
    assert writer.writes == 4  # three frames of 20 kB fit in a write (64 KiB at most), four do not
