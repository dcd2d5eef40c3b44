"""The blocking stream reads of one process on a Redis Cluster: one ``XREAD`` per hash slot in use.

Redis Cluster runs a multi-key command only when every key is in one hash slot. Every key of one run shares a
slot (its hash tag), so a blocking ``XREAD`` can cover one run's streams (or, with a tag shared by many runs,
all of them) but never runs of different slots. :class:`ClusterStreamReader` therefore keeps one
:class:`~common.stream.reader.StreamReader` per hash tag in use, each with a blocking connection of its own to
the node that owns the slot and a wake-up stream under the same tag (so that it may be read in the same
``XREAD``). ``read`` returns as soon as any of them returns; the others stay in flight for the next call, so a
quiet run never delays a busy one. The cost is one blocking connection per watched run's slot on each api node.

Slots move (resharding, a failover): a ``MOVED``/``ASK`` answer, or a connection lost to a node, refreshes the
client's slot map, and every read re-plans which node each slot's reader talks to. A stream continues on the new
node from the position it had reached; an entry read twice across the move is dropped by the run's feed (offsets
only grow).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, ResponseError

from common.keys import KeySpace
from common.redis_client import is_cluster
from common.stream.reader import Batch, StreamReader


def hash_tag(key: str) -> str:
    """The part of ``key`` that Redis Cluster hashes: between the first ``{`` and the next ``}`` (if not empty),
    else the whole key."""
    start = key.find("{")
    end = key.find("}", start + 1) if start >= 0 else -1
    return key[start + 1:end] if start >= 0 and end > start + 1 else key


# After a node could not be reached: how long to let the cluster settle (a failover) before reading again.
_SETTLE_S = 0.2


class _SlotReader:
    def __init__(self, reader: StreamReader, node: str) -> None:
        self.reader = reader
        self.node = node  # the node its blocking connection talks to
        self.in_flight: asyncio.Task[list[Batch]] | None = None


class ClusterStreamReader:
    def __init__(self, cluster: RedisCluster, wake_key: Callable[[str], str], *, block_ms: int,
                 socket_timeout_s: float, count: int = 256) -> None:
        """``wake_key(tag)``: the wake-up stream's name under a hash tag (``KeySpace.reader_wake_tagged``)."""
        self.cluster = cluster
        self.wake_key = wake_key
        self.block_ms = block_ms
        self.socket_timeout_s = socket_timeout_s
        self.count = count
        self._slots: dict[str, _SlotReader] = {}  # hash tag -> its reader
        self._replanned = asyncio.Event()

    async def watch(self, key: str, after_id: str) -> None:
        await self._initialized()
        slot = self._slot_reader(key)
        self._replanned.set()  # a read waiting on other slots starts this one's too
        await slot.reader.watch(key, after_id)

    def seek(self, key: str, after_id: str) -> None:
        slot = self._slots.get(hash_tag(key))
        if slot is None:
            slot = self._slot_reader(key)
            self._replanned.set()
        slot.reader.seek(key, after_id)

    def unwatch(self, key: str) -> None:
        slot = self._slots.get(hash_tag(key))
        if slot is not None:
            slot.reader.unwatch(key)

    async def read(self) -> list[Batch]:
        """The new entries of the watched streams of whichever slot answers first (nothing when none did within
        the block)."""
        await self._initialized()
        await self._drop_idle()
        await self._follow_moves()
        for slot in self._slots.values():
            if slot.in_flight is None and slot.reader.watching:
                slot.in_flight = asyncio.create_task(slot.reader.read(), name=f"stream-read-{slot.node}")
        waiting = [slot.in_flight for slot in self._slots.values() if slot.in_flight is not None]
        if not waiting:
            await asyncio.sleep(self.block_ms / 1000)
            return []
        self._replanned.clear()
        replanned = asyncio.create_task(self._replanned.wait())
        try:
            await asyncio.wait([*waiting, replanned], return_when=asyncio.FIRST_COMPLETED)
        finally:
            replanned.cancel()
        batches: list[Batch] = []
        for slot in self._slots.values():
            task = slot.in_flight
            if task is None or not task.done():
                continue
            slot.in_flight = None
            try:
                batches.extend(task.result())
            except ResponseError as exc:
                if not str(exc).startswith(("MOVED", "ASK", "CLUSTERDOWN", "TRYAGAIN")):
                    raise
                await self._learn_slots()  # the slot moved: learn where, re-plan next read
            except (RedisConnectionError, OSError, TimeoutError):
                # The node went away (a failover promotes its replica within the cluster's node timeout): learn
                # the new map, and do not spin while the cluster settles.
                await asyncio.sleep(_SETTLE_S)
                await self._learn_slots()
        return batches

    async def _learn_slots(self) -> None:
        """Refresh the slot map; a cluster that cannot be reached at all is Redis being down for the caller."""
        try:
            await self.cluster.nodes_manager.initialize()
        except RedisClusterException as exc:
            raise RedisConnectionError(str(exc)) from exc

    async def aclose(self) -> None:
        """Close every slot's connection, and the cluster client the reader was given (its own)."""
        for slot in list(self._slots.values()):
            await self._close(slot)
        self._slots.clear()
        await self.cluster.aclose()

    # Planning ---------------------------------------------------------------------------------------------------

    async def _initialized(self) -> None:
        if not self.cluster.nodes_manager.slots_cache:
            try:
                await self.cluster.initialize()
            except RedisClusterException as exc:
                raise RedisConnectionError(str(exc)) from exc

    def _owner(self, key: str):  # noqa: ANN202 - redis-py's ClusterNode
        return self.cluster.nodes_manager.get_node_from_slot(key_slot(key.encode()))

    def _slot_reader(self, key: str) -> _SlotReader:
        tag = hash_tag(key)
        slot = self._slots.get(tag)
        if slot is None:
            owner = self._owner(key)
            slot = _SlotReader(StreamReader(self._connect(owner), self.cluster, self.wake_key(tag),
                                            block_ms=self.block_ms, count=self.count), owner.name)
            self._slots[tag] = slot
        return slot

    def _connect(self, node) -> aioredis.Redis:  # noqa: ANN001 - redis-py's ClusterNode
        kwargs = {name: value for name, value in self.cluster.nodes_manager.connection_kwargs.items()
                  if name in ("username", "password", "ssl")}
        return aioredis.Redis(host=node.host, port=node.port, socket_timeout=self.socket_timeout_s,
                              socket_connect_timeout=2.0, **kwargs)

    async def _follow_moves(self) -> None:
        """Point each slot's reader at the node that owns its slot now (after resharding or a failover)."""
        for tag, slot in self._slots.items():
            owner = self._owner(self.wake_key(tag))
            if owner.name != slot.node and slot.in_flight is None:
                old = slot.reader.blocking
                slot.reader.blocking, slot.node = self._connect(owner), owner.name
                await old.aclose()

    async def _drop_idle(self) -> None:
        """A slot none of whose streams is watched any more gives its connection back."""
        for tag in [tag for tag, slot in self._slots.items() if not slot.reader.watching and slot.in_flight is None]:
            await self._close(self._slots.pop(tag))

    @staticmethod
    async def _close(slot: _SlotReader) -> None:
        if slot.in_flight is not None:
            slot.in_flight.cancel()
        await slot.reader.blocking.aclose()


def make_stream_reader(blocking: aioredis.Redis, commands: aioredis.Redis, keys: KeySpace, reader_id: str, *,
                       block_ms: int, socket_timeout_s: float) -> StreamReader | ClusterStreamReader:
    """The process's blocking stream read: one ``XREAD`` on one server, or one per node of a cluster."""
    if is_cluster(blocking):
        return ClusterStreamReader(blocking, lambda tag: keys.reader_wake_tagged(reader_id, tag),  # type: ignore[arg-type]
                                   block_ms=block_ms, socket_timeout_s=socket_timeout_s)
    return StreamReader(blocking, commands, keys.reader_wake(reader_id), block_ms=block_ms)
