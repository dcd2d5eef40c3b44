"""Request headers read from the scope: as Starlette's ``headers.get`` would answer, in one pass."""

from __future__ import annotations

from starlette.requests import Request

from common.request_headers import conditional_headers, header, header_index


def _scope(*headers: tuple[bytes, bytes]) -> dict:
    return {"type": "http", "headers": list(headers)}


def test_a_header_is_found_as_starlette_finds_it() -> None:
    scope = _scope((b"accept", b"*/*"), (b"authorization", b"Bearer one"), (b"authorization", b"Bearer two"),
                   (b"x-name", "caf\u00e9".encode("latin-1")))
    for name in (b"authorization", b"x-name", b"missing"):
        assert header(scope, name) == Request(scope).headers.get(name.decode())
    assert header(scope, b"authorization") == "Bearer one"


def test_conditional_headers_are_read_in_one_pass() -> None:
    assert conditional_headers(_scope()) == (None, None)
    scope = _scope((b"accept-encoding", b"gzip, br"), (b"if-none-match", b'W/"a"'), (b"if-none-match", b'"b"'),
                   (b"accept-encoding", b"identity"))
    assert conditional_headers(scope) == ('W/"a"', "gzip, br")
    request = Request(scope)
    assert conditional_headers(scope) == (request.headers.get("if-none-match"), request.headers.get("accept-encoding"))


def test_the_index_is_made_once_and_again_only_for_a_new_header_list() -> None:
    scope = _scope((b"authorization", b"Bearer one"))
    index = header_index(scope)
    assert header_index(scope) is index and index == {b"authorization": b"Bearer one"}
    scope["headers"] = [(b"authorization", b"Bearer two")]  # a layer that rewrites the headers
    assert header(scope, b"authorization") == "Bearer two"
    copied = {**scope, "method": "GET"}  # a layer that hands on a copy of the scope keeps the index
    assert header_index(copied) is header_index(scope)
