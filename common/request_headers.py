"""Request headers read straight from the ASGI scope, for the few a cached answer needs on every request.

Starlette's ``request.headers`` builds a mapping and lowercases the name on every look-up; a cache hit asks for
three headers (the credential, ``If-None-Match``, ``Accept-Encoding``), so here they are found in one pass over
the scope's list. ASGI servers give header names lowercased; the first of repeated headers wins, as with
Starlette's ``headers.get``.
"""

from __future__ import annotations

from starlette.types import Scope


def header(scope: Scope, name: bytes) -> str | None:
    """The value of the first header called ``name`` (lowercase), or None."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def conditional_headers(scope: Scope) -> tuple[str | None, str | None]:
    """``If-None-Match`` and ``Accept-Encoding`` (None where absent), in one pass."""
    if_none_match = accept_encoding = None
    for key, value in scope["headers"]:
        if key == b"if-none-match":
            if if_none_match is None:
                if_none_match = value.decode("latin-1")
        elif key == b"accept-encoding" and accept_encoding is None:
            accept_encoding = value.decode("latin-1")
    return if_none_match, accept_encoding
