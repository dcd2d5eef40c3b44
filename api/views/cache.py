"""Encoded response bytes in Redis, with ETags and gzip.

A cached value is the exact bytes a client receives: the JSON encoded once and, when large enough, gzip
compressed once. Clients that accept gzip get the stored bytes as they are; the rare client that does not
gets them decompressed. The ETag is a hash of the uncompressed bytes, weak because the same entity is sent
with or without ``Content-Encoding``.

Stored layout: 32 hex characters of the hash, one flag byte (``g`` gzip, ``r`` raw), then the payload.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from isal import igzip

from api.views.outcome import Outcome
from api.views.read_ahead import taken_ahead
from api.views.redis_guard import RedisGuard
from api.views.single_flight import Computation, SingleFlight

# Below this, handing the work to a thread costs more than compressing in place.
COMPRESS_OFF_LOOP_BYTES = 64 * 1024


@dataclass(frozen=True)
class Encoded:
    digest: str
    payload: bytes | memoryview
    gzipped: bool

    @property
    def etag(self) -> str:
        return f'W/"{self.digest}"'

    def body(self, accept_gzip: bool) -> tuple[bytes | memoryview, str | None]:
        """The bytes to send and their Content-Encoding."""
        if not self.gzipped:
            return self.payload, None
        if accept_gzip:
            return self.payload, "gzip"
        return igzip.decompress(self.payload), None

    def raw(self) -> bytes:
        return igzip.decompress(self.payload) if self.gzipped else bytes(self.payload)

    def pack(self) -> bytes:
        return self.digest.encode("ascii") + (b"g" if self.gzipped else b"r") + self.payload

    @classmethod
    def unpack(cls, data: bytes) -> Encoded | None:
        if len(data) < 33 or data[32:33] not in (b"g", b"r"):
            return None  # not ours, or written by an incompatible version: treat as a miss
        # A view into the stored value, not a copy: a chart's payload is over a hundred kilobytes.
        return cls(digest=data[:32].decode("ascii"), payload=memoryview(data)[33:], gzipped=data[32:33] == b"g")


def digest(raw: bytes) -> str:
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def encode(raw: bytes, *, gzip_level: int, gzip_min_bytes: int) -> Encoded:
    if len(raw) >= gzip_min_bytes:
        return Encoded(digest(raw), igzip.compress(raw, gzip_level, mtime=0), True)
    return Encoded(digest(raw), raw, False)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2): ``W/`` prefixes are ignored, ``*`` matches anything."""
    if not if_none_match:
        return False
    wanted = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


@dataclass(frozen=True)
class Computed:
    raw: bytes
    # False when the answer must not be shared (for example it was computed from data that changed meanwhile,
    # or an optional part of it failed).
    cacheable: bool = True
    # Optional parts that could not be loaded; an answer with failures is never stored.
    failures: tuple[dict[str, Any], ...] = ()
    # The stored entry itself, when the computation encoded it as its parts arrived (overlapping the encoding
    # with its waits for the slower parts); ``raw`` is then empty.
    encoded: Any = None


class Entry(Protocol):
    def pack(self) -> bytes: ...


E = TypeVar("E", bound=Entry)


class ResponseCache:
    def __init__(self, guard: RedisGuard, flight: SingleFlight, *, gzip_level: int, gzip_min_bytes: int) -> None:
        self.guard = guard
        self.flight = flight
        self.gzip_level = gzip_level
        self.gzip_min_bytes = gzip_min_bytes

    def encode(self, raw: bytes) -> Encoded:
        return encode(raw, gzip_level=self.gzip_level, gzip_min_bytes=self.gzip_min_bytes)

    async def get(self, key: str, decode: Callable[[bytes], E | None] = Encoded.unpack) -> E | None:
        """The cached entry, or None; raises :class:`RedisUnavailable` when Redis cannot be asked."""
        data = await self.guard.run(lambda r: r.get(key))
        return decode(data) if data else None

    async def put(self, key: str, entry: Entry, ttl_s: int) -> None:
        await self.guard.run(lambda r: r.set(key, entry.pack(), ex=ttl_s))

    async def get_or_compute(self, key: str, ttl_s: int, compute: Callable[[], Awaitable[Computed]], *,
                             encode: Callable[[Computed], E] | None = None,
                             decode: Callable[[bytes], E | None] = Encoded.unpack) -> tuple[E, Outcome]:
        """The entry for ``key`` and how it was obtained: ``hit``, ``miss``, ``wait_hit`` or ``bypass``.

        Misses go through single flight, so concurrent misses on any number of nodes compute once; a miss is
        answered before its entry is stored (``api.views.pending_stores``).
        ``encode``/``decode`` turn computed bytes into the stored entry and back (default: :class:`Encoded`).
        """
        encode = encode or (lambda computed: self.encode(computed.raw))
        data = taken_ahead(key)
        entry = decode(data) if data else None
        if entry is not None:
            return entry, Outcome.HIT
        return await self.flight.run(key, decode, lambda: self._compute(key, ttl_s, compute, encode))

    async def _compute(self, key: str, ttl_s: int, compute: Callable[[], Awaitable[Computed]],
                       encode: Callable[[Computed], E]) -> Computation[E]:
        computed = await compute()
        if len(computed.raw) >= COMPRESS_OFF_LOOP_BYTES:
            # zlib releases the GIL: large bodies compress on a worker thread, so the event loop keeps
            # serving every other request (and stream) of this node meanwhile.
            entry = await asyncio.to_thread(encode, computed)
        else:
            entry = encode(computed)
        if not computed.cacheable or computed.failures:
            return Computation(entry)
        return Computation(entry, lambda: self.put(key, entry, ttl_s))
