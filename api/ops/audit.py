"""The audit trail: one structured event per state-changing call through the api.

An event says who (the user the backend named), what (``backtest_created``, ``backtest_shared``,
``backtest_unshared``, ``playback_control``), which run, the outcome (the status the backend answered, or
what became of a control) and the correlation id that finds the same call in every service's log. It goes to
the ``hewston.audit`` logger (one line a collector can route apart) and to a Redis stream capped at
``audit_max_events`` (approximate trimming, so appending stays O(1)), which operators page through newest
first. Tokens never appear: nothing here reads a credential beyond asking the backend who it belongs to.
An event that Redis cannot take is still logged; the call it describes never fails because of it.
"""

from __future__ import annotations

import re
import time
from typing import Any

from api.stream.controls import Refusal
from api.stream.viewer import Viewer
from api.views import AccessChecks, RedisGuard, RedisUnavailable
from common.correlation import current_correlation_id
from common.errors import HewstonError, InvalidInput
from common.keys import KeySpace
from common.logging import get_logger

log = get_logger("hewston.audit")

# State-changing backend routes the api passes through, and what each one does.
PASSTHROUGH_ACTIONS = {
    ("POST", "/backtests"): "backtest_created",
    ("POST", "/backtests/{run_id}/shares"): "backtest_shared",
    ("DELETE", "/backtests/{run_id}/shares/{user}"): "backtest_unshared",
}
AUDITED_METHODS = frozenset(method for method, _route in PASSTHROUGH_ACTIONS)
# A created run's id, read from the backend's small JSON answer without decoding all of it.
_CREATED_ID = re.compile(rb'"id"\s*:\s*"([^"]{1,128})"')
_STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


def stream_id(value: str, field: str = "before") -> str:
    """A cursor for paging, checked: it is a Redis stream id, never arbitrary text."""
    if not _STREAM_ID.match(value):
        raise InvalidInput(field, "must be the `next` cursor of a previous page (like 1700000000000-0)")
    return value


class AuditTrail:
    def __init__(self, guard: RedisGuard, keys: KeySpace, access: AccessChecks, *, max_events: int) -> None:
        self.guard = guard
        self.keys = keys
        # Who sent a playback control: the run's access decision names the caller (cached for seconds).
        self.access = access
        self.max_events = max_events

    async def record(self, action: str, *, user: str | None, run_id: str | None, outcome: str,
                     **detail: str | int | float | None) -> None:
        event: dict[str, Any] = {"at_ms": int(time.time() * 1000), "action": action, "user": user or "",
                                 "run_id": run_id or "", "outcome": outcome,
                                 "correlation_id": current_correlation_id() or "",
                                 **{k: v for k, v in detail.items() if v is not None}}
        log.info("audit", **{k: v for k, v in event.items() if k != "correlation_id"})
        fields = {k: str(v) for k, v in event.items()}
        try:
            await self.guard.run(lambda r: r.xadd(self.keys.audit_stream(), fields, maxlen=self.max_events,
                                                  approximate=True))
        except RedisUnavailable:
            log.warning("audit_not_stored", action=action, run_id=run_id)

    async def passthrough(self, method: str, route: str, path_params: dict[str, Any], status: int,
                          user: str | None, body: bytes | None) -> None:
        """The event of a passthrough call, when it changed state (others are not audited)."""
        action = PASSTHROUGH_ACTIONS.get((method, route))
        if action is None:
            return
        run_id = path_params.get("run_id")
        if run_id is None and body is not None and status < 300:
            match = _CREATED_ID.search(body)
            run_id = match.group(1).decode("utf-8", "replace") if match else None
        await self.record(action, user=user, run_id=run_id, outcome=str(status), target=path_params.get("user"))

    async def control_applied(self, viewer: Viewer, verdict: dict[str, Any] | Refusal) -> None:
        """Audit a viewer's playback control: one forwarded to the relay, or one refused because the backend
        does not let that viewer control the run (malformed and rate-limited controls are not audited: no state
        changed and nobody overstepped).

        The stream calls this through ``app.state.audit`` (the stream sits below this package and imports
        nothing from it)."""
        if isinstance(verdict, Refusal) and verdict.code != "forbidden":
            return
        try:
            user = (await self.access.run(viewer.authorization, viewer.run_id)).user
        except HewstonError:
            user = None
        refused = isinstance(verdict, Refusal)
        await self.record("playback_control", user=user, run_id=viewer.run_id,
                          outcome=verdict.code if refused else "forwarded", client_id=viewer.client_id,
                          control="refused" if refused else str(verdict.get("type", "unknown")))

    async def page(self, *, before: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        """Up to ``limit`` events older than ``before`` (newest first) and the cursor of the next page."""
        key = self.keys.audit_stream()
        top = f"({before}" if before else "+"
        entries = await self.guard.run(lambda r: r.xrevrange(key, max=top, min="-", count=limit + 1))
        events = []
        for entry_id, fields in entries[:limit]:
            decoded = {_text(k): _text(v) for k, v in fields.items()}
            events.append({"id": _text(entry_id), **decoded, "at_ms": int(decoded.get("at_ms", 0))})
        return events, (events[-1]["id"] if len(entries) > limit else None)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
