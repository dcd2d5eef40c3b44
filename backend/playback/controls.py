"""Start parameters in the playback URL (controls on the socket are parsed by ``common.controls``).

Bad start parameters close the socket with 4400, because there is no playback to go on with; the reason names
the field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from common.controls import CREDENTIALS_IN_URL, credential_param
from common.models.playback import DEFAULT_SPEED, MAX_SPEED, MIN_SPEED, PlaybackState


class StartError(ValueError):
    """A start parameter that is not acceptable; ``str()`` is the close reason, naming the field."""


@dataclass(frozen=True)
class StartPosition:
    cursor: int = -1
    time: int | None = None
    state: PlaybackState = PlaybackState.paused
    speed: float = DEFAULT_SPEED

    def resolve(self, last: int, cursor_at_time: Callable[[int], int]) -> int:
        """The starting cursor for a run whose last bar index is ``last``."""
        if self.time is not None:
            return cursor_at_time(self.time)
        if self.cursor > last:
            raise StartError(f"cursor: must be between -1 and {last}")
        return self.cursor


def parse_start(query: Mapping[str, str]) -> StartPosition:
    name = credential_param(query)
    if name is not None:
        raise StartError(f"{name}: {CREDENTIALS_IN_URL}")
    cursor, t = query.get("cursor"), query.get("time")
    if cursor is not None and t is not None:
        raise StartError("cursor: give cursor or time, not both")
    state = query.get("state", PlaybackState.paused.value)
    if state not in (PlaybackState.playing, PlaybackState.paused):
        raise StartError("state: must be playing or paused")
    speed = query.get("speed")
    return StartPosition(
        cursor=_integer("cursor", cursor, minimum=-1) if cursor is not None else -1,
        time=_integer("time", t) if t is not None else None,
        state=PlaybackState(state),
        speed=_speed(speed) if speed is not None else DEFAULT_SPEED,
    )


def _integer(name: str, text: str, minimum: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        raise StartError(f"{name}: must be an integer") from None
    if minimum is not None and value < minimum:
        raise StartError(f"{name}: must be at least {minimum}")
    return value


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise StartError("speed: must be a number") from None
    if not math.isfinite(value) or not MIN_SPEED <= value <= MAX_SPEED:
        raise StartError(f"speed: must be between {MIN_SPEED:g} and {MAX_SPEED:g} bars per second")
    return value
