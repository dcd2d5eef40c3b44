"""What the backend notes about each request it served, for the access log (:mod:`common.access_log`).

- ``X-Hewston-User`` on every authenticated response: the BFF logs this name, so auth decisions stay the
  backend's and the BFF never has to decode a token to know whose request it was.
- The user in the request's log line, which carries the correlation id the api forwarded, so one request can
  be followed across both services. Tokens are never read here.

The user is the principal the auth dependency stored on the request state.
"""

from __future__ import annotations

from typing import Any

from starlette.types import Scope

from common.access_log import RequestNotes

USER_HEADER = b"x-hewston-user"


class PrincipalNotes(RequestNotes):
    def __init__(self, scope: Scope) -> None:
        self.state = scope.setdefault("state", {})

    def _user(self) -> str | None:
        principal = self.state.get("principal")
        return principal.name if principal is not None else None

    def response_headers(self) -> list[tuple[bytes, bytes]]:
        user = self._user()
        return [(USER_HEADER, user.encode("utf-8", "replace"))] if user is not None else []

    def fields(self) -> dict[str, Any]:
        return {"user": self._user()}
