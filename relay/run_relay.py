"""Relaying one run while this relay holds its lease: one upstream playback connection, every message appended
to the run's stream under the next offset, controls passed upstream and their errors routed back.

Continuity is the point. Each append also records the relay's memory of the playback (cursor, state, speed),
atomically, so whoever connects next — this relay after the backend dropped, or another relay after this one
died — resumes upstream exactly after the last published bar, and :class:`Republisher` keeps the resumed
connection's repeated snapshot and ``end`` out of the stream. Viewers see neither a gap nor a duplicate bar.
"""

from __future__ import annotations

import asyncio
import random
import time
from copy import copy
from dataclasses import dataclass

import orjson
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from common.close_codes import should_reconnect
from common.controls import control_ref
from common.logging import get_logger
from common.models.stream import ResetCause, UpstreamState
from common.redis_client import REDIS_ERRORS
from common.stream.envelope import Outgoing, PlaybackPosition, Republisher, encode_published
from common.stream.store import Claim, Fenced, OffsetMismatch, StreamStore
from common.stream.upstream import open_playback
from common.tasks import until_first_ends
from relay.metrics import RelayMetrics
from relay.settings import RelaySettings

log = get_logger("hewston.relay")
_KEYFRAME_REQUEST = orjson.dumps({"type": "snapshot"}).decode()
# Controls whose answer never came (the connection dropped) are forgotten after this long.
_PENDING_CONTROL_S = 30.0
# Controls that arrive while the upstream connection is (re)opening wait this long for it, then are refused.
_WAITING_CONTROL_S = 10.0
_WAITING_CONTROLS = 64
_UNAVAILABLE = "the playback is reconnecting to the backend; try again shortly"
_TOOK_OVER = "the relay holding this run lost it (it stopped, or was cut off from Redis); this one took over"


class LeaseLost(Exception):
    """Another relay holds the run now (or the lease could not be renewed in time): stop at once."""


class RunRefused(Exception):
    """The backend refused the run for good (deleted, no longer visible, bad service token)."""


@dataclass(frozen=True)
class _PendingControl:
    client: str
    ref: str | None
    sent_at: float


class RunRelay:
    def __init__(self, run_id: str, claim: Claim, *, token: str, store: StreamStore, settings: RelaySettings,
                 metrics: RelayMetrics, restart_from: PlaybackPosition | None = None) -> None:
        self.run_id = run_id
        self.token = token
        self.store = store
        self.settings = settings
        self.metrics = metrics
        self.epoch = claim.epoch
        self.offset = claim.offset
        # What viewers have: the published position. A new epoch starts empty, but may restart the playback
        # where it was before its history was lost (``restart_from``, or the position Redis remembers when the
        # epoch was ended because the stream went backwards), which viewers learn as `history_lost`.
        starting_over = claim.fresh or claim.offset == 0
        self.position = PlaybackPosition() if starting_over else copy(claim.position)
        remembered = claim.position if claim.position.cursor is not None else None
        self._restart_from = (restart_from or remembered) if starting_over else None
        self._first_cause = ResetCause.history_lost if self._restart_from else ResetCause.connect
        self._announce = _TOOK_OVER if claim.takeover else None
        self._ws = None
        # The control the next append answers (recorded with it, under the fence).
        self._answered: str | None = None
        self._pending: dict[str, _PendingControl] = {}
        self._waiting: list[tuple[str, str, bytes, float]] = []
        self._since_snapshot = 0
        self._keyframe_requested = False
        self._log = log.bind(run_id=run_id)

    async def run(self) -> None:
        """Relay until cancelled; raises :class:`LeaseLost` or :class:`RunRefused` when the run must go."""
        await until_first_ends([asyncio.create_task(self._renew_loop(), name=f"relay-renew-{self.run_id}"),
                                asyncio.create_task(self._relay_loop(), name=f"relay-upstream-{self.run_id}")])

    # Lease -----------------------------------------------------------------------------------------------------

    async def _renew_loop(self) -> None:
        ttl_s = self.settings.lease_ttl_s
        ttl_ms = int(ttl_s * 1000)
        renewed_at = time.monotonic()
        while True:
            await asyncio.sleep(ttl_s / 3)
            try:
                held = await self.store.renew(self.run_id, self.token, lease_ttl_ms=ttl_ms)
            except REDIS_ERRORS as exc:
                # A stall (CLIENT PAUSE, a slow fsync, a failover) must not cost the run: the append is fenced, so
                # holding on is safe; the renew answers whether the lease survived once Redis is back.
                if time.monotonic() - renewed_at >= self.settings.redis_outage_grace_s:
                    raise LeaseLost(f"could not renew the lease: {type(exc).__name__}") from exc
                continue
            if not held:
                raise LeaseLost("the lease is held by another relay")
            renewed_at = time.monotonic()
            if self._waiting and self._ws is None:
                await self._release_waiting(connected=False)

    # Upstream --------------------------------------------------------------------------------------------------

    def _resume_params(self) -> dict[str, str]:
        source = self.position if self.position.cursor is not None else (self._restart_from or self.position)
        return source.resume_params()

    async def _relay_loop(self) -> None:
        attempt = 0
        lost: str | None = None
        authorization = f"Bearer {self.settings.service_token}"
        while True:
            try:
                ws = await open_playback(self.settings.backend_url, self.run_id, authorization,
                                         ca_file=self.settings.backend_ca_file, params=self._resume_params(),
                                         open_timeout_s=self.settings.upstream_open_timeout_s)
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
                lost = await self._upstream_lost(lost, f"the backend cannot be reached ({type(exc).__name__})")
                await self._backoff(attempt)
                attempt += 1
                continue
            self.metrics.upstream_connections.inc()
            republisher = Republisher(self.position, first_cause=self._first_cause)
            first = True
            try:
                async for raw in ws:
                    received_at = time.perf_counter()
                    if first:
                        # The backend answered: this connection is live.
                        first, attempt = False, 0
                        self._ws = ws
                        self.metrics.upstream_events.labels("connected").inc()
                        reason = lost or self._announce
                        if reason is not None:
                            await self._publish_upstream(UpstreamState.resumed, f"resumed after: {reason}")
                            lost = self._announce = None
                        await self._release_waiting(connected=True)
                    await self._on_message(raw, republisher, received_at)
                code, why = ws.close_code or 1006, ws.close_reason or ""
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else 1006
                why = exc.rcvd.reason if exc.rcvd is not None else ""
            finally:
                self._ws = None
                self.metrics.upstream_connections.dec()
                # Shielded: a stop cancels this loop again if it goes on (a cancellation can be lost), and the
                # close must still end the connection (within its own close timeout) rather than leave it open.
                await asyncio.shield(ws.close())
            if code >= 4000 and not should_reconnect(code):
                self.metrics.upstream_events.labels("refused").inc()
                await self._publish_upstream(UpstreamState.lost, f"the backend refused the run: {why or code}")
                raise RunRefused(f"{code} {why}")
            lost = await self._upstream_lost(lost, f"the backend closed the connection ({code})")
            await self._backoff(attempt)
            attempt += 1

    async def _backoff(self, attempt: int) -> None:
        # Full jitter, so that relays reconnecting after a backend restart do not arrive all at once.
        cap = min(self.settings.upstream_backoff_max_s, self.settings.upstream_backoff_s * (2 ** attempt))
        await asyncio.sleep(random.uniform(self.settings.upstream_backoff_s / 2, max(cap, 0.001)))

    async def _upstream_lost(self, already: str | None, reason: str) -> str:
        """Tell viewers once per outage; returns the reason the stream now carries."""
        if already is None:
            self.metrics.upstream_events.labels("lost").inc()
            self._log.warning("upstream_lost", reason=reason)
            await self._publish_upstream(UpstreamState.lost, reason)
            return reason
        return already

    async def _on_message(self, raw: str | bytes, republisher: Republisher, received_at: float) -> None:
        message = orjson.loads(raw)
        kind = message.get("type")
        if kind == "error":
            await self._route_reply(message)
            return
        answered = message.pop("ref", None)  # the relay's own reference to a control (its entry id)
        if answered is not None and self._pending.pop(answered, None) is not None:
            self._answered = answered
        out = republisher.accept(message)
        if out is None:
            self.metrics.messages.labels("dropped", str(kind)).inc()
            await self._record_answered()
            return
        await self._publish(out)
        self.metrics.append_lag.observe(time.perf_counter() - received_at)
        if kind == "snapshot":
            self._since_snapshot, self._keyframe_requested = 0, False
            return
        self._since_snapshot += 1
        if self._since_snapshot >= self.settings.keyframe_after_messages and not self._keyframe_requested \
                and self._ws is not None:
            self._keyframe_requested = True
            await self._ws.send(_KEYFRAME_REQUEST)

    # Appending -------------------------------------------------------------------------------------------------

    async def _publish_upstream(self, state: UpstreamState, reason: str) -> None:
        await self._publish(Outgoing({"type": "upstream", "run_id": self.run_id, "state": state.value,
                                      "reason": reason}))

    async def _publish(self, out: Outgoing) -> None:
        """Append under the next offset, retrying while Redis is away for as long as the lease can last."""
        offset = self.offset + 1
        after = copy(self.position)
        after.observe(out.message)
        deadline = time.monotonic() + self.settings.redis_outage_grace_s
        retried = False
        answered, self._answered = self._answered, None
        # `ts` is for viewers (latency); every deadline and age the stream compares is Redis's clock, so a relay
        # whose clock is off neither starves nor trims early.
        data = encode_published(out, epoch=self.epoch, offset=offset, ts_ms=int(time.time() * 1000))
        while True:
            try:
                await self.store.append(self.run_id, self.token, offset=offset, message_type=out.type, data=data,
                                        epoch=self.epoch, position=after, applied_control=answered)
                break
            except Fenced as exc:
                raise LeaseLost(str(exc)) from None
            except OffsetMismatch as exc:
                # A retried append whose first attempt went through (only the reply was lost).
                if retried and exc.expected == offset + 1:
                    break
                if exc.expected < offset:
                    await self._stream_went_back(exc.expected - 1)
                raise LeaseLost(str(exc)) from None
            except REDIS_ERRORS as exc:
                if time.monotonic() >= deadline:
                    raise LeaseLost(f"could not append: {type(exc).__name__}") from exc
                retried = True
                await asyncio.sleep(0.1)
        self.offset = offset
        self.position.observe(out.message)
        self.metrics.messages.labels("published", out.type).inc()

    async def _stream_went_back(self, redis_offset: int) -> None:
        """Redis is behind what this relay appended (a failover that lost writes, an AOF crash, a restore): end
        the epoch, so that offsets are never reused for other content. This relay then gives the run up and
        claims it again into a new epoch, restarting where it was (viewers get a `history_lost` reset)."""
        self.metrics.lease_changes.labels("stream_went_back").inc()
        self._log.warning("stream_went_backwards", epoch=self.epoch, offset=self.offset, redis_offset=redis_offset)
        try:
            await self.store.rewind(self.run_id, self.epoch, self.offset)
        except REDIS_ERRORS:
            pass  # whoever looks next (an api node, this relay's next claim) finds it again

    # Controls --------------------------------------------------------------------------------------------------

    async def control(self, entry_id: str, client: str, raw: bytes) -> None:
        """Pass one viewer's control upstream (the api checked it and the viewer's right to control). While the
        upstream connection is opening, controls wait for it a little (a first viewer's "play" typically
        arrives before the relay has connected)."""
        try:
            control = orjson.loads(raw)
            viewer_ref = control.get("ref")
        except (orjson.JSONDecodeError, AttributeError):
            self.metrics.controls.labels("rejected").inc()
            return
        ws = self._ws
        if ws is None:
            if len(self._waiting) < _WAITING_CONTROLS:
                self._waiting.append((entry_id, client, raw, time.monotonic()))
                return
        else:
            self._forget_old_controls()
            self._pending[entry_id] = _PendingControl(client, viewer_ref, time.monotonic())
            control["ref"] = entry_id
            try:
                await ws.send(orjson.dumps(control).decode())
            except ConnectionClosed:
                self._pending.pop(entry_id, None)
            else:
                # Recorded with the append of its answer (or, without one, by _record_answered): a relay that
                # dies before then leaves it to the next holder, which applies it to the published position.
                self.metrics.controls.labels("forwarded").inc()
                return
        self.metrics.controls.labels("unavailable").inc()
        await self._reply(client, "upstream_unavailable", _UNAVAILABLE, viewer_ref)

    async def _release_waiting(self, *, connected: bool) -> None:
        """Send the controls that waited for the connection, or refuse those that waited too long."""
        horizon = time.monotonic() - _WAITING_CONTROL_S
        waiting, self._waiting = self._waiting, []
        for entry_id, client, raw, arrived in waiting:
            if connected and arrived >= horizon:
                await self.control(entry_id, client, raw)
            elif arrived < horizon:
                self.metrics.controls.labels("unavailable").inc()
                await self._reply(client, "upstream_unavailable", _UNAVAILABLE, control_ref(raw))
            else:
                self._waiting.append((entry_id, client, raw, arrived))

    async def _record_answered(self) -> None:
        """Record a control whose answer published nothing (refused, or nothing new), under the fence."""
        answered, self._answered = self._answered, None
        if answered is None:
            return
        try:
            await self.store.control_applied(self.run_id, self.token, answered)
        except Fenced as exc:
            raise LeaseLost(str(exc)) from None
        except REDIS_ERRORS:
            pass  # the next holder would refuse it once more: its sender gets a second error, nothing else

    async def _route_reply(self, message: dict) -> None:
        ref = message.get("ref") or ""
        pending = self._pending.pop(ref, None)
        self.metrics.messages.labels("reply", "error").inc()
        if pending is None:
            self._log.warning("unrouted_backend_error", code=message.get("code"))
            return
        self._answered = ref
        await self._record_answered()
        self.metrics.controls.labels("rejected").inc()
        await self._reply(pending.client, str(message.get("code")), str(message.get("message")), pending.ref)

    async def _reply(self, client: str, code: str, text: str, ref: str | None) -> None:
        data = orjson.dumps({"code": code, "message": text, "ref": ref})
        try:
            await self.store.reply(self.run_id, client, data, ttl_ms=int(self.settings.idle_ttl_s * 1000))
        except REDIS_ERRORS:
            pass  # the viewer's control simply goes unanswered; nobody else is affected

    def _forget_old_controls(self) -> None:
        horizon = time.monotonic() - _PENDING_CONTROL_S
        for ref in [ref for ref, p in self._pending.items() if p.sent_at < horizon]:
            del self._pending[ref]
