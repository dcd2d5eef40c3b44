"""The playback state machine of one connection. Pure: no I/O, time is passed in, messages are returned.

Timing never accumulates drift. Playing is anchored at ``(anchor_time, anchor_position)`` whenever it
(re)starts or the speed changes; the bar the clock calls for at ``now`` is
``floor(anchor_position + (now - anchor_time) * speed)``, so a late tick simply carries more bars and the
cursor stays within one frame of the clock however long it plays. Frame deadlines are ``origin + k / fps``
and skip ahead rather than burst when the loop falls behind.

Invariant: the state is ``ended`` exactly when the cursor is on the last bar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from backend.playback.data import PlaybackData
from backend.playback.messages import MessageBuilder
from common.models.playback import (
    DEFAULT_SPEED,
    FRAMES_PER_SECOND,
    MAX_FRAME_BARS,
    AuthControl,
    PauseControl,
    PlaybackControl,
    PlaybackState,
    PlayControl,
    SeekControl,
    SnapshotControl,
    SpeedControl,
    StepControl,
)

# Float products like 0.1 * 30 land a hair below the integer they mean.
_EPSILON = 1e-9


@dataclass(frozen=True)
class PlaybackOptions:
    fps: float = FRAMES_PER_SECOND
    # A snapshot at least this often while playing, so a late joiner of a relayed stream never waits long.
    snapshot_interval_s: float = 2.0


class PlaybackSession:
    def __init__(self, run_id: str, data: PlaybackData, *, cursor: int = -1,
                 state: PlaybackState = PlaybackState.paused, speed: float = DEFAULT_SPEED,
                 options: PlaybackOptions | None = None) -> None:
        self.data = data
        self.options = options or PlaybackOptions()
        self.messages = MessageBuilder(run_id, data)
        self.cursor = cursor
        self.speed = float(speed)
        self.state = PlaybackState.ended if cursor >= data.last else state
        self.seq = 0
        self._anchor_time = 0.0
        self._anchor_position = float(cursor)
        self._origin = 0.0
        self._frame_index = 0
        self._last_snapshot = 0.0

    # Clock ---------------------------------------------------------------------------------------------------

    @property
    def next_deadline(self) -> float | None:
        """When the next frame is due, or None when nothing happens until a control arrives."""
        if self.state is not PlaybackState.playing:
            return None
        return self._origin + self._frame_index / self.options.fps

    def clock_cursor(self, now: float) -> int:
        """The bar the clock calls for at ``now`` while playing."""
        position = self._anchor_position + (now - self._anchor_time) * self.speed
        return min(self.data.last, math.floor(position + _EPSILON))

    def _start_clock(self, now: float) -> None:
        self._anchor_time, self._anchor_position = now, float(self.cursor)
        self._origin, self._frame_index = now, 1
        self._last_snapshot = now

    # Entry points ---------------------------------------------------------------------------------------------

    def start(self, now: float) -> list[dict[str, Any]]:
        out = [self._snapshot(now)]
        if self.state is PlaybackState.playing:
            self._start_clock(now)
        elif self.state is PlaybackState.ended:
            out.append(self.messages.end(self.cursor))
        return out

    def tick(self, now: float) -> list[dict[str, Any]]:
        if self.state is not PlaybackState.playing:
            return []
        out: list[dict[str, Any]] = []
        target = self.clock_cursor(now)
        if target > self.cursor:
            out += self._advance(target, "end")
        if self.state is PlaybackState.playing and now - self._last_snapshot >= self.options.snapshot_interval_s:
            out.append(self._snapshot(now))
        due = math.floor((now - self._origin) * self.options.fps + _EPSILON) + 1
        self._frame_index = max(self._frame_index + 1, due)
        return out

    def handle(self, control: PlaybackControl, now: float) -> list[dict[str, Any]]:
        out = self._apply(control, now)
        if control.ref is not None and out:
            # The last message a control caused (its error, or what completes its effect) echoes its ref: a relay
            # routes an error to the client who sent the control, and records the control as applied together
            # with the message that completes its effect, so a relay taking over applies it exactly once.
            out[-1]["ref"] = control.ref
        return out

    def _apply(self, control: PlaybackControl, now: float) -> list[dict[str, Any]]:
        match control:
            case PlayControl():
                return self._play(now)
            case PauseControl():
                # An ended playback is already still; pausing it must not hide that it is at the end.
                if self.state is PlaybackState.ended:
                    return []
                return self._set_state(PlaybackState.paused, "pause", now)
            case SpeedControl(value=value):
                return self._set_speed(value, now)
            case SeekControl(cursor=int() as cursor):
                return self._seek(cursor, now)
            case SeekControl(time=int() as t):
                return self._seek(self.data.cursor_at_time(t), now)
            case StepControl(bars=bars):
                return self._step(bars, now)
            case SnapshotControl():
                return [self._snapshot(now)]
            case AuthControl():
                return [self.error("invalid_control", "already authenticated")]
        raise TypeError(f"not a playback control: {control!r}")

    def error(self, code: str, message: str, ref: str | None = None) -> dict[str, Any]:
        return self.messages.error(self.cursor, code, message, ref)

    # Transitions ---------------------------------------------------------------------------------------------

    def _snapshot(self, now: float) -> dict[str, Any]:
        self._last_snapshot = now
        return self.messages.snapshot(self.cursor, self.state, self.speed)

    def _set_state(self, state: PlaybackState, reason: str, now: float) -> list[dict[str, Any]]:
        if state is self.state:
            return []
        self.state = state
        if state is PlaybackState.playing:
            self._start_clock(now)
        return [self.messages.status(self.cursor, state, self.speed, reason)]

    def _play(self, now: float) -> list[dict[str, Any]]:
        if self.state is PlaybackState.ended:
            return [self.error("at_end", "the playback is at the last bar; seek or step back first")]
        return self._set_state(PlaybackState.playing, "play", now)

    def _set_speed(self, value: float, now: float) -> list[dict[str, Any]]:
        if value == self.speed:
            return []
        if self.state is PlaybackState.playing:
            # Keep the fraction of a bar already elapsed so changing speed neither skips nor repeats time.
            self._anchor_position = self._anchor_position + (now - self._anchor_time) * self.speed
            self._anchor_time = now
        self.speed = float(value)
        return [self.messages.status(self.cursor, self.state, self.speed, "speed")]

    def _advance(self, target: int, reason: str) -> list[dict[str, Any]]:
        """Frames up to ``target``, at most ``MAX_FRAME_BARS`` bars each: a clock that fell far behind (a stalled
        loop at top speed) pages its bars instead of building one message of all of them."""
        out: list[dict[str, Any]] = []
        while self.cursor < target:
            upto = min(target, self.cursor + MAX_FRAME_BARS)
            out.append(self.messages.frame(self.seq, self.cursor, upto))
            self.seq += 1
            self.cursor = upto
        if target == self.data.last:
            self.state = PlaybackState.ended
            out += [self.messages.status(target, self.state, self.speed, reason), self.messages.end(target)]
        return out

    def _seek(self, target: int, now: float) -> list[dict[str, Any]]:
        if target > self.data.last:
            return [self.error("invalid_control", f"cursor must be between -1 and {self.data.last}")]
        state = self.state
        if target == self.data.last:
            state = PlaybackState.ended
        elif state is PlaybackState.ended:
            state = PlaybackState.paused
        return self._jump(target, state, "seek", now)

    def _step(self, bars: int, now: float) -> list[dict[str, Any]]:
        target = max(-1, min(self.data.last, self.cursor + bars))
        if target == self.cursor:
            edge = "last" if bars > 0 else "first"
            return [self.error("invalid_control", f"cannot step past the {edge} bar")]
        if target < self.cursor:
            return self._jump(target, PlaybackState.paused, "step", now)
        if target - self.cursor > MAX_FRAME_BARS:
            # Far forward: a jump, like a seek (one snapshot; history comes from REST), not a frame of every bar
            # in between — a year of minute bars would be one message of tens of megabytes.
            ended = target == self.data.last
            return self._jump(target, PlaybackState.ended if ended else PlaybackState.paused, "step", now)
        out = self._set_state(PlaybackState.paused, "step", now)
        return out + self._advance(target, "step")

    def _jump(self, target: int, state: PlaybackState, reason: str, now: float) -> list[dict[str, Any]]:
        """Move anywhere: a snapshot to reset the client's view, then the state change it implies."""
        changed = state is not self.state
        self.cursor, self.state = target, state
        if state is PlaybackState.playing:
            self._anchor_time, self._anchor_position = now, float(target)
        out = [self._snapshot(now)]
        if changed:
            out.append(self.messages.status(target, state, self.speed, reason))
        if state is PlaybackState.ended:
            out.append(self.messages.end(target))
        return out
