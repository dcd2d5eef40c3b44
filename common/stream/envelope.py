"""From the backend's playback messages to stream messages: what to publish, what to drop, and the envelope.

The backend plays one connection at a time and knows nothing of the stream. Three of its habits would reach
viewers as errors if passed through as they are:

- ``seq`` restarts at 0 on every upstream connection, so it would look like loss after a reconnect; the
  stream's own ``offset`` replaces it.
- A resumed connection (``?cursor=c&state=…&speed=…``) starts with a snapshot of bar ``c``, which viewers
  already have, and, when ``c`` is the last bar, a second ``end``. :class:`Republisher` drops both.
- A periodic keyframe and the snapshot after a seek look alike. A snapshot at the cursor already published
  changes nothing in a viewer's view (a ``keyframe``); any other snapshot moved the cursor (a ``reset``).

The class is pure (no I/O), so the relay and the api's direct fallback share it and tests drive it directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from common.models.stream import ResetCause, SnapshotKind

# Messages the backend sends that become stream messages; its `error` answers one control and is routed to
# the viewer who sent it instead.
PUBLISHED_TYPES = frozenset({"snapshot", "frame", "status", "end"})


@dataclass
class PlaybackPosition:
    """What the relay remembers of a run: frames carry neither state nor speed, so they come from snapshots
    and status messages. ``cursor`` is None before anything was published."""

    cursor: int | None = None
    state: str | None = None
    speed: float | None = None
    # Cursor of the last `end` published, so that a resume on the last bar does not repeat it.
    end_cursor: int | None = None

    def observe(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind not in PUBLISHED_TYPES:
            return
        self.cursor = message["cursor"]
        if kind in ("snapshot", "status"):
            self.state, self.speed = message["state"], float(message["speed"])
        elif kind == "end":
            self.state, self.end_cursor = "ended", message["cursor"]

    def resume_params(self) -> dict[str, str]:
        """Start parameters that continue exactly after the last published bar."""
        if self.cursor is None:
            return {}
        # `ended` is not a start state: a cursor on the last bar makes the backend report it again.
        state = "playing" if self.state == "playing" else "paused"
        params = {"cursor": str(self.cursor), "state": state}
        if self.speed is not None:
            params["speed"] = repr(self.speed)
        return params


@dataclass(frozen=True)
class Outgoing:
    """A backend message to publish, with how a snapshot is marked."""

    message: dict[str, Any]
    kind: SnapshotKind | None = None
    cause: ResetCause | None = None

    @property
    def type(self) -> str:
        return self.message["type"]


class Republisher:
    """Decides, message by message of one upstream connection, what reaches the stream.

    ``position`` is what was published before this connection (empty for a new stream). ``first_cause`` marks
    the first snapshot of a new stream: ``connect``, or ``history_lost`` when a stream whose history was lost
    restarts where it was.
    """

    def __init__(self, position: PlaybackPosition, *, first_cause: ResetCause = ResetCause.connect) -> None:
        self.position = position
        self.first_cause = first_cause
        self._resuming = position.cursor is not None
        self._first = True
        self._drop_end_at: int | None = None

    def accept(self, message: dict[str, Any]) -> Outgoing | None:
        """The message to publish (already stripped of ``seq``), or None to drop it."""
        first, self._first = self._first, False
        kind = message.get("type")
        if kind == "frame":
            message.pop("seq", None)
            return Outgoing(message)
        if kind == "snapshot":
            return self._snapshot(message, first)
        if kind == "end":
            drop, self._drop_end_at = self._drop_end_at == message["cursor"], None
            return None if drop else Outgoing(message)
        self._drop_end_at = None
        return Outgoing(message) if kind == "status" else None

    def _snapshot(self, message: dict[str, Any], first: bool) -> Outgoing | None:
        position = self.position
        if first and self._resuming:
            unchanged = (message["cursor"], message["state"], float(message["speed"])) == \
                        (position.cursor, position.state, position.speed)
            # A resume on the last bar answers with snapshot + end; the end was published already if the
            # last end published is at this cursor.
            if message["state"] == "ended" and position.end_cursor == message["cursor"]:
                self._drop_end_at = message["cursor"]
            if unchanged:
                return None
        if position.cursor is None:
            return Outgoing(message, SnapshotKind.reset, self.first_cause)
        if message["cursor"] == position.cursor:
            return Outgoing(message, SnapshotKind.keyframe)
        return Outgoing(message, SnapshotKind.reset, ResetCause.seek)


def encode_published(out: Outgoing, *, epoch: str, offset: int, ts_ms: int) -> bytes:
    """The stream message's bytes, exactly as viewers receive them: envelope fields first."""
    message = out.message
    head: dict[str, Any] = {"type": message["type"], "epoch": epoch, "offset": offset, "ts": ts_ms}
    if out.kind is not None:
        head["kind"] = out.kind.value
        head["cause"] = out.cause.value if out.cause is not None else None
    head.update((k, v) for k, v in message.items() if k != "type")
    return orjson.dumps(head)


def relabel_snapshot(data: bytes, cause: ResetCause) -> bytes:
    """A published snapshot re-sent to one viewer as the reset it is for that viewer (joining, resync)."""
    message = orjson.loads(data)
    message["kind"], message["cause"] = SnapshotKind.reset.value, cause.value
    return orjson.dumps(message)
