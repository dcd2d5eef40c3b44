"""One blocking ``XREAD`` over many streams, on a Redis connection of its own.

An api node reads the streams of all runs its viewers watch, and a relay the control streams of all runs it
holds, with a single blocking read each instead of a task and a connection per run (on a Redis Cluster,
``common.stream.cluster_reader`` keeps one of these per node). Streams join and leave between reads; a join also
writes to a small wake-up stream that every read includes, so that a blocked read returns at once instead of
waiting out its block. The connection's socket timeout must exceed the block time
(``create_redis(..., socket_timeout_s=...)``), or a quiet read would fail at the socket.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

# How long a wake-up stream outlives its reader (it is recreated by the next join).
_WAKE_TTL_MS = 60_000

# One stream's new entries: (key, [(entry id, fields), ...]).
Batch = tuple[str, list[tuple[bytes, dict[bytes, bytes]]]]


class StreamReader:
    def __init__(self, blocking: aioredis.Redis, commands: aioredis.Redis, wake_key: str, *, block_ms: int,
                 count: int = 256) -> None:
        self.blocking = blocking      # used for nothing but the blocking read (on a cluster: one node's)
        self.commands = commands      # for the wake-up write, which must not queue behind the read
        self.wake_key = wake_key
        self.block_ms = block_ms
        self.count = count
        self._positions: dict[str, str] = {}
        # Bumped whenever a stream's position is set from outside, so that a read already in flight does not
        # overwrite it with a position from before.
        self._generation: dict[str, int] = {}

    async def watch(self, key: str, after_id: str) -> None:
        """Read ``key`` from just after ``after_id``, starting with the next read (waking a blocked one)."""
        self.seek(key, after_id)
        async with self.commands.pipeline(transaction=False) as pipe:
            pipe.xadd(self.wake_key, {"w": b"1"}, maxlen=1, approximate=False)
            pipe.pexpire(self.wake_key, _WAKE_TTL_MS)
            await pipe.execute()

    def seek(self, key: str, after_id: str) -> None:
        self._positions[key] = after_id
        self._generation[key] = self._generation.get(key, 0) + 1

    def unwatch(self, key: str) -> None:
        self._positions.pop(key, None)
        self._generation.pop(key, None)

    async def aclose(self) -> None:
        await self.blocking.aclose()

    @property
    def watching(self) -> bool:
        return bool(self._positions)

    async def read(self) -> list[Batch]:
        """One read: the new entries of each watched stream (nothing when the block timed out)."""
        positions = dict(self._positions)
        generations = dict(self._generation)
        request: dict[Any, Any] = {self.wake_key: "$", **positions}
        reply = await self.blocking.xread(request, count=self.count, block=self.block_ms)
        batches = []
        for raw_key, entries in reply or ():
            key = raw_key.decode() if isinstance(raw_key, bytes) else raw_key
            if key == self.wake_key or not entries:
                continue
            if self._generation.get(key) != generations.get(key):
                # Its position was set while this read was on its way: what it brought was read from before that
                # position, and handing it on could skip past the new one (the caller would see a gap). The next
                # read starts where it was set.
                continue
            last = entries[-1][0]
            self._positions[key] = last.decode() if isinstance(last, bytes) else last
            batches.append((key, entries))
        return batches
