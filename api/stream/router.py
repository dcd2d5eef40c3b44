"""``WS /api/v1/runs/{run_id}/stream``: the shared playback of one run (protocol: docs/stream.md).

The socket is accepted before anything is checked, because a refusal must carry a close code and a reason and
only an accepted socket can. Then: the page's origin and the sockets already open from the client's address
(``common.socket_admission``), the resume point in the URL (never a credential), the token (header, or the first
message within the auth deadline), and the backend's run detail with that token — which decides whether the
caller may see the run and control it; the api decides nothing itself. With Redis unavailable the viewer
gets a private direct playback instead of an error.

``stream`` is a plain Starlette ``WebSocketRoute``, not a FastAPI one: it has no dependencies or parameters to
solve, and FastAPI's dependency solver (which builds a throwaway response per call) took a twelfth of the node's
time while thousands of viewers joined at once. Its handshakes do not pass the router either: the stream lane
(``api/stream/lane.py``) serves them from just inside the rate limit. The checks above are the endpoint's own.
"""

from __future__ import annotations

import asyncio
import re

from starlette.datastructures import QueryParams
from starlette.websockets import WebSocket

from api.settings import ApiSettings
from api.stream.controls import ControlGate, Refusal
from api.stream.direct import serve_direct
from api.stream.hub import BrokerUnavailable, StreamHub
from api.stream.join_access import JoinAccess
from api.stream.socket_writer import SocketWriter
from api.stream.viewer import QueueLimits, Viewer
from api.views import BackendRefused
from common.close_codes import CloseCode
from common.controls import CREDENTIALS_IN_URL, credential_param
from common.errors import HewstonError
from common.logging import SteadyLogger
from common.socket_admission import SocketAdmission
from common.sockets import GONE, ClientLeft, Refused, close, first_message_token
from common.tasks import until_first_ends

PATH = "/runs/{run_id}/stream"
# Written for every viewer that joins and leaves: assembled once, not per line.
log = SteadyLogger("hewston.api.stream")

_EPOCH = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


def resume_point(query: QueryParams) -> tuple[str | None, int | None]:
    """``(epoch, offset)`` from the URL; no epoch means a fresh start."""
    name = credential_param(query.keys())
    if name is not None:
        raise Refused(CloseCode.bad_request, f"{name}: {CREDENTIALS_IN_URL}")
    epoch, offset = query.get("epoch"), query.get("offset")
    if epoch is not None and not _EPOCH.match(epoch):
        raise Refused(CloseCode.bad_request, "epoch: must be the epoch of a message received (1-64 letters, digits, "
                                             "- or _)")
    if offset is None:
        return epoch, None if epoch is None else 0
    if not offset.isdigit() or len(offset) > 18:
        raise Refused(CloseCode.bad_request, "offset: must be a non-negative integer")
    return (epoch, int(offset)) if epoch is not None else (None, None)


async def _authorization(websocket: WebSocket, timeout_s: float) -> str:
    header = websocket.headers.get("authorization")
    return header or f"Bearer {await first_message_token(websocket, timeout_s)}"


async def _can_control(access: JoinAccess, authorization: str, run_id: str) -> bool:
    """The backend's run detail, as the caller: whether they may see it, and whether they may control it."""
    try:
        decision = await access.run(authorization, run_id)
    except BackendRefused as exc:
        if exc.status_code == 401:
            raise Refused(CloseCode.unauthorized, exc.message) from None
        raise Refused(CloseCode.not_found, "run not found") from None
    except HewstonError as exc:
        raise Refused(CloseCode.try_again_later, f"cannot check the run now: {exc.message}") from None
    status = decision.body.get("status")
    if status != "completed":
        raise Refused(CloseCode.run_not_completed, f"the run is {status}; only completed runs play")
    return bool(decision.body.get("can_control"))


async def stream(websocket: WebSocket) -> None:
    run_id: str = websocket.path_params["run_id"]
    admission: SocketAdmission = websocket.app.state.stream_admission
    await websocket.accept()
    try:
        with admission.slot(websocket):
            await _watch(websocket, run_id)
    except Refused as refusal:  # the slot's (origin, sockets per address): _watch answers its own
        log.info("stream_refused", run_id=run_id, close_code=int(refusal.code), reason=refusal.reason)
        await close(websocket, refusal.code, refusal.reason)


async def _watch(websocket: WebSocket, run_id: str) -> None:
    state = websocket.app.state
    settings: ApiSettings = state.settings
    hub: StreamHub = state.stream_hub
    try:
        # Most viewers join afresh, with no query string to parse.
        epoch, offset = resume_point(websocket.query_params) if websocket.scope["query_string"] else (None, None)
        authorization = await _authorization(websocket, settings.stream_auth_timeout_s)
        can_control = await _can_control(hub.join_access, authorization, run_id)
    except ClientLeft:
        return
    except Refused as refusal:
        log.info("stream_refused", run_id=run_id, close_code=int(refusal.code), reason=refusal.reason)
        await close(websocket, refusal.code, refusal.reason)
        return
    limits = QueueLimits(settings.stream_viewer_queue_messages, settings.stream_viewer_queue_mb * 1024 * 1024)
    writer = SocketWriter.for_scope(websocket.scope, websocket.send, deadline_s=settings.stream_write_deadline_s)
    viewer = Viewer(writer, run_id=run_id,
                    client_id=hub.new_client_id(), can_control=can_control, limits=limits,
                    authorization=authorization)
    try:
        outcome = await hub.attach(viewer, epoch, offset)
    except BrokerUnavailable:
        hub.metrics.degraded.inc()
        log.warning("stream_degraded_direct_playback", run_id=run_id, client_id=viewer.client_id)
        hub.direct.add(websocket)
        try:
            await serve_direct(websocket, run_id=run_id, client_id=viewer.client_id, authorization=authorization,
                               resumed=offset is not None, settings=settings, gate=_gate(settings, True),
                               metrics=hub.metrics)
        finally:
            hub.direct.discard(websocket)
        return
    log.info("stream_opened", run_id=run_id, client_id=viewer.client_id, can_control=can_control,
             resume=outcome.value)
    try:
        await _serve(websocket, viewer, hub, _gate(settings, can_control))
    except Refused as ended:
        log.info("stream_ended_by_node", run_id=run_id, client_id=viewer.client_id, reason=ended.reason)
        await close(websocket, ended.code, ended.reason)
    except Exception:
        log.exception("stream_failed", run_id=run_id, client_id=viewer.client_id)
        await close(websocket, CloseCode.internal_error, "internal error")
    finally:
        hub.detach(viewer)
        if viewer.dropped is not None:
            hub.metrics.dropped.labels(viewer.dropped).inc()
            log.warning("viewer_dropped", run_id=run_id, client_id=viewer.client_id, reason=viewer.dropped)
        log.info("stream_closed", run_id=run_id, client_id=viewer.client_id, sent_offset=viewer.sent_offset)


def _gate(settings: ApiSettings, can_control: bool) -> ControlGate:
    return ControlGate(can_control=can_control, per_second=settings.stream_controls_per_s,
                       burst=settings.stream_controls_burst)


async def _serve(websocket: WebSocket, viewer: Viewer, hub: StreamHub, gate: ControlGate) -> None:
    """The viewer's sender and its control reader, until either ends (the socket closed)."""
    await until_first_ends([asyncio.create_task(viewer.send_forever(), name=f"stream-send-{viewer.client_id}"),
                            asyncio.create_task(_read_controls(websocket, viewer, hub, gate),
                                                name=f"stream-receive-{viewer.client_id}")], quiet=GONE)


async def _read_controls(websocket: WebSocket, viewer: Viewer, hub: StreamHub, gate: ControlGate) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        verdict = gate.admit(message.get("text") or message.get("bytes") or b"")
        if verdict is None:
            continue
        if isinstance(verdict, Refusal):
            hub.metrics.controls.labels(verdict.code).inc()
            viewer.push_own(verdict.message_fields())
            await websocket.app.state.audit.control_applied(viewer, verdict)
            continue
        try:
            await hub.push_control(viewer, verdict)
        except BrokerUnavailable:
            hub.metrics.controls.labels("unavailable").inc()
            viewer.push_own(Refusal("unavailable", "the broker cannot take controls right now; try again shortly",
                                    verdict.get("ref")).message_fields())
            continue
        hub.metrics.controls.labels("forwarded").inc()
        await websocket.app.state.audit.control_applied(viewer, verdict)
