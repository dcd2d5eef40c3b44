"""The shared playback stream on the wire: what a viewer of ``WS /api/v1/runs/{id}/stream`` receives and sends.

The stream wraps the backend's playback messages (``common/models/playback.py``) in Hewston's own envelope:
every message carries the run's ``epoch`` (a new one whenever the stream's history is lost) and an ``offset``.
Messages the relay published to the run's stream (snapshot, frame, status, end, upstream) each have their own
offset, dense and increasing by one; messages an api node addresses to one viewer (hello, skipped, heartbeat,
error) carry the offset the viewer has reached, so the offset of the last message received is always the place
to resume from. The backend's per-connection ``seq`` never reaches viewers. Protocol: docs/stream.md.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from common.models.playback import (
    AuthControl,
    End,
    FrameBody,
    PlaybackChange,
    Snapshot,
    Status,
)


class SnapshotKind(StrEnum):
    # The view is already consistent with it (a periodic keyframe, or nothing moved).
    keyframe = "keyframe"
    # The viewer must rebuild its view from it (history before the cursor comes from REST).
    reset = "reset"


class ResetCause(StrEnum):
    connect = "connect"            # the first snapshot of a new viewer, or of a new stream
    seek = "seek"                  # someone moved the cursor (seek or a backward step)
    resync = "resync"              # this viewer fell behind and skipped ahead (a `skipped` came just before)
    history_lost = "history_lost"  # the viewer's epoch or offset is no longer retained


class ResumeOutcome(StrEnum):
    fresh = "fresh"          # no resume point was given
    recovered = "recovered"  # every message after the given offset follows, in order
    reset = "reset"          # the given point is not retained (or another epoch): a reset snapshot follows


class UpstreamState(StrEnum):
    lost = "lost"
    resumed = "resumed"


class _Envelope(BaseModel):
    epoch: str | None = Field(description="The stream's history id; null only before a run's stream first starts")
    offset: int = Field(ge=0, description="Position in the run's stream; resume from the last one received")


class _Published(_Envelope):
    ts: int = Field(description="Epoch milliseconds at which the relay published the message")


# Published by the relay (each has its own offset) ---------------------------------------------------------


class StreamSnapshot(Snapshot, _Published):
    kind: SnapshotKind
    cause: ResetCause | None = Field(description="Why a reset happened; null for a keyframe")


class StreamFrame(FrameBody, _Published):
    pass


class StreamStatus(Status, _Published):
    pass


class StreamEnd(End, _Published):
    pass


class Upstream(_Published):
    """The relay's connection to the backend was lost (the stream pauses) or resumed (it continues exactly
    after the last bar sent: nothing is repeated or skipped)."""

    type: Literal["upstream"] = "upstream"
    run_id: str
    state: UpstreamState
    reason: str


# Addressed to one viewer by its api node (carry the viewer's offset) --------------------------------------


class Hello(_Envelope):
    """The first message on every stream socket."""

    type: Literal["hello"] = "hello"
    run_id: str
    client_id: str = Field(description="This connection's id; errors answering its controls are addressed to it")
    can_control: bool = Field(description="Whether this viewer's controls are applied (the backend decides)")
    viewers: int = Field(ge=0, description="Viewers of this run across all api nodes")
    degraded: bool = Field(description="True: Redis is unavailable and this is a private direct playback")
    resume: ResumeOutcome


class Skipped(_Envelope):
    """This viewer fell behind: messages ``from_offset .. to_offset`` were not sent; a reset snapshot
    (cause ``resync``) follows."""

    type: Literal["skipped"] = "skipped"
    count: int = Field(ge=0)
    from_offset: int
    to_offset: int


class Heartbeat(_Envelope):
    """Sent while nothing else flows (a paused playback is silent), so a viewer can tell quiet from dead."""

    type: Literal["heartbeat"] = "heartbeat"
    ts: int = Field(description="Epoch milliseconds at which the api node sent it")
    viewers: int = Field(ge=0)


class Presence(_Envelope):
    """How many watch this run changed (someone joined or left, on any api node); sent at most a few times a
    second, playing or paused."""

    type: Literal["presence"] = "presence"
    ts: int = Field(description="Epoch milliseconds at which the api node sent it")
    viewers: int = Field(ge=0, description="Viewers of this run across all api nodes")


class Broker(_Envelope):
    """This viewer's api node lost Redis (the stream pauses; the viewer stays connected and misses nothing that
    Redis kept) or has it back. Unlike ``upstream``, it is not part of the run's stream: it carries the offset
    the viewer has reached."""

    type: Literal["broker"] = "broker"
    ts: int = Field(description="Epoch milliseconds at which the api node sent it")
    state: UpstreamState
    reason: str


class StreamError(_Envelope):
    """A control of this viewer could not be applied; nobody else sees it."""

    type: Literal["error"] = "error"
    code: str
    message: str
    ref: str | None = Field(description="The `ref` of the control this answers, when it had one")


StreamMessage = Annotated[
    Hello | StreamSnapshot | StreamFrame | StreamStatus | StreamEnd | Upstream | Skipped | Heartbeat | Presence
    | Broker | StreamError,
    Field(discriminator="type")]
STREAM_MESSAGE: TypeAdapter[Any] = TypeAdapter(StreamMessage)

# Viewer -> api: the auth message (when no header was sent) and the controls that change the playback.
StreamControl = Annotated[AuthControl | PlaybackChange, Field(discriminator="type")]
STREAM_CONTROL: TypeAdapter[Any] = TypeAdapter(StreamControl)


def message_schema() -> dict[str, Any]:
    return STREAM_MESSAGE.json_schema()


def control_schema() -> dict[str, Any]:
    return STREAM_CONTROL.json_schema()
