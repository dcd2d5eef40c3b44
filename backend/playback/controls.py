"""Reading what a client asks for: control messages on the socket and start parameters in the URL.

A bad control is answered with an ``error`` message and the playback goes on; bad start parameters close the
socket with 4400, because there is no playback to go on with. Either way the reason names the field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import orjson
from pydantic import ValidationError

from common.models.playback import (
    DEFAULT_SPEED,
    MAX_SPEED,
    MIN_SPEED,
    PLAYBACK_CONTROL,
    PlaybackControl,
    PlaybackState,
)

# Credentials belong in a header or the auth message: a URL ends up in access logs and browser history.
_CREDENTIAL_PARAMS = frozenset({"token", "access_token", "authorization", "auth"})
MAX_CONTROL_BYTES = 4096


class ControlError(ValueError):
    """A control the session cannot act on; ``str()`` is the message for the client."""


class StartError(ValueError):
    """A start parameter that is not acceptable; ``str()`` is the close reason, naming the field."""


def parse_control(raw: str | bytes) -> PlaybackControl:
    if len(raw) > MAX_CONTROL_BYTES:
        raise ControlError(f"control messages are limited to {MAX_CONTROL_BYTES} bytes")
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ControlError(f"not JSON: {exc.msg}") from None
    if not isinstance(payload, dict):
        raise ControlError("a control is a JSON object with a type")
    try:
        return PLAYBACK_CONTROL.validate_python(payload)
    except ValidationError as exc:
        raise ControlError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        # The first element of the location is the discriminator's tag; the field follows it.
        loc = [str(p) for p in err.get("loc", ())][1:]
        msg = err.get("msg", "invalid value")
        if err.get("type") == "union_tag_invalid":
            msg = "unknown type; expected one of play, pause, speed, seek, step"
        elif err.get("type") == "union_tag_not_found":
            msg = "missing type"
        parts.append(f"{'.'.join(loc)}: {msg}" if loc else msg)
    return "; ".join(parts)


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
    for name in query:
        if name.lower() in _CREDENTIAL_PARAMS:
            raise StartError(f"{name}: credentials are not accepted in the URL; use the Authorization header "
                             "or an auth message")
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
