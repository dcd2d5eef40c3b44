"""WebSocket close codes used by Hewston's sockets, each with a documented meaning and a client action.

Codes 1000–1015 are the protocol's own (RFC 6455); 4000–4999 are ours and mirror HTTP statuses where one fits
(4401 ~ 401, 4403 ~ 403, 4404 ~ 404, 4429 ~ 429), so they read naturally next to the REST errors; 4430 (a page of
another origin) has no HTTP twin. Every code says whether a client should reconnect (after a backoff) or stop: a
terminal code means that retrying the same request cannot succeed until something else changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

# A close frame's reason must fit in 123 bytes of UTF-8 (RFC 6455 §5.5: 125-byte payload minus the code).
MAX_REASON_BYTES = 123


class CloseCode(IntEnum):
    normal = 1000
    going_away = 1001
    internal_error = 1011
    service_restart = 1012
    try_again_later = 1013
    bad_request = 4400
    unauthorized = 4401
    access_withdrawn = 4403
    not_found = 4404
    auth_timeout = 4408
    run_not_completed = 4409
    too_many_sockets = 4429
    origin_not_allowed = 4430


@dataclass(frozen=True)
class CloseMeaning:
    code: CloseCode
    reconnect: bool
    description: str


MEANINGS: dict[CloseCode, CloseMeaning] = {m.code: m for m in (
    CloseMeaning(CloseCode.normal, False, "the playback finished or the client asked to close"),
    CloseMeaning(CloseCode.going_away, True, "the server is going away (shutting down or redeploying)"),
    CloseMeaning(CloseCode.internal_error, True,
                 "an unexpected server error; reconnect with backoff and report the correlation id if it repeats"),
    CloseMeaning(CloseCode.service_restart, True, "the server is restarting"),
    CloseMeaning(CloseCode.try_again_later, True, "the server is overloaded; reconnect after a backoff"),
    CloseMeaning(CloseCode.bad_request, False, "a start parameter is invalid; the reason names it"),
    CloseMeaning(CloseCode.unauthorized, False, "the bearer token is missing or not valid"),
    CloseMeaning(CloseCode.access_withdrawn, False,
                 "the caller may no longer see the run (it was unshared, or the token was revoked)"),
    CloseMeaning(CloseCode.not_found, False, "the run does not exist or the caller may not see it"),
    CloseMeaning(CloseCode.auth_timeout, True,
                 "no auth message arrived in time after connecting; reconnect and authenticate promptly"),
    CloseMeaning(CloseCode.run_not_completed, False,
                 "the run has not completed (queued, running or failed); only completed runs play back"),
    CloseMeaning(CloseCode.too_many_sockets, True,
                 "too many sockets open from the client's address; reconnect after a backoff, once one has closed"),
    CloseMeaning(CloseCode.origin_not_allowed, False,
                 "the page's origin may not open sockets on this server (a browser page of another site)"),
)}


def should_reconnect(code: int) -> bool:
    """Whether a client should reconnect after a close with ``code``.

    Unknown codes in our range are treated as terminal, so a client never loops on something it does not
    understand; unknown protocol codes (abnormal closure 1006 and friends) are treated as transient.
    """
    meaning = MEANINGS.get(code)  # type: ignore[call-overload]
    if meaning is not None:
        return meaning.reconnect
    return code < 4000


def close_reason(text: str) -> str:
    """Trim ``text`` to what a close frame can carry, without splitting a UTF-8 character."""
    raw = text.encode("utf-8")
    if len(raw) <= MAX_REASON_BYTES:
        return text
    return raw[:MAX_REASON_BYTES].decode("utf-8", "ignore")
