"""What a viewer sends on its stream socket: controls, checked before anything reaches the relay.

A viewer's message becomes either a control to forward or an error for that viewer alone, naming the field and
the reason. Controls are rate-limited per socket with a token bucket; past the limit a viewer gets one
``rate_limited`` error per second and the rest is dropped, so a flood can neither reach the backend nor make
this node queue an answer per message.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from common.controls import ControlError, control_ref, parse_control
from common.models.playback import AuthControl
from common.models.stream import STREAM_CONTROL


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    ref: str | None = None

    def message_fields(self) -> dict[str, Any]:
        return {"type": "error", "code": self.code, "message": self.message, "ref": self.ref}


class ControlGate:
    def __init__(self, *, can_control: bool, per_second: float, burst: int) -> None:
        self.can_control = can_control
        self.per_second = per_second
        self.burst = burst
        self._tokens = float(burst)
        self._refilled_at = time.monotonic()
        self._limited_notice_at = 0.0

    def admit(self, raw: str | bytes) -> dict[str, Any] | Refusal | None:
        """The control to forward, a refusal to tell the viewer, or None (dropped silently)."""
        if not self._take():
            now = time.monotonic()
            if now - self._limited_notice_at < 1.0:
                return None
            self._limited_notice_at = now
            return Refusal("rate_limited", f"at most {self.per_second:g} controls per second (bursts of "
                                           f"{self.burst}); this one was dropped", control_ref(raw))
        try:
            control = parse_control(raw, STREAM_CONTROL)
        except ControlError as exc:
            return Refusal("invalid_control", str(exc), exc.ref)
        if isinstance(control, AuthControl):
            return Refusal("invalid_control", "already authenticated", control.ref)
        if not self.can_control:
            return Refusal("forbidden", "you may watch this run but not control its playback", control.ref)
        return control.model_dump(exclude_none=True)

    def _take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._refilled_at) * self.per_second)
        self._refilled_at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True
