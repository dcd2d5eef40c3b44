"""Request headers by name, indexed once per request, for the layers that each look for one or two.

On its way to a cached answer a request is asked for a header by half a dozen layers (the correlation id,
whether a body follows, the body's size, the credential for the rate limit and the reads ahead,
``If-None-Match``, ``Accept-Encoding``). Scanning the scope's list each time, or building Starlette's
``request.headers`` mapping and lowercasing the name on every look-up, costs a cache hit more than its own
work; so the first look-up indexes the headers in a dict kept in the scope, and every later one is a dict
look-up. ASGI servers give header names lowercased; the first of repeated headers wins, as with Starlette's
``headers.get``. The index is rebuilt if a layer replaces the scope's header list.
"""

from __future__ import annotations

from starlette.types import Scope

_INDEX = "hewston.header_index"


class _Index(dict):
    """The index, and the header list it was made from."""

    __slots__ = ("source",)


def header_index(scope: Scope) -> dict[bytes, bytes]:
    """Each header's first value, by lowercase name."""
    index = scope.get(_INDEX)
    if index is not None and index.source is scope["headers"]:
        return index
    index = _Index(reversed(scope.get("headers", ())))  # later pairs overwrite earlier: the first value wins
    index.source = scope.get("headers")
    scope[_INDEX] = index
    return index


def header(scope: Scope, name: bytes) -> str | None:
    """The value of the first header called ``name`` (lowercase), or None."""
    value = header_index(scope).get(name)
    return None if value is None else value.decode("latin-1")


def conditional_headers(scope: Scope) -> tuple[str | None, str | None]:
    """``If-None-Match`` and ``Accept-Encoding`` (None where absent)."""
    index = header_index(scope)
    if_none_match, accept_encoding = index.get(b"if-none-match"), index.get(b"accept-encoding")
    return (None if if_none_match is None else if_none_match.decode("latin-1"),
            None if accept_encoding is None else accept_encoding.decode("latin-1"))
