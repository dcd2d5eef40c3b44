"""Access decisions for viewers joining a run's stream, asked once for all who join with the same token.

Every viewer must be allowed by the backend before it watches (the api decides nothing itself). When thousands
open one run's stream at once, most carry the same token (a shared screen, a class, a team), and asking for each
would cost a Redis round trip per viewer, even with the answer cached. Here, viewers joining one run with one
token share one question while it is being answered, and a decision this node has just had *from the backend*
answers that caller's next joins until it is ``ttl_s`` old — the same lifetime the access cache in Redis gives it,
so no decision is reused for longer than the cache would (``docs/stream.md`` states that bound). A decision read
from the access cache (asked by another node, at a time this one does not know) serves the joins waiting for it
and is not kept. Refusals and failures are never kept.

Re-checks of viewers already watching go through :class:`~api.views.AccessChecks` as before
(``api.stream.access_recheck``).
"""

from __future__ import annotations

import time

from api import request_info
from api.views import AccessChecks, Decision, SharedTasks

Key = tuple[str, str]  # (the token's hash, the run id)


class JoinAccess:
    def __init__(self, access: AccessChecks, *, ttl_s: float, max_entries: int = 4096) -> None:
        self.access = access
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._asking: SharedTasks[Key, Decision] = SharedTasks()
        self._recent: dict[Key, tuple[float, Decision]] = {}  # decisions from the backend, with their deadline

    async def run(self, authorization: str, run_id: str) -> Decision:
        """The backend's run detail as the caller (raises as :meth:`AccessChecks.run` does)."""
        token_hash = request_info.token_hash(authorization)
        if token_hash is None:
            return await self.access.run(authorization, run_id)
        key = (token_hash, run_id)
        held = self._recent.get(key)
        if held is not None and time.monotonic() < held[0]:
            decision = held[1]
        else:
            decision = await self._asking.run(key, lambda: self._ask(key, authorization, run_id),
                                              name=f"stream-join-access-{run_id}")
        request_info.note_user(decision.user)
        return decision

    async def _ask(self, key: Key, authorization: str, run_id: str) -> Decision:
        asked_at = time.monotonic()
        decision = await self.access.run(authorization, run_id)
        if decision.source == "backend" and self.ttl_s > 0:
            self._keep(key, asked_at + self.ttl_s, decision)
        return decision

    def _keep(self, key: Key, deadline: float, decision: Decision) -> None:
        if len(self._recent) >= self.max_entries:
            now = time.monotonic()
            self._recent = {k: held for k, held in self._recent.items() if held[0] > now}
        if len(self._recent) < self.max_entries:
            self._recent[key] = (deadline, decision)
