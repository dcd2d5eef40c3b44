"""A pooled Redis connection is checked for leftovers by looking at what it holds, not by reading under a zero timeout.

Before handing out an idle connection, redis-py's asyncio pool asks it whether unread data is waiting (an answer
left behind by a cancelled call) or the server has closed it; either way the pool reconnects it. With the hiredis
parser, redis-py 5 answers that by reading from the socket under a zero timeout: when nothing is waiting, which is
nearly always, the read suspends, the timeout cancels it on the next turn of the event loop, and the command goes
out one turn later. Every command pays a trip through the loop and a cancellation for it: about 25 µs of a cache
hit's single Redis read on loopback.

:class:`LeftoverCheckingParser` answers from what asyncio has already delivered to the connection: data buffered
by the stream or held by hiredis, or the end of the stream. A connection idle in the pool has been through the
loop since its last use, so whatever the server sent it, the close included, is there. redis-py does the same
from version 8.1 on (redis/redis-py#4063); arq, the job queue, pins redis-py below 6, so every client
``common.redis_client.create_redis`` makes for a server or a Sentinel's primary uses this parser until then (arq's
own connections are arq's). Without hiredis redis-py's own parser is used: its check does not read.
"""

from __future__ import annotations

from redis._parsers.hiredis import NOT_ENOUGH_DATA, _AsyncHiredisParser
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.utils import HIREDIS_AVAILABLE


class LeftoverCheckingParser(_AsyncHiredisParser):
    async def can_read_destructive(self) -> bool:
        """Whether the connection holds unread data or has been closed: the pool then reconnects it."""
        if not self._connected:
            raise RedisConnectionError("the connection is closed")
        # Destructive as the name says: a complete answer still in hiredis is dropped, and the pool reconnects.
        if self._reader.gets() is not NOT_ENOUGH_DATA or self._stream.at_eof():
            return True
        # asyncio's StreamReader offers no public way to ask whether bytes are buffered.
        return bool(self._stream._buffer)


def pool_parser_options() -> dict[str, type]:
    """The connection options that give a client :class:`LeftoverCheckingParser` (none without hiredis)."""
    return {"parser_class": LeftoverCheckingParser} if HIREDIS_AVAILABLE else {}
