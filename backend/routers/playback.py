"""``WS /backtests/{run_id}/ws``: live-like playback of one completed run (protocol: docs/playback.md).

The socket is accepted before anything is checked, because a refusal must carry a close code and a reason,
and only an accepted socket can. Checks run in the order that leaks least: the page's origin and the sockets
already open from the caller's address (``common.socket_admission``; a service caller is let off the count),
who is calling, whether they may see the run, whether it can play, and only then whether the start parameters
fit it. Once playing, the same two checks (the token, then the run) are repeated every ``access_recheck_s``;
when either fails the socket closes with 4403 ``access_withdrawn``.
"""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, WebSocket

from backend.auth import Authenticator, Principal
from backend.playback.connection import AccessWithdrawn, PlaybackConnection
from backend.playback.controls import StartError, parse_start
from backend.playback.data import PlaybackData
from backend.playback.service import PlaybackService
from backend.playback.session import PlaybackSession
from backend.runs.repository import RunRepository, RunStatus
from common.close_codes import CloseCode
from common.credentials import bearer_token
from common.errors import NotFound, Unauthorized
from common.logging import get_logger
from common.socket_admission import Slot, SocketAdmission
from common.sockets import ClientLeft, Refused, close, first_message_token

router = APIRouter(tags=["playback"])
log = get_logger("hewston.playback")


async def _authenticate(websocket: WebSocket, service: PlaybackService) -> tuple[str | None, Principal]:
    authenticator: Authenticator = websocket.app.state.authenticator
    header = websocket.headers.get("authorization")
    token = bearer_token(header) if header else await first_message_token(websocket,
                                                                          service.config.auth_timeout_s)
    try:
        return token, await asyncio.to_thread(authenticator.authenticate, token)
    except Unauthorized as exc:
        raise Refused(CloseCode.unauthorized, exc.message) from None


def _access_check(websocket: WebSocket, token: str | None, run_id: str):
    """Whether the token still names the same caller and that caller may still see the run."""
    authenticator: Authenticator = websocket.app.state.authenticator
    runs: RunRepository = websocket.app.state.runs

    def check(expected: Principal) -> bool:
        try:
            principal = authenticator.authenticate(token)
            runs.visible(principal, run_id)
        except (Unauthorized, NotFound):
            return False
        return principal == expected

    return check


async def _open(websocket: WebSocket, run_id: str, service: PlaybackService, slot: Slot) -> PlaybackConnection:
    token, principal = await _authenticate(websocket, service)
    if principal.is_service:
        slot.let_off()  # a relay holds one socket per run it relays, all from its one address
    runs: RunRepository = websocket.app.state.runs
    try:
        record = await asyncio.to_thread(runs.visible, principal, run_id)
    except NotFound:
        raise Refused(CloseCode.not_found, "run not found") from None
    if record.status is not RunStatus.completed:
        raise Refused(CloseCode.run_not_completed, f"the run is {record.status.value}; only completed runs play")
    try:
        start = parse_start(websocket.query_params)
    except StartError as exc:
        raise Refused(CloseCode.bad_request, str(exc)) from None
    run_dir = runs.run_dir(run_id)
    data = await service.cache.get(run_id, lambda: PlaybackData.load(run_dir, record.cash))
    try:
        cursor = start.resolve(data.last, data.cursor_at_time)
    except StartError as exc:
        raise Refused(CloseCode.bad_request, str(exc)) from None
    session = PlaybackSession(run_id, data, cursor=cursor, state=start.state, speed=start.speed,
                              options=service.config.options)
    check = _access_check(websocket, token, run_id)

    async def still_allowed() -> bool:
        return await asyncio.to_thread(check, principal)

    return PlaybackConnection(run_id=run_id, user=principal.name, session=session, websocket=websocket,
                              still_allowed=still_allowed, recheck_s=service.config.access_recheck_s)


@router.websocket("/backtests/{run_id}/ws")
async def playback(websocket: WebSocket, run_id: str) -> None:
    admission: SocketAdmission = websocket.app.state.playback_admission
    await websocket.accept()
    try:
        with admission.slot(websocket) as slot:
            await _play(websocket, run_id, slot)
    except Refused as refusal:  # the slot's (origin, sockets per address): _play answers its own
        log.info("playback_refused", run_id=run_id, close_code=int(refusal.code), reason=refusal.reason)
        await close(websocket, refusal.code, refusal.reason)


async def _play(websocket: WebSocket, run_id: str, slot: Slot) -> None:
    service: PlaybackService = websocket.app.state.playback
    try:
        connection = await _open(websocket, run_id, service, slot)
    except ClientLeft:
        return
    except Refused as refusal:
        log.info("playback_refused", run_id=run_id, close_code=int(refusal.code), reason=refusal.reason)
        await close(websocket, refusal.code, refusal.reason)
        return
    except Exception:
        log.exception("playback_open_failed", run_id=run_id)
        await close(websocket, CloseCode.internal_error, "internal error")
        return
    service.opened(connection)
    websocket.app.state.metrics.playback_opened.inc()
    session = connection.session
    log.info("playback_opened", run_id=run_id, user=connection.user, cursor=session.cursor,
             state=session.state.value, speed=session.speed)
    try:
        await connection.run()
    except AccessWithdrawn:
        log.info("playback_access_withdrawn", run_id=run_id, user=connection.user)
        await close(websocket, CloseCode.access_withdrawn, "access to the run was withdrawn")
    except Exception:
        log.exception("playback_failed", run_id=run_id, user=connection.user)
        await close(websocket, CloseCode.internal_error, "internal error")
    finally:
        service.closed(connection)
        log.info("playback_closed", run_id=run_id, user=connection.user, cursor=session.cursor,
                 messages=connection.messages_sent,
                 duration_s=round(time.monotonic() - connection.started_at, 3))
