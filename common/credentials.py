"""Reading a bearer credential from an ``Authorization`` header, the same way in every service.

The scheme is case-insensitive and any run of spaces or tabs separates it from the token (RFC 9110 11.4), so
``Bearer x``, ``bearer x`` and ``BEARER\\tx`` are one credential. A token is visible ASCII only (RFC 6750's
``b64token`` is a subset): a header with anything else carries no credential at all. The backend
authenticates the parsed token; the api keys its rate limit and access cache on it, so no spelling of one
token can earn a second budget or a second cache entry.
"""

from __future__ import annotations

import functools
import hashlib
import re

# Scheme, whitespace, one token of visible ASCII, optional trailing whitespace; nothing else.
_BEARER = re.compile(r"[ \t]*([A-Za-z]+)[ \t]+([\x21-\x7e]+)[ \t]*")


def bearer_token(authorization: str | bytes | None) -> str | None:
    """The token of a well-formed ``Bearer`` header, or None for a missing, malformed or other credential."""
    if not authorization:
        return None
    if isinstance(authorization, bytes):
        authorization = authorization.decode("latin-1")
    match = _BEARER.fullmatch(authorization)
    if match is None or match.group(1).lower() != "bearer":
        return None
    return match.group(2)


def credential_hash(authorization: str | bytes | None) -> str | None:
    """A stable, non-reversible name for the caller's token (None without a well-formed one).

    Used in Redis keys and never reversible to the token, which is neither stored nor logged.
    """
    return _remembered_hash(authorization) if authorization else None


# An api request names its caller up to three times (its rate limit, its reads ahead, its access decision), and a
# client sends the same header on every request: the name is worked out once per header value, of the most
# recent 4,096. The values stay in this process's memory, as the headers of open connections do.
@functools.lru_cache(maxsize=4096)
def _remembered_hash(authorization: str | bytes) -> str | None:
    token = bearer_token(authorization)
    if token is None:
        return None
    return hashlib.sha256(token.encode("ascii")).hexdigest()[:32]
