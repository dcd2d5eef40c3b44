"""A pooled connection is checked for leftovers without a trip through the event loop, and is still replaced when
it has leftovers or the server closed it (``common.redis_ready``)."""

import asyncio

import pytest
import redis.asyncio as aioredis

from common.redis_client import create_redis

pytestmark = pytest.mark.redis


async def _pooled_connection(client: aioredis.Redis):
    """The pool's idle connection, after a command has connected it."""
    await client.ping()
    connection = await client.connection_pool.get_connection()
    await client.connection_pool.release(connection)
    return connection


async def test_a_clean_pooled_connection_is_checked_without_waiting_on_the_loop(real_redis_url):
    client = create_redis(real_redis_url)
    try:
        connection = await _pooled_connection(client)
        check = connection.can_read_destructive()
        # Stepped once by hand: a check that waits on the loop (a read under a zero timeout) suspends here,
        # one that looks only at what the connection already holds finishes.
        with pytest.raises(StopIteration) as finished:
            check.send(None)
        assert finished.value.value is False
    finally:
        await client.aclose()


async def test_a_pooled_connection_holding_an_unread_answer_is_replaced(real_redis_url):
    client = create_redis(real_redis_url)
    try:
        await client.set("hw:test:ready", b"value")
        connection = await _pooled_connection(client)
        await connection.send_command("PING")  # an answer nobody reads, as after a cancelled call
        await asyncio.sleep(0.1)  # it arrives in the connection's buffer
        assert await connection.can_read_destructive() is True
        assert await client.get("hw:test:ready") == b"value"  # not the stray PONG: a fresh connection answered
    finally:
        await client.delete("hw:test:ready")
        await client.aclose()


async def test_a_pooled_connection_the_server_closed_is_replaced(real_redis_url):
    client = create_redis(real_redis_url)
    admin = aioredis.Redis.from_url(real_redis_url)
    try:
        connection = await _pooled_connection(client)
        client_id = await client.client_id()
        await admin.client_kill_filter(_id=client_id)
        await asyncio.sleep(0.1)  # the close reaches the idle connection
        assert await client.ping() is True  # on a fresh connection: the closed one was not handed out
        assert connection.is_connected  # reconnected in place by the pool
    finally:
        await admin.aclose()
        await client.aclose()
