"""What a request learned on its way through the api, for the access log and metrics.

The access log (:class:`ApiRequestNotes`, given to :class:`common.access_log.AccessLogMiddleware`) puts one
:class:`RequestInfo` in a context variable; code deeper down (upstream calls, the cache) fills it in. The
object is mutable on purpose: endpoint code runs in a copy of the middleware's context, so rebinding the
variable there would not be seen, but mutating the object is.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from starlette.types import Scope

from common.access_log import RequestNotes
from common.credentials import credential_hash

_current: ContextVar[RequestInfo | None] = ContextVar("api_request_info", default=None)


@dataclass
class RequestInfo:
    user: str | None = None
    cache: str | None = None
    upstream_calls: int = 0


def begin() -> tuple[RequestInfo, object]:
    info = RequestInfo()
    return info, _current.set(info)


def end(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


def current() -> RequestInfo | None:
    return _current.get()


def note_user(name: str | None) -> None:
    info = _current.get()
    if info is not None and name:
        info.user = name


def note_cache(outcome: str) -> None:
    info = _current.get()
    if info is not None:
        info.cache = str(outcome)


class ApiRequestNotes(RequestNotes):
    """The api's share of a request's log line: the user the backend named, the cache outcome, backend calls."""

    def __init__(self, _scope: Scope) -> None:
        self.info, self._token = begin()

    def fields(self) -> dict[str, Any]:
        return {"user": self.info.user, "cache": self.info.cache, "upstream_calls": self.info.upstream_calls}

    def close(self) -> None:
        end(self._token)


# The caller's credential as a stable, non-reversible name: every spelling of one token gets the same one.
token_hash = credential_hash
