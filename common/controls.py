"""Reading playback controls sent over a socket, for the backend's playback and the api's shared stream alike.

A control that cannot be parsed is answered with an ``error`` message naming the field and the reason; the
playback goes on. Both sockets accept the same shapes (``common/models/playback.py``), so the parser lives here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from common.models.playback import MAX_REF_CHARS, PLAYBACK_CONTROL

MAX_CONTROL_BYTES = 4096
# Credentials belong in a header or the auth message: a URL ends up in access logs and browser history.
_CREDENTIAL_PARAMS = frozenset({"token", "access_token", "authorization", "auth"})
CREDENTIALS_IN_URL = "credentials are not accepted in the URL; use the Authorization header or an auth message"
_CONTROL_TYPES = "play, pause, speed, seek, step"


class ControlError(ValueError):
    """A control the receiver cannot act on; ``str()`` is the message for the client, ``ref`` its reference."""

    def __init__(self, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.ref = ref


def parse_control(raw: str | bytes, adapter: TypeAdapter[Any] = PLAYBACK_CONTROL) -> Any:
    if len(raw) > MAX_CONTROL_BYTES:
        raise ControlError(f"control messages are limited to {MAX_CONTROL_BYTES} bytes")
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ControlError(f"not JSON: {exc.msg}") from None
    if not isinstance(payload, dict):
        raise ControlError("a control is a JSON object with a type")
    try:
        return adapter.validate_python(payload)
    except ValidationError as exc:
        # Echo the client's reference even on a bad control, so it can tell which of its messages failed.
        raise ControlError(_describe(exc), _valid_ref(payload.get("ref"))) from None


def control_ref(raw: str | bytes) -> str | None:
    """The ``ref`` of a control that is not parsed as a whole (dropped, or refused before its turn), if it
    has a readable one."""
    if len(raw) > MAX_CONTROL_BYTES:
        return None
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return _valid_ref(payload.get("ref")) if isinstance(payload, dict) else None


def _valid_ref(value: Any) -> str | None:
    return value if isinstance(value, str) and len(value) <= MAX_REF_CHARS else None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        # The first element of the location is the discriminator's tag; the field follows it.
        loc = [str(p) for p in err.get("loc", ())][1:]
        msg = err.get("msg", "invalid value")
        if err.get("type") == "union_tag_invalid":
            msg = f"unknown type; expected one of {_CONTROL_TYPES}"
        elif err.get("type") == "union_tag_not_found":
            msg = "missing type"
        parts.append(f"{'.'.join(loc)}: {msg}" if loc else msg)
    return "; ".join(parts)


def credential_param(names: Iterable[str]) -> str | None:
    """The first query parameter that looks like a credential, so that the socket can refuse it."""
    return next((name for name in names if name.lower() in _CREDENTIAL_PARAMS), None)
