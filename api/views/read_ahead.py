"""Reading ahead: the cache entries a request will look up, fetched in the same Redis round trip as its rate limit.

A cache hit of ``/chart-data`` or ``/runs/{id}/complete`` reads two keys, the caller's cached access decision and
the cached answer, after the rate limit's own call: three round trips to Redis, one after another, for one
answer. A node remembers which keys a request read first (by method, path, query and credential; a bounded
LRU), and when the identical request comes again the rate limit reads them in its own pipeline. The views then
take a value read ahead instead of asking Redis again: once per key and request, and only for a view's first
look-up (single flight's later looks always ask Redis).

Nothing is decided from a remembered key. The views build their keys as they always do (a chart's from the
data version in the backend's access decision), and a key that was not read ahead is read then. A value read
ahead is as fresh as one read a moment later: the same request, the same Redis, microseconds apart.
"""

from __future__ import annotations

from collections import OrderedDict
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING

from starlette.types import Scope

from common.credentials import credential_hash
from common.request_headers import header_index

if TYPE_CHECKING:
    from api.views.redis_guard import RedisGuard

Signature = tuple[bytes, bytes, bytes, str | None]
_current: ContextVar[RequestReads | None] = ContextVar("api_request_reads", default=None)


class RequestReads:
    """One request's values read ahead, and the keys its views looked up first (to read ahead next time)."""

    __slots__ = ("ahead", "looked_up")

    def __init__(self, ahead: dict[str, bytes | None]) -> None:
        self.ahead = ahead
        self.looked_up: list[str] = []


def _take(key: str) -> tuple[bool, bytes | None]:
    """Whether ``key`` was read ahead for this request, and its value (taken: once per request). The look-up is
    remembered either way, so that the next identical request reads ``key`` ahead."""
    reads = _current.get()
    if reads is None:
        return False, None
    reads.looked_up.append(key)
    if key in reads.ahead:
        return True, reads.ahead.pop(key)
    return False, None


def taken_ahead(key: str) -> bytes | None:
    """The value of ``key`` read ahead for this request; None when it was not read ahead or is not there (the
    caller then asks Redis in a look-up of its own)."""
    return _take(key)[1]


def all_found_ahead() -> bool:
    """Whether values were read ahead for this request and every one of them was there: a repeated cache hit,
    whose look-ups then need no round trip to Redis (so running them one after another costs nothing)."""
    reads = _current.get()
    return reads is not None and bool(reads.ahead) and None not in reads.ahead.values()


async def first_read(guard: RedisGuard, key: str) -> bytes | None:
    """A view's first look-up of ``key`` in this request: the value read ahead when there is one, else Redis's
    (raises :class:`~api.views.redis_guard.RedisUnavailable` as any read does)."""
    read, value = _take(key)
    return value if read else await guard.run(lambda r: r.get(key))


class ReadAhead:
    """The keys each recent request read first, by request; built once per process."""

    def __init__(self, max_requests: int = 4096) -> None:
        self.max_requests = max_requests
        self._keys: OrderedDict[Signature, tuple[str, ...]] = OrderedDict()

    @staticmethod
    def signature(scope: Scope) -> Signature | None:
        """What makes two requests look up the same keys; None for what is never read ahead (not a GET)."""
        if scope["type"] != "http" or scope["method"] != "GET":
            return None
        authorization = header_index(scope).get(b"authorization")
        return (scope["method"].encode("ascii"), scope.get("raw_path") or scope["path"].encode("latin-1"),
                scope.get("query_string", b""), credential_hash(authorization))

    def keys(self, signature: Signature | None) -> tuple[str, ...]:
        """The keys to read ahead for a request with this signature (none the first time it is seen)."""
        if signature is None:
            return ()
        keys = self._keys.get(signature, ())
        if keys:
            self._keys.move_to_end(signature)
        return keys

    def begin(self, ahead: dict[str, bytes | None]) -> tuple[RequestReads, Token]:
        """The request's reads, current until :meth:`end`."""
        reads = RequestReads(ahead)
        return reads, _current.set(reads)

    def end(self, signature: Signature | None, reads: RequestReads, token: Token) -> None:
        _current.reset(token)
        if signature is None or not reads.looked_up:
            return
        looked_up = tuple(dict.fromkeys(reads.looked_up))
        if self._keys.get(signature) == looked_up:
            return  # a repeated request: remembered already, and made the most recent by keys()
        self._keys[signature] = looked_up
        self._keys.move_to_end(signature)
        while len(self._keys) > self.max_requests:
            self._keys.popitem(last=False)
