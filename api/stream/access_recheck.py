"""Re-checking, while their sockets stay open, that the node's viewers may still see their runs.

Access can end while someone watches (the run was unshared, the token revoked); the backend decides, so the
node asks it again, as each viewer, every ``stream_access_recheck_s``. These questions run in a task of their
own, never in the hub's housekeeping (demand, heartbeats), and at most ``stream_access_concurrency`` at a time,
each given at most ``stream_access_timeout_s``: a thousand distinct callers or one backend call that never
returns cost the playback nothing.

One question per caller and run (viewers with the same token share it), answered from the access cache while
its answer is younger than ``access_cache_ttl_s``. So access withdrawn at the backend ends a stream within
``access_cache_ttl_s + stream_access_recheck_s + stream_access_timeout_s`` (docs/stream.md).

A check that cannot complete (the backend failing, unreachable or too slow) proves nothing either way: the viewer
is kept until the next round decides (fail open for one interval), and a viewer whose check failed twice in a row
is closed with 1013 (try again later) — its client reconnects with its resume point once the backend answers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable

from api.stream.viewer import Viewer
from api.views import AccessChecks
from common.close_codes import CloseCode
from common.errors import HewstonError
from common.logging import get_logger

log = get_logger("hewston.api.stream")

WITHDRAWN = "access to the run was withdrawn"
UNVERIFIED = "the backend could not confirm your access to the run; reconnect shortly"
# Checks that failed in a row before the viewer is closed: the first keeps it for one more interval.
FAILURES_TO_CLOSE = 2


class AccessRechecks:
    def __init__(self, access: AccessChecks, viewers: Callable[[], Iterable[Viewer]], *, interval_s: float,
                 timeout_s: float, concurrency: int) -> None:
        self.access = access
        self.viewers = viewers
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.concurrency = concurrency
        # Client id -> checks failed in a row; only viewers still watching are kept.
        self._failures: dict[str, int] = {}

    async def run_forever(self) -> None:
        """A round every ``interval_s`` (a round that took longer is followed by the next at once)."""
        next_round = time.monotonic() + self.interval_s  # viewers were checked when they connected
        while True:
            await asyncio.sleep(max(0.0, next_round - time.monotonic()))
            next_round = time.monotonic() + self.interval_s
            await self.check_all()

    async def check_all(self) -> None:
        """One round: every (run, caller) of the node's viewers asked once, ``concurrency`` at a time."""
        groups: dict[tuple[str, str | None], list[Viewer]] = {}
        for viewer in self.viewers():
            groups.setdefault((viewer.run_id, viewer.authorization), []).append(viewer)
        self._failures = {viewer.client_id: self._failures[viewer.client_id]
                          for members in groups.values() for viewer in members if viewer.client_id in self._failures}
        pending = iter(groups.items())
        errors: dict[str, int] = {}

        async def worker() -> None:
            for (run_id, authorization), members in pending:
                error = await self._check(run_id, authorization, members)
                if error is not None:
                    errors[error] = errors.get(error, 0) + 1

        await asyncio.gather(*(worker() for _ in range(min(self.concurrency, len(groups)))))
        if errors:
            # One line per round, not one per caller: an outage would otherwise log a line per viewer.
            log.warning("stream_access_checks_failed", failed=sum(errors.values()), checks=len(groups),
                        errors=errors)

    async def _check(self, run_id: str, authorization: str | None, viewers: list[Viewer]) -> str | None:
        """Ask once for ``viewers`` (one caller, one run); returns what went wrong when nothing was learnt."""
        try:
            async with asyncio.timeout(self.timeout_s):
                visible = await self.access.run_visible(authorization, run_id)
        except (HewstonError, TimeoutError) as exc:
            self._failed(viewers)
            return type(exc).__name__
        for viewer in viewers:
            self._failures.pop(viewer.client_id, None)
            if not visible:
                viewer.end(CloseCode.access_withdrawn, WITHDRAWN)
        return None

    def _failed(self, viewers: list[Viewer]) -> None:
        for viewer in viewers:
            failures = self._failures.get(viewer.client_id, 0) + 1
            self._failures[viewer.client_id] = failures
            if failures >= FAILURES_TO_CLOSE:
                viewer.end(CloseCode.try_again_later, UNVERIFIED)
