"""What every Hewston WebSocket endpoint does before it streams: refuse with a close code and a reason, and
read a browser's token from its first message (browsers cannot set headers on a WebSocket).

Endpoints accept the socket before checking anything, because only an accepted socket can carry a close code
and a reason; a refusal is raised as :class:`Refused` and answered with :func:`close`.
"""

from __future__ import annotations

import asyncio

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from common.close_codes import CloseCode, close_reason
from common.controls import ControlError, parse_control
from common.models.playback import AuthControl

GONE = (WebSocketDisconnect, WebSocketDisconnected, OSError)


class Refused(Exception):
    """The socket must close with ``code`` and ``reason``: refused at the start, or ended by the server later
    (access withdrawn, the upstream playback gone)."""

    def __init__(self, code: CloseCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class ClientLeft(Exception):
    """The client disconnected before the socket's work started."""


async def close(websocket: WebSocket, code: CloseCode, reason: str) -> None:
    try:
        await websocket.close(code=int(code), reason=close_reason(reason))
    except (*GONE, RuntimeError):
        pass  # already gone, or already closed: nobody left to tell


async def first_message_token(websocket: WebSocket, timeout_s: float) -> str:
    """The token of an ``{"type": "auth", "token": ...}`` first message, within ``timeout_s``."""
    try:
        async with asyncio.timeout(timeout_s):
            message = await websocket.receive()
    except TimeoutError:
        raise Refused(CloseCode.auth_timeout, f"no auth message within {timeout_s:g} s") from None
    if message["type"] == "websocket.disconnect":
        raise ClientLeft
    try:
        control = parse_control(message.get("text") or message.get("bytes") or b"")
    except ControlError:
        control = None
    if not isinstance(control, AuthControl):
        raise Refused(CloseCode.unauthorized, 'the first message must be {"type": "auth", "token": "..."}')
    return control.token
