"""Degraded mode: a private playback straight from the backend, for a viewer who connects while Redis is down.

The viewer gets the same protocol as the shared stream — an envelope with its own epoch (``direct-…``) and
offsets, snapshots marked keyframe or reset, heartbeats while nothing flows — and ``hello`` says
``degraded: true``. The backend is asked with the viewer's own token, so it decides access as always. Nobody else
watches this playback, so the viewer controls it. It cannot be resumed: a reconnect gets a new playback (or the
shared stream, once Redis is back).
"""

from __future__ import annotations

import asyncio
import secrets
import time

import orjson
from starlette.websockets import WebSocket
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from api.settings import ApiSettings
from api.stream.controls import ControlGate, Refusal
from api.stream.metrics import StreamMetrics
from common.close_codes import CloseCode
from common.logging import get_logger
from common.models.stream import ResumeOutcome
from common.sockets import GONE, Refused, close
from common.stream.envelope import PlaybackPosition, Republisher, encode_published
from common.stream.upstream import open_playback
from common.tasks import until_first_ends

log = get_logger("hewston.api.stream")


class _DirectPlayback:
    def __init__(self, websocket: WebSocket, upstream: ClientConnection, *, run_id: str, heartbeat_s: float) -> None:
        self.websocket = websocket
        self.upstream = upstream
        self.run_id = run_id
        self.heartbeat_s = heartbeat_s
        self.epoch = f"direct-{secrets.token_hex(6)}"
        self.offset = 0
        self.last_sent_at = time.monotonic()

    async def send_own(self, message: dict) -> None:
        await self._send(orjson.dumps({"type": message["type"], "epoch": self.epoch, "offset": self.offset,
                                       **message}))

    async def _send(self, data: bytes) -> None:
        self.last_sent_at = time.monotonic()
        await self.websocket.send_text(data.decode())

    async def relay_down(self) -> None:
        """Backend -> viewer, wrapped like the shared stream; a slow viewer only slows its own playback. Raises
        :class:`Refused` when the backend closes the playback."""
        try:
            await self._relay_down()
        except ConnectionClosed as exc:
            received = exc.rcvd
        else:
            received = None
        # Pass the backend's refusal on (a known terminal code), or ask the viewer to come back.
        if received is not None and received.code >= 4000 and received.code in CloseCode._value2member_map_:
            raise Refused(CloseCode(received.code), received.reason)
        raise Refused(CloseCode.try_again_later, "the backend closed the playback; reconnect")

    async def _relay_down(self) -> None:
        republisher = Republisher(PlaybackPosition())
        async for raw in self.upstream:
            message = orjson.loads(raw)
            if message.get("type") == "error":
                await self.send_own({"type": "error", "code": message.get("code"), "message": message.get("message"),
                                     "ref": message.get("ref")})
                continue
            out = republisher.accept(message)
            if out is None:
                continue
            self.offset += 1
            await self._send(encode_published(out, epoch=self.epoch, offset=self.offset,
                                              ts_ms=int(time.time() * 1000)))
            republisher.position.observe(out.message)

    async def relay_up(self, gate: ControlGate) -> None:
        """Viewer -> backend, checked and rate-limited like the shared stream's controls."""
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            verdict = gate.admit(message.get("text") or message.get("bytes") or b"")
            if isinstance(verdict, Refusal):
                await self.send_own(verdict.message_fields())
            elif verdict is not None:
                await self.upstream.send(orjson.dumps(verdict).decode())

    async def heartbeats(self) -> None:
        while True:
            await asyncio.sleep(max(0.0, self.last_sent_at + self.heartbeat_s - time.monotonic()) + 0.01)
            if time.monotonic() - self.last_sent_at >= self.heartbeat_s:
                await self.send_own({"type": "heartbeat", "ts": int(time.time() * 1000), "viewers": 1})


async def serve_direct(websocket: WebSocket, *, run_id: str, client_id: str, authorization: str, resumed: bool,
                       settings: ApiSettings, gate: ControlGate, metrics: StreamMetrics) -> None:
    try:
        upstream = await open_playback(settings.backend_url, run_id, authorization, ca_file=settings.backend_ca_file,
                                       open_timeout_s=settings.upstream_connect_timeout_s)
    except (OSError, TimeoutError, InvalidHandshake, InvalidURI):
        await close(websocket, CloseCode.try_again_later, "neither the broker nor the backend can be reached")
        return
    playback = _DirectPlayback(websocket, upstream, run_id=run_id, heartbeat_s=settings.stream_heartbeat_s)
    outcome = ResumeOutcome.reset if resumed else ResumeOutcome.fresh
    metrics.resumes.labels(outcome.value).inc()
    await playback.send_own({"type": "hello", "run_id": run_id, "client_id": client_id, "can_control": True,
                             "viewers": 1, "degraded": True, "resume": outcome.value})
    try:
        await until_first_ends([asyncio.create_task(playback.relay_down()),
                                asyncio.create_task(playback.relay_up(gate)),
                                asyncio.create_task(playback.heartbeats())], quiet=GONE)
    except Refused as ended:
        await close(websocket, ended.code, ended.reason)
    finally:
        await upstream.close()
