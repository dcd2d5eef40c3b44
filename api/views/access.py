"""The backend's access decisions, cached for a few seconds per token hash.

The api never decides access itself. Before serving cached bytes it asks the backend, with the caller's
token, for the symbol (which also tells the dataset versions) or the run (which also tells its status). The
answer, including who the backend said the caller is, may be reused for ``access_cache_ttl_s`` seconds, and
callers of one node asking the same question at the same time share one backend call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from api import request_info
from api.metrics import ApiMetrics
from api.views.outcome import Outcome
from api.views.read_ahead import first_read
from api.views.redis_guard import RedisGuard, RedisUnavailable
from api.views.shared_tasks import SharedTasks
from api.views.transform import loads_object
from api.views.upstream import USER_HEADER, BackendRefused, Upstream
from common.keys import KeySpace


@dataclass(frozen=True)
class Decision:
    raw: bytes
    body: dict[str, Any]
    # "backend" when asked just now, "access_cache" when a recent answer was reused.
    source: str
    # Who the backend said the caller is (its X-Hewston-User), when it said.
    user: str | None = None


def _pack(user: str | None, raw: bytes) -> bytes:
    return (user or "").encode("utf-8") + b"\n" + raw


def _unpack(data: bytes) -> tuple[str | None, bytes]:
    user, _, raw = data.partition(b"\n")
    return (user.decode("utf-8") or None), raw


class AccessChecks:
    def __init__(self, upstream: Upstream, guard: RedisGuard, keys: KeySpace, *, ttl_s: float,
                 metrics: ApiMetrics) -> None:
        self.upstream = upstream
        self.guard = guard
        self.keys = keys
        self.ttl_ms = max(1, int(ttl_s * 1000))
        self.metrics = metrics
        self._asking: SharedTasks[str, tuple[bytes, str | None]] = SharedTasks()

    async def symbol(self, authorization: str | None, symbol: str) -> Decision:
        """``GET /symbols/{symbol}`` as the caller: proves the token and names the datasets' data versions."""
        key = self._key(authorization, lambda h: self.keys.symbol_access(h, symbol))
        return await self._decide(key, f"/symbols/{symbol}", "/symbols/{symbol}", authorization, "symbol")

    async def run(self, authorization: str | None, run_id: str, *, reuse: bool = True) -> Decision:
        """``GET /backtests/{id}`` as the caller: 404 unless the caller may see the run."""
        key = self._key(authorization, lambda h: self.keys.run_access(h, run_id)) if reuse else None
        return await self._decide(key, f"/backtests/{run_id}", "/backtests/{id}", authorization, "run")

    async def run_visible(self, authorization: str | None, run_id: str) -> bool:
        """Whether the caller may still see the run: the re-check of a socket that stays open.

        Reuses a decision younger than ``access_cache_ttl_s`` and asks the backend otherwise, so a socket that
        re-checks every few seconds costs the backend at most one call per caller and run in that time, and
        access withdrawn there is seen here within the same bound. A refusal (401, 403, 404) is False; an
        unreachable or failing backend raises, so that an outage does not end every socket at once.
        """
        try:
            await self.run(authorization, run_id)
        except BackendRefused as exc:
            if exc.status_code in (401, 403, 404):
                return False
            raise
        return True

    @staticmethod
    def _key(authorization: str | None, build) -> str | None:
        token_hash = request_info.token_hash(authorization)
        return build(token_hash) if token_hash else None

    async def _decide(self, key: str | None, path: str, route: str, authorization: str | None,
                      what: str) -> Decision:
        if key is not None:
            try:
                data = await first_read(self.guard, key)
            except RedisUnavailable:
                data = None
            if data:
                user, raw = _unpack(data)
                self.metrics.count_cache(f"access_{what}", Outcome.HIT)
                request_info.note_user(user)
                return Decision(raw, orjson.loads(raw), "access_cache", user)
            self.metrics.count_cache(f"access_{what}", Outcome.MISS)
        if key is None:
            raw, user = await self._ask_backend(None, path, route, authorization)
        else:
            # Callers asking the same question at once (a thousand viewers opening a stream) share one answer.
            raw, user = await self._asking.run(key, lambda: self._ask_backend(key, path, route, authorization))
            request_info.note_user(user)
        return Decision(raw, loads_object(raw, what), "backend", user)

    async def _ask_backend(self, key: str | None, path: str, route: str,
                           authorization: str | None) -> tuple[bytes, str | None]:
        response = await self.upstream.get_ok(path, route=route, authorization=authorization)
        user = response.headers.get(USER_HEADER)
        if key is not None:
            packed = _pack(user, response.content)
            try:
                await self.guard.run(lambda r: r.set(key, packed, px=self.ttl_ms))
            except RedisUnavailable:
                pass
        return response.content, user
