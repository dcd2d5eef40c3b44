"""Reading ahead, in memory: which requests are remembered, what a view's first look-up returns, and the bound."""

from __future__ import annotations

import fakeredis

from api.views.read_ahead import ReadAhead, all_found_ahead, first_read


class Guard:
    """The one method of RedisGuard that first_read uses, over an in-memory Redis, counting its calls."""

    def __init__(self) -> None:
        self.redis = fakeredis.FakeAsyncRedis()
        self.calls = 0

    async def run(self, op):
        self.calls += 1
        return await op(self.redis)


def scope(path: str = "/api/v1/chart-data", query: bytes = b"symbol=X", method: str = "GET",
          token: bytes | None = b"Bearer hw_abc") -> dict:
    headers = [(b"authorization", token)] if token else []
    return {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": query,
            "headers": headers}


def test_only_http_gets_are_read_ahead_and_the_credential_is_part_of_the_request():
    assert ReadAhead.signature(scope(method="POST")) is None
    assert ReadAhead.signature({**scope(), "type": "websocket"}) is None
    assert ReadAhead.signature(scope()) != ReadAhead.signature(scope(token=b"Bearer hw_other"))
    # Every spelling of one token is one caller; the token itself is not kept.
    assert ReadAhead.signature(scope(token=b"bearer  hw_abc")) == ReadAhead.signature(scope())
    assert b"hw_abc" not in repr(ReadAhead.signature(scope())).encode()


async def test_a_request_reads_ahead_what_the_same_request_looked_up_last_time():
    guard, ahead = Guard(), ReadAhead()
    await guard.redis.set("k1", b"one")
    signature = ReadAhead.signature(scope())
    assert ahead.keys(signature) == ()
    reads, token = ahead.begin({})
    assert await first_read(guard, "k1") == b"one" and await first_read(guard, "k2") is None
    ahead.end(signature, reads, token)
    assert guard.calls == 2 and ahead.keys(signature) == ("k1", "k2")

    # Next time the values come with the rate limit's round trip: no call of its own, once per key.
    reads, token = ahead.begin({"k1": b"one", "k2": None})
    assert await first_read(guard, "k1") == b"one" and await first_read(guard, "k2") is None
    assert guard.calls == 2
    assert await first_read(guard, "k1") == b"one" and guard.calls == 3  # a second look asks Redis
    ahead.end(signature, reads, token)
    # Outside a request (the prewarm worker), every look-up asks Redis.
    assert await first_read(guard, "k1") == b"one" and guard.calls == 4


def test_the_remembered_requests_are_bounded_least_recently_used_first():
    ahead = ReadAhead(max_requests=2)
    signatures = [ReadAhead.signature(scope(query=f"symbol={i}".encode())) for i in range(3)]
    for i, signature in enumerate(signatures[:2]):
        reads, token = ahead.begin({})
        reads.looked_up.append(f"key{i}")
        ahead.end(signature, reads, token)
    assert ahead.keys(signatures[0]) == ("key0",)  # used: now the most recent
    reads, token = ahead.begin({})
    reads.looked_up.append("key2")
    ahead.end(signatures[2], reads, token)
    assert ahead.keys(signatures[1]) == () and ahead.keys(signatures[0]) == ("key0",)
    assert ahead.keys(signatures[2]) == ("key2",)


async def test_a_request_is_a_repeated_hit_only_when_every_value_read_ahead_was_there():
    guard, ahead = Guard(), ReadAhead()
    assert not all_found_ahead()  # outside a request
    for values, found in (({}, False), ({"k1": b"one", "k2": None}, False), ({"k1": b"one", "k2": b"two"}, True)):
        reads, token = ahead.begin(values)
        assert all_found_ahead() is found
        ahead.end(None, reads, token)
    reads, token = ahead.begin({"k1": b"one"})
    assert await first_read(guard, "k1") == b"one" and guard.calls == 0
    ahead.end(None, reads, token)
    assert not all_found_ahead()
