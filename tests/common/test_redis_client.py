import pytest

from common.redis_client import create_redis


async def test_embedded_broker_is_shared_within_the_process():
    a, b = create_redis(None), create_redis(None)
    await a.set("hw:test:shared", b"1")
    try:
        assert await b.get("hw:test:shared") == b"1"
    finally:
        await a.delete("hw:test:shared")
        await a.aclose()
        await b.aclose()


@pytest.mark.redis
async def test_real_redis_by_url(real_redis_url):
    client = create_redis(real_redis_url)
    try:
        assert await client.ping()
        await client.xadd("hw:test:stream", {"m": b"x"})
        assert await client.xlen("hw:test:stream") >= 1
    finally:
        await client.delete("hw:test:stream")
        await client.aclose()
