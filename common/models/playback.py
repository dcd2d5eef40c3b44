"""Playback messages on the wire, shared by the backend (which sends them) and the BFF (which validates them).

Every server message carries ``type``, ``run_id``, ``cursor`` (index of the last bar sent; -1 before the first)
and ``time`` (epoch seconds UTC of the cursor bar, null at -1). Nothing describes a bar past the cursor.
The protocol is documented in docs/playback.md; :func:`message_schema` and :func:`control_schema` produce the
JSON schema published there.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from common.models.bars import BarColumns

FRAMES_PER_SECOND = 30
MIN_SPEED = 0.5
MAX_SPEED = 5000.0
# No message carries more bars than this (about 100 KB of JSON): a frame the clock calls for beyond it is paged
# into several, and a forward step beyond it is a jump (a snapshot), like a seek.
MAX_FRAME_BARS = 1000
# One bar per frame at the frame rate: the default playback sends about 30 frames a second.
# A control's `ref` (echoed by the error that answers it) is at most this long.
MAX_REF_CHARS = 64
DEFAULT_SPEED = 30.0


class PlaybackState(StrEnum):
    playing = "playing"
    paused = "paused"
    ended = "ended"


# Server → client ------------------------------------------------------------------------------------------


class BarPoint(BaseModel):
    time: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class EquityColumns(BaseModel):
    """The account marked at the close of each new bar (one point per bar of ``bars``)."""

    time: list[int]
    equity: list[float]
    drawdown: list[float] = Field(description="Fraction below the running peak: 0 or negative")


class FillEvent(BaseModel):
    bar_index: int
    time: int
    side: Literal["buy", "sell"]
    quantity: float
    price: float
    fee: float
    reason: str
    realized_pnl: float = Field(description="Money realised by this fill, net of its fee")


class PlaybackStats(BaseModel):
    """The run's statistics as of the cursor, computed from bars ``0..cursor`` only."""

    bars_played: int = Field(description="cursor + 1")
    progress: float = Field(description="bars_played / total_bars (1 when there are no bars)")
    initial_cash: float
    equity: float
    total_return: float = Field(description="equity / initial_cash - 1")
    peak_equity: float
    drawdown: float = Field(description="Fraction below the running peak at the cursor: 0 or negative")
    max_drawdown: float = Field(description="Deepest drawdown so far: 0 or negative")
    fills: int
    closed_trades: int = Field(description="Fills that reduced, closed or reversed a position")
    winning_trades: int = Field(description="Closed trades with a positive realized pnl")
    realized_pnl: float
    fees: float


class _ServerMessage(BaseModel):
    run_id: str
    cursor: int = Field(ge=-1)
    time: int | None


class Snapshot(_ServerMessage):
    """A keyframe: a client can rebuild its whole view from it (history before the cursor comes from REST)."""

    type: Literal["snapshot"] = "snapshot"
    state: PlaybackState
    speed: float = Field(description="Bars per second")
    total_bars: int
    position: float = Field(description="Signed units held after the cursor bar")
    cash: float
    equity: float
    bar: BarPoint | None = Field(description="The cursor bar; null at cursor -1")
    stats: PlaybackStats


class FrameBody(_ServerMessage):
    """What happened since the previous message: bars ``previous cursor + 1 .. cursor``."""

    type: Literal["frame"] = "frame"
    bars: BarColumns
    equity: EquityColumns
    fills: list[FillEvent]
    position: float
    cash: float


class Frame(FrameBody):
    seq: int = Field(ge=0, description="Per connection, increases by exactly 1 from one frame to the next")


class Status(_ServerMessage):
    type: Literal["status"] = "status"
    state: PlaybackState
    speed: float
    reason: Literal["play", "pause", "speed", "seek", "step", "end"]


class End(_ServerMessage):
    type: Literal["end"] = "end"
    total_bars: int
    stats: PlaybackStats


class Error(_ServerMessage):
    type: Literal["error"] = "error"
    code: str
    message: str
    ref: str | None = Field(default=None, description="The `ref` of the control this answers, when it had one")


PlaybackMessage = Annotated[Snapshot | Frame | Status | End | Error, Field(discriminator="type")]
PLAYBACK_MESSAGE: TypeAdapter[Snapshot | Frame | Status | End | Error] = TypeAdapter(PlaybackMessage)


# Client → server ------------------------------------------------------------------------------------------


class _Control(BaseModel):
    # A misspelt field must be an error, not a silently ignored seek target.
    model_config = ConfigDict(extra="forbid")
    ref: str | None = Field(default=None, max_length=MAX_REF_CHARS,
                            description="Any reference of the client's; an error answering this control echoes it")


class AuthControl(_Control):
    type: Literal["auth"]
    token: str = Field(min_length=1)


class PlayControl(_Control):
    type: Literal["play"]


class PauseControl(_Control):
    type: Literal["pause"]


class SpeedControl(_Control):
    type: Literal["speed"]
    value: float = Field(ge=MIN_SPEED, le=MAX_SPEED, description="Bars per second")


class SeekControl(_Control):
    type: Literal["seek"]
    cursor: int | None = Field(default=None, ge=-1, description="Bar index to seek to (-1: before the first bar)")
    time: int | None = Field(default=None, description="Epoch seconds: seek to the last bar with time <= this")

    @model_validator(mode="after")
    def _one_target(self) -> SeekControl:
        if (self.cursor is None) == (self.time is None):
            raise ValueError("give exactly one of cursor or time")
        return self


class StepControl(_Control):
    type: Literal["step"]
    # Strict: "5", true or 2.5 are not a number of bars. Past either end of the run the step stops there.
    bars: int = Field(strict=True, description="Bars to move: positive forward, negative backward; never 0")

    @model_validator(mode="after")
    def _non_zero(self) -> StepControl:
        if self.bars == 0:
            raise ValueError("bars must not be 0")
        return self


class SnapshotControl(_Control):
    """Ask for a keyframe now (the relay uses it to keep the history a newcomer needs short)."""

    type: Literal["snapshot"]


# Controls that change the playback; viewers of the shared stream may send these (and nothing else).
PlaybackChange = PlayControl | PauseControl | SpeedControl | SeekControl | StepControl
PlaybackControl = Annotated[AuthControl | SnapshotControl | PlaybackChange, Field(discriminator="type")]
PLAYBACK_CONTROL: TypeAdapter[Any] = TypeAdapter(PlaybackControl)


def message_schema() -> dict[str, Any]:
    return PLAYBACK_MESSAGE.json_schema()


def control_schema() -> dict[str, Any]:
    return PLAYBACK_CONTROL.json_schema()
